"""The default target: a static, self-contained portfolio website in a folder.

This room turns migrated posts into a site the artist can open straight from disk (file://) or
upload to any static host. No server, no JavaScript, no external assets: CSS is inline and
every page carries the web's AI-training opt-out signals (meta robots `noai, noimageai`,
TDMRep), next to site-wide `robots.txt`, `ai.txt` and `.well-known/tdmrep.json`.

The site folder:

    index.html, index-2.html ...  the grid of thumbnails, newest first (written by finish())
    posts/<post id>.html          one page per Instagram post; all thread parts live on it
    media/<sha256[:16]>.<ext>     the prepared files, content-addressed (same bytes, same name)
    thumbs/<sha256[:16]>.jpg      grid thumbnails (small JPEG, no metadata)
    posts.json                    the state, keyed by the engine's idempotency keys
    robots.txt, ai.txt, .well-known/tdmrep.json, _headers, .htaccess, .nojekyll

posts.json is the single source of truth; pages are derived from it and can always be
regenerated (finish() does, writing only pages whose bytes changed). One run writes a site at a
time; the engine's journal is what serialises runs.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import io
import json
import os
import re
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import regex
from PIL import Image, ImageOps

from pindah.adapters.contract import PostFailed, RunStopped

from .contract import (
    GIB,
    MIB,
    Adapter,
    Capabilities,
    PostRequest,
    PreparedMedia,
    RemoteRef,
    TextCounting,
)

STATE_FORMAT = "pindah-site/1"
INDEX_PAGE_SIZE = 120  # tiles per index page: a long scroll that stays light (thumbs load lazily)
THUMB_SIZE = (480, 600)  # 4:5 like Instagram's portrait grid; 2x the tile's CSS width
THUMB_MAX_PIXELS = 50_000_000  # refuse to decode anything bigger (prepared files are far smaller)

_EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
    "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov",
}
_MIME_OF_EXT = {ext: mime for mime, ext in _EXTENSIONS.items()}
# What a media path and a page path may look like: checked on everything that comes from the
# engine or from posts.json, because these paths are later written to and deleted.
_MEDIA_ID = re.compile(r"^media/[0-9a-f]{16}\.(?:jpg|png|webp|gif|mp4|webm|mov)$")
_PAGE_PATH = re.compile(r"^posts/[A-Za-z0-9_-]{1,100}\.html$")


# -- state ------------------------------------------------------------------------------------
@dataclass
class SiteMedia:
    path: str  # site-relative, "media/<hash>.<ext>"
    mime: str
    alt: str | None
    width: int | None
    height: int | None

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


@dataclass
class SitePart:
    index: int
    key: str
    text: str
    media: list[SiteMedia]


@dataclass(eq=False)  # identity: list.index() and dict keys must not compare field by field
class SitePost:
    post_id: str
    created_at: str  # ISO 8601 UTC with "Z"
    page: str  # site-relative, "posts/<id>.html"
    parts: list[SitePart] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parts]

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    @property
    def media(self) -> list[SiteMedia]:
        return [m for p in self.parts for m in p.media]

    def to_dict(self) -> dict[str, Any]:
        # Written by hand: dataclasses.asdict deep-copies, and this runs for every post on save.
        return {"post_id": self.post_id, "created_at": self.created_at, "page": self.page, "keys": self.keys,
                "parts": [{"index": p.index, "key": p.key, "text": p.text,
                           "media": [{"path": m.path, "mime": m.mime, "alt": m.alt, "width": m.width,
                                      "height": m.height} for m in p.media]} for p in self.parts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SitePost":
        parts = [SitePart(index=int(p["index"]), key=str(p["key"]), text=str(p.get("text", "")),
                          media=[SiteMedia(**m) for m in p.get("media", [])]) for p in data.get("parts", [])]
        return cls(post_id=str(data["post_id"]), created_at=str(data["created_at"]), page=str(data["page"]),
                   parts=sorted(parts, key=lambda p: (p.index, p.key)))


def _order(post: SitePost) -> tuple[str, str]:
    return (post.created_at, post.post_id)


class SiteState:
    """posts.json in memory: posts oldest first, plus a key -> post index for O(1) lookups.

    posts.json is rewritten after every create, so each post's JSON is kept encoded and only
    re-encoded when that post changes (`changed()`): a save costs a string join, not a
    re-serialisation of the whole history (which made a 3,000-post run quadratic).
    """

    def __init__(self, posts: list[SitePost]) -> None:
        self.posts = sorted(posts, key=_order)
        self.by_id = {p.post_id: p for p in self.posts}
        self.by_key = {k: p for p in self.posts for k in p.keys}
        self._encoded: dict[str, str] = {}

    @classmethod
    def load(cls, path: Path) -> "SiteState":
        if not path.exists():
            return cls([])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            posts = [SitePost.from_dict(d) for d in data["posts"]]
            for post in posts:
                bad = [x for x in [post.page] if not _PAGE_PATH.match(x)] + [
                    m.path for m in post.media if not _MEDIA_ID.match(m.path)]
                if bad:
                    raise ValueError(f"unexpected path {bad[0]!r}")
            return cls(posts)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Never overwrite a state we cannot read: that would forget every published post.
            raise RunStopped(f"the site's state file {path} cannot be read ({exc})",
                             "restore it from a backup, or move the site folder away to start a new site") from None

    def changed(self, post: SitePost) -> None:
        self._encoded.pop(post.post_id, None)

    def save(self, path: Path) -> None:
        parts = []
        for post in self.posts:
            text = self._encoded.get(post.post_id)
            if text is None:
                text = self._encoded[post.post_id] = json.dumps(post.to_dict(), ensure_ascii=False)
            parts.append(text)
        # One post per line: compact, yet diffable and readable by a curious artist.
        body = f'{{"format": "{STATE_FORMAT}", "posts": [\n' + ",\n".join(parts) + "\n]}\n"
        _write_atomic(path, body.encode("utf-8"), durable=True)

    def add(self, post: SitePost) -> None:
        bisect.insort(self.posts, post, key=_order)  # usually an append: runs go oldest first
        self.by_id[post.post_id] = post

    def remove(self, post: SitePost) -> None:
        self.posts.remove(post)
        del self.by_id[post.post_id]
        self.changed(post)

    def neighbours(self, post: SitePost) -> tuple[SitePost | None, SitePost | None]:
        """(older, newer) around `post`."""
        i = self.posts.index(post)
        return (self.posts[i - 1] if i > 0 else None,
                self.posts[i + 1] if i + 1 < len(self.posts) else None)


def _write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write via a temp file in the same folder + os.replace: readers see old or new, never half.

    `durable` adds an fsync, for what the journal relies on (posts.json). Pages and thumbnails
    are derived: finish() rebuilds them, so they skip the cost.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False  # keeps mtimes stable, so syncing the site to a host uploads only changes
    except OSError:
        pass
    _write_atomic(path, data)
    return True


def _safe_page_name(post_id: str) -> str:
    """A file name for a post id; ids are normally [a-z0-9-] already, anything else is hashed."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", post_id).strip("-")[:80] or "post"
    if clean != post_id:
        clean += "-" + hashlib.sha256(post_id.encode("utf-8")).hexdigest()[:8]
    return f"posts/{clean}.html"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # the contract says UTC; be lenient
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_thumbnail(source: Path, dest: Path) -> bool:
    """A small upright sRGB JPEG cropped to 4:5, without metadata. False when it can't be made."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we check the size ourselves
            with Image.open(source) as original:
                if original.width * original.height > THUMB_MAX_PIXELS:
                    return False
                if original.format == "JPEG":
                    original.draft("RGB", (THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2))  # decode at 1/2..1/8 scale
                icc = original.info.get("icc_profile")
                im: Image.Image = ImageOps.exif_transpose(original)
                if im.mode in ("RGBA", "LA", "P", "PA"):
                    rgba = im.convert("RGBA")
                    im = Image.new("RGB", im.size, (255, 255, 255))
                    im.paste(rgba, mask=rgba.getchannel("A"))
                thumb = ImageOps.fit(_to_srgb(im, icc), THUMB_SIZE, Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            thumb.save(buf, "JPEG", quality=82, optimize=True, progressive=True)
            _write_atomic(dest, buf.getvalue())
            return True
    except Exception:  # noqa: BLE001 - a missing thumbnail must never stop the site
        return False


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB. Thumbs carry no metadata, so a wide-gamut (Display P3, Adobe RGB) or
    CMYK profile is applied here instead of dropped: otherwise the colours shift."""
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:
                return converted
        except Exception:  # noqa: BLE001 - a broken profile: fall back to the plain conversion
            pass
    return im.convert("RGB")


# -- the adapter --------------------------------------------------------------------------------
class FolderAdapter(Adapter):
    name = "folder"
    description = "a portfolio website in a folder on this computer: open index.html, or upload it anywhere"
    example = "folder:./pindah-site"
    capabilities = Capabilities(
        max_text=None,
        text_counting=TextCounting.GRAPHEMES,
        max_media_per_post=20,  # an Instagram carousel holds at most 20
        mix_images_and_videos=True,
        image_max_bytes=20 * MIB,
        image_max_side=6000,
        video_max_bytes=1 * GIB,
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
        video_mime_types=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
        threads=True,
        backdating=True,
    )

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        super().__init__(location, config)
        self.site = Path(location or "./pindah-site").expanduser().resolve()
        self.title = str(config.get("title") or "Portfolio")
        self.artist = str(config.get("artist") or "") or None
        self.lang = str(config.get("lang") or "en")
        self._state: SiteState | None = None
        self._lock = threading.Lock()  # the engine may upload from worker threads

    # -- lifecycle ------------------------------------------------------------------------------
    def prepare(self, *, interactive: bool) -> None:
        # Only checks: a dry run calls prepare() too, and must leave no folder behind.
        # Folders are created by the first write.
        if self.site.exists() and not self.site.is_dir():
            raise RunStopped(f"{self.site} is a file, not a folder", "choose another place with --to folder:PATH")
        self._load()  # fail now, not mid-run, when posts.json is damaged
        # ...but don't keep it: another run may still be writing the site; the engine takes the
        # journal lock after prepare(), and the first write re-reads posts.json under it.
        self._state = None

    def account(self) -> str:
        return str(self.site)

    def where(self) -> str | None:
        index = self.site / "index.html"
        return index.as_uri() if index.exists() else None

    def finish(self) -> None:
        with self._lock, _disk_errors(self.site):
            state = self._load()  # a run that published nothing still gets a (friendly, empty) site
            wanted = {p.page for p in state.posts}
            for post in state.posts:
                self._write_page(state, post)
            for stale in (self.site / "posts").glob("*.html"):
                if f"posts/{stale.name}" not in wanted:
                    stale.unlink(missing_ok=True)  # left by a delete interrupted mid-way
            self._write_index(state)
            self._write_optout_files()

    # -- remote operations ---------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        ext = _EXTENSIONS.get(media.mime)
        if ext is None:
            raise PostFailed(f"the folder site cannot hold {media.mime} files ({media.source_path})")
        extra = {"mime": media.mime}
        extra.update({k: str(v) for k, v in (("width", media.width), ("height", media.height)) if v})
        known = media.sha256.lower()
        if re.fullmatch(r"[0-9a-f]{64}", known) and (self.site / f"media/{known[:16]}.{ext}").exists():
            return RemoteRef(id=f"media/{known[:16]}.{ext}", extra=extra)  # already there: idempotent
        with _disk_errors(self.site):
            digest = self._copy_in(media.path, ext)
        return RemoteRef(id=f"media/{digest[:16]}.{ext}", extra=extra)

    def _copy_in(self, source: Path, ext: str) -> str:
        """Copy while hashing (the name is the *real* content hash), then move into place."""
        folder = self.site / "media"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())  # the journal records this upload as done once we return
            final = folder / f"{digest.hexdigest()[:16]}.{ext}"
            if final.exists():
                Path(tmp).unlink()
            else:
                os.replace(tmp, final)
        except FileNotFoundError as exc:
            Path(tmp).unlink(missing_ok=True)
            if exc.filename != str(source):
                raise
            raise PostFailed(f"prepared file {source} is missing", "run again: pindah prepares it anew") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def create_post(self, request: PostRequest) -> RemoteRef:
        with self._lock, _disk_errors(self.site):
            state = self._load()
            post = state.by_key.get(request.key)
            if post is not None:
                return self._ref(post, request.part_index)  # created before (maybe before a crash)
            media = [self._media_info(ref, request.media_alt[i] if i < len(request.media_alt) else None)
                     for i, ref in enumerate(request.media)]
            part = SitePart(index=request.part_index, key=request.key, text=request.text, media=media)
            post = state.by_id.get(request.post_id)
            if post is None:
                post = SitePost(post_id=request.post_id, created_at=_iso(request.created_at),
                                page=_safe_page_name(request.post_id))
                state.add(post)
            post.parts.append(part)
            post.parts.sort(key=lambda p: (p.index, p.key))  # parts may arrive out of order on resume
            state.by_key[request.key] = post
            state.changed(post)
            self._commit(state)  # durable before we answer: the journal trusts our reply
            self._refresh_pages(state, post)
            return self._ref(post, request.part_index)

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        with self._lock:
            post = self._load().by_key.get(request.key)
            return self._ref(post, request.part_index) if post else None

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        with self._lock:
            found = self._find_part(self._load(), ref)
            return None if found is None else {"text": found[1].text, "media": len(found[1].media)}

    def delete_post(self, ref: RemoteRef) -> None:
        with self._lock, _disk_errors(self.site):
            state = self._load()
            found = self._find_part(state, ref)
            if found is None:
                return  # already gone: deleting is idempotent
            post, part = found
            post.parts.remove(part)
            state.by_key.pop(part.key, None)
            state.changed(post)
            older, newer = state.neighbours(post)
            if not post.parts:
                state.remove(post)
            self._commit(state)  # state first: a crash now leaves orphans, never dangling refs
            still_used = {m.path for p in state.posts for m in p.media}
            for gone in {m.path for m in part.media} - still_used:
                (self.site / gone).unlink(missing_ok=True)
                (self.site / "thumbs" / (Path(gone).stem + ".jpg")).unlink(missing_ok=True)
            if post.parts:
                self._write_page(state, post)
            else:
                (self.site / post.page).unlink(missing_ok=True)
            for other in (older, newer):
                if other is not None:
                    self._write_page(state, other)

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.site / "posts.json"

    def _load(self) -> SiteState:
        if self._state is None:
            self._state = SiteState.load(self._state_path)
        return self._state

    def _commit(self, state: SiteState) -> None:
        try:
            state.save(self._state_path)
        except BaseException:
            # The change is in memory only: forget it, so find_post/read_post answer from disk.
            self._state = None
            raise

    def _ref(self, post: SitePost, part_index: int) -> RemoteRef:
        return RemoteRef(id=f"{post.post_id}#{part_index}", url=(self.site / post.page).as_uri())

    @staticmethod
    def _find_part(state: SiteState, ref: RemoteRef) -> tuple[SitePost, SitePart] | None:
        post_id, _, index = ref.id.rpartition("#")
        post = state.by_id.get(post_id)
        if post is None or not index.isdigit():
            return None
        part = next((p for p in post.parts if p.index == int(index)), None)
        return None if part is None else (post, part)

    def _media_info(self, ref: RemoteRef, alt: str | None) -> SiteMedia:
        if not _MEDIA_ID.match(ref.id):
            raise PostFailed(f"{ref.id!r} is not a file this site uploaded")
        path = self.site / ref.id
        if not path.exists():
            raise PostFailed(f"uploaded file {ref.id} is missing from the site", "run again to upload it anew")
        mime = _MIME_OF_EXT[path.suffix[1:]]  # we chose the extension from the MIME type on upload
        width = int(ref.extra["width"]) if ref.extra.get("width", "").isdigit() else None
        height = int(ref.extra["height"]) if ref.extra.get("height", "").isdigit() else None
        if mime.startswith("image/") and (width is None or height is None):
            # The journal may give us back a bare id: read the size from the header, not the pixels.
            try:
                with Image.open(path) as im:
                    width, height = im.size
            except Exception:  # noqa: BLE001 - unknown size only costs a layout shift
                pass
        return SiteMedia(path=ref.id, mime=mime, alt=alt.strip() if alt and alt.strip() else None,
                         width=width, height=height)

    def _refresh_pages(self, state: SiteState, post: SitePost) -> None:
        """The post's page and its neighbours' (their prev/next links point at it)."""
        older, newer = state.neighbours(post)
        for page_post in (older, post, newer):
            if page_post is not None:
                self._write_page(state, page_post)

    def _write_page(self, state: SiteState, post: SitePost) -> None:
        older, newer = state.neighbours(post)
        page = render_post_page(post, older, newer, title=self.title, artist=self.artist, lang=self.lang)
        _write_if_changed(self.site / post.page, page)

    def _write_index(self, state: SiteState) -> None:
        newest_first = list(reversed(state.posts))
        covers = {p.post_id: self._thumbnail_for(p) for p in newest_first}
        pages = [newest_first[i:i + INDEX_PAGE_SIZE] for i in range(0, len(newest_first), INDEX_PAGE_SIZE)] or [[]]
        for number, chunk in enumerate(pages, start=1):
            page = render_index_page(chunk, covers, number, len(pages), all_posts=state.posts,
                                     title=self.title, artist=self.artist, lang=self.lang)
            _write_if_changed(self.site / _index_name(number), page)
        for stale in self.site.glob("index-*.html"):
            number_text = stale.stem.removeprefix("index-")
            if number_text.isdigit() and int(number_text) > len(pages):
                stale.unlink(missing_ok=True)

    def _thumbnail_for(self, post: SitePost) -> str | None:
        cover = next((m for m in post.media if m.is_image), None)
        if cover is None:
            return None
        rel = f"thumbs/{Path(cover.path).stem}.jpg"
        dest = self.site / rel
        # Thumb names derive from the content hash, so an existing one is always current.
        if dest.exists() or make_thumbnail(self.site / cover.path, dest):
            return rel
        return None

    def _write_optout_files(self) -> None:
        _write_if_changed(self.site / "robots.txt", robots_txt())
        _write_if_changed(self.site / "ai.txt", AI_TXT)
        _write_if_changed(self.site / ".well-known" / "tdmrep.json", tdmrep_json())
        for name, text in render_headers_files().items():
            _write_if_changed(self.site / name, text)


def _index_name(number: int) -> str:
    return "index.html" if number == 1 else f"index-{number}.html"


class _disk_errors:
    """Turn a full disk or a read-only folder into RunStopped: the run ends cleanly, resumable."""

    def __init__(self, site: Path) -> None:
        self.site = site

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, OSError):
            raise RunStopped(f"cannot write to the site folder {self.site} ({exc.strerror or exc})",
                             "free some disk space or check the folder's permissions, then run again") from None


# -- AI-training opt-out files (see /work/shared/reference/cara-and-ai-optout.md, §3) ---------
# Training crawlers by the names their vendors document. Search and user-fetch agents
# (OAI-SearchBot, ChatGPT-User, Claude-User) are left alone: they send visitors, not training.
AI_CRAWLERS = (
    "GPTBot", "ClaudeBot", "anthropic-ai", "Google-Extended", "Applebot-Extended", "CCBot",
    "Meta-ExternalAgent", "FacebookBot", "Bytespider", "PerplexityBot", "cohere-ai", "Diffbot",
    "Amazonbot",
)
OPTOUT_META = '<meta name="robots" content="noai, noimageai">'


def robots_txt() -> str:
    agents = "\n".join(f"User-agent: {name}" for name in AI_CRAWLERS)
    return (
        "# The work on this site belongs to the artist. It may not be used to train AI.\n"
        "# Every page also says so with <meta name=\"robots\" content=\"noai, noimageai\">;\n"
        "# see also /ai.txt and /.well-known/tdmrep.json.\n\n"
        f"{agents}\nDisallow: /\n\n"
        "# Everyone else (search engines, people's browsers) is welcome.\n"
        "User-agent: *\n"
        "Content-Usage: train-ai=n\n"  # IETF AIPREF draft vocabulary; unknown lines are ignored
        "Allow: /\n"
    )


# Spawning's ai.txt: robots.txt syntax, read when a dataset tool *downloads* a file.
# The per-extension lines repeat `Disallow: /` in the form Spawning's own generator writes,
# for tools that match a downloaded file's type rather than its path.
_AI_TXT_TYPES = ("jpg", "jpeg", "png", "webp", "gif", "mp4", "webm", "mov", "html", "json")
AI_TXT = (
    "# Spawning AI\n# This artist does not allow their work to be used for AI training.\n\n"
    "User-Agent: *\nDisallow: /\n" + "".join(f"Disallow: *.{ext}\n" for ext in _AI_TXT_TYPES)
)


def tdmrep_json() -> str:
    # tdm-policy needs an absolute URL we don't know; reservation alone is a complete statement.
    return json.dumps([{"location": "/", "tdm-reservation": 1}], indent=2) + "\n"


def render_headers_files() -> dict[str, str]:
    """The HTTP header version of the signals, which is what img2dataset actually checks.

    `_headers` is read by Netlify and Cloudflare Pages, `.htaccess` by Apache (guarded, so a
    server without mod_headers doesn't answer 500). `.nojekyll` stops GitHub Pages from
    dropping `.well-known/`, as Jekyll skips dot-folders.
    """
    return {
        "_headers": "/*\n  X-Robots-Tag: noai, noimageai\n  tdm-reservation: 1\n",
        ".htaccess": '<IfModule mod_headers.c>\n  Header set X-Robots-Tag "noai, noimageai"\n'
                     '  Header set tdm-reservation "1"\n</IfModule>\n',
        ".nojekyll": "",
    }


# -- pages ----------------------------------------------------------------------------------------
def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


_TOKEN = regex.compile(
    r"(?P<url>\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+\.[^\s<>\"']+)"
    r"|(?P<tag>(?<![\p{L}\p{M}\p{N}_&#/])#[\p{L}\p{M}\p{N}_]*[\p{L}\p{M}][\p{L}\p{M}\p{N}_]*)"
    r"|(?P<mention>(?<![\w.@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)"
)


def rich_text(text: str) -> str:
    """Escaped caption with clickable http(s) links and marked #hashtags/@mentions.

    Only http and https become links (never `javascript:`); everything else is escaped text.
    Line breaks are kept by CSS (`white-space: pre-wrap`), so no <br> juggling.
    """
    out: list[str] = []
    last = 0
    for m in _TOKEN.finditer(text):
        out.append(esc(text[last:m.start()]))
        last = m.end()
        if m.group("url"):
            url = _trim_url(m.group("url"))
            href = url if url.lower().startswith("http") else "https://" + url
            out.append(f'<a href="{esc(href)}" rel="noopener">{esc(url)}</a>')
            last = m.start() + len(url)  # trailing punctuation goes back into the text
        elif m.group("tag"):
            out.append(f'<span class="tag">{esc(m.group("tag"))}</span>')
        else:
            out.append(f'<span class="mention">{esc(m.group("mention"))}</span>')
    out.append(esc(text[last:]))
    return "".join(out)


def _trim_url(url: str) -> str:
    while url and url[-1] in ".,;:!?'\")]}»”’":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # wikipedia.org/wiki/Foo_(bar) keeps its parenthesis
        url = url[:-1]
    return url


def short(text: str, limit: int) -> str:
    """One line of at most `limit` user-perceived characters (an emoji is never cut in half)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat  # never more graphemes than code points: no need to segment
    head = regex.match(rf"\X{{0,{limit}}}", flat).group()  # walks only the first `limit` graphemes
    return flat if head == flat else regex.match(rf"\X{{0,{limit - 1}}}", head).group().rstrip() + "…"


def human_date(moment: datetime, *, year: bool = True) -> str:
    return f"{moment.day} {moment:%B}" + (f" {moment.year}" if year else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _post_title(post: SitePost) -> str:
    first = next((p.text for p in post.parts if p.text.strip()), "")
    line = next((ln for ln in first.splitlines() if ln.strip()), "")
    return short(line, 60) if line else f"Post of {human_date(post.moment)}"


_CSS = """
:root{color-scheme:light dark;--bg:#f7f4ef;--fg:#1f1c18;--muted:#6b645a;--line:#e2dbd0;--card:#fffdf9;
--tile:#e9e2d7;--accent:#a4441c}
@media (prefers-color-scheme:dark){:root{--bg:#141311;--fg:#ece6dc;--muted:#a59c8f;--line:#2e2a25;
--card:#1c1a17;--tile:#26221e;--accent:#f2a578}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);-webkit-text-size-adjust:100%;
font:1.0625rem/1.6 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif}
a{color:var(--accent);text-underline-offset:.15em}
a:focus-visible{outline:3px solid var(--accent);outline-offset:3px;border-radius:3px}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:var(--card);padding:.5rem 1rem}
.wrap{max-width:74rem;margin:0 auto;padding:0 1.25rem}
.top{padding-top:1.25rem;display:flex;gap:1rem;justify-content:space-between;align-items:baseline}
.brand,h1,h2{font-family:ui-serif,"Iowan Old Style","Palatino Linotype",Palatino,Georgia,serif;font-weight:500}
.brand{color:var(--fg);text-decoration:none;font-size:1.2rem}
.hero{padding-top:2.5rem;padding-bottom:.5rem}
.hero h1{font-size:clamp(2.1rem,5vw,3.4rem);line-height:1.08;margin:0 0 .4rem;letter-spacing:-.015em}
.sub{color:var(--muted);margin:0}
h2.year{font-size:1.6rem;margin:2.6rem 0 1rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
.grid{list-style:none;margin:0;padding:0;display:grid;gap:1.6rem 1.25rem;
grid-template-columns:repeat(auto-fill,minmax(min(100%,13.5rem),1fr))}
.tile{display:block;color:inherit;text-decoration:none;border-radius:8px}
.frame{display:block;position:relative;aspect-ratio:4/5;background:var(--tile);border-radius:6px;overflow:hidden}
.frame img{display:block;width:100%;height:100%;object-fit:cover;transition:transform .35s ease}
.tile:hover .frame img{transform:scale(1.035)}
.tile:focus-visible{outline:3px solid var(--accent);outline-offset:4px}
.ph{display:flex;height:100%;align-items:center;justify-content:center;color:var(--muted);font-size:2.2rem}
.badge{position:absolute;top:.5rem;right:.5rem;background:rgba(20,18,15,.72);color:#fff;
font-size:.75rem;line-height:1;padding:.3rem .5rem;border-radius:99px}
.when{display:block;margin-top:.55rem;font-size:.8rem;color:var(--muted);letter-spacing:.02em}
.cap{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;
font-size:.92rem;line-height:1.4;margin-top:.1rem}
.pager{display:flex;justify-content:space-between;align-items:center;gap:1rem;margin-top:3rem;color:var(--muted)}
.post-head{text-align:center;padding-top:2rem}
.post-head h1{font-size:1.5rem;margin:0}
.post-head p{margin:.2rem 0 0;color:var(--muted);font-size:.9rem}
.part{margin-top:2rem}
.media{display:grid;gap:1.75rem;justify-items:center}
.media figure{margin:0;max-width:100%}
.media img,.media video{display:block;max-width:100%;width:auto;height:auto;max-height:88vh;
border-radius:4px;background:var(--tile)}
.media a{display:block;border-radius:4px}
.media figure.video{width:100%}
.media video{width:min(100%,46rem);margin:0 auto;background:#000}
.media figcaption{text-align:center;font-size:.85rem;margin-top:.4rem}
.caption{max-width:38rem;margin:2rem auto 0;white-space:pre-wrap;overflow-wrap:anywhere}
.tag,.mention{color:var(--accent);font-weight:500}
.prevnext{max-width:38rem;margin:3.5rem auto 0;padding-top:1rem;border-top:1px solid var(--line);
display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.prevnext a{text-decoration:none;display:block;padding:.3rem 0}
.prevnext small{display:block;color:var(--muted)}
.prevnext .newer{text-align:right;grid-column:2}
.foot{margin-top:4rem;padding-top:1.25rem;padding-bottom:3rem;border-top:1px solid var(--line);
color:var(--muted);font-size:.85rem}
.foot p{margin:.3rem 0}
@media (max-width:40rem){.grid{grid-template-columns:repeat(2,minmax(0,1fr));gap:1.1rem .75rem}.hero{padding-top:1.5rem}
.cap{font-size:.85rem}.post-head{padding-top:1rem}.part{margin-top:1rem}}
@media (prefers-reduced-motion:reduce){.frame img{transition:none}}
"""


def _shell(*, lang: str, title: str, body: str) -> str:
    """Every page's frame: the opt-out meta tags, inline CSS, a skip link."""
    return (
        f'<!doctype html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'{OPTOUT_META}\n<meta name="tdm-reservation" content="1">\n'
        '<meta name="generator" content="pindah">\n'
        f'<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n'
        '<a class="skip" href="#main">Skip to the work</a>\n'
        f'{body}</body>\n</html>\n'
    )


def _footer(posts: list[SitePost], artist: str | None, root: str) -> str:
    years = sorted({p.moment.year for p in posts})
    span = "" if not years else (f"{years[0]}" if years[0] == years[-1] else f"{years[0]}–{years[-1]}")
    owner = f"© {span} {esc(artist)}. " if artist else (f"© {span}. " if span else "")
    return (
        '<footer class="wrap"><div class="foot">\n'
        f"<p>{owner}All rights reserved.</p>\n"
        "<p>This work may not be used to train AI. The site says so to machines too "
        f'(<a href="{root}robots.txt">robots.txt</a>, <a href="{root}ai.txt">ai.txt</a>, '
        f'<a href="{root}.well-known/tdmrep.json">TDMRep</a>).</p>\n'
        "<p>Moved here from Instagram with pindah.</p>\n</div></footer>\n"
    )


def _media_html(media: SiteMedia, number: int, total: int, when: str, eager: bool) -> str:
    src = f"../{esc(media.path)}"
    alt = media.alt or f"Image {number} of {total}, posted {when}"
    size = (f' width="{media.width}" height="{media.height}"' if media.width and media.height else "")
    if media.is_image:
        loading = "eager" if eager else "lazy"
        return (f'<figure><a href="{src}"><img src="{src}" alt="{esc(alt)}"{size} '
                f'loading="{loading}" decoding="async"></a></figure>')
    label = media.alt or f"Video {number} of {total}, posted {when}"
    # A definite width keeps the player visible even when the browser can't decode the file;
    # QuickTime (.mov) often plays only in Safari, so others get a way to the file itself.
    fallback = (f'<figcaption><a href="{src}">Download the video</a></figcaption>'
                if media.mime == "video/quicktime" else "")
    # Tall reels would overflow the screen at full width: cap the width by the viewport height.
    fit = (f' style="width:min(100%,46rem,calc(88vh * {media.width} / {media.height}))"'
           if media.width and media.height else "")
    return (f'<figure class="video"><video controls playsinline preload="metadata" aria-label="{esc(label)}"'
            f'{size}{fit}>'
            f'<source src="{src}" type="{esc(media.mime)}">'
            f'<a href="{src}">Download the video</a></video>{fallback}</figure>')


def render_post_page(post: SitePost, older: SitePost | None, newer: SitePost | None, *,
                     title: str, artist: str | None, lang: str) -> str:
    when = human_date(post.moment)
    media = post.media
    count = len(media)
    sections, n = [], 0
    for part in post.parts:
        figures = []
        for m in part.media:
            n += 1
            figures.append(_media_html(m, n, count, when, eager=n <= 2))
        inner = f'<div class="media">{"".join(figures)}</div>\n' if figures else ""
        if part.text.strip():
            inner += f'<div class="caption" dir="auto">{rich_text(part.text.strip())}</div>\n'
        sections.append(f'<section class="part" id="part-{part.index + 1}">\n{inner}</section>\n')
    images = sum(m.is_image for m in media)
    what = " · ".join(_plural(n, word) for n, word in ((images, "image"), (count - images, "video")) if n)
    nav = ['<nav class="prevnext" aria-label="More work">']
    if older is not None:
        nav.append(f'<a class="older" rel="prev" href="../{esc(older.page)}">← Older'
                   f'<small>{esc(human_date(older.moment))}</small></a>')
    if newer is not None:
        nav.append(f'<a class="newer" rel="next" href="../{esc(newer.page)}">Newer →'
                   f'<small>{esc(human_date(newer.moment))}</small></a>')
    nav.append("</nav>\n")
    body = (
        f'<header class="top wrap"><a class="brand" href="../index.html">{esc(title)}</a>'
        '<a href="../index.html">All work</a></header>\n'
        f'<main id="main" class="wrap">\n<article>\n<header class="post-head">\n'
        f'<h1><time datetime="{esc(post.created_at)}">{esc(when)}</time></h1>\n'
        + (f"<p>{esc(what)}</p>\n" if what else "")
        + "</header>\n" + "".join(sections) + "</article>\n" + "".join(nav) + "</main>\n"
        + _footer([post], artist, "../")
    )
    return _shell(lang=lang, title=f"{_post_title(post)} · {title}", body=body)


def render_index_page(posts: list[SitePost], covers: dict[str, str | None], number: int, pages: int, *,
                      all_posts: list[SitePost], title: str, artist: str | None, lang: str) -> str:
    """One page of the grid. `posts` newest first; `covers` maps post id -> thumbnail path."""
    years = [p.moment.year for p in all_posts]
    span = "" if not years else (f"{min(years)}" if min(years) == max(years) else f"{min(years)} – {max(years)}")
    total = len(all_posts)
    sub = _plural(total, "post") + (f" · {span}" if span else "")
    groups: dict[int, list[str]] = {}
    for i, post in enumerate(posts):
        # The first rows load at once (they are what one sees first); the rest as one scrolls.
        groups.setdefault(post.moment.year, []).append(_tile(post, covers.get(post.post_id), eager=i < 8))
    sections = "".join(
        f'<section aria-labelledby="y{year}-{number}">\n<h2 class="year" id="y{year}-{number}">{year}</h2>\n'
        f'<ul class="grid">\n{"".join(tiles)}</ul>\n</section>\n' for year, tiles in groups.items())
    if not posts:
        sections = '<p class="sub">Nothing here yet: run pindah to move your posts.</p>\n'
    pager = ""
    if pages > 1:
        newer = (f'<a href="{_index_name(number - 1)}" rel="prev">← Newer</a>' if number > 1 else "<span></span>")
        older = (f'<a href="{_index_name(number + 1)}" rel="next">Older →</a>' if number < pages else "<span></span>")
        pager = f'<nav class="pager" aria-label="Pages">{newer}<span>Page {number} of {pages}</span>{older}</nav>\n'
    body = (
        f'<header class="hero wrap">\n<h1>{esc(title)}</h1>\n<p class="sub">{esc(sub)}</p>\n</header>\n'
        f'<main id="main" class="wrap">\n{sections}{pager}</main>\n' + _footer(all_posts, artist, "")
    )
    return _shell(lang=lang, title=title if number == 1 else f"{title} · page {number}", body=body)


def _tile(post: SitePost, cover: str | None, *, eager: bool) -> str:
    media = post.media
    first = next((m for m in media if m.is_image), None)
    when = human_date(post.moment)
    if cover and first is not None:
        alt = short(first.alt, 160) if first.alt else f"Image posted {when}"
        loading = "eager" if eager else "lazy"
        picture = (f'<img src="{esc(cover)}" alt="{esc(alt)}" width="480" height="600" '
                   f'loading="{loading}" decoding="async">')
    else:
        symbol = "▶" if media else "¶"  # a video-only post, or a text-only one
        picture = f'<span class="ph" aria-hidden="true">{symbol}</span>'
    badges = []
    if len(media) > 1:
        badges.append(f"{len(media)} items")
    elif media and not media[0].is_image and first is not None:
        badges.append("video")
    badge = f'<span class="badge">{esc(" · ".join(badges))}</span>' if badges else ""
    text = next((p.text for p in post.parts if p.text.strip()), "")
    caption = f'<span class="cap" dir="auto">{esc(short(text, 110))}</span>' if text.strip() else ""
    return (f'<li><a class="tile" href="{esc(post.page)}"><span class="frame">{picture}{badge}</span>'
            f'<span class="when"><time datetime="{esc(post.created_at)}">{esc(human_date(post.moment, year=False))}'
            f"</time></span>{caption}</a></li>\n")

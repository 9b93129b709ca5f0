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

Every file of the site is published, so each follows the umask (0644 by default): a web server
running as another user, or `rsync -a`, can read it.

posts.json is the single source of truth (`folder_site.py`); pages are derived from it
(`folder_pages.py`) and can always be regenerated (finish() does, writing only pages whose
bytes changed). One run writes a site at a time; the engine's journal serialises runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from pindah.adapters.contract import (
    GIB,
    MIB,
    Capabilities,
    Option,
    PostFailed,
    PostRequest,
    PreparedMedia,
    RemoteRef,
    TextCounting,
)
from pindah.adapters.toolkit.files import disk_errors, make_readable, write_atomic, write_if_changed
from pindah.adapters.toolkit.localfolder import LocalFolderAdapter
from pindah.adapters.toolkit.optout import AI_CRAWLERS, write_optout_files
from pindah.adapters.toolkit.thumbnail import PIPELINE_FORMATS, cover_jpeg

from .folder_pages import THUMB_SIZE, Site, index_name, render_index_page, render_post_page
from .folder_site import MEDIA_ID, TRACK_ID, SiteMedia, SitePart, SitePost, SiteState, iso_utc, page_path

__all__ = ["AI_CRAWLERS", "THUMB_SIZE", "FolderAdapter", "make_thumbnail"]

INDEX_PAGE_SIZE = 120  # tiles per index page: a long scroll that stays light (thumbs load lazily)

_EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
    "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov",
}
_MIME_OF_EXT = {ext: mime for mime, ext in _EXTENSIONS.items()}


def make_thumbnail(source: Path, dest: Path) -> bool:
    """A grid tile: upright sRGB JPEG cropped to 4:5, without metadata. False when it can't be made."""
    data = cover_jpeg(source, THUMB_SIZE)
    if data is None:
        return False
    write_atomic(dest, data)
    return True


# -- the adapter --------------------------------------------------------------------------------
class FolderAdapter(LocalFolderAdapter):
    name = "folder"
    description = "a portfolio website in a folder on this computer: open index.html, or upload it anywhere"
    example = "folder:./pindah-site"
    title = "A portfolio website (a folder)"
    sign_in = "none"
    location_prompt = "A folder"
    options = (
        Option("title", str, "Portfolio", "the site's title, shown on every page"),
        Option("artist", str, "", "your name as the artist, on the pages and in the copyright line"),
        Option("lang", str, "en", "the language of your captions, for the pages' lang attribute"),
    )
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
        video_subtitles=True,  # <track kind="subtitles">
        threads=True,
        backdating=True,
    )

    default_folder = "./pindah-site"

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        super().__init__(location, config)
        self.title = str(self.setting("title") or "Portfolio")
        self.artist = str(self.setting("artist") or "") or None
        self.lang = str(self.setting("lang") or "en")
        self.look = Site(title=self.title, artist=self.artist, lang=self.lang)
        self._state: SiteState | None = None
        self._lock = threading.Lock()  # the engine may upload from worker threads

    @property
    def site(self) -> Path:
        """The site's folder."""
        return self.folder

    # -- lifecycle ------------------------------------------------------------------------------
    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        self.check_folder()
        self._load()  # fail now, not mid-run, when posts.json is damaged
        # ...but don't keep it: another run may still be writing the site; the engine takes the
        # journal lock after prepare(), and the first write re-reads posts.json under it.
        self._state = None

    def finish(self) -> None:
        with self._lock, disk_errors(self.site):
            state = self._load()  # a run that published nothing still gets a (friendly, empty) site
            wanted = {p.page for p in state.posts}
            for post in state.posts:
                self._write_page(state, post)
            for stale in (self.site / "posts").glob("*.html"):
                if f"posts/{stale.name}" not in wanted:
                    stale.unlink(missing_ok=True)  # left by a delete interrupted mid-way
            self._write_index(state)
            write_optout_files(self.site, headers=True)
            for media in {m.path for p in state.posts for m in p.media}:
                make_readable(self.site / media)  # published 0600 by pindah < 0.2
            make_readable(self._state_path)

    # -- remote operations ---------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        ext = _EXTENSIONS.get(media.mime)
        if ext is None:
            raise PostFailed(f"the folder site cannot hold {media.mime} files ({media.source_path})")
        extra = {"mime": media.mime}
        extra.update({k: str(v) for k, v in (("width", media.width), ("height", media.height)) if v})
        extra.update(self._tracks(media))
        known = media.sha256.lower()
        if re.fullmatch(r"[0-9a-f]{64}", known) and (self.site / f"media/{known[:16]}.{ext}").exists():
            return RemoteRef(id=f"media/{known[:16]}.{ext}", extra=extra)  # already there: idempotent
        with disk_errors(self.site):
            digest = self._copy_in(media.path, ext)
        return RemoteRef(id=f"media/{digest[:16]}.{ext}", extra=extra)

    def _tracks(self, media: PreparedMedia) -> dict[str, str]:
        """A video's subtitles (WebVTT already) copied into the site, for its <track>s."""
        if not media.subtitles or not media.mime.startswith("video/"):
            return {}
        with disk_errors(self.site):
            tracks = [{"src": f"media/{self._copy_in(Path(s.path), 'vtt')[:16]}.vtt", "lang": s.language or ""}
                      for s in media.subtitles]
        return {"tracks": json.dumps(tracks, separators=(",", ":"))}

    def _copy_in(self, source: Path, ext: str) -> str:
        """Copy while hashing (the name is the *real* content hash), then move into place."""
        folder = self.site / "media"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        # Not tempfile.mkstemp: its files are 0600, and a published picture follows the umask.
        tmp = folder / f".upload-{secrets.token_hex(6)}.tmp"
        try:
            with open(tmp, "xb") as out, open(source, "rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())  # the journal records this upload as done once we return
            final = folder / f"{digest.hexdigest()[:16]}.{ext}"
            if final.exists():
                tmp.unlink()
            else:
                os.replace(tmp, final)
        except FileNotFoundError as exc:
            tmp.unlink(missing_ok=True)
            if exc.filename != str(source):
                raise
            raise PostFailed(f"prepared file {source} is missing", "run again: pindah prepares it anew") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def create_post(self, request: PostRequest) -> RemoteRef:
        with self._lock, disk_errors(self.site):
            state = self._load()
            post = state.by_key.get(request.key)
            if post is not None:
                return self._ref(post, request.part_index)  # created before (maybe before a crash)
            media = [self._media_info(ref, request.media_alt[i] if i < len(request.media_alt) else None)
                     for i, ref in enumerate(request.media)]
            part = SitePart(index=request.part_index, key=request.key, text=request.text, media=media)
            post = state.by_id.get(request.post_id)
            if post is None:
                post = SitePost(post_id=request.post_id, created_at=iso_utc(request.created_at),
                                page=page_path(request.post_id))
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
        with self._lock, disk_errors(self.site):
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
        if not MEDIA_ID.match(ref.id):
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
                with Image.open(path, formats=list(PIPELINE_FORMATS)) as im:  # the header only
                    width, height = im.size
            except Exception:  # noqa: BLE001 - unknown size only costs a layout shift
                pass
        return SiteMedia(path=ref.id, mime=mime, alt=alt.strip() if alt and alt.strip() else None,
                         width=width, height=height, tracks=self._tracks_of(ref))

    def _tracks_of(self, ref: RemoteRef) -> list[dict[str, str]]:
        """The subtitle tracks an upload recorded, only those really in the site."""
        try:
            tracks = json.loads(ref.extra.get("tracks", "[]"))
        except ValueError:
            return []
        return [{"src": t["src"], "lang": str(t.get("lang") or "")} for t in tracks if isinstance(tracks, list)
                and isinstance(t, dict) and TRACK_ID.match(str(t.get("src", ""))) and (self.site / t["src"]).exists()]

    def _refresh_pages(self, state: SiteState, post: SitePost) -> None:
        """The post's page and its neighbours' (their prev/next links point at it)."""
        older, newer = state.neighbours(post)
        for page_post in (older, post, newer):
            if page_post is not None:
                self._write_page(state, page_post)

    def _write_page(self, state: SiteState, post: SitePost) -> None:
        older, newer = state.neighbours(post)
        write_if_changed(self.site / post.page, render_post_page(post, older, newer, self.look))

    def _write_index(self, state: SiteState) -> None:
        newest_first = list(reversed(state.posts))
        covers = {p.post_id: self._thumbnail_for(p) for p in newest_first}
        pages = [newest_first[i:i + INDEX_PAGE_SIZE] for i in range(0, len(newest_first), INDEX_PAGE_SIZE)] or [[]]
        for number, chunk in enumerate(pages, start=1):
            page = render_index_page(chunk, covers, number, len(pages), all_posts=state.posts, site=self.look)
            write_if_changed(self.site / index_name(number), page)
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
        if dest.exists():
            make_readable(dest)
            return rel
        return rel if make_thumbnail(self.site / cover.path, dest) else None


"""The Cara target (`--to cara:DIR`): an upload kit the artist posts from by hand.

Cara (cara.app) has no public API: its private one needs the artist's browser session and
sits behind bot protection, so pindah asks for no credentials and prepares everything else
(see /work/shared/reference/cara-and-ai-optout.md §1). The planner splits each Instagram post
into Cara posts by `Capabilities` (at most `max_images_per_post` images, captions within
`max_caption_chars`, " (1/3)" markers, the original date as a line), exactly as for the other
targets; this adapter writes each planned part as one folder of the kit (`adapters.cara_kit`)
and, in `finish()`, the page and checklist to work through it (`adapters.cara_page`).

"Publishing" here is writing a folder, which is not the post being on Cara: the capabilities
say `published_by_hand`, so the runner records nothing as posted; the artist's
`pindah mark-posted` does. So a re-run rewrites exactly the posts still pending, with the
current settings, and never touches one the artist marked. The core hands the marks back
through `refresh(marks)`, which redraws the kit's page and checklist; `find_part`,
`part_label` and `read_checklist` tell the mark command what the kit's names mean.

Settings, under [targets.cara]: max_images_per_post (4, what the only working automation
sends), max_caption_chars (2000, the stricter of the two known tool limits), max_image_mb (20)
and max_image_side (8000) until Cara publishes its limits.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from pindah.adapters.toolkit import textparse
from pindah.adapters.toolkit.files import disk_errors, write_if_changed
from pindah.adapters.toolkit.html import human_date, short
from pindah.adapters.toolkit.localfolder import LocalFolderAdapter
from pindah.adapters.toolkit.optout import write_optout_files
from pindah.adapters.toolkit.xmp import data_mining_of

from .contract import (
    MIB,
    Capabilities,
    Mark,
    MarkLine,
    Option,
    PindahError,
    PostFailed,
    PostRequest,
    PreparedMedia,
    RemoteRef,
    TextCounting,
)
from .cara_kit import (
    CHECKLIST,
    KitImage,
    KitPost,
    alt_text_file,
    folder_name,
    parse_folder_name,
    read_checklist,
    read_kit,
    read_post,
    render_checklist,
)
from .cara_page import render_kit_page

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
_MARKER = re.compile(r"\s*\(\d+/\d+\)\s*$")
_LINKISH = re.compile(r"\S+://\S+|\bwww\.\S+")
_SENTENCE = re.compile(r"^(.+?[.!?])\s+\S")
TITLE_CHARS = 80  # what a portfolio tile shows before cutting


class CaraAdapter(LocalFolderAdapter):
    name = "cara"
    description = ("an upload kit for Cara, which has no API: one folder per post, a checklist, "
                   "and a page with copy buttons to work through beside cara.app")
    example = "cara:./cara-kit"
    title = "Cara (you post by hand)"
    sign_in = "none"
    location_prompt = "A folder for the Cara kit"
    options = (
        Option("max_images_per_post", int, 4, "pictures per Cara post; a larger carousel becomes numbered posts"),
        Option("max_caption_chars", int, 2000, "caption length; a longer one continues in the next numbered post"),
        Option("max_image_mb", float, 20, "largest picture file in MB: larger ones are made smaller"),
        Option("max_image_side", int, 8000, "longest picture side in pixels: larger ones are made smaller"),
    )
    capabilities = Capabilities(
        max_text=2000,
        # Browsers count a text box's limit in UTF-16 units; code points are the nearest
        # count pindah has, and the 2000 default is already under the 5000 one tool uses.
        text_counting=TextCounting.CODE_POINTS,
        max_media_per_post=4,
        mix_images_and_videos=True,
        image_max_bytes=20 * MIB,
        image_max_side=8000,
        image_mime_types=frozenset(_EXTENSIONS),
        video_mime_types=frozenset(),  # neither known Cara automation sends video
        threads=True,  # "threads" become numbered separate posts: Cara has no replies
        backdating=False,
        published_by_hand=True,  # no API: the artist posts each folder and marks it
    )

    default_folder = "./cara-kit"

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        super().__init__(location, config)
        self.caps = self.capabilities.refined(
            max_media_per_post=self._whole("max_images_per_post", 4, 1, 20),
            max_text=self._whole("max_caption_chars", 2000, 100, 100_000),
            image_max_bytes=int(self._number("max_image_mb", 20, 4096) * MIB),
            image_max_side=self._whole("max_image_side", 8000, 320, 100_000))
        self._lock = threading.Lock()

    def _whole(self, key: str, default: int, low: int, high: int) -> int:
        """A whole-number setting of [targets.cara] (the environment wins), within bounds."""
        raw = self.setting(key)
        value = default if raw is None else _as_number(raw)
        if value is None or value != int(value) or not low <= value <= high:
            raise PindahError(f"[targets.cara] {key} = {raw!r} is not a whole number from {low} to {high}",
                              "compare your config with config.example.toml")
        return int(value)

    def _number(self, key: str, default: float, high: float) -> float:
        raw = self.setting(key)
        value = default if raw is None else _as_number(raw)
        if value is None or not 0 < value <= high:
            raise PindahError(f"[targets.cara] {key} = {raw!r} is not a size in MB",
                              "compare your config with config.example.toml")
        return value

    @property
    def kit(self) -> Path:
        """The kit's folder."""
        return self.folder

    # -- lifecycle ---------------------------------------------------------------------------
    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        self.check_folder()

    def finish(self) -> None:
        with self._lock, disk_errors(self.kit):
            posts_dir = self.kit / "posts"
            for leftover in posts_dir.glob(".new-*") if posts_dir.is_dir() else ():
                shutil.rmtree(leftover, ignore_errors=True)  # from a run killed mid-write
            for leftover in posts_dir.glob(".old-*") if posts_dir.is_dir() else ():
                shutil.rmtree(leftover, ignore_errors=True)

    # -- published by hand: the marks come back from the core ----------------------------------
    def refresh(self, marks: Mapping[str, Mark]) -> None:
        with self._lock, disk_errors(self.kit):
            refresh_kit(self.kit, self.caps, marks)

    def part_label(self, post_id: str, taken_at: str, idx: int, count: int) -> str:
        return folder_name(post_id, taken_at, idx, count)

    def find_part(self, name: str) -> tuple[str, int | None] | None:
        manifest = read_post(self.kit / "posts" / name)
        if manifest is not None:
            return manifest.post_id, manifest.part - 1
        return parse_folder_name(name)

    def checklist(self) -> Path | None:
        return self.kit / CHECKLIST

    def read_checklist(self, text: str) -> tuple[list[MarkLine], list[str]]:
        rows, problems = read_checklist(text)
        return [MarkLine(row.line, row.folder, row.status, row.url or None) for row in rows], problems

    # -- "remote" operations -------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        """Nothing to send: remember where the prepared file is; `create_post` copies it."""
        if media.mime not in _EXTENSIONS:
            raise PostFailed(f"Cara kit takes JPEG, PNG and WebP images, not {media.mime} ({media.source_path})")
        position = int(key.rsplit("/m", 1)[1]) + 1 if "/m" in key else 1  # "<post>#<part>/m<index>"
        return RemoteRef(id=media.sha256, extra={
            "path": str(media.path), "mime": media.mime, "position": str(position), "source": media.source_path,
            "width": str(media.width or ""), "height": str(media.height or "")})

    def create_post(self, request: PostRequest) -> RemoteRef:
        taken = (request.created_at - timedelta(seconds=request.part_index)).astimezone(timezone.utc)
        folder = folder_name(request.post_id, taken.strftime("%Y-%m-%d"), request.part_index, request.part_count)
        with self._lock, disk_errors(self.kit):
            post = self._kit_post(request, folder, taken)
            self._write_folder(post, [Path(ref.extra["path"]) for ref in request.media])
            self._drop_stale(request.post_id, request.part_count)
        return self._ref(folder)

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        for folder in self._folders_of(request.post_id):
            post = read_post(folder)
            if post is not None and post.key == request.key and post.parts == request.part_count:
                return self._ref(folder.name)
        return None

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        post = read_post(self.kit / "posts" / ref.id) if "/" not in ref.id else None
        return None if post is None else {"text": post.caption, "media": len(post.images)}

    def delete_post(self, ref: RemoteRef) -> None:
        raise PindahError("Cara has no API, so pindah cannot delete posts there",
                          f"delete it on cara.app yourself, then run `pindah mark-posted --to cara:{self.kit} "
                          f"--undo {ref.id}`")

    # -- writing one folder ------------------------------------------------------------------
    def _kit_post(self, request: PostRequest, folder: str, taken: datetime) -> KitPost:
        images = []
        for ref, alt in zip(request.media, request.media_alt, strict=True):
            ext = _EXTENSIONS[ref.extra["mime"]]
            path = Path(ref.extra["path"])
            images.append(KitImage(
                file=f"{int(ref.extra['position']):02d}{ext}", mime=ref.extra["mime"],
                width=int(ref.extra["width"]) if ref.extra.get("width") else None,
                height=int(ref.extra["height"]) if ref.extra.get("height") else None,
                bytes=path.stat().st_size if path.exists() else 0, sha256=ref.id,
                alt=alt.strip() if alt and alt.strip() else None, source=ref.extra.get("source", ""),
                data_mining=data_mining_of(path)))  # shown on the kit's page
        # Later parts carry only their marker: their title and tags come from the first part.
        lead = None if request.part_index == 0 else next(
            (p for f in self._folders_of(request.post_id) if (p := read_post(f)) and p.part == 1), None)
        when = human_date(taken)
        title = suggest_title(request.text, when) if lead is None else _MARKER.sub("", lead.title)
        if request.part_count > 1:
            title = f"{title} ({request.part_index + 1}/{request.part_count})"
        tags = list(dict.fromkeys([*(lead.tags if lead else []), *textparse.hashtags(request.text)]))
        return KitPost(key=request.key, post_id=request.post_id, part=request.part_index + 1,
                       parts=request.part_count, folder=folder, taken_at=taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       title=title,
                       caption=request.text, tags=tags, images=images)

    def _write_folder(self, post: KitPost, sources: list[Path]) -> None:
        """Write the folder whole or not at all: built beside, then swapped in."""
        posts_dir = self.kit / "posts"
        final = posts_dir / post.folder
        if read_post(final) == post and all((final / i.file).is_file() and (final / i.file).stat().st_size == i.bytes
                                            for i in post.images):
            return  # unchanged since the last run: don't copy every image again
        posts_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=posts_dir, prefix=".new-"))
        try:
            os.chmod(tmp, 0o755)  # an ordinary folder of the artist's, not a private temp dir
            for image, source in zip(post.images, sources, strict=True):
                _copy_verified(source, tmp / image.file, image.sha256)
            (tmp / "caption.txt").write_text(post.caption, encoding="utf-8")
            (tmp / "title.txt").write_text(post.title, encoding="utf-8")
            (tmp / "alt.txt").write_text(alt_text_file(post.images), encoding="utf-8")
            (tmp / "manifest.json").write_text(json.dumps(post.manifest(), ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
            if final.exists():
                old = posts_dir / f".old-{post.folder}-{os.getpid()}"
                os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _drop_stale(self, post_id: str, part_count: int) -> None:
        """Folders of this post from an older plan (its part count changed before anything was
        marked: a marked post is never planned again, so nothing marked is removed)."""
        for folder in self._folders_of(post_id):
            post = read_post(folder)
            if post is not None and post.post_id == post_id and post.parts != part_count:
                shutil.rmtree(folder, ignore_errors=True)

    def _folders_of(self, post_id: str) -> list[Path]:
        safe = folder_name(post_id, "0000-00-00", 0, 1)[11:]  # the id as folder names spell it
        posts_dir = self.kit / "posts"
        return sorted(posts_dir.glob(f"*_{safe}")) + sorted(posts_dir.glob(f"*_{safe}_*of*"))

    def _ref(self, folder: str) -> RemoteRef:
        return RemoteRef(id=folder, url=None)


# -- the kit's page, checklist and opt-out files ------------------------------------------------------
def refresh_kit(kit: Path, caps: Capabilities, marks: Mapping[str, Mark]) -> None:
    """(Re)draw index.html and checklist.csv from the folders and the journal's marks."""
    posts = read_kit(kit)
    marks = dict(marks)
    kit.mkdir(parents=True, exist_ok=True)
    write_if_changed(kit / "index.html", render_kit_page(posts, marks, kit=kit, caps=caps))
    write_if_changed(kit / CHECKLIST, render_checklist(posts, marks))
    # Should the artist ever put the kit online: the same signals as the folder site.
    write_optout_files(kit, headers=False)


def suggest_title(text: str, when: str) -> str:
    """The caption's first sentence (or line) without part marker, hashtags or links."""
    first = _MARKER.sub("", text.split("\n", 1)[0])
    words = [w for w in _LINKISH.sub(" ", first).split() if not w.startswith("#")]
    line = " ".join(words)
    sentence = _SENTENCE.match(line)
    if sentence and len(sentence[1]) >= 12:  # "Five studies of the sea. Swipe →": the first is the title
        line = sentence[1]
    line = line.strip(" -–—:;,").removesuffix(".").strip()
    return short(line, TITLE_CHARS) if line else f"Untitled, {when}"


def _copy_verified(source: Path, dest: Path, sha256: str) -> None:
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as src, open(dest, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
    except FileNotFoundError as exc:
        if exc.filename != str(source):
            raise
        raise PostFailed(f"prepared file {source} is missing", "run again: pindah prepares it anew") from None
    if digest.hexdigest() != sha256:
        raise PostFailed(f"prepared file {source} changed while it was copied", "run again")


def _as_number(value: object) -> float | None:
    """A setting as a number: TOML gives int/float, the environment gives text."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None

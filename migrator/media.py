"""The media pipeline: one exported image or video in, one file a target will take out.

Every target declares a byte cap, a pixel cap and a list of formats (`Capabilities`); the export
hands us HEIC, WebP, rotated phone shots and JPEGs carrying GPS. This room is the pipeline's
public face (`process_media`, `MediaResult`, `SaveExtras`) and turns each file into something the
target accepts, from the capabilities alone, so no adapter ever uploads an original.

Images, in order (the pixel work is `imagefit`'s, the container work `mediastrip`'s):
1. The bytes are sniffed, and only JPEG/PNG/GIF/WebP/HEIF/AVIF are opened, header only, with
   Pillow's decompression-bomb limit checked before anything is decoded.
2. Lossless route. When the target takes the format, the file already fits every limit, is upright
   and in an ordinary colour mode, it is *repacked*, not re-encoded: only pixels and the colour
   profile are kept (plus the rights XMP/EXIF of `SaveExtras`), and data after the image's end is
   cut. The pixels are still decoded once, cheaply, to prove the file is whole. This is the usual
   case: Instagram's 1080-1440 px images fit most targets. Each generation of loss is avoided.
3. Otherwise re-encode, and say why (`MediaResult.reencoded`: "HEIC not accepted", "too large:
   2.3 MB > 2 MB", "rotated (EXIF orientation 6)"): decode near the target size, normalise the
   colour mode, resize, turn upright, and encode at a quality that fits `image_max_bytes`
   (shrinking if need be).
4. Every output is re-read before it is kept: its container must hold nothing but pixels, the ICC
   profile and what `SaveExtras` put there on purpose; GPS is never allowed. A file that fails
   this is skipped, never sent.

Videos are not transcoded (no ffmpeg): an accepted format within `video_max_bytes` and
`video_max_seconds` is copied, and in the copy the user-data/metadata boxes where phones keep the
recording location, make and model are blanked in place (`mp4.strip_user_data`); anything else is
skipped with a reason.

The work is split so it can run on every core (`migrator.prefetch`): `begin` (this process: read
and hash once, cache lookup), `render` (bytes to bytes, picklable, runs in a worker; or
`render_file`, for a file on disk the worker reads itself after checking its hash), `finish`
(cache). `process_media` is the three in a row.

Cache: outputs live in `cache_dir`, named by the source's SHA-256 and a digest of the pipeline
version, the capability fields that shape the output and the `SaveExtras`; a JSON sidecar written
last holds the actions, so a resumed run or a second target with the same limits reuses the work
and gets the very same `MediaResult`. Files are 0600, the folder 0700, writes are atomic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pindah.adapters.contract import Capabilities, PreparedMedia, PreparedSubtitle

from . import sniff
from .imagefit import (
    JPEG,
    PNG,
    WEBP,
    ImageOutput,
    Refused,
    SaveExtras,
    fits,
    format_name,
    human_size,
    open_image,
    orientation_of,
    read_exif,
    reencode,
    save_image,
    upright_size,
)
from .mediastrip import leaks, metadata_kinds, removed_action, scan
from .mediastrip import repack as _repack
from .model import Media, MediaType
from pindah.adapters.toolkit.files import file_sha256
from pindah.adapters.toolkit.mp4 import mp4_info, strip_user_data
from pindah.adapters.toolkit.subtitles import to_vtt

# `_render` calls `_repack` and hands `save_image` to `reencode` through this module's names, so
# replacing `media.save_image` / `media._repack` (the bench counts encodes, a test forbids them on
# a cached run) reaches every encode and repack.

__all__ = ["PIPELINE_VERSION", "ImageJob", "MediaResult", "SaveExtras", "begin", "finish", "process_media",
           "render_file", "render_job", "save_image"]

PIPELINE_VERSION = 4  # bump whenever a change would make a cached output differ (old entries are re-made)

MAX_SOURCE_BYTES = 256 << 20  # no real photo is larger; read whole into memory below this
_EXTENSIONS = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp", "image/heic": ".heic", "image/heif": ".heif",
               "image/avif": ".avif", "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}
_MIME_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG}  # Pixelfed lists "image/jpg"


@dataclass
class MediaResult:
    """What became of one media file. `skipped` is an artist-readable reason; `actions` say what
    was done ("resized 4000×5000 → 1600×2000"). Equal whether computed or read from the cache."""

    prepared: PreparedMedia | None
    actions: list[str] = field(default_factory=list)
    skipped: str | None = None
    from_cache: bool = field(default=False, compare=False)
    # Why an image's pixels were re-encoded ("too large: 2.3 MB > 2 MB; rotated (EXIF orientation
    # 6)"), or None when they reached the target as they were (videos: always None).
    reencoded: str | None = None
    encodes: int = field(default=0, compare=False)  # full-size encodes this call made (0 from the cache)


@dataclass
class ImageJob:
    """An image not in the cache yet: `begin` reads it, `render_job` turns it into an outcome
    (in this process or a worker: everything here pickles), `finish` stores that outcome."""

    key: str
    media: Media = field(repr=False)
    cache_dir: Path
    data: bytes | None = field(default=None, repr=False)
    caps: Capabilities | None = None
    extras: SaveExtras | None = None
    unread: str | None = None  # the file could not be read: the reason (not cached)
    # Instead of `data`: the file on disk, read by whoever renders it (a worker process: a
    # path pickles in microseconds, 7 MB of bytes cost a worker ~25 ms of pipe reads), and the
    # SHA-256 it must still have, since the cache entry is keyed by it.
    source: Path | None = None
    sha256: str = ""


def process_media(media: Media, caps: Capabilities, cache_dir: Path, *,
                  extras: SaveExtras | None = None) -> MediaResult:
    """Prepare one media file for a target. Bad media never raises: it comes back `skipped`.

    Only a cache that can't be written (disk full, permissions) raises OSError: that is the
    machine's problem, not the post's, and skipping every post for it would hide it."""
    started = begin(media, caps, cache_dir, extras=extras)
    return started if isinstance(started, MediaResult) else finish(started, render_job(started))


def begin(media: Media, caps: Capabilities, cache_dir: Path, *, extras: SaveExtras | None = None,
          read: bool = True) -> MediaResult | ImageJob:
    """The quick half of `process_media`, in the calling process: a video, a skip or a cached
    image comes back as its `MediaResult`; an image still to render as an `ImageJob`, with its
    bytes (read once, and hashed from what was read), or with `read=False` and a file on disk,
    just its path and hash, for the renderer to read itself."""
    extras = extras or SaveExtras()
    if media.missing:
        return MediaResult(None, [], "file is missing from the export")
    data, unread = None, None
    try:
        kind, size = media.type, media.size or 0
        disk = None if read else getattr(media.tree, "disk_path", lambda _: None)(media.path)
        if kind is MediaType.IMAGE and disk is None and size <= MAX_SOURCE_BYTES:
            try:
                with media.tree.open(media.path) as fh:  # type: ignore[union-attr]
                    data = _read_whole(fh, size)
                if media._sha256 is None:  # hashed from the bytes rendered: one read, not two
                    media._sha256 = hashlib.sha256(data).hexdigest()
            except Exception as exc:  # noqa: BLE001
                unread = f"file could not be read from the export ({_why(exc)})"
        source_sha = media.sha256() if unread is None else ""
    except Exception as exc:  # noqa: BLE001 - a damaged ZIP member is this post's problem
        return MediaResult(None, [], f"file could not be read from the export ({_why(exc)})")
    cache = _Cache(Path(cache_dir))
    if kind is MediaType.VIDEO:
        return _video(media, caps, cache, source_sha or "")
    key = f"{source_sha}-{_profile(caps, extras)}"
    if unread is None:
        cached = cache.load(key, media)
        if cached is not None:
            return cached
        if size > MAX_SOURCE_BYTES:
            return cache.store(key, media, f"image file is {human_size(size)}, too large to process safely", True)
    return ImageJob(key, media, Path(cache_dir), data, caps, extras, unread, disk, source_sha or "")


def render_job(job: ImageJob) -> tuple[ImageOutput | str, bool]:
    """The slow half: pixels in, output bytes (or a skip reason) out, and whether that outcome
    may be cached. Writes no file, so it runs as well in a worker process."""
    if job.unread is not None:
        return job.unread, False
    if job.data is None and job.source is not None:
        return render_file(job.source, job.sha256, job.caps or Capabilities(), job.extras or SaveExtras())
    return render(job.data or b"", job.caps or Capabilities(), job.extras or SaveExtras())


def render_file(path: Path, sha256: str, caps: Capabilities, extras: SaveExtras) -> tuple[ImageOutput | str, bool]:
    """`render` of a file on disk that must still be the one hashed `sha256` (the cache entry
    is keyed by that hash): what a worker process is sent instead of the bytes."""
    try:
        with open(path, "rb") as fh:
            data = _read_whole(fh, os.fstat(fh.fileno()).st_size)
    except OSError as exc:
        return f"file could not be read from the export ({_why(exc)})", False
    if hashlib.sha256(data).hexdigest() != sha256:
        return "file changed while it was being prepared; run again to send it", False
    return render(data, caps, extras)


def _read_whole(fh: IO[bytes], expected: int) -> bytes:
    """The file's bytes, at most MAX_SOURCE_BYTES + 1. Asked for its expected size first:
    `read(n)` reserves n bytes before reading, and faulting in 256 MB of address space for a
    7 MB photo cost more than reading it."""
    data = fh.read(min(expected, MAX_SOURCE_BYTES) + 1)
    if len(data) > expected:  # it grew since the export was indexed
        data += fh.read(MAX_SOURCE_BYTES + 1 - len(data))
    return data


def finish(job: ImageJob, outcome: tuple[ImageOutput | str, bool]) -> MediaResult:
    """Store a rendered outcome in the cache and say what became of the image."""
    return _Cache(job.cache_dir).store(job.key, job.media, *outcome)


# -- images ---------------------------------------------------------------------------------
def render(data: bytes, caps: Capabilities, extras: SaveExtras) -> tuple[ImageOutput | str, bool]:
    """The output or a skip reason, and whether that outcome may be cached (it may when it
    follows from the bytes alone, not from a read error or this machine's memory)."""
    try:
        return _render(data, caps, extras), True
    except Refused as refusal:
        return str(refusal), True
    except MemoryError:
        return "image is too large for this computer's memory", False
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error) as exc:
        return f"image file is damaged or truncated ({_why(exc)})", True
    except Exception as exc:  # noqa: BLE001 - an unexpected decoder failure skips one file
        return f"image could not be processed ({type(exc).__name__}: {_why(exc)})", False


def _render(data: bytes, caps: Capabilities, extras: SaveExtras) -> ImageOutput:
    if not data:
        raise Refused("file is empty (0 bytes)")
    src = sniff.mime_from_head(data[: sniff.HEAD_BYTES])
    if src is None or sniff.type_of_mime(src) != "image":
        raise Refused(_not_an_image(data, src))
    accepted = frozenset(_MIME_ALIASES.get(m, m) for m in caps.image_mime_types)
    with open_image(data) as img:
        labels = scan(data, src)  # what the container carries besides pixels (None: can't walk)
        exif = read_exif(img, labels)
        orientation = orientation_of(exif)
        removed = metadata_kinds(exif, img, labels or [])
        size = upright_size(img.size, orientation)
        why = _must_change(src, accepted, labels, orientation, size, caps, img.mode)
        if why is None:
            repacked = _repack(data, src, extras)
            if repacked is None or leaks(repacked, src, extras) is not None:
                why = "its metadata could not be removed without re-encoding"
            elif not fits(len(repacked), caps.image_max_bytes):
                why = f"too large: {human_size(len(repacked))} > {human_size(caps.image_max_bytes or 0)}"
            else:
                img.draft(None, (1, 1))  # JPEG: DCT-scale to 1/8; the whole stream is still read
                img.load()  # proves the file is whole: a truncated one raises here
                # No actions means "the same as on Instagram" (reports count actions as changes).
                return ImageOutput(repacked, src, size, removed_action(removed) if repacked != data else [])
        out = reencode(img, src, orientation, accepted, caps, extras, save_image)
    out.reencoded = why
    out.actions += removed_action(removed)
    leaked = leaks(out.data, out.mime, extras)
    if leaked is not None:  # fail closed: a file we could not clean is never sent
        raise Refused(f"metadata ({leaked}) could not be removed; not sent")
    return out


def _must_change(src: str, accepted: frozenset[str], labels: list[str] | None, orientation: int,
                 size: tuple[int, int], caps: Capabilities, mode: str) -> str | None:
    """Why this image can't keep its pixels, before trying the lossless route; None if it may."""
    reasons = []
    if src not in accepted:
        reasons.append(f"{format_name(src)} not accepted")
    elif labels is None:  # JPEG/PNG/WebP whose structure can't be walked, or HEIF/AVIF/GIF
        reasons.append("its file structure is damaged" if src in (JPEG, PNG, WEBP)
                       else f"{format_name(src)} metadata can only be removed by re-encoding")
    if orientation != 1:
        reasons.append(f"rotated (EXIF orientation {orientation})")
    if caps.image_max_side and max(size) > caps.image_max_side:
        reasons.append(f"too large: {size[0]}×{size[1]} px > {caps.image_max_side} px a side")
    elif caps.image_max_pixels and size[0] * size[1] > caps.image_max_pixels:
        reasons.append(f"too large: {size[0] * size[1] / 1e6:.1f} > {caps.image_max_pixels / 1e6:.1f} megapixels")
    if mode not in ("1", "L", "LA", "P", "PA", "RGB", "RGBA"):
        reasons.append(f"colour mode {mode} must be converted")
    return "; ".join(reasons) or None


# -- videos -----------------------------------------------------------------------------------
def _video(media: Media, caps: Capabilities, cache: _Cache, source_sha: str) -> MediaResult:
    mime, size = media.mime, media.size or 0
    reason = None
    if mime is None or not mime.startswith("video/"):
        reason = "file is not a recognisable video"
    elif not caps.video_mime_types:
        reason = "this platform takes no video"
    elif mime not in caps.video_mime_types:
        takes = ", ".join(sorted(m.split("/")[1] for m in caps.video_mime_types))
        reason = f"video format {mime} not accepted (this platform takes {takes})"
    elif not fits(size, caps.video_max_bytes):
        reason = f"video is {human_size(size)}, over this platform's {human_size(caps.video_max_bytes or 0)}"
    if reason:
        return MediaResult(None, [], reason)
    # Content-addressed by the source alone: a pass-through copy is the same for every target.
    path = cache.root / f"{source_sha}{_EXTENSIONS.get(mime or '', '.bin')}"
    reused = path.is_file() and path.stat().st_size == size
    if not reused:
        try:
            cache.copy_in(path, media, source_sha)
        except _Unreadable as exc:
            return MediaResult(None, [], f"video could not be read from the export ({exc})")
    strip_user_data(path)  # the cached copy, never the export's file (idempotent, cheap)
    # One wording whether computed or cached, so a resumed run reports the same.
    actions = ["video passed through; any location and device data removed"]
    info = mp4_info(path)
    if caps.video_max_seconds and info.seconds and info.seconds > caps.video_max_seconds + 0.5:
        return MediaResult(None, [], f"video is {_clock(info.seconds)} long, over this platform's "
                                     f"{_clock(caps.video_max_seconds)}")
    if caps.video_subtitles:
        subtitles, notes = _subtitles(media, cache)
    else:  # said in the report, so the artist knows the captions stay behind
        subtitles = ()
        notes = [f"left out {len(media.subtitles)} subtitle file(s): this platform takes none with a video"
                 ] if media.subtitles else []
    # The identity of what is sent: the blanked copy, not the source (adapters check it).
    prepared = PreparedMedia(path, mime or "", info.width, info.height, media.alt_text, file_sha256(path),
                             media.path, subtitles)
    return MediaResult(prepared, actions + notes, None, from_cache=reused)


MAX_SUBTITLE_BYTES = 1 << 20  # a subtitle file is text: anything larger is not one


def _subtitles(media: Media, cache: "_Cache") -> tuple[tuple[PreparedSubtitle, ...], list[str]]:
    """The video's subtitle files as WebVTT in the cache (content-addressed), and a note for
    each one that could not be used: the video still goes, without it."""
    prepared: list[PreparedSubtitle] = []
    notes: list[str] = []
    for subtitle in media.subtitles:
        name = subtitle.path.rsplit("/", 1)[-1]
        try:
            if media.tree is None or not media.tree.exists(subtitle.path):
                notes.append(f"left out subtitle file {name}: it is missing from the export")
                continue
            with media.tree.open(subtitle.path) as fh:
                data = fh.read(MAX_SUBTITLE_BYTES + 1)
        except Exception as exc:  # noqa: BLE001 - a damaged ZIP member is this post's problem
            notes.append(f"left out subtitle file {name}: it could not be read ({_why(exc)})")
            continue
        if len(data) > MAX_SUBTITLE_BYTES:
            notes.append(f"left out subtitle file {name}: it is too large to be subtitles")
            continue
        vtt = to_vtt(data, subtitle.format)
        path = cache.root / f"{hashlib.sha256(vtt).hexdigest()}.vtt"
        if not (path.is_file() and path.read_bytes() == vtt):
            _write_atomic(path, lambda fh, data=vtt: fh.write(data))
        prepared.append(PreparedSubtitle(path, subtitle.language))
    return tuple(prepared), notes


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


# -- cache ------------------------------------------------------------------------------------
class _Unreadable(Exception):
    """The source could not be read (not the cache written)."""


def _profile(caps: Capabilities, extras: SaveExtras) -> str:
    """Digest of everything besides the source bytes that shapes an image output."""
    shaping = {"version": PIPELINE_VERSION, "bytes": caps.image_max_bytes, "pixels": caps.image_max_pixels,
               "side": caps.image_max_side, "types": sorted(caps.image_mime_types), "extras": extras.digest()}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:20]


class _Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # mkdir's mode passes through the umask; the folder may predate us

    def load(self, key: str, media: Media) -> MediaResult | None:
        """A stored result, only if its sidecar is whole and its file matches size and hash."""
        try:
            record = json.loads((self.root / f"{key}.json").read_text("utf-8"))
            if record["version"] != PIPELINE_VERSION:
                return None
            actions = [str(a) for a in record["actions"]]
            reencoded = None if record["reencoded"] is None else str(record["reencoded"])
            if record["skipped"] is not None:
                return MediaResult(None, actions, str(record["skipped"]), from_cache=True)
            if Path(record["file"]).name != record["file"]:
                return None  # a sidecar only ever names a file beside it
            path = self.root / record["file"]
            data = path.read_bytes()  # a few MB at most: verifying beats trusting a torn write
            if len(data) != record["bytes"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
                return None
            prepared = PreparedMedia(path, record["mime"], record["width"], record["height"],
                                     media.alt_text, record["sha256"], media.path)
            return MediaResult(prepared, actions, None, from_cache=True, reencoded=reencoded)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, key: str, media: Media, outcome: ImageOutput | str, cacheable: bool) -> MediaResult:
        if isinstance(outcome, str):
            if cacheable:
                self._write_json(key, {"file": None, "mime": None, "width": None, "height": None,
                                       "sha256": None, "bytes": None, "actions": [], "skipped": outcome,
                                       "reencoded": None})
            return MediaResult(None, [], outcome)
        path = self.root / f"{key}{_EXTENSIONS[outcome.mime]}"
        digest = hashlib.sha256(outcome.data).hexdigest()
        _write_atomic(path, lambda fh: fh.write(outcome.data))
        width, height = outcome.size
        self._write_json(key, {"file": path.name, "mime": outcome.mime, "width": width, "height": height,
                               "sha256": digest, "bytes": len(outcome.data), "actions": outcome.actions,
                               "skipped": None, "reencoded": outcome.reencoded})  # last: marks the entry complete
        prepared = PreparedMedia(path, outcome.mime, width, height, media.alt_text, digest, media.path)
        return MediaResult(prepared, list(outcome.actions), None, reencoded=outcome.reencoded, encodes=outcome.encodes)

    def _write_json(self, key: str, record: dict[str, object]) -> None:
        text = json.dumps({"version": PIPELINE_VERSION, **record}, ensure_ascii=False, indent=1)
        _write_atomic(self.root / f"{key}.json", lambda fh: fh.write(text.encode("utf-8")))

    def copy_in(self, path: Path, media: Media, source_sha: str) -> None:
        """Stream a source into the cache, checking it is still the file that was hashed.
        Read errors become `_Unreadable` (the post's problem); write errors propagate."""
        def copy(out: IO[bytes]) -> None:
            digest = hashlib.sha256()
            try:
                src = media.tree.open(media.path)  # type: ignore[union-attr]
            except Exception as exc:  # noqa: BLE001 - zipfile raises BadZipFile, EOFError ...
                raise _Unreadable(_why(exc)) from None
            with src:
                while True:
                    try:
                        chunk = src.read(1 << 20)
                    except Exception as exc:  # noqa: BLE001
                        raise _Unreadable(_why(exc)) from None
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != source_sha:
                raise _Unreadable("the file changed while it was being read")
        _write_atomic(path, copy)


def _write_atomic(path: Path, fill: Callable[[IO[bytes]], object]) -> None:
    """Write via a temporary file in the same folder and `os.replace`: readers see the old entry
    or the whole new one, never half a file. mkstemp creates the file 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- small helpers ----------------------------------------------------------------------------
def _why(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:120]


def _not_an_image(data: bytes, mime: str | None) -> str:
    head = data[:512].lstrip().lower()
    if mime is not None:
        return f"file is not a readable image (it is a {mime.split('/')[0]})"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "file is not a readable image (it is an HTML page)"
    return "file is not a readable image (not JPEG, PNG, GIF, WebP, HEIC or AVIF)"

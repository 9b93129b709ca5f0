"""Recognise media by their bytes, not their names.

Instagram exports hold `.jpg`, `.webp`, `.heic` and extensionless videos; names lie, bytes
don't. `sniff_mime()` reads only a file's first bytes and `image_size()` only the header Pillow
needs for the pixel size; neither ever reads a whole file. `probe()` gives both from one read.

Headers are read as a bounded prefix (16 KiB, doubled while Pillow still needs more) and
parsed in memory: a ZIP member is a compressed stream on which every small read Pillow makes
costs a locked call, and every backward seek restarts decompression from the member's start.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import IO, Callable

HEAD_BYTES = 64
PROBE_BYTES = 16 << 10  # JPEG/PNG/WebP headers of real exports fit; larger ones are read further

_IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "avif", "bmp", "tif", "tiff"}
_VIDEO_EXTENSIONS = {"mp4", "mov", "m4v", "webm", "3gp", "mkv"}

# ISO-BMFF "ftyp" brands -> MIME. HEIC/AVIF images and MP4/QuickTime videos share the box format.
_FTYP_BRANDS = {
    b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
    b"hevc": "image/heic", b"hevx": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif",
    b"avif": "image/avif", b"avis": "image/avif",
    b"qt  ": "video/quicktime",
}


def mime_from_head(head: bytes) -> str | None:
    """MIME type from a file's first bytes, or None if it is not an image/video we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
        return "video/mp4"  # isom, mp41, mp42, avc1, dash, iso5, M4V ... are all MP4 family
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def type_of_mime(mime: str | None) -> str | None:
    if mime is None:
        return None
    return mime.split("/", 1)[0] if mime.split("/", 1)[0] in ("image", "video") else None


def type_from_name(path: str) -> str:
    """Best guess from the file name, for files that are missing (so bytes can't be read)."""
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext in _VIDEO_EXTENSIONS:
        return "video"
    return "image"


def sniff_mime(opener: Callable[[], IO[bytes]], read_head: Callable[[int], bytes] | None = None) -> str | None:
    """MIME type from the first bytes. Unreadable files give None, never an exception."""
    try:
        if read_head is not None:
            return mime_from_head(read_head(HEAD_BYTES))
        with opener() as fh:
            return mime_from_head(fh.read(HEAD_BYTES))
    except Exception:  # noqa: BLE001 - a broken member is reported as "not media", not a crash
        return None


def probe(opener: Callable[[], IO[bytes]],
          read_head: Callable[[int], bytes] | None = None) -> tuple[str | None, tuple[int | None, int | None]]:
    """MIME type and, for an image, pixel size, from one read of the file's first bytes
    (`read_head(n)` when the export can give them cheaply). Never raises."""
    try:
        if read_head is not None:
            head = read_head(PROBE_BYTES)
        else:
            with opener() as fh:
                head = fh.read(PROBE_BYTES)
    except Exception:  # noqa: BLE001 - a broken member is reported as "not media", not a crash
        return None, (None, None)
    mime = mime_from_head(head[:HEAD_BYTES])
    if type_of_mime(mime) != "image":
        return mime, (None, None)
    size = _header_size(head)
    if size is None and len(head) >= PROBE_BYTES:  # the header goes on past the first read
        size = image_size(opener)
    return mime, size or (None, None)


def image_size(opener: Callable[[], IO[bytes]]) -> tuple[int | None, int | None]:
    try:
        with opener() as fh:
            return _size_from(fh, fh.read(PROBE_BYTES))
    except Exception:  # noqa: BLE001 - truncated/corrupt header: size unknown
        return None, None


def _size_from(fh: IO[bytes], head: bytes) -> tuple[int | None, int | None]:
    """Pixel size from the header, `head` being the first bytes already read from `fh`."""
    data, at_end = head, len(head) < PROBE_BYTES
    while True:
        size = _header_size(data)
        if size is not None or at_end:
            return size or (None, None)
        more = fh.read(len(data))  # the header goes on: read as much again, from where we are
        at_end = len(more) < len(data)
        data += more


def _header_size(data: bytes) -> tuple[int, int] | None:
    # Pillow's open() parses only the header; pixels are never decoded here. A decompression
    # bomb's *size* is still worth reporting, so the bomb warning/error is silenced for probing;
    # the media pipeline refuses such images when it would actually decode them.
    from PIL import Image

    register_heif()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(io.BytesIO(data)) as img:
                return img.size
        except Exception:  # noqa: BLE001 - not enough of the header yet, or corrupt
            return None
        finally:
            Image.MAX_IMAGE_PIXELS = saved


_heif_registered = False


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF (once per process; a no-op without pillow-heif)."""
    global _heif_registered
    if not _heif_registered:
        with contextlib.suppress(ImportError):
            import pillow_heif

            pillow_heif.register_heif_opener()
        _heif_registered = True

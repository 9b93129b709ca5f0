"""Small previews of prepared images, for the folder site's grid, the report and the Cara kit.

One helper, and a careful one, because it decodes pictures:

* it opens only the PROCESSED files the media pipeline wrote, and only with the decoders of the
  formats that pipeline writes (JPEG, PNG, WebP): never a raw export file with every Pillow
  plugin switched on;
* it is decompression-bomb safe: `Image.open` reads the header only, and a picture over
  `MAX_PIXELS` (or Pillow's own `Image.MAX_IMAGE_PIXELS`) is refused before a pixel is decoded;
  JPEGs decode at a reduced scale (`draft`), so a 24 MP photo costs a fraction of a full decode;
* it never raises: a missing preview is a placeholder, never a stopped run;
* previews carry no metadata, and their colours are converted to sRGB rather than dropped.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

PIPELINE_FORMATS = ("JPEG", "PNG", "WEBP")  # what the media pipeline writes (a still GIF becomes PNG)
MAX_PIXELS = 50_000_000  # prepared files are far smaller; anything bigger is refused unread
PREVIEW_CACHE_SIZE = 512  # data: URIs kept in memory, keyed by path, size and modification time


def _open_prepared(source: Path) -> Image.Image | None:
    """The image at `source`, header read only, or None when it is not one we should decode."""
    try:
        image = Image.open(source, formats=list(PIPELINE_FORMATS))
    except Exception:  # noqa: BLE001 - includes Pillow's own DecompressionBombError
        return None
    limit = min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    if not (0 < image.width * image.height <= limit):
        image.close()
        return None
    return image


def _flat_srgb(original: Image.Image, box: tuple[int, int]) -> Image.Image:
    """Upright RGB pixels in sRGB, transparency laid over white, decoded no bigger than needed."""
    if original.format == "JPEG":
        original.draft("RGB", (box[0] * 2, box[1] * 2))  # decode at 1/2..1/8 scale
    icc = original.info.get("icc_profile")
    im: Image.Image = ImageOps.exif_transpose(original)  # phone photos stored sideways stand up
    if im.mode in ("RGBA", "LA", "P", "PA"):
        rgba = im.convert("RGBA")
        im = Image.new("RGB", im.size, (255, 255, 255))
        im.paste(rgba, mask=rgba.getchannel("A"))
    return _to_srgb(im, icc)


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Previews carry no profile, so a wide-gamut (Display P3, Adobe RGB) or CMYK one is applied
    here instead of dropped: otherwise the colours shift."""
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:
                return converted
        except Exception:  # noqa: BLE001 - a broken profile: fall back to the plain conversion
            pass
    return im.convert("RGB")


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)  # no exif=/icc_profile=
    return buf.getvalue()


def cover_jpeg(source: Path, size: tuple[int, int]) -> bytes | None:
    """A JPEG of exactly `size`, cropped from the middle (a grid tile). None when it can't be made."""
    image = _open_prepared(source)
    if image is None:
        return None
    try:
        with image:
            return _jpeg(ImageOps.fit(_flat_srgb(image, size), size, Image.Resampling.LANCZOS), 82)
    except Exception:  # noqa: BLE001 - truncated or damaged: no preview
        return None


def preview_jpeg(source: Path, max_side: int) -> bytes | None:
    """A JPEG that fits in a `max_side` square, whole picture, same proportions. None on failure."""
    image = _open_prepared(source)
    if image is None:
        return None
    try:
        with image:
            im = _flat_srgb(image, (max_side, max_side))
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return _jpeg(im, 72)
    except Exception:  # noqa: BLE001 - truncated or damaged: no preview
        return None


def thumbnail_data_uri(source: Path, max_side: int = 160) -> str | None:
    """`preview_jpeg` as a data: URI (for pages that must work as one file), or None.

    Cached in memory by what identifies the file's content cheaply (path, size, modification
    time), so a page drawn again reuses its previews; the cache is bounded."""
    try:
        info = Path(source).stat()
    except (OSError, TypeError, ValueError):  # gone, or not a path at all
        return None
    return _cached_uri(str(source), max_side, info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=PREVIEW_CACHE_SIZE)
def _cached_uri(source: str, max_side: int, size: int, mtime_ns: int) -> str | None:
    data = preview_jpeg(Path(source), max_side)
    return None if data is None else "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")

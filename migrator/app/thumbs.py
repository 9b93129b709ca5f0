"""Small previews of export pictures for the app's pages (the export is only read).

Export files are untrusted: only the JPEG, PNG and WebP decoders are allowed, the header is
read before any pixel and a picture over `MAX_PIXELS` is refused, JPEGs decode at a reduced
scale. Previews carry no metadata. Kept in a small in-memory cache.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageOps

MAX_PIXELS = 80_000_000
FORMATS = ("JPEG", "PNG", "WEBP")


def preview(read: bytes, side: int = 240) -> bytes | None:
    """A JPEG at most `side` pixels on its longest side, or None when it is not a picture we decode."""
    try:
        with Image.open(io.BytesIO(read), formats=FORMATS) as im:
            if im.width * im.height > MAX_PIXELS:
                return None
            im.draft("RGB", (side, side))
            im = ImageOps.exif_transpose(im)
            im.thumbnail((side, side))
            out = io.BytesIO()
            im.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None


@lru_cache(maxsize=512)
def cached_preview(key: tuple[str, ...], read: bytes, side: int) -> bytes | None:
    return preview(read, side)

"""Tiny but real media files: images Pillow can open, videos whose bytes say MP4."""

from __future__ import annotations

import io
import struct
from functools import lru_cache


@lru_cache(maxsize=256)
def image_bytes(fmt: str, width: int = 8, height: int = 6, color: tuple[int, int, int] = (200, 90, 40)) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (width, height), color)
    buf = io.BytesIO()
    if fmt == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
        img.save(buf, format="HEIF", quality=50)
    else:
        img.save(buf, format={"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt])
    return buf.getvalue()


def mp4_bytes(payload: int = 64) -> bytes:
    """An ISO-BMFF file with an `ftyp` box (what sniffers look at) and an mdat of filler."""
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    ftyp_box = struct.pack(">I", len(ftyp) + 4) + ftyp
    mdat = struct.pack(">I", payload + 8) + b"mdat" + b"\x00" * payload
    return ftyp_box + mdat


def media_bytes(fmt: str, width: int = 8, height: int = 6) -> bytes:
    if fmt == "mp4":
        return mp4_bytes()
    return image_bytes(fmt, width, height)

"""Broken and hostile media files (decompression bombs, truncated or empty files, HTML or programs
named .jpg, a PNG with a bad checksum): left out with their reason, never published as they are.

The harness (`migrate`, `refused`, `survived`, the export builders) is in tests/hostile_support.py.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Callable

import pytest
from PIL import Image

from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.hostile_support import T, export_with, good_post, jpeg, survived

pytestmark = pytest.mark.integration


# -- media files ---------------------------------------------------------------------------------------
def _png_bomb() -> bytes:
    """A real PNG of 40,000 x 40,000 one-bit pixels (1.6 Gpx) that is ~200 kB on disk."""
    width = height = 40_000
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    comp = zlib.compressobj(9)
    row = b"\0" * (1 + width // 8)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _bad_crc_png() -> bytes:
    img = Image.frombytes("RGB", (40, 30), random.Random(3).randbytes(40 * 30 * 3))
    out = io.BytesIO()
    img.save(out, "PNG")
    data = bytearray(out.getvalue())
    idat = data.find(b"IDAT")
    (length,) = struct.unpack_from(">I", data, idat - 4)
    data[idat + 4 + length] ^= 0xFF  # the IDAT chunk's CRC
    return bytes(data)


BAD_MEDIA: dict[str, tuple[str, Callable[[], bytes], tuple[str, ...]]] = {
    # case: (format the metadata claims, bytes, words the skip reason must hold (any of them))
    "decompression bomb png": ("png", _png_bomb, ("pixel", "large", "bomb")),
    "truncated jpeg": ("jpg", lambda: jpeg()[: len(jpeg()) * 6 // 10], ("damaged", "truncated")),
    "zero-byte file": ("jpg", lambda: b"", ("empty", "0 bytes")),
    "jpeg that is an html page": ("jpg", lambda: b"<!DOCTYPE html><html><body>Sorry, this page isn't available."
                                                 b"<script>alert(1)</script></body></html>", ("html",)),
    "mp4 that is not a video": ("mp4", lambda: b"This is not a video, just text pretending.\n" * 20,
                                ("not a recognisable video",)),
    "jpeg that is a program": ("jpg", lambda: b"\x7fELF\x02\x01\x01" + bytes(500), ("not a readable image",)),
    "jpeg of random bytes after a valid header": ("jpg", lambda: b"\xff\xd8\xff\xe0" + random.Random(5).randbytes(3000),
                                                  ("damaged", "truncated", "not a readable")),
}


@pytest.mark.parametrize("case", list(BAD_MEDIA))
def test_a_broken_media_file_is_left_out_with_its_reason_and_the_rest_published(request, tmp_path, case):
    fmt, make, words = BAD_MEDIA[case]
    data = make()
    posts = [SynthPost(T, f"Bad file: {case}", [SynthMedia(fmt)]),
             SynthPost(T + 60, f"Carousel with a bad file: {case}", [SynthMedia(width=22, height=11), SynthMedia(fmt)]),
             good_post()]
    bad = {(T, 0), (T + 60, 1)}
    root = export_with(tmp_path, posts, media_content=lambda post, i, media: data if (post.taken_at, i) in bad
                       else Image_bytes(media))
    out = survived(request, tmp_path, root)
    for caption in (f"Bad file: {case}", f"Carousel with a bad file: {case}"):
        post = out.post(caption)
        reasons = " ".join(filter(None, [post["reason"]] + [m["skipped"] for m in post["media"]])).lower()
        assert any(w in reasons for w in words), (case, reasons)
    # The good image of the carousel and the good post are on the site; the bad file is not.
    texts = out.site_texts()
    assert any(t.startswith("Carousel with a bad file") for t in texts)
    assert any(t.startswith("A good post") for t in texts)
    if data:
        for path in (out.tmp / "site").rglob("*"):
            assert not path.is_file() or data[:4000] not in path.read_bytes()


def Image_bytes(media: SynthMedia) -> bytes:  # noqa: N802 - a default content callback
    from tests.exportbuilder.media import media_bytes

    return media_bytes(media.fmt, media.width, media.height)


def test_a_png_with_a_bad_checksum_is_left_out_or_published_repaired_never_as_is(request, tmp_path):
    data = _bad_crc_png()
    root = export_with(tmp_path, [SynthPost(T, "Bad CRC", [SynthMedia("png", width=40, height=30)]), good_post()],
                       media_content=lambda post, i, media: data if post.taken_at == T else Image_bytes(media))
    out = survived(request, tmp_path, root)
    post = out.post("Bad CRC")
    if post["media"][0]["skipped"]:
        return
    site = next(p for p in out.site_posts() if p["parts"][0]["text"].startswith("Bad CRC"))
    published = (out.tmp / "site" / site["parts"][0]["media"][0]["path"]).read_bytes()
    assert published != data
    pos = 8
    while pos < len(published):  # every chunk's CRC must be right
        (length,) = struct.unpack_from(">I", published, pos)
        kind = published[pos + 4: pos + 8]
        body = published[pos + 8: pos + 8 + length]
        (crc,) = struct.unpack_from(">I", published, pos + 8 + length)
        assert zlib.crc32(kind + body) == crc, f"chunk {kind!r} published with a bad CRC"
        pos += 12 + length

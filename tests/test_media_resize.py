"""Shrinking a JPEG the fast way (scaled while decoding, then Lanczos) loses nothing a full
Lanczos resize keeps: colours in the right places at odd and even sizes, for YCbCr- and
RGB-coded JPEGs, turned upright, and a lossless target gets every pixel the decoder gave."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from pindah.adapters.contract import Capabilities
from tests.test_media_pipeline import encode, output, private_exif, run

JPEG_ONLY = frozenset({"image/jpeg"})


def colour_blocks(width: int, height: int) -> Image.Image:
    """Saturated blocks with sharp edges: a chroma shift, swap or blur shows at once."""
    img = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    colours = [(220, 20, 30), (20, 180, 40), (30, 40, 220), (240, 200, 20), (150, 20, 160)]
    step = width // 24
    for i in range(24):
        for j in range(height // step):
            draw.rectangle((i * step, j * step, (i + 1) * step - 1, (j + 1) * step - 1),
                           fill=colours[(i + 2 * j) % len(colours)])
    return img


def differences(out: Image.Image, reference: Image.Image) -> list[float]:
    """Mean absolute difference per YCbCr channel."""
    return ImageStat.Stat(ImageChops.difference(out.convert("YCbCr"), reference.convert("YCbCr"))).mean


def assert_as_close_as_a_full_lanczos_resize(out: Image.Image, source: Image.Image) -> None:
    """`out` is as close to `source` resized in full with Lanczos, channel by channel, as that
    resize itself saved as a JPEG at the pipeline's top quality (4:2:0 chroma) is."""
    reference = source.resize(out.size, Image.Resampling.LANCZOS)
    ours = differences(out, reference)
    theirs = differences(Image.open(io.BytesIO(encode(reference, "JPEG", quality=92, optimize=True))), reference)
    assert all(o <= t * 1.03 + 0.35 for o, t in zip(ours, theirs)), (ours, theirs)


def fitted(source: bytes, side: int, tmp_path: Path) -> Image.Image:
    caps = Capabilities(image_max_bytes=8 << 20, image_max_side=side, image_mime_types=JPEG_ONLY)
    result = run(source, caps, tmp_path)
    assert result.reencoded is not None and "too large: " in result.reencoded
    out = Image.open(io.BytesIO(output(result)))
    out.load()
    return out


# Odd and even output sides, and a side small enough for decoding at 1/4.
@pytest.mark.parametrize("side", [1001, 1000, 333])
def test_a_shrunk_jpeg_has_a_full_lanczos_resizes_colours_in_place(tmp_path: Path, side: int) -> None:
    source = colour_blocks(2400, 1800)
    out = fitted(encode(source, "JPEG", quality=95, subsampling=0), side, tmp_path)
    assert_as_close_as_a_full_lanczos_resize(out, source)
    shifted = source.transform(source.size, Image.Transform.AFFINE, (1, 0, 6, 0, 1, 0))
    with pytest.raises(AssertionError):  # the check would see colours a few pixels off
        assert_as_close_as_a_full_lanczos_resize(out, shifted)


def test_an_rgb_coded_jpeg_is_shrunk_with_its_colours_right(tmp_path: Path) -> None:
    source = colour_blocks(2400, 1800)
    out = fitted(encode(source, "JPEG", quality=95, keep_rgb=True), 1000, tmp_path)
    assert out.size == (1000, 750)
    assert_as_close_as_a_full_lanczos_resize(out, source)


def test_a_sideways_jpeg_is_shrunk_and_turned_upright_with_its_colours_in_place(tmp_path: Path) -> None:
    upright = colour_blocks(1800, 2400)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what EXIF orientation 6 turns back
    out = fitted(encode(stored, "JPEG", quality=95, exif=private_exif(orientation=6)), 1000, tmp_path)
    assert out.size == (750, 1000)
    assert_as_close_as_a_full_lanczos_resize(out, upright)


def test_a_jpeg_shrunk_into_a_png_only_target_keeps_full_colour_resolution(tmp_path: Path) -> None:
    """The pixels are the decoder's own RGB (scaled while decoding to exactly the target here)."""
    source = encode(colour_blocks(2400, 1800), "JPEG", quality=95)
    caps = Capabilities(image_max_bytes=8 << 20, image_max_side=600, image_mime_types=frozenset({"image/png"}))
    result = run(source, caps, tmp_path)
    assert result.prepared is not None and result.prepared.mime == "image/png"
    with Image.open(io.BytesIO(source)) as decoded, Image.open(io.BytesIO(output(result))) as out:
        decoded.draft("RGB", (600, 450))
        assert out.mode == "RGB" and out.size == decoded.size == (600, 450)
        assert ImageChops.difference(out, decoded.convert("RGB")).getbbox() is None

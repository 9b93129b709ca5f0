"""The media pipeline: what reaches a target is upright, fits, and carries no personal metadata."""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import stat
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageOps

from pindah.adapters.contract import Capabilities
from pindah.migrator import media as pipeline
from pindah.migrator.media import MediaResult, SaveExtras, process_media
from pindah.migrator.model import Media
from tests.exportbuilder.media import mp4_bytes

pillow_heif = pytest.importorskip("pillow_heif")
pillow_heif.register_heif_opener()

BLUESKY = Capabilities(image_max_bytes=1_000_000, image_max_side=2000,
                       video_mime_types=frozenset({"video/mp4"}), video_max_bytes=100_000_000)
ROOMY = Capabilities(image_max_bytes=16 << 20, image_mime_types=frozenset({"image/jpeg", "image/png"}))
EVERYTHING = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/gif"})

GPS_MARK, CAMERA_MARK, XMP_MARK, COMMENT_MARK = b"N-48.8584", b"PindahSecretCam", b"xmp-secret-42", b"comment-secret"


class MemoryTree:
    """The three calls Media needs from an ExportTree, over a dict of bytes."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.opened = 0

    def exists(self, path: str) -> bool:
        return path in self.files

    def size(self, path: str) -> int:
        return len(self.files[path])

    def open(self, path: str) -> io.BytesIO:
        self.opened += 1
        return io.BytesIO(self.files[path])


def run(data: bytes, caps: Capabilities, cache: Path, name: str = "media/posts/1.jpg",
        extras: SaveExtras | None = None) -> MediaResult:
    return process_media(Media(name, MemoryTree({name: data}), alt_text="alt"), caps, cache, extras=extras)


def output(result: MediaResult) -> bytes:
    assert result.prepared is not None, result.skipped
    return result.prepared.path.read_bytes()


def picture(width: int, height: int, sigma: float = 0.0, mode: str = "RGB") -> Image.Image:
    """A gradient with optional coarse grain (it survives downscaling), so encoders have work."""
    gradient = Image.linear_gradient("L").resize((width, height))
    if sigma:
        def grain(s: float) -> Image.Image:
            return Image.effect_noise((width // 3 or 1, height // 3 or 1), s).resize((width, height))
        bands = (grain(sigma), gradient, grain(sigma / 2))
    else:
        bands = (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient)
    return Image.merge("RGB", bands).convert(mode)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def private_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Pindah"  # Make
    exif[0x0110] = CAMERA_MARK.decode()  # Model
    exif[0x0112] = orientation
    exif[0x0132] = "2024:05:01 10:00:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    gps[0x1B] = GPS_MARK.decode()  # GPSProcessingMethod: a string we can look for in the bytes
    return exif


@functools.cache
def srgb_icc() -> bytes:  # cached: a profile's header carries its creation time
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def private_jpeg(img: Image.Image, orientation: int = 1) -> bytes:
    return encode(img, "JPEG", quality=90, exif=private_exif(orientation), icc_profile=srgb_icc(),
                  xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + XMP_MARK + b"</x:xmpmeta>",
                  comment=COMMENT_MARK)


def assert_no_private_metadata(data: bytes) -> None:
    for mark in (GPS_MARK, CAMERA_MARK, XMP_MARK, COMMENT_MARK, b"Exif\0\0"):
        assert mark not in data
    with Image.open(io.BytesIO(data)) as out:
        out.load()  # and the output is a whole, decodable picture
        exif = out.getexif()
        assert 0x8825 not in exif and not exif.get_ifd(0x8825)
        assert 0x010F not in exif and 0x0110 not in exif
        assert not out.info.get("xmp") and not out.info.get("XML:com.adobe.xmp")
        assert not out.info.get("comment")


# -- metadata --------------------------------------------------------------------------------
def test_gps_camera_xmp_and_comment_never_survive_a_reencode_and_icc_is_kept(tmp_path: Path) -> None:
    result = run(private_jpeg(picture(2400, 1800)), BLUESKY, tmp_path)  # too wide: re-encoded
    data = output(result)
    assert_no_private_metadata(data)
    with Image.open(io.BytesIO(data)) as out:
        assert out.info.get("icc_profile") == srgb_icc()
    assert "resized 2400×1800 → 2000×1500" in result.actions
    assert "metadata removed (GPS location, camera, date taken, XMP, comment)" in result.actions


def test_gps_camera_xmp_and_comment_never_survive_the_lossless_route_and_pixels_are_untouched(
        tmp_path: Path) -> None:
    source = private_jpeg(picture(800, 600))
    result = run(source, BLUESKY, tmp_path)  # fits as it is: repacked, not re-encoded
    data = output(result)
    assert_no_private_metadata(data)
    with Image.open(io.BytesIO(data)) as out, Image.open(io.BytesIO(source)) as original:
        assert out.info.get("icc_profile") == srgb_icc()
        assert out.tobytes() == original.tobytes()  # same DCT data, so the very same pixels
    assert result.actions == ["metadata removed (GPS location, camera, date taken, XMP, comment)"]


def test_data_hidden_after_the_jpeg_end_is_cut(tmp_path: Path) -> None:
    # Motion photos and MPO files append a video or a second JPEG (with its own GPS) after EOI.
    source = encode(picture(320, 240), "JPEG") + b"\xff\xd8" + b"Exif\0\0" + GPS_MARK * 20
    result = run(source, BLUESKY, tmp_path)
    assert GPS_MARK not in output(result)
    assert output(result).endswith(b"\xff\xd9")
    assert result.actions == ["metadata removed (hidden data after the picture)"]


def test_png_text_and_exif_chunks_are_dropped_losslessly(tmp_path: Path) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", COMMENT_MARK.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP_MARK.decode())
    source = encode(picture(300, 200), "PNG", pnginfo=info, exif=private_exif(), icc_profile=srgb_icc())
    result = run(source, ROOMY, tmp_path, "a.png")
    data = output(result)
    assert_no_private_metadata(data)
    with Image.open(io.BytesIO(data)) as out, Image.open(io.BytesIO(source)) as original:
        assert out.info.get("icc_profile") == srgb_icc() and out.tobytes() == original.tobytes()
    assert result.prepared is not None and result.prepared.mime == "image/png"


def test_a_clean_file_that_fits_is_passed_through_byte_for_byte(tmp_path: Path) -> None:
    source = encode(picture(640, 480), "JPEG", quality=80)
    result = run(source, BLUESKY, tmp_path)
    assert output(result) == source
    assert result.actions == []  # nothing to tell: it is the file Instagram gave


def test_media_read_from_a_real_export_folder_are_processed_too(tmp_path: Path) -> None:
    from pindah.migrator.exportfs import ExportTree

    folder = tmp_path / "export" / "media" / "posts" / "202405"
    folder.mkdir(parents=True)
    (folder / "1.jpg").write_bytes(private_jpeg(picture(2400, 1600)))
    (folder / "2.mp4").write_bytes(mp4_bytes(payload=3000))
    with ExportTree.from_paths([tmp_path / "export"]) as tree:
        photo = process_media(Media("media/posts/202405/1.jpg", tree), BLUESKY, tmp_path / "cache")
        video = process_media(Media("media/posts/202405/2.mp4", tree), BLUESKY, tmp_path / "cache")
    assert_no_private_metadata(output(photo))
    assert output(video) == mp4_bytes(payload=3000)


# -- orientation -------------------------------------------------------------------------------
def test_exif_orientation_6_gives_an_upright_output_with_swapped_dimensions(tmp_path: Path) -> None:
    stored = Image.new("RGB", (300, 200), (220, 20, 20))
    stored.paste((20, 20, 220), (0, 0, 150, 200))  # left half blue, right half red, as stored
    result = run(private_jpeg(stored, orientation=6), BLUESKY, tmp_path)
    assert result.prepared is not None
    assert (result.prepared.width, result.prepared.height) == (200, 300)
    with Image.open(io.BytesIO(output(result))) as out:
        assert out.size == (200, 300)
        assert out.getexif().get(0x0112) is None  # upright pixels, no tag left to rotate again
        top, bottom = out.getpixel((100, 40)), out.getpixel((100, 260))
    # Orientation 6 means "turn 90° clockwise to view": the stored left half ends up on top.
    assert top[2] > 150 and top[0] < 100
    assert bottom[0] > 150 and bottom[2] < 100
    assert "rotated upright" in result.actions


def quadrants(width: int, height: int) -> Image.Image:
    """Four flat colours, one per quarter, so any flip or turn is visible."""
    img = Image.new("RGB", (width, height), (230, 30, 30))
    img.paste((30, 200, 30), (width // 2, 0, width, height // 2))
    img.paste((30, 30, 230), (0, height // 2, width // 2, height))
    img.paste((240, 240, 240), (width // 2, height // 2, width, height))
    return img


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("max_side", [None, 150])
def test_every_exif_orientation_matches_pillows_exif_transpose_with_or_without_a_resize(
        tmp_path: Path, orientation: int, max_side: int | None) -> None:
    source = encode(quadrants(300, 200), "JPEG", quality=95, exif=private_exif(orientation))
    with Image.open(io.BytesIO(source)) as original:
        expected = ImageOps.exif_transpose(original)
    caps = Capabilities(image_max_side=max_side)
    with Image.open(io.BytesIO(output(run(source, caps, tmp_path)))) as out:
        if max_side:
            expected = expected.resize(out.size)
        assert out.size == expected.size
        for x, y in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
            point = (int(out.width * x), int(out.height * y))
            assert all(abs(a - b) < 40 for a, b in zip(out.getpixel(point), expected.getpixel(point), strict=True))


def test_a_turned_heic_is_reported_as_rotated_upright(tmp_path: Path) -> None:
    source = encode(quadrants(64, 48), "HEIF", exif=private_exif(orientation=6).tobytes())
    result = run(source, BLUESKY, tmp_path, "a.heic")
    assert result.prepared is not None and (result.prepared.width, result.prepared.height) == (48, 64)
    assert "rotated upright" in result.actions


# -- formats -----------------------------------------------------------------------------------
def heic_with_gps() -> bytes:
    return encode(picture(400, 300), "HEIF", quality=80, exif=private_exif().tobytes(),
                  xmp=b"<x:xmpmeta>" + XMP_MARK + b"</x:xmpmeta>")


def webp_with_gps() -> bytes:
    return encode(picture(400, 300), "WEBP", quality=80, exif=private_exif().tobytes(),
                  xmp=b"<x:xmpmeta>" + XMP_MARK + b"</x:xmpmeta>")


@pytest.mark.parametrize("source, name, label",
                         [(heic_with_gps, "a.heic", "HEIC"), (webp_with_gps, "a.webp", "WebP")])
def test_heic_and_webp_are_converted_to_jpeg_when_the_target_does_not_take_them(
        tmp_path: Path, source, name: str, label: str) -> None:
    result = run(source(), BLUESKY, tmp_path, name)
    data = output(result)
    assert result.prepared is not None and result.prepared.mime == "image/jpeg"
    assert data.startswith(b"\xff\xd8")
    assert_no_private_metadata(data)
    assert result.actions[0] == f"converted {label} → JPEG"


@pytest.mark.parametrize("source, name, mime",
                         [(heic_with_gps, "a.heic", "image/heic"), (webp_with_gps, "a.webp", "image/webp")])
def test_heic_and_webp_stay_in_their_format_but_stripped_when_the_target_takes_them(
        tmp_path: Path, source, name: str, mime: str) -> None:
    caps = Capabilities(image_max_bytes=16 << 20, image_mime_types=EVERYTHING)
    result = run(source(), caps, tmp_path, name)
    data = output(result)
    assert result.prepared is not None and result.prepared.mime == mime
    assert_no_private_metadata(data)
    assert not any(a.startswith("converted") for a in result.actions)
    assert any(a.startswith("metadata removed (GPS location") for a in result.actions)


def test_rgba_png_with_real_transparency_stays_png_when_png_is_accepted(tmp_path: Path) -> None:
    img = picture(2600, 1300, mode="RGBA")
    img.putalpha(Image.linear_gradient("L").resize((2600, 1300)))
    result = run(encode(img, "PNG"), BLUESKY, tmp_path, "art.png")  # too big: must be re-encoded
    assert result.prepared is not None and result.prepared.mime == "image/png"
    with Image.open(io.BytesIO(output(result))) as out:
        assert out.mode == "RGBA" and out.getchannel("A").getextrema()[0] < 255
        assert max(out.size) <= 2000 and len(output(result)) <= 1_000_000


def test_transparent_png_is_flattened_onto_white_when_only_jpeg_is_accepted(tmp_path: Path) -> None:
    img = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    img.paste((0, 0, 255, 255), (0, 0, 32, 64))
    caps = Capabilities(image_max_bytes=1_000_000, image_mime_types=frozenset({"image/jpeg"}))
    result = run(encode(img, "PNG"), caps, tmp_path, "a.png")
    with Image.open(io.BytesIO(output(result))) as out:
        assert out.mode == "RGB" and out.getpixel((60, 30)) >= (250, 250, 250)
    assert result.actions[:2] == ["converted PNG → JPEG", "transparency flattened onto white"]


def test_cmyk_palette_and_16_bit_images_become_ordinary_rgb_or_grey(tmp_path: Path) -> None:
    cmyk = run(encode(picture(60, 40, mode="CMYK"), "JPEG"), BLUESKY, tmp_path / "c", "c.jpg")
    with Image.open(io.BytesIO(output(cmyk))) as out:
        assert out.mode == "RGB"
    assert "colours converted from CMYK to RGB" in cmyk.actions
    grey16 = Image.new("I;16", (40, 30), 40000)
    deep = run(encode(grey16, "PNG"), Capabilities(image_mime_types=frozenset({"image/jpeg"})),
               tmp_path / "g", "g.png")
    with Image.open(io.BytesIO(output(deep))) as out:
        assert out.mode == "L" and 150 < out.getpixel((5, 5)) < 160  # 40000/65535 of white, not clipped
    palette = run(encode(picture(60, 40).convert("P"), "GIF"), BLUESKY, tmp_path / "p", "p.gif")
    assert palette.prepared is not None and palette.prepared.mime == "image/jpeg"


# -- fitting -----------------------------------------------------------------------------------
def test_a_4000x5000_photo_fits_1_mb_and_2000_px_keeping_its_aspect_ratio(tmp_path: Path) -> None:
    result = run(encode(picture(4000, 5000, sigma=40), "JPEG", quality=95), BLUESKY, tmp_path)
    data = output(result)
    assert len(data) <= 1_000_000
    with Image.open(io.BytesIO(data)) as out:
        width, height = out.size
    assert max(width, height) <= 2000
    assert abs(width * 5000 / 4000 - height) <= 1
    assert result.actions[0] == f"resized 4000×5000 → {width}×{height}"
    assert any(a.startswith("quality ") and a.endswith(" to fit 1 MB") for a in result.actions)


def test_quality_stays_at_the_top_when_the_file_fits_without_compromise(tmp_path: Path) -> None:
    result = run(encode(picture(3000, 2000), "JPEG", quality=95), BLUESKY, tmp_path)
    assert result.actions == ["resized 3000×2000 → 2000×1333"]  # no "quality NN" step needed
    with Image.open(io.BytesIO(output(result))) as out:
        assert out.size == (2000, 1333)


def test_dimensions_shrink_when_even_the_lowest_quality_is_too_big(tmp_path: Path) -> None:
    caps = Capabilities(image_max_bytes=60_000)
    result = run(encode(picture(1200, 900, sigma=60), "JPEG", quality=95), caps, tmp_path)
    data = output(result)
    assert len(data) <= 60_000
    with Image.open(io.BytesIO(data)) as out:
        assert out.width < 1200 and abs(out.width * 900 / 1200 - out.height) <= 1
    assert any(a.startswith("resized 1200×900 → ") for a in result.actions)


def test_the_pixel_budget_is_respected_as_well_as_the_side(tmp_path: Path) -> None:
    caps = Capabilities(image_max_pixels=1_000_000)
    result = run(encode(picture(3000, 1000), "JPEG"), caps, tmp_path)
    assert result.prepared is not None
    assert result.prepared.width * result.prepared.height <= 1_000_000  # type: ignore[operator]
    assert abs(result.prepared.width / result.prepared.height - 3) < 0.01  # type: ignore[operator]


# -- refusals ----------------------------------------------------------------------------------
def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size: a few hundred bytes claiming billions of pixels."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 4096))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


@pytest.mark.parametrize("width, height", [(50_000, 50_000), (10_000, 10_000)])
def test_a_decompression_bomb_is_refused_with_a_reason_without_decoding(
        tmp_path: Path, width: int, height: int) -> None:
    started = time.monotonic()
    result = run(png_header_only(width, height), BLUESKY, tmp_path, "bomb.png")
    assert time.monotonic() - started < 5
    assert result.prepared is None
    assert result.skipped == (f"image is a possible decompression bomb ({width}×{height} px, "
                              "over 89 megapixels); refused")


def test_truncated_empty_and_html_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    whole = encode(picture(400, 300, sigma=20), "JPEG")
    truncated = run(whole[: len(whole) // 2], BLUESKY, tmp_path)
    assert truncated.prepared is None
    assert truncated.skipped is not None and truncated.skipped.startswith("image file is damaged or truncated")
    assert run(b"", BLUESKY, tmp_path).skipped == "file is empty (0 bytes)"
    html = b"<!DOCTYPE html><html><body>Sorry, this page isn't available.</body></html>"
    assert run(html, BLUESKY, tmp_path).skipped == "file is not a readable image (it is an HTML page)"
    missing = process_media(Media("gone.jpg", MemoryTree({})), BLUESKY, tmp_path)
    assert missing.skipped == "file is missing from the export"


def test_no_writable_format_is_a_skip_not_a_crash(tmp_path: Path) -> None:
    caps = Capabilities(image_mime_types=frozenset({"image/gif"}))
    result = run(encode(picture(40, 30), "JPEG"), caps, tmp_path)
    assert result.skipped == "no image format this platform accepts can be written (it takes GIF)"


# -- videos ------------------------------------------------------------------------------------
def test_an_accepted_video_within_the_limit_is_copied_unchanged(tmp_path: Path) -> None:
    video = mp4_bytes(payload=5000)
    result = run(video, BLUESKY, tmp_path, "media/reels/1.mp4")
    assert output(result) == video
    assert result.prepared is not None and result.prepared.mime == "video/mp4"
    assert result.actions == ["video passed through; any location and device data removed"]
    again = run(video, BLUESKY, tmp_path, "media/reels/1.mp4")
    assert again == result and again.from_cache


def test_a_too_large_or_unaccepted_video_is_skipped_with_a_reason(tmp_path: Path) -> None:
    video = mp4_bytes(payload=120_000)
    small = Capabilities(video_mime_types=frozenset({"video/mp4"}), video_max_bytes=100_000)
    assert run(video, small, tmp_path, "v.mp4").skipped == "video is 120 kB, over this platform's 100 kB"
    quicktime = b"\0\0\0\x14ftypqt  \0\0\0\0qt  " + b"\0" * 64
    assert run(quicktime, small, tmp_path, "v.mov").skipped == (
        "video format video/quicktime not accepted (this platform takes mp4)")
    assert run(video, ROOMY, tmp_path, "v.mp4").skipped == "this platform takes no video"
    assert list(tmp_path.iterdir()) == []


# -- cache -------------------------------------------------------------------------------------
def test_the_second_call_is_served_from_the_cache_without_re_encoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = private_jpeg(picture(2600, 1800, sigma=20))
    first = run(source, BLUESKY, tmp_path)
    assert first.prepared is not None and not first.from_cache
    before = first.prepared.path.stat()

    def no_encoding(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("re-encoded although cached")
    monkeypatch.setattr(pipeline, "save_image", no_encoding)
    monkeypatch.setattr(pipeline, "_repack", no_encoding)
    second = run(source, BLUESKY, tmp_path)  # a fresh Media: nothing remembered in memory
    assert second == first and second.from_cache
    after = second.prepared.path.stat()  # type: ignore[union-attr]
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_skip_is_cached_too_and_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run(png_header_only(50_000, 50_000), BLUESKY, tmp_path, "bomb.png")
    monkeypatch.setattr(pipeline, "_render", lambda *a: pytest.fail("recomputed"))
    second = run(png_header_only(50_000, 50_000), BLUESKY, tmp_path, "bomb.png")
    assert second == first and second.from_cache


def test_a_target_with_other_limits_gets_its_own_entry(tmp_path: Path) -> None:
    source = encode(picture(2400, 1600), "JPEG")
    bluesky = run(source, BLUESKY, tmp_path)
    roomy = run(source, Capabilities(image_max_side=1000), tmp_path)
    assert bluesky.prepared and roomy.prepared and bluesky.prepared.path != roomy.prepared.path
    assert (roomy.prepared.width, roomy.prepared.height) == (1000, 667)


def test_an_incomplete_cache_entry_is_recomputed(tmp_path: Path) -> None:
    source = encode(picture(2400, 1600), "JPEG")
    first = run(source, BLUESKY, tmp_path)
    assert first.prepared is not None
    first.prepared.path.write_bytes(first.prepared.path.read_bytes()[:1000])  # torn write
    second = run(source, BLUESKY, tmp_path)
    assert not second.from_cache and second == first
    assert second.prepared is not None and second.prepared.path.stat().st_size > 1000


def test_cache_files_are_private_to_the_artist(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    old = os.umask(0o022)
    try:
        run(encode(picture(2400, 1600), "JPEG"), BLUESKY, cache)
        run(mp4_bytes(), BLUESKY, cache, "v.mp4")
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = list(cache.iterdir())
    assert len(files) == 3 and not [f for f in files if f.name.startswith(".partial")]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


# -- the final-save hook -----------------------------------------------------------------------
def test_save_extras_are_written_on_both_routes_and_key_the_cache(tmp_path: Path) -> None:
    packet = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>plus:DataMining</x:xmpmeta>"
    extras = SaveExtras(xmp=packet)
    for source in (private_jpeg(picture(300, 200)), private_jpeg(picture(2400, 1600))):
        result = run(source, BLUESKY, tmp_path, extras=extras)
        with Image.open(io.BytesIO(output(result))) as out:
            assert out.info.get("xmp") == packet
            assert 0x8825 not in out.getexif()
        assert GPS_MARK not in output(result) and XMP_MARK not in output(result)
        plain = run(source, BLUESKY, tmp_path)
        assert plain.prepared and result.prepared and plain.prepared.path != result.prepared.path


def test_save_extras_carrying_gps_are_refused(tmp_path: Path) -> None:
    result = run(encode(picture(300, 200), "JPEG"), BLUESKY, tmp_path,
                 extras=SaveExtras(exif=private_exif().tobytes()))
    assert result.prepared is None
    assert result.skipped is not None and "could not be removed" in result.skipped


def test_a_video_longer_than_the_target_takes_is_skipped_with_its_length(tmp_path: Path) -> None:
    loop = (Path(__file__).parent / "exportbuilder" / "assets" / "sample-loop.mp4").read_bytes()  # 2.0 s
    short = dataclasses.replace(BLUESKY, video_max_seconds=1.0)
    result = run(loop, short, tmp_path / "cache", name="media/reels/1.mp4")
    assert result.prepared is None and result.skipped == "video is 2 s long, over this platform's 1 s"
    kept = run(loop, BLUESKY, tmp_path / "cache", name="media/reels/1.mp4")
    assert kept.prepared is not None and (kept.prepared.width, kept.prepared.height) == (480, 600)

"""Don't re-encode what already fits: an image within the target's limits keeps its pixels and
gains the rights metadata; one that must change is re-encoded, and the result says why."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from bench.synthetic import painting_jpeg
from pindah.adapters.contract import Capabilities
from pindah.migrator.media import process_media
from pindah.migrator.model import Media
from pindah.migrator.rights import load_rights
from tests.test_media_pipeline import (
    BLUESKY,
    MemoryTree,
    CAMERA_MARK,
    COMMENT_MARK,
    GPS_MARK,
    XMP_MARK,
    encode,
    output,
    picture,
    private_exif,
    private_jpeg,
    srgb_icc,
)

STAMP = load_rights({}).stamp()  # the default rights: AI training prohibited
ALL = frozenset({"image/jpeg", "image/png", "image/webp"})


def prepare(data: bytes, caps: Capabilities, cache: Path, name: str = "media/posts/1.jpg"):
    return STAMP.prepare(Media(name, MemoryTree({name: data}), alt_text="alt"), caps, cache)


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as img:
        return img.mode, img.size, img.tobytes()


def assert_private_data_gone(data: bytes) -> None:
    """No GPS, camera, private XMP or comment left; the only EXIF is the rights' Artist/Copyright."""
    for mark in (GPS_MARK, CAMERA_MARK, XMP_MARK, COMMENT_MARK):
        assert mark not in data
    with Image.open(io.BytesIO(data)) as out:
        out.load()
        exif = out.getexif()
        assert 0x8825 not in exif and not exif.get_ifd(0x8825)
        assert 0x010F not in exif and 0x0110 not in exif and 0x0132 not in exif
        assert not out.info.get("comment")


def rights_xmp(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or b""
    return xmp.encode() if isinstance(xmp, str) else xmp


@pytest.mark.parametrize("fmt, name, params", [
    ("JPEG", "a.jpg", {"quality": 88, "exif": private_exif(), "icc_profile": srgb_icc(), "comment": b"comment-secret"}),
    ("PNG", "a.png", {"exif": private_exif(), "icc_profile": srgb_icc()}),
    ("WEBP", "a.webp", {"quality": 80, "exif": private_exif(), "icc_profile": srgb_icc(),
                        "xmp": b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>xmp-secret-42</x:xmpmeta>"}),
])
def test_an_image_that_fits_keeps_its_very_pixels_and_gains_the_rights_without_its_gps(
        tmp_path: Path, fmt: str, name: str, params: dict) -> None:
    source = encode(picture(900, 700, sigma=30), fmt, **params)
    caps = Capabilities(image_max_bytes=2_000_000, image_max_side=2000, image_mime_types=ALL)
    result = prepare(source, caps, tmp_path, name)
    data = output(result)
    assert result.reencoded is None and result.encodes == 0
    assert pixels(data) == pixels(source)  # decoded both: not one pixel changed
    assert_private_data_gone(data)
    assert b"DMI-PROHIBITED-AIMLTRAINING" in rights_xmp(data)
    with Image.open(io.BytesIO(data)) as out:
        assert out.info.get("icc_profile") == srgb_icc()
        assert 0x8825 not in out.getexif()


def test_a_jpeg_over_the_byte_limit_is_re_encoded_to_fit_and_says_how_large_it_was(tmp_path: Path) -> None:
    source = private_jpeg(picture(1800, 1400, sigma=60))
    limit = len(source) * 2 // 3
    caps = Capabilities(image_max_bytes=limit, image_max_side=2000, image_mime_types=ALL)
    result = prepare(source, caps, tmp_path)
    data = output(result)
    assert result.reencoded is not None and result.reencoded.startswith("too large: ")
    assert "> " in result.reencoded and len(data) <= limit
    assert_private_data_gone(data)
    assert b"DMI-PROHIBITED-AIMLTRAINING" in rights_xmp(data)


def test_a_picture_over_the_side_limit_is_re_encoded_and_says_its_size(tmp_path: Path) -> None:
    result = prepare(encode(picture(2400, 1800), "JPEG"), BLUESKY, tmp_path)
    assert result.reencoded == "too large: 2400×1800 px > 2000 px a side"
    assert result.prepared is not None and (result.prepared.width, result.prepared.height) == (2000, 1500)


def test_a_format_the_target_does_not_take_is_re_encoded_and_says_so(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    source = encode(picture(400, 300), "HEIF", quality=80)
    result = prepare(source, BLUESKY, tmp_path, "a.heic")
    assert result.reencoded == "HEIC not accepted"
    assert result.prepared is not None and result.prepared.mime == "image/jpeg"


def test_a_sideways_photo_is_re_encoded_upright_and_says_it_was_rotated(tmp_path: Path) -> None:
    result = prepare(private_jpeg(picture(600, 400), orientation=6), BLUESKY, tmp_path)
    assert result.reencoded == "rotated (EXIF orientation 6)"
    assert result.prepared is not None and (result.prepared.width, result.prepared.height) == (400, 600)


def test_the_reason_is_the_same_when_a_resumed_run_reads_the_cache(tmp_path: Path) -> None:
    source = private_jpeg(picture(600, 400), orientation=6)
    first = prepare(source, BLUESKY, tmp_path)
    again = prepare(source, BLUESKY, tmp_path)
    assert again.from_cache and again == first and again.reencoded == first.reencoded
    assert again.encodes == 0


def test_a_large_photo_needing_a_lower_quality_takes_one_or_two_encodes_and_fits(tmp_path: Path) -> None:
    source = painting_jpeg(7, (3000, 3750), quality=92)
    result = process_media(Media("big.jpg", MemoryTree({"big.jpg": source})), BLUESKY, tmp_path)
    data = output(result)
    assert len(data) <= 1_000_000 and result.prepared is not None
    assert (result.prepared.width, result.prepared.height) == (1600, 2000)
    assert any(a.startswith("quality ") for a in result.actions)  # the top rung would not fit
    assert 1 <= result.encodes <= 2


def test_a_png_four_times_the_target_comes_out_as_a_full_lanczos_resize_would(tmp_path: Path) -> None:
    big = picture(4000, 3000, sigma=20)
    source = encode(big, "PNG", compress_level=1)
    caps = Capabilities(image_max_bytes=8 << 20, image_max_side=1000, image_mime_types=frozenset({"image/png"}))
    result = process_media(Media("a.png", MemoryTree({"a.png": source})), caps, tmp_path)
    with Image.open(io.BytesIO(output(result))) as out:
        assert out.size == (1000, 750)
        reference = big.resize((1000, 750), Image.Resampling.LANCZOS)
        diff = ImageStat.Stat(ImageChops.difference(out.convert("L"), reference.convert("L"))).mean[0]
    assert diff < 2.0  # within two grey levels on average of a full Lanczos resize
    assert result.reencoded == "too large: 4000×3000 px > 1000 px a side"


def test_the_run_report_says_which_pictures_were_re_encoded_and_why(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from pindah.migrator.cli import cli
    from tests.exportbuilder.meta_json import write_meta_json
    from tests.exportbuilder.spec import SynthMedia, SynthPost

    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))
    t0 = 1_620_000_000
    sources = {t0: encode(picture(500, 400), "JPEG", quality=85),  # fits the folder site as it is
               t0 + 86400: private_jpeg(picture(500, 400), orientation=6)}  # stored sideways
    write_meta_json(tmp_path / "export", [SynthPost(t, f"post {t}", [SynthMedia()]) for t in sources],
                    media_content=lambda post, index, media: sources[post.taken_at])
    ran = CliRunner().invoke(cli, ["migrate", str(tmp_path / "export"), "--to", f"folder:{tmp_path / 'site'}",
                                   "--json", str(tmp_path / "report.json")])
    assert ran.exit_code == 0, ran.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    by_time = sorted(report["posts"], key=lambda p: p["taken_at"])
    assert [p["media"][0]["reencoded"] for p in by_time] == [None, "rotated (EXIF orientation 6)"]

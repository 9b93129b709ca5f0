"""The one thumbnail helper (site grid, report, Cara kit): small, upright, metadata-free, and safe."""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from pindah.adapters.toolkit import thumbnail
from pindah.adapters.toolkit.thumbnail import cover_jpeg, preview_jpeg, thumbnail_data_uri


def jpeg(path: Path, size=(400, 300), color=(30, 120, 200), exif: Image.Exif | None = None) -> Path:
    Image.new("RGB", size, color).save(path, "JPEG", **({"exif": exif.tobytes()} if exif else {}))
    return path


def decode(uri: str | None) -> Image.Image:
    assert uri is not None and uri.startswith("data:image/jpeg;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that *says* it is width×height: the shape of a decompression bomb, in 60 bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_preview_is_a_small_jpeg_without_metadata(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    uri = thumbnail_data_uri(jpeg(tmp_path / "a.jpg", (1600, 1200), exif=exif))
    im = decode(uri)
    assert im.format == "JPEG" and im.size == (160, 120)
    assert not im.getexif() and "icc_profile" not in im.info
    assert len(uri or "") < 12_000


def test_preview_stands_phone_photos_upright(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° to view
    im = decode(thumbnail_data_uri(jpeg(tmp_path / "a.jpg", (400, 200), exif=exif)))
    assert im.height > im.width


def test_preview_of_a_transparent_png_has_a_white_background(tmp_path: Path) -> None:
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(tmp_path / "a.png", "PNG")
    im = decode(thumbnail_data_uri(tmp_path / "a.png", max_side=20)).convert("RGB")
    assert im.getpixel((10, 10)) > (240, 240, 240)


def test_a_grid_cover_is_cropped_to_exactly_its_size(tmp_path: Path) -> None:
    data = cover_jpeg(jpeg(tmp_path / "wide.jpg", (1000, 300)), (480, 600))
    assert data is not None
    assert Image.open(io.BytesIO(data)).size == (480, 600)


@pytest.mark.parametrize("side", [8000, 20000])  # 64 MP: over our limit; 400 MP: over Pillow's too
def test_huge_images_are_refused_without_being_decoded(side: int, tmp_path: Path, monkeypatch) -> None:
    loads: list[object] = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self) or original(self))
    (tmp_path / "bomb.png").write_bytes(png_header_only(side, side))
    assert thumbnail_data_uri(tmp_path / "bomb.png") is None
    assert cover_jpeg(tmp_path / "bomb.png", (48, 60)) is None
    assert loads == []


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "GIF", "PPM"])
def test_only_the_formats_the_media_pipeline_writes_are_decoded(fmt: str, tmp_path: Path) -> None:
    # The helper previews prepared files; anything else (a raw export file, a stray TIFF) is not
    # handed to the rest of Pillow's decoders.
    path = tmp_path / f"a.{fmt.lower()}"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(path, fmt)
    assert preview_jpeg(path, 20) is None and cover_jpeg(path, (8, 10)) is None
    for ok in ("JPEG", "PNG", "WEBP"):
        Image.new("RGB", (40, 30), (1, 2, 3)).save(tmp_path / f"b.{ok}", ok)
        assert preview_jpeg(tmp_path / f"b.{ok}", 20) is not None


def test_previews_never_raise(tmp_path: Path) -> None:
    (tmp_path / "text.jpg").write_bytes(b"not an image at all")
    (tmp_path / "cut.jpg").write_bytes(jpeg(tmp_path / "whole.jpg").read_bytes()[:200])
    assert thumbnail_data_uri(tmp_path / "missing.jpg") is None
    assert thumbnail_data_uri(tmp_path / "text.jpg") is None
    assert thumbnail_data_uri(tmp_path / "cut.jpg") is None  # truncated
    assert thumbnail_data_uri(lambda: io.BytesIO(b"x")) is None  # type: ignore[arg-type] - not a path


def test_a_changed_file_gets_a_new_preview_and_the_cache_is_bounded(tmp_path: Path) -> None:
    path = jpeg(tmp_path / "a.jpg", color=(250, 0, 0))
    red = decode(thumbnail_data_uri(path)).convert("RGB").getpixel((5, 5))
    jpeg(path, color=(0, 0, 250))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # same second on coarse clocks
    blue = decode(thumbnail_data_uri(path)).convert("RGB").getpixel((5, 5))
    assert red[0] > 200 and blue[2] > 200
    info = thumbnail._cached_uri.cache_info()
    assert info.maxsize == thumbnail.PREVIEW_CACHE_SIZE and info.currsize <= info.maxsize


def test_the_limit_is_about_fifty_megapixels() -> None:
    assert 40_000_000 < thumbnail.MAX_PIXELS <= 60_000_000


def test_the_report_previews_the_prepared_files_never_the_export_files(tmp_path: Path, monkeypatch) -> None:
    from pindah.adapters.folder import FolderAdapter
    from pindah.migrator.engine import Selection, dry_run, make_plans
    from pindah.migrator.planner import PlanOptions
    from pindah.migrator.sources import read_export
    from tests.exportbuilder.meta_json import write_meta_json
    from tests.exportbuilder.spec import SynthMedia, SynthPost

    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[Path] = []
    real = thumbnail.preview_jpeg
    monkeypatch.setattr(thumbnail, "preview_jpeg", lambda path, side: seen.append(Path(path)) or real(path, side))
    write_meta_json(tmp_path / "export", [SynthPost(1_620_000_000, "Two", [SynthMedia(), SynthMedia(fmt="png")])])
    adapter = FolderAdapter(str(tmp_path / "site"), {})
    with read_export([tmp_path / "export"]) as export:
        report = dry_run(export, adapter, make_plans(export, adapter, Selection(), PlanOptions()))
    previews = [m.thumbnail for post in report.posts for m in post.media]
    assert len(previews) == 2 and all(p and p.startswith("data:image/jpeg;base64,") for p in previews)
    assert len(seen) == 2 and all((tmp_path / "cache") in path.parents for path in seen)

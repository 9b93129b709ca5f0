"""The report's previews are drawn once per prepared picture: a dry run draws them, the run
after it reads them back (decoding 200 photos again cost ~2.4 s of CPU per run)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image
from pindah.adapters.contract import PreparedMedia
from pindah.migrator import engine


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Counts the pictures really decoded into previews."""
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[Path] = []
    real = engine.thumbnail_data_uri

    def counting(path: Path) -> str | None:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(engine, "thumbnail_data_uri", counting)
    return calls


def _prepared(tmp_path: Path, colour: tuple[int, int, int]) -> PreparedMedia:
    path = tmp_path / f"prepared-{colour[0]}.jpg"
    Image.new("RGB", (1080, 1350), colour).save(path, "JPEG")
    return PreparedMedia(path, "image/jpeg", 1080, 1350, None, hashlib.sha256(path.read_bytes()).hexdigest(), "a.jpg")


def test_a_preview_drawn_once_is_read_back_the_next_time_not_drawn_again(drawn, tmp_path):
    media = _prepared(tmp_path, (200, 40, 40))
    first = engine.report_preview(media)
    again = engine.report_preview(media)
    assert first is not None and first.startswith("data:image/jpeg;base64,")
    assert again == first and len(drawn) == 1


def test_a_kept_preview_that_is_not_a_jpeg_data_uri_is_drawn_again(drawn, tmp_path):
    media = _prepared(tmp_path, (40, 200, 40))
    kept = tmp_path / "cache" / "previews" / f"{media.sha256}.txt"
    kept.parent.mkdir(parents=True)
    kept.write_text('javascript:alert("hi")', "ascii")
    uri = engine.report_preview(media)
    assert uri is not None and uri.startswith("data:image/jpeg;base64,") and len(drawn) == 1
    assert kept.read_text("ascii") == uri  # replaced by the real preview

"""What the artist reads about re-encoded pictures: the terminal summary and the HTML report name
each picture whose pixels were saved again, and why; a picture sent as it was is not named."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pindah.migrator.cli import cli
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.test_media_pipeline import encode, picture, private_jpeg

T0 = 1_620_000_000  # 3 May 2021


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A run to a folder site of one picture that fits and one stored sideways: the
    terminal text and the HTML report."""
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))
    sources = {T0: encode(picture(500, 400), "JPEG", quality=85),
               T0 + 86400: private_jpeg(picture(500, 400), orientation=6)}
    write_meta_json(tmp_path / "export", [SynthPost(t, f"post {t}", [SynthMedia()]) for t in sources],
                    media_content=lambda post, index, media: sources[post.taken_at])
    ran = CliRunner().invoke(cli, ["migrate", str(tmp_path / "export"), "--to", f"folder:{tmp_path / 'site'}",
                                   "--html", str(tmp_path / "report.html")], terminal_width=200)
    assert ran.exit_code == 0, ran.output
    return ran.output, (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_terminal_summary_names_the_re_encoded_picture_and_why(migrated: tuple[str, str]) -> None:
    text, _ = migrated
    heading = "Re-encoded (the original could not be sent as it was):"
    assert heading in text
    flat = " ".join(text.split())  # a narrow terminal wraps long lines
    # exactly one item, then the next part of the summary: the picture that fitted is not named
    item = r"• 4 May 2021 \S+ \S+\.jpg: rotated \(EXIF orientation 6\)"
    assert re.search(re.escape(heading) + " " + item + " Published 2 post", flat), text


def test_the_html_report_shows_the_reason_beside_the_re_encoded_picture_only(migrated: tuple[str, str]) -> None:
    _, page = migrated
    shown = [html.unescape(m) for m in re.findall(r'<span class="act">(Re-encoded: [^<]*)</span>', page)]
    assert shown == ["Re-encoded: rotated (EXIF orientation 6)"]
    # beside the sideways picture's own entry, not the other post's
    entries = re.findall(r"<li[^>]*>.*?</li>", page, flags=re.DOTALL)
    with_reason = [e for e in entries if "Re-encoded:" in e]
    assert len(with_reason) == 1 and "rotated upright" in with_reason[0]

"""The artist's choices outside the app: `pindah select` / `pindah alt-text` as CSV, and
`pindah migrate` publishing exactly what was chosen (the engine reads the same file)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pindah.migrator.cli import cli

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "instagram-export"


@pytest.fixture
def export(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("PINDAH_CONFIG", raising=False)
    shutil.copytree(SAMPLE, tmp_path / "export")
    return tmp_path / "export"


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_select_csv_round_trip_leaves_posts_out_and_edits_a_caption(export: Path, tmp_path: Path) -> None:
    out = tmp_path / "posts.csv"
    run("select", str(export), "--csv", str(out))
    rows = read_rows(out)
    assert len(rows) == 8 and all(r["publish"] == "yes" for r in rows)
    rows[0]["publish"], rows[1]["publish"] = "no", "no"
    rows[2]["caption"] = "Edited in a spreadsheet ✍️"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    said = run("select", str(export), "--from", str(out))
    assert "6 of 8 posts will be published; 1 caption(s) edited." in said
    again = tmp_path / "again.csv"
    run("select", str(export), "--csv", str(again))
    back = read_rows(again)
    assert [r["publish"] for r in back[:3]] == ["no", "no", "yes"] and back[2]["caption"] == "Edited in a spreadsheet ✍️"


def test_a_csv_with_an_unknown_post_changes_nothing(export: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,date,kind,publish,caption\nnot-a-post,,post,no,x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["select", str(export), "--from", str(bad)])
    assert result.exit_code == 2 and "no post 'not-a-post'" in result.output
    assert not (tmp_path / "state" / "edits").exists()


def test_migrate_publishes_only_the_chosen_posts_with_their_edited_texts(export: Path, tmp_path: Path) -> None:
    posts_csv, alt_csv = tmp_path / "posts.csv", tmp_path / "alt.csv"
    run("select", str(export), "--csv", str(posts_csv))
    rows = read_rows(posts_csv)
    left_out = [rows[0]["id"], rows[1]["id"]]
    run("select", str(export), "--leave-out", left_out[0], "--leave-out", left_out[1])
    run("alt-text", str(export), "--csv", str(alt_csv))
    images = read_rows(alt_csv)
    assert len(images) == 13
    images[2]["alt_text"] = "Three paper kites over a green hill"
    with alt_csv.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(images[0]))
        writer.writeheader()
        writer.writerows(images)
    assert "12 of 13 images have no description" in run("alt-text", str(export), "--from", str(alt_csv))
    site = tmp_path / "site"
    run("migrate", str(export), "--to", f"folder:{site}", "--json", str(tmp_path / "report.json"))
    report = json.loads((tmp_path / "report.json").read_text())
    published = {p["post_id"] for p in report["posts"]}
    assert len(published) == 6 and not published & set(left_out)
    pages = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "Three paper kites over a green hill" in pages
    stored = next((tmp_path / "state" / "edits").glob("*.json"))
    assert stored.stat().st_mode & 0o777 == 0o600

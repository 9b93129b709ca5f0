"""Every unusable export ends in one clear line, exit code 2, no traceback, nothing written,
and the export itself untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from pindah.migrator.cli import cli
from tests.exportbuilder.container import (
    corrupt_zip,
    encrypted_zip,
    truncated_zip,
    zip_bomb,
    zip_folder,
    zip_with_member,
)
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

ROOT = Path(__file__).resolve().parent.parent


def _good_export(root: Path) -> Path:
    write_meta_json(root, [SynthPost(1_600_000_000, "hello #art", [SynthMedia()]),
                           SynthPost(1_600_100_000, "carousel", [SynthMedia(), SynthMedia(missing=True)])])
    return root


def _good_export_but_posts_file(tmp_path: Path, spoil: Callable[[str], str]) -> Path:
    """A good export in tmp_path/export whose posts_1.json is replaced by `spoil` of its own text."""
    posts = _good_export(tmp_path / "export") / "your_instagram_activity/media/posts_1.json"
    posts.write_text(spoil(posts.read_text()))
    return tmp_path / "export"


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(tmp_path: Path, target: Path, *expected: str) -> str:
    """Run `pindah inspect` in tmp_path, assert the refusal shape, return the message line."""
    before = _snapshot(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, ["inspect", str(target)])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for text in expected:
        assert text.lower() in lines[0].lower(), lines[0]
    assert _snapshot(tmp_path) == before  # nothing written anywhere, the export untouched
    return lines[0]


def test_a_path_that_does_not_exist_is_named(tmp_path):
    _refused(tmp_path, tmp_path / "nope.zip", "nope.zip", "does not exist")


def test_a_corrupt_zip_is_refused_with_advice_to_download_again(tmp_path):
    _refused(tmp_path, corrupt_zip(tmp_path / "instagram.zip"), "not a readable zip", "download it again")


def test_a_truncated_zip_download_is_refused(tmp_path):
    full = zip_folder(_good_export(tmp_path / "export"), tmp_path / "full.zip")
    _refused(tmp_path, truncated_zip(full, tmp_path / "cut.zip"), "cut.zip", "download it again")


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil", "media/../../evil.txt"])
def test_a_zip_member_escaping_the_folder_is_refused(tmp_path, member):
    base = _good_export(tmp_path / "export")
    _refused(tmp_path, zip_with_member(tmp_path / "slip.zip", member, base=base), "escapes the export folder")
    assert not (tmp_path.parent / "evil.txt").exists()


def test_a_zip_bomb_is_refused_before_anything_is_read(tmp_path):
    base = _good_export(tmp_path / "export")
    _refused(tmp_path, zip_bomb(tmp_path / "bomb.zip", base=base), "zip bomb")


def test_a_password_protected_zip_is_refused_with_a_hint(tmp_path):
    full = zip_folder(_good_export(tmp_path / "export"), tmp_path / "full.zip")
    _refused(tmp_path, encrypted_zip(full, tmp_path / "locked.zip"), "password")


def test_an_export_with_no_posts_says_which_files_were_read(tmp_path):
    export = _good_export_but_posts_file(tmp_path, lambda _: "[]")
    _refused(tmp_path, export, "holds no posts", "posts_1.json")


def test_an_export_of_only_no_data_placeholders_gets_its_own_hint(tmp_path):
    export = tmp_path / "export"
    for folder in ("your_instagram_activity/media", "ads_information", "connections"):
        (export / folder).mkdir(parents=True)
        (export / folder / "no-data.txt").write_text("You have no data in this section")
    _refused(tmp_path, export, "no-data.txt", "all time")


def test_truncated_json_in_a_posts_file_names_the_file(tmp_path):
    export = _good_export_but_posts_file(tmp_path, lambda text: text[:-40])
    _refused(tmp_path, export, "posts_1.json", "cut off")


def test_invalid_json_in_a_posts_file_names_the_file_and_line(tmp_path):
    export = _good_export_but_posts_file(tmp_path, lambda _: '[{"media": [}]\n')
    _refused(tmp_path, export, "posts_1.json", "not valid json")


def test_wrong_shaped_json_in_a_posts_file_is_refused(tmp_path):
    export = _good_export_but_posts_file(tmp_path, lambda _: '"just a string"')
    _refused(tmp_path, export, "posts_1.json", "does not look like")


def test_a_folder_that_is_not_an_instagram_export_says_what_was_looked_for(tmp_path):
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "IMG_0001.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    _refused(tmp_path, folder, "not an instagram export", "posts_1.json")


def test_a_file_that_is_neither_folder_nor_zip_is_refused(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("hello")
    _refused(tmp_path, file, "neither a folder nor a zip")


def test_missing_media_are_not_fatal_but_listed_and_counted(tmp_path):
    export = _good_export(tmp_path / "export")
    result = CliRunner().invoke(cli, ["inspect", str(export), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["posts"] == 2 and summary["missing_files"] == 1
    posts = CliRunner().invoke(cli, ["inspect", str(export), "--posts"]).stdout.splitlines()
    flags = [m["missing"] for line in posts for m in json.loads(line)["media"]]
    assert flags == [False, False, True]


def test_the_installed_command_refuses_bad_input_without_a_traceback(tmp_path):
    bad = corrupt_zip(tmp_path / "instagram.zip")
    run = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "inspect", str(bad)], capture_output=True,
                         text=True, cwd=ROOT)
    assert run.returncode == 2
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.startswith("Error: ") and len(run.stderr.strip().splitlines()) == 1

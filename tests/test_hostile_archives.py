"""Hostile containers: a zip in the zip, zip bombs, a posts file too big, not UTF-8, too deep or of the
wrong JSON type, each refused with one clear line before anything is read or written.

The harness (`migrate`, `refused`, `survived`, the export builders) is in tests/hostile_support.py.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from tests.exportbuilder.container import zip_folder
from tests.hostile_support import POSTS_JSON, export_with, good_post, refused

pytestmark = pytest.mark.integration


# -- containers ---------------------------------------------------------------------------------------
def test_a_zip_inside_the_zip_is_refused_with_one_line(request, tmp_path):
    inner = zip_folder(export_with(tmp_path / "inner", [good_post()]), tmp_path / "instagram-part.zip")
    outer = tmp_path / "export" / "download.zip"
    outer.parent.mkdir()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "instagram-rina-2025-10-29.zip")
    line = refused(request, tmp_path, outer, words=("not an instagram export",))
    assert "download.zip" in line


def _zip_declaring(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    """A ZIP whose central directory declares `declared` uncompressed bytes for each member."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (data, _) in members.items():
            zf.writestr(name, data)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    eocd = raw.rfind(b"PK\x05\x06")
    (count,) = struct.unpack_from("<H", raw, eocd + 10)
    (offset,) = struct.unpack_from("<I", raw, eocd + 16)
    pos = offset
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", raw, pos + 28)
        name = raw[pos + 46: pos + 46 + name_len].decode()
        struct.pack_into("<I", raw, pos + 24, members[name][1])  # uncompressed size
        struct.pack_into("<I", raw, infos[name].header_offset + 22, members[name][1])
        pos += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(raw))
    return path


def test_a_zip_member_declaring_gigabytes_is_refused_before_reading(request, tmp_path):
    base = export_with(tmp_path / "b", [good_post()])
    members = {p.relative_to(base).as_posix(): (p.read_bytes(), p.stat().st_size) for p in base.rglob("*") if p.is_file()}
    members[POSTS_JSON] = (members[POSTS_JSON][0], 0xFFFF_FFF0)  # "4 GiB" of posts
    (tmp_path / "export").mkdir()
    refused(request, tmp_path, _zip_declaring(tmp_path / "export" / "huge.zip", members), words=("zip bomb", "huge.zip"))


def test_many_members_whose_declared_sizes_add_up_to_a_bomb_are_refused(request, tmp_path):
    base = export_with(tmp_path / "b", [good_post()])
    members = {p.relative_to(base).as_posix(): (p.read_bytes(), p.stat().st_size) for p in base.rglob("*") if p.is_file()}
    for n in range(40):  # each under the per-member limit, 2.4 GB together, from a few kB
        members[f"media/posts/202001/filler{n}.jpg"] = (b"\0" * 64, 60 << 20)
    (tmp_path / "export").mkdir()
    refused(request, tmp_path, _zip_declaring(tmp_path / "export" / "total.zip", members), words=("zip bomb", "gb"))


def test_a_posts_file_of_a_gigabyte_of_whitespace_is_refused_by_its_size_without_reading_it(request, tmp_path):
    root = export_with(tmp_path, [good_post()])
    path = root / POSTS_JSON
    real = path.read_bytes()
    with open(path, "wb") as fh:  # sparse: whitespace at both ends, a hole in between; 1 GiB long
        fh.write(b" " * 4096 + real)
        fh.seek((1 << 30) - 4096)
        fh.write(b" " * 4096)
    assert path.stat().st_size == 1 << 30 and path.stat().st_blocks * 512 < 1 << 20
    line = refused(request, tmp_path, root, words=("posts_1.json", "1024 MB"))
    assert "download it again" in line.lower()


def test_the_huge_posts_file_is_never_opened(tmp_path, monkeypatch):
    """In-process: the size check comes before any read of the file."""
    from click.testing import CliRunner

    from pindah.migrator import exportfs
    from pindah.migrator.cli import cli

    root = export_with(tmp_path, [good_post()])
    with open(root / POSTS_JSON, "r+b") as fh:
        fh.truncate(1 << 30)
    opened: list[str] = []
    real_open = exportfs.ExportTree.open

    def spy(self, path: str):
        opened.append(path)
        return real_open(self, path)

    monkeypatch.setattr(exportfs.ExportTree, "open", spy)
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(cli, ["inspect", str(root)])
    assert result.exit_code == 2 and "posts_1.json" in result.output
    assert POSTS_JSON not in opened


@pytest.mark.parametrize("encode", ["utf-16", "latin-1-bytes"])
def test_a_posts_file_that_is_not_utf8_is_refused_naming_it(request, tmp_path, encode):
    root = export_with(tmp_path, [good_post(caption="café")], mojibake=False)
    path = root / POSTS_JSON
    text = path.read_text("utf-8")
    path.write_bytes(text.encode("utf-16") if encode == "utf-16" else text.encode("latin-1"))
    refused(request, tmp_path, root, words=("posts_1.json", "utf-8"))


def test_json_nested_a_hundred_thousand_deep_is_refused_not_a_crash(request, tmp_path):
    root = export_with(tmp_path, [good_post()])
    (root / POSTS_JSON).write_text("[" * 100_000 + "]" * 100_000)
    refused(request, tmp_path, root, words=("posts_1.json",))


@pytest.mark.parametrize("body", ["42", "null", '{"something": "else"}', "true"])
def test_a_posts_file_of_the_wrong_json_type_is_refused(request, tmp_path, body):
    root = export_with(tmp_path, [good_post()])
    (root / POSTS_JSON).write_text(body)
    refused(request, tmp_path, root, words=("posts_1.json",))

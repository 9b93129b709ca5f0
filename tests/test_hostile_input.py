"""Hostile and broken exports, beyond tests/test_bad_input.py: each one ends either in one clear
'Error:' line with exit 2 or in a run whose report gives the left-out post or file its reason.
Always: no traceback, the export untouched (every file hashed before and after, links included),
nothing read from outside the export, and only legal rows in the journal (opened with sqlite3).

Each case runs the real CLI (`python -m migrator.cli migrate EXPORT --to folder:SITE --json
--html`) in a child process with its own state and cache folders.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import stat
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from pindah.adapters.toolkit.files import file_sha256

from tests import figures
from tests.chaos_support import journal_problems
from tests.exportbuilder.container import zip_folder
from tests.exportbuilder.html import write_html_export
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
T = 1_600_000_000
POSTS_JSON = "your_instagram_activity/media/posts_1.json"
OUTSIDE_SECRET = b"OUTSIDE-THE-EXPORT-do-not-read-7f3a"


# -- harness ---------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root: file hashes, link targets (never followed), folder modes."""
    out: dict[str, str] = {}
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = "link->" + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                out[rel] = file_sha256(path) + f" {oct(info.st_mode)}"
            else:
                out[rel] = f"dir {oct(info.st_mode)}"
    return out


@dataclass
class Outcome:
    done: subprocess.CompletedProcess[str]
    tmp: Path

    @property
    def said(self) -> str:
        return " ".join((self.done.stdout + self.done.stderr).split())

    def report(self) -> dict[str, Any]:
        return json.loads((self.tmp / "report.json").read_text("utf-8"))

    def post(self, caption_start: str) -> dict[str, Any]:
        return next(p for p in self.report()["posts"] if p["caption"].startswith(caption_start))

    def site_posts(self) -> list[dict[str, Any]]:
        data = json.loads((self.tmp / "site" / "posts.json").read_text("utf-8"))
        return data["posts"] if isinstance(data, dict) else data

    def site_texts(self) -> list[str]:
        return ["\n\n".join(part["text"] for part in post["parts"]) for post in self.site_posts()]

    def written(self) -> list[Path]:
        """Every file pindah wrote: state, cache, site, reports."""
        places = [self.tmp / n for n in ("state", "cache", "site", "report.json", "report.html", "config")]
        return [f for place in places for f in ([place] if place.is_file() else place.rglob("*")) if f.is_file()]


def migrate(request: pytest.FixtureRequest, tmp: Path, *exports: Path, extra: list[str] = ()) -> Outcome:
    """Run `pindah migrate` on a hostile export and check what every case must hold."""
    figures.add(request, "hostile inputs tried")
    before = {str(e): snapshot(e) for e in exports}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(tmp / "state"), "PINDAH_CACHE_DIR": str(tmp / "cache"),
            "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp / "config"), "COLUMNS": "2000"}
    done = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "migrate", *map(str, exports),
                           "--to", f"folder:{tmp / 'site'}", "--json", str(tmp / "report.json"),
                           "--html", str(tmp / "report.html"), *extra],
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=tmp)
    text = done.stdout + done.stderr
    assert "Traceback" not in text, text[-4000:]
    assert done.returncode in (0, 1, 2), f"exit {done.returncode}: {text[-3000:]}"
    assert {str(e): snapshot(e) for e in exports} == before, "the export was changed"
    assert journal_problems(tmp / "state", finished=True) == []
    return Outcome(done, tmp)


def refused(request, tmp: Path, *exports: Path, words: tuple[str, ...]) -> str:
    """Exit 2 with one 'Error:' line naming the problem; nothing written anywhere."""
    out = migrate(request, tmp, *exports)
    assert out.done.returncode == 2, out.said
    assert out.done.stdout == ""
    lines = [line for line in out.done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), out.done.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    assert not (tmp / "state").exists() and not (tmp / "site").exists() and not (tmp / "report.json").exists()
    return lines[0]


def survived(request, tmp: Path, *exports: Path) -> Outcome:
    out = migrate(request, tmp, *exports)
    assert out.done.returncode in (0, 1), out.said
    return out


def good_post(taken: int = T + 86400 * 30, caption: str = "A good post among the bad ones") -> SynthPost:
    return SynthPost(taken, caption, [SynthMedia(width=20, height=10)])


def export_with(tmp: Path, posts: list[SynthPost], **kw: Any) -> Path:
    root = tmp / "export"
    write_meta_json(root, posts, **kw)
    return root


def edit_posts_json(root: Path, edit: Callable[[Any], Any]) -> None:
    """Rewrite posts_1.json (as plain UTF-8 JSON: pindah's mojibake fix leaves ASCII alone)."""
    path = root / POSTS_JSON
    data = json.loads(path.read_text())
    path.write_text(json.dumps(edit(data)))


def entries(data: Any) -> list[dict[str, Any]]:
    return data if isinstance(data, list) else [data]


def jpeg(width: int = 200, height: int = 150, seed: int = 1) -> bytes:
    img = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


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


# -- links ---------------------------------------------------------------------------------------------
def _outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "private.jpg"
    secret.parent.mkdir()
    secret.write_bytes(jpeg(64, 48, seed=9) + OUTSIDE_SECRET)  # a real picture: it would publish if followed
    return secret


def _nothing_from_outside(out: Outcome, secret: Path) -> None:
    secret_bytes = secret.read_bytes()
    for path in out.written():
        data = path.read_bytes()
        assert OUTSIDE_SECRET not in data and secret_bytes[:2000] not in data, path


def test_a_media_link_pointing_outside_the_export_is_never_followed(request, tmp_path):
    secret = _outside(tmp_path)
    root = export_with(tmp_path, [SynthPost(T, "Linked away", [SynthMedia(), SynthMedia()]), good_post()])
    victim = next((root / "media" / "posts").rglob("*.jpg"))
    victim.unlink()
    victim.symlink_to(secret)
    out = survived(request, tmp_path, root)
    _nothing_from_outside(out, secret)
    post = out.post("Linked away")
    assert any(m["skipped"] and "missing" in m["skipped"] for m in post["media"]), post
    assert any("outside the export" in w for w in out.report()["warnings"])


def test_a_media_folder_linked_outside_the_export_is_never_followed(request, tmp_path):
    secret = _outside(tmp_path)
    root = export_with(tmp_path, [SynthPost(T, "Folder linked away", [SynthMedia()]), good_post()])
    folder = next((root / "media" / "posts").iterdir())
    for child in folder.iterdir():
        (secret.parent / child.name).symlink_to(secret)  # same names, outside
        child.unlink()
    folder.rmdir()
    folder.symlink_to(secret.parent, target_is_directory=True)
    out = survived(request, tmp_path, root)
    _nothing_from_outside(out, secret)
    assert out.post("Folder linked away")["media"][0]["skipped"]


def test_a_posts_file_linked_from_outside_is_not_read(request, tmp_path):
    root = export_with(tmp_path, [good_post(caption="ONLY-IN-THE-LINKED-FILE")])
    elsewhere = tmp_path / "outside-posts.json"
    (root / POSTS_JSON).rename(elsewhere)
    (root / POSTS_JSON).symlink_to(elsewhere)
    line = refused(request, tmp_path, root, words=("not an instagram export",))
    assert "ONLY-IN-THE-LINKED-FILE" not in line


def test_a_link_loop_inside_the_export_is_ignored(request, tmp_path):
    root = export_with(tmp_path, [good_post()])
    (root / "media" / "loop.jpg").symlink_to(root / "media" / "loop.jpg")
    (root / "media" / "a").symlink_to(root / "media" / "b")
    (root / "media" / "b").symlink_to(root / "media" / "a")
    out = survived(request, tmp_path, root)
    assert len(out.site_posts()) == 1


def test_a_link_that_stays_inside_the_export_is_followed(request, tmp_path):
    root = export_with(tmp_path, [SynthPost(T, "Linked within", [SynthMedia(width=30, height=20)]), good_post()])
    media = next(p for p in (root / "media" / "posts").rglob("*.jpg") if Image.open(p).size == (30, 20))
    kept = root / "media" / "kept-original.jpg"
    media.rename(kept)
    media.symlink_to(kept)
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    assert not any(m["skipped"] for m in out.post("Linked within")["media"])


def test_a_link_stored_inside_a_zip_is_never_followed(request, tmp_path):
    root = export_with(tmp_path / "src", [SynthPost(T, "Zipped link", [SynthMedia()]), good_post()])
    victim = next((root / "media" / "posts").rglob("*.jpg"))
    name = victim.relative_to(root).as_posix()
    victim.unlink()
    zpath = tmp_path / "export" / "linked.zip"
    zpath.parent.mkdir()
    zip_folder(root, zpath)
    with zipfile.ZipFile(zpath, "a") as zf:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    out = survived(request, tmp_path, zpath)
    assert "root:" not in "".join(p.read_text(errors="replace") for p in out.written())
    assert out.post("Zipped link")["media"][0]["skipped"]


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


# -- paths in the metadata -------------------------------------------------------------------------------
@pytest.mark.parametrize("uri", ["../../outside/private.jpg", "media/../../outside/private.jpg",
                                 "/etc/passwd", "C:\\Windows\\win.ini", "https://evil.example/x.jpg",
                                 "media/posts/./../../../outside/private.jpg", "..\\..\\outside\\private.jpg"])
def test_a_media_uri_escaping_the_export_is_skipped_with_a_reason_and_never_read(request, tmp_path, uri):
    secret = _outside(tmp_path)
    root = export_with(tmp_path, [SynthPost(T, "Escaping uri", [SynthMedia()]), good_post()])

    def edit(data):
        for entry in entries(data):
            for item in entry["media"]:
                if item.get("title", entry.get("title", "")).startswith("Escaping"):
                    item["uri"] = uri
        return data

    edit_posts_json(root, edit)
    out = survived(request, tmp_path, root)
    _nothing_from_outside(out, secret)
    assert any("outside the export" in w for w in out.report()["warnings"]), out.report()["warnings"]
    assert [t for t in out.site_texts() if t.startswith("Escaping")] == []
    assert any(t.startswith("A good post") for t in out.site_texts())


# -- captions ---------------------------------------------------------------------------------------------
def test_nul_and_control_characters_in_a_caption_never_reach_the_output_raw(request, tmp_path):
    caption = "Ink\x00 study\x01 with\x07 bell\x08 and \x0b\x0c form feed\x7f"
    root = export_with(tmp_path, [SynthPost(T, caption, [SynthMedia()]), good_post()], mojibake=False)
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    published = next(t for t in out.site_texts() if t.startswith("Ink"))
    assert "\x00" not in published and published.startswith("Ink study")
    assert "\x00" not in (out.tmp / "report.json").read_text() and "\x00" not in out.done.stdout


def test_escape_sequences_in_file_names_never_reach_the_terminal(request, tmp_path):
    name = "x\x1b]52;c;cGluZGFo\x07\x1b[2J"
    root = export_with(tmp_path, [SynthPost(T, "Missing with a hostile name", [SynthMedia(), SynthMedia(missing=True, name=name)]),
                                  good_post()])
    out = survived(request, tmp_path, root)
    inspect = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "inspect", str(root)], capture_output=True,
                             text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    for text in (out.done.stdout, out.done.stderr, inspect.stdout, inspect.stderr):
        assert "\x1b" not in text, repr(text[-300:])


def test_rich_markup_in_a_file_name_does_not_break_inspect(request, tmp_path):
    figures.add(request, "hostile inputs tried")
    root = export_with(tmp_path, [SynthPost(T, "Odd name", [SynthMedia(), SynthMedia(missing=True, name="[/x]oops")])])
    done = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "inspect", str(root)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[/x]oops" in done.stdout


def test_a_100000_character_caption_is_kept_whole_on_the_site(request, tmp_path):
    caption = ("Ten years of sketchbooks, page by page. " * 2500)[:100_000]
    root = export_with(tmp_path, [SynthPost(T, caption, [SynthMedia()])])
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    assert out.site_texts()[0].startswith(caption.strip()[:5000])
    assert caption.strip() in out.site_texts()[0]


@pytest.mark.parametrize("caption", ["🎨🖌️👩🏽‍🎨🏳️‍🌈", "\u202eevil\u202c gpj.exe \u2066isolated\u2069 \u200f", "ﷺ" * 40,
                                     "Z̷̢̛̪a̶̡͙l̸̨̛g̷o̵̢ ̶t̵e̵x̶t̴", "\ufeffBOM at the start \ufffe and \uffff"])
def test_unusual_unicode_captions_are_published_exactly(request, tmp_path, caption):
    root = export_with(tmp_path, [SynthPost(T, caption, [SynthMedia()]), good_post()])
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    published = [t for t in out.site_texts() if not t.startswith("A good post")]
    assert published == [caption.strip()] or published[0].startswith(caption.strip())
    # In the HTML report a caption sits in its own direction-isolated block: an RLO in it
    # can't reverse the report's own words around it.
    soup = BeautifulSoup((out.tmp / "report.html").read_text("utf-8"), "html.parser")
    holders = [t.parent for t in soup.find_all(string=lambda s: s and caption.strip()[:6] in s)]
    assert holders and all(h.get("dir") == "auto" for h in holders)


def test_duplicate_post_entries_are_published_once_and_mentioned(request, tmp_path):
    root = export_with(tmp_path, [SynthPost(T, "Listed twice", [SynthMedia()]), good_post()])
    edit_posts_json(root, lambda data: entries(data) + [e for e in entries(data) if "Listed" in json.dumps(e)])
    out = survived(request, tmp_path, root)
    assert [t for t in out.site_texts() if t.startswith("Listed twice")] == ["Listed twice"]
    assert any("listed twice" in w for w in out.report()["warnings"])


@pytest.mark.parametrize("stamp", [0, -1, -86400 * 365, 32_503_680_000, 1e20, "NaN", "inf", True, None,
                                   "2020-01-01", [1600000000], {"t": 1}])
def test_an_impossible_date_skips_only_that_post_with_its_reason(request, tmp_path, stamp):
    root = export_with(tmp_path, [SynthPost(T, "Dated wrongly", [SynthMedia()]), good_post()])

    def edit(data):
        for entry in entries(data):
            for item in entry["media"]:
                if item.get("title", "").startswith("Dated wrongly"):
                    item["creation_timestamp"] = stamp
        return data

    edit_posts_json(root, edit)
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    assert [t for t in out.site_texts() if t.startswith("Dated wrongly")] == []
    assert any("no usable date" in w for w in out.report()["warnings"]), out.report()["warnings"]


def test_a_numeric_string_date_is_read_as_a_date(request, tmp_path):
    root = export_with(tmp_path, [SynthPost(T, "Dated as text", [SynthMedia()])])

    def edit(data):
        for entry in entries(data):
            for item in entry["media"]:
                item["creation_timestamp"] = str(item["creation_timestamp"])
        return data

    edit_posts_json(root, edit)
    out = survived(request, tmp_path, root)
    assert out.site_texts() == ["Dated as text"]


def test_every_post_left_out_while_reading_is_accounted_for_in_the_report(request, tmp_path):
    posts = [SynthPost(T + i * 60, f"Broken date {i}", [SynthMedia(width=10 + i % 50, height=5 + i // 50)])
             for i in range(60)] + [good_post()]
    root = export_with(tmp_path, posts)

    def edit(data):
        for entry in entries(data):
            for item in entry["media"]:
                if item.get("title", "").startswith("Broken date"):
                    item["creation_timestamp"] = 0
        return data

    edit_posts_json(root, edit)
    out = survived(request, tmp_path, root)
    warnings = out.report()["warnings"]
    mentioned = sum("no usable date" in w for w in warnings)
    assert mentioned == 60 or any("60" in w and "more" in w for w in warnings), (mentioned, len(warnings))


# -- HTML export with scripts, and the HTML report -------------------------------------------------------
HOSTILE_TEXT = '<script>alert("caption")</script> & <img src=x onerror=alert(2)> "quoted" \'single\''


def _no_active_content(html_text: str, where: str) -> BeautifulSoup:
    soup = BeautifulSoup(html_text, "html.parser")
    assert soup.find("script") is None, f"{where}: a <script> element"
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith("on"), f"{where}: <{tag.name} {attr}=...>"
            if attr in ("href", "src", "action", "formaction"):
                assert not str(value).strip().lower().startswith(("javascript:", "vbscript:")), f"{where}: {attr}={value}"
    return soup


def test_an_html_export_with_script_tags_is_shown_escaped_in_the_report_and_on_the_site(request, tmp_path):
    root = tmp_path / "export"
    write_html_export(root, [SynthPost(T, HOSTILE_TEXT, [SynthMedia()]), SynthPost(T + 3600, "Plain post", [SynthMedia()])])
    page = root / "your_instagram_activity/media/posts_1.html"
    raw = page.read_text("utf-8")
    # Live script inside the post box and in the page, as a tampered export would carry them.
    raw = raw.replace("Plain post", "Plain post<script>document.title='pwned-raw'</script>"
                                    "<img src=x onerror=\"alert('raw')\">", 1)
    raw = raw.replace("</body>", "<script src=\"https://evil.example/x.js\"></script></body>")
    page.write_text(raw, "utf-8")
    out = survived(request, tmp_path, root)
    report = (out.tmp / "report.html").read_text("utf-8")
    soup = _no_active_content(report, "report.html")
    assert '<script>alert("caption")</script>' in soup.get_text()  # shown, as text
    for page_path in (out.tmp / "site").rglob("*.html"):
        _no_active_content(page_path.read_text("utf-8"), str(page_path))
    assert "evil.example" not in report


def test_the_dry_run_html_report_escapes_everything_it_shows(request, tmp_path):
    """Every field the report shows (caption, file name, reason, export path) carries markup."""
    root = tmp_path / "export<b>"
    write_meta_json(root, [SynthPost(T, HOSTILE_TEXT, [SynthMedia(), SynthMedia(missing=True, name='"><img src=x onerror=alert(3)>')]),
                           SynthPost(T + 60, "Second", [SynthMedia("mp4")])])
    figures.add(request, "hostile inputs tried")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(tmp_path / "state"), "PINDAH_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "plan", str(root), "--html", str(tmp_path / "plan.html")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    soup = _no_active_content((tmp_path / "plan.html").read_text("utf-8"), "plan.html")
    text = soup.get_text()
    assert '<script>alert("caption")</script>' in text and "export<b>" in text and "<img src=x onerror=alert(3)>" in text


# -- mojibake and wrong types -------------------------------------------------------------------------------
MOJIBAKE = {
    # name: (raw JSON string literal for the caption, what must be published, or None: any text)
    "double-encoded": (r'"Caf\u00c3\u0083\u00c2\u00a9"', "CafÃ©"),
    "invalid utf-8 bytes": (r'"Bad \u00c3\u0028 bytes"', None),
    "overlong slash": (r'"over\u00c0\u00aflong"', None),
    "mixed real and mojibake": (r'"Caf\u00c3\u00a9 and café"', None),
    "escaped emoji pair": (r'"Brush \ud83d\udd8c\ufe0f"', "Brush 🖌️"),
}


@pytest.mark.parametrize("case", list(MOJIBAKE))
def test_mojibake_edge_cases_never_break_the_run(request, tmp_path, case):
    literal, expected = MOJIBAKE[case]
    root = export_with(tmp_path, [SynthPost(T, "CAPTION-HERE", [SynthMedia()]), good_post()])
    path = root / POSTS_JSON
    path.write_text(path.read_text().replace('"CAPTION-HERE"', literal))
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    texts = [t for t in out.site_texts() if not t.startswith("A good post")]
    assert len(texts) == 1
    if expected is not None:
        assert texts[0] == expected


@pytest.mark.parametrize("where", ["caption", "uri"])
def test_a_lone_surrogate_in_the_posts_file_is_not_a_crash(request, tmp_path, where):
    root = export_with(tmp_path, [SynthPost(T, "HALF-EMOJI", [SynthMedia()]), good_post()])
    path = root / POSTS_JSON
    text = path.read_text()
    if where == "caption":
        text = text.replace("HALF-EMOJI", r"half \ud83c emoji")
    else:
        text = text.replace('"uri": "media/', r'"uri": "media/\udc00', 1)
    path.write_text(text)
    out = migrate(request, tmp_path, root)
    assert out.done.returncode in (0, 1), out.said


WRONG_TYPES: dict[str, Callable[[dict[str, Any]], None]] = {
    "title is a number": lambda e: e["media"][0].update(title=12345),
    "title is a list": lambda e: e["media"][0].update(title=["a", "b"]),
    "title is an object": lambda e: e["media"][0].update(title={"text": "x"}),
    "media is an object": lambda e: e.update(media=e["media"][0]),
    "media is a string": lambda e: e.update(media="media/posts/x.jpg"),
    "media is null": lambda e: e.update(media=None),
    "media is empty": lambda e: e.update(media=[]),
    "media item is a list": lambda e: e.update(media=[["uri", "x"]]),
    "uri is a number": lambda e: e["media"][0].update(uri=42),
    "uri is null": lambda e: e["media"][0].update(uri=None),
    "uri is an object": lambda e: e["media"][0].update(uri={"path": "x.jpg"}),
    "media_metadata is a string": lambda e: e["media"][0].update(media_metadata="photo"),
    "exif_data holds strings": lambda e: e["media"][0].update(
        media_metadata={"photo_metadata": {"exif_data": ["lat", {"latitude": "north", "longitude": []}]}}),
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_wrong_typed_json_values_skip_or_read_that_post_only(request, tmp_path, case):
    root = export_with(tmp_path, [SynthPost(T, "Typed wrongly", [SynthMedia()]), good_post()])

    def edit(data):
        out = []
        for entry in entries(data):
            if json.dumps(entry).find("Typed wrongly") >= 0:
                WRONG_TYPES[case](entry)
            out.append(entry)
        return out

    edit_posts_json(root, edit)
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0, out.said
    assert any(t.startswith("A good post") for t in out.site_texts())
    first = [p for p in out.report()["posts"] if p["taken_at"] == "2020-09-13T12:26:40Z"]
    if first:  # read: published, or left out with its reason
        assert first[0]["state"] == "published" or first[0]["reason"] or any(m["skipped"] for m in first[0]["media"])
    else:  # left out while reading: the report says why
        assert out.report()["warnings"], "a post vanished without a word"


def test_an_entry_that_is_not_an_object_is_skipped_with_a_reason(request, tmp_path):
    root = export_with(tmp_path, [good_post()])
    edit_posts_json(root, lambda data: ["just a string", 42, None] + entries(data))
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    assert sum("not a post object" in w for w in out.report()["warnings"]) == 3

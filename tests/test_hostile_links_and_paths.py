"""Links and paths leading out of the export (symbolic links on disk or in a zip, media URIs that
climb out) are never followed: nothing from outside reaches the site, the reports or the cache.

The harness (`migrate`, `refused`, `survived`, the export builders) is in tests/hostile_support.py.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.exportbuilder.container import zip_folder
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.hostile_support import (POSTS_JSON, T, Outcome, edit_posts_json, entries, export_with, good_post,
                                   jpeg, refused, survived)

OUTSIDE_SECRET = b"OUTSIDE-THE-EXPORT-do-not-read-7f3a"

pytestmark = pytest.mark.integration


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

"""The Meta JSON readers (2021-23 "old", 2024, 2025 "new") against the builder's exports.

Every variant in every container shape must give back exactly the posts the builder wrote:
captions (mojibake undone once), times, media paths/types/missing flags, kinds. Also through
`pindah inspect --posts`, as the artist would see it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pindah.migrator.cli import cli
from pindah.migrator.model import PostKind
from pindah.migrator.sources import read_export
from tests.exportbuilder.container import SHAPES, pack_as
from tests.exportbuilder.corpus import quirky_posts
from tests.exportbuilder.meta_json import VARIANT_DIRS, write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

LAYOUTS = {"new": "new", "2024": "new2024", "old": "old"}
ALL_KINDS = list(PostKind)
T0 = 1_700_000_000


def observed(post_dict: dict) -> dict:
    """A `Post.as_dict()` / `inspect --posts` line cut down to `expected_row`'s keys."""
    return {"kind": post_dict["kind"], "taken_at": post_dict["taken_at"], "caption": post_dict["caption"],
            "media": [{k: m[k] for k in ("path", "type", "missing")} for m in post_dict["media"]]}


def ordered(rows: list[dict]) -> list[dict]:
    """Rows in one canonical order (pindah orders posts of the same second by id)."""
    return sorted(rows, key=lambda r: (r["taken_at"], r["kind"], [m["path"] for m in r["media"]]))


def read_rows(paths: list[Path], kinds=ALL_KINDS) -> tuple[list[dict], str, list]:
    with read_export(paths, kinds) as export:
        times = [p.taken_at for p in export.posts]
        assert times == sorted(times)  # oldest first
        return ordered([observed(p.as_dict()) for p in export.posts]), export.layout, export.problems


def inspect(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["inspect", *args])
    return result.exit_code, result.stdout


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("variant", list(VARIANT_DIRS))
def test_every_variant_in_every_container_reads_back_the_quirky_corpus_exactly(tmp_path, variant, shape):
    expected = write_meta_json(tmp_path / "export", quirky_posts(), variant,
                               personal_info_labels="nl" if variant == "2024" else "en")
    paths = pack_as(tmp_path / "export", tmp_path / "packed", shape)
    rows, layout, problems = read_rows(paths)
    assert layout == LAYOUTS[variant]
    assert rows == ordered(expected)
    assert problems == []


@pytest.mark.parametrize("variant", list(VARIANT_DIRS))
def test_inspect_posts_prints_the_expected_rows_oldest_first(tmp_path, variant):
    expected = write_meta_json(tmp_path, quirky_posts(), variant)
    code, out = inspect("--posts", "--include", "all", str(tmp_path))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert ordered([observed(d) for d in lines]) == ordered(expected)
    assert [d["taken_at"] for d in lines] == sorted(d["taken_at"] for d in lines)


def test_only_feed_posts_are_read_unless_other_kinds_are_included(tmp_path):
    expected = write_meta_json(tmp_path, quirky_posts())
    _, out = inspect("--posts", str(tmp_path))
    assert ordered([observed(json.loads(line)) for line in out.splitlines()]) == \
        ordered([r for r in expected if r["kind"] == "post"])
    _, out = inspect("--posts", "--include", "reels,stories", str(tmp_path))
    assert ordered([observed(json.loads(line)) for line in out.splitlines()]) == \
        ordered([r for r in expected if r["kind"] in ("post", "reel", "story")])
    _, out = inspect("--json", str(tmp_path))
    assert set(json.loads(out)["not_included"]) == {"reel", "story", "archived", "profile_photo", "other"}


def test_igtv_videos_are_read_as_reels(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "tour", [SynthMedia(fmt="mp4")], kind="igtv")], "old")
    rows, _, _ = read_rows([tmp_path], [PostKind.REEL])
    assert [(r["kind"], r["caption"]) for r in rows] == [("reel", "tour")]


@pytest.mark.parametrize("per_file,pages", [(4, 3), (3, 4)])
def test_every_posts_page_is_read_including_a_bare_object_page(tmp_path, per_file, pages):
    posts = [SynthPost(T0 + 60 * i, f"post {i}", [SynthMedia()] * (1 + i % 3)) for i in range(10)]
    expected = write_meta_json(tmp_path, posts, posts_per_file=per_file)
    assert (tmp_path / VARIANT_DIRS["new"] / f"posts_{pages}.json").exists()
    with read_export([tmp_path]) as export:
        assert len(export.files_read) == pages
        assert ordered([observed(p.as_dict()) for p in export.posts]) == ordered(expected)


def test_a_posts_file_holding_one_bare_post_object_is_read(tmp_path):
    expected = write_meta_json(tmp_path, [SynthPost(T0, "only one", [SynthMedia(), SynthMedia()])])
    assert json.loads((tmp_path / VARIANT_DIRS["new"] / "posts_1.json").read_text())["title"] == "only one"
    assert read_rows([tmp_path])[0] == expected


def test_mojibake_is_undone_exactly_once(tmp_path):
    captions = ["Â£12 on the tag", "typed \\u00e9 by hand", "Café ☕ 🌸 👩\u200d🎨 🏳️\u200d🌈",
                "New piece — لوحة جديدة — שלום", "Cafe\u0301 in NFD"]
    write_meta_json(tmp_path, [SynthPost(T0 + i, c) for i, c in enumerate(captions)])
    assert [r["caption"] for r in read_rows([tmp_path])[0]] == captions


def test_two_posts_in_the_same_second_stay_two(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "same"), SynthPost(T0, "same")])
    with read_export([tmp_path]) as export:
        assert len(export.posts) == 2 and export.posts[0].id != export.posts[1].id


def _named(posts: list[SynthPost]) -> list[SynthPost]:
    """Give every media an Instagram-like id as its name, as real exports always do."""
    for n, media in enumerate(m for p in posts for m in p.media):
        media.name = f"{450000000 + n}_n_{17900000000000000 + n}"
    return posts


def _ids_by_first_path(root: Path) -> dict[str, str]:
    with read_export([root], ALL_KINDS) as export:
        return {p.media[0].path: p.id for p in export.posts}


def test_ids_are_stable_when_posts_are_reordered_or_captions_edited(tmp_path):
    posts = _named(quirky_posts())
    write_meta_json(tmp_path / "a", posts, "new")
    for post in posts:
        post.caption = f"edited: {post.caption}"
    write_meta_json(tmp_path / "b", posts[::-1], "new", posts_per_file=5)
    first, second = _ids_by_first_path(tmp_path / "a"), _ids_by_first_path(tmp_path / "b")
    assert first == second and len(set(first.values())) == len(posts)


def test_ids_do_not_depend_on_the_layout_variant(tmp_path):
    posts = _named(quirky_posts())
    for variant in VARIANT_DIRS:
        write_meta_json(tmp_path / variant, posts, variant)
    ids = [_ids_by_first_path(tmp_path / variant) for variant in VARIANT_DIRS]
    assert ids[0] == ids[1] == ids[2]


@pytest.mark.parametrize("fmt,ext,mime,kind", [
    ("jpg", None, "image/jpeg", "image"), ("png", None, "image/png", "image"),
    ("webp", None, "image/webp", "image"), ("heic", None, "image/heic", "image"),
    ("mp4", "", "video/mp4", "video"), ("mp4", None, "video/mp4", "video"),
    ("webp", "jpg", "image/webp", "image"),  # a name that lies
])
def test_media_are_recognised_by_their_bytes(tmp_path, fmt, ext, mime, kind):
    write_meta_json(tmp_path, [SynthPost(T0, "x", [SynthMedia(fmt=fmt, ext=ext, width=12, height=10)])])
    with read_export([tmp_path]) as export:
        info = export.posts[0].media[0].as_dict()
    assert (info["mime"], info["type"], info["missing"]) == (mime, kind, False)
    if kind == "image":
        assert (info["width"], info["height"]) == (12, 10)


def test_missing_media_are_flagged_and_counted(tmp_path):
    expected = write_meta_json(tmp_path, quirky_posts())
    missing = sorted(m["path"] for r in expected if r["kind"] == "post" for m in r["media"] if m["missing"])
    assert len(missing) == 3
    code, out = inspect("--json", str(tmp_path))
    summary = json.loads(out)
    assert code == 0 and summary["missing_files"] == 3 and sorted(summary["missing_examples"]) == missing
    with read_export([tmp_path]) as export:
        flagged = sorted(m.path for p in export.posts for m in p.media if m.missing)
        assert flagged == missing
        assert all(m.type.value == "video" for p in export.posts for m in p.media if m.path.endswith(".mp4"))


def test_gps_from_exif_becomes_the_posts_location(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "here", [SynthMedia(), SynthMedia()], latitude=-6.175392,
                                         longitude=106.827153), SynthPost(T0 + 1, "nowhere")], "old")
    with read_export([tmp_path]) as export:
        located = {p.caption: p.location for p in export.posts}
    assert (located["here"].latitude, located["here"].longitude) == (-6.175392, 106.827153)
    assert located["nowhere"] is None

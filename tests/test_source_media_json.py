"""The 2018-2020 `media.json` reader against the builder's exports.

This layout flattens carousels (one entry per file, photos and videos in separate lists), so
the reader regroups them by time and caption; the expected media order is the builder's
documented one: images in original order, then videos.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from pindah.migrator.cli import cli
from pindah.migrator.model import PostKind
from pindah.migrator.sources import read_export
from tests.exportbuilder.container import SHAPES, pack_as
from tests.exportbuilder.corpus import quirky_posts
from tests.exportbuilder.media_json import SUPPORTED_KINDS, write_media_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

ALL_KINDS = list(PostKind)
T0 = 1_550_000_000  # 2019-02-12


def observed(post_dict: dict) -> dict:
    """A `Post.as_dict()` / `inspect --posts` line cut down to `expected_row`'s keys."""
    return {"kind": post_dict["kind"], "taken_at": post_dict["taken_at"], "caption": post_dict["caption"],
            "media": [{k: m[k] for k in ("path", "type", "missing")} for m in post_dict["media"]]}


def ordered(rows: list[dict]) -> list[dict]:
    """Rows in one canonical order (pindah orders posts of the same second by id)."""
    return sorted(rows, key=lambda r: (r["taken_at"], r["kind"], [m["path"] for m in r["media"]]))


def corpus() -> list[SynthPost]:
    """The quirky corpus, less the kinds this era's export did not have yet."""
    return [p for p in quirky_posts() if p.kind in SUPPORTED_KINDS]


def read_rows(paths: list[Path], kinds=ALL_KINDS) -> list[dict]:
    with read_export(paths, kinds) as export:
        assert export.layout == "media_json" and export.problems == []
        times = [p.taken_at for p in export.posts]
        assert times == sorted(times)  # oldest first
        return ordered([observed(p.as_dict()) for p in export.posts])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("naive_times", [False, True])
def test_every_container_reads_back_the_quirky_corpus_exactly(tmp_path, shape, naive_times):
    expected = write_media_json(tmp_path / "export", corpus(), naive_times=naive_times)
    assert read_rows(pack_as(tmp_path / "export", tmp_path / "packed", shape)) == ordered(expected)


def test_inspect_posts_prints_the_expected_rows(tmp_path):
    expected = write_media_json(tmp_path, corpus())
    result = CliRunner().invoke(cli, ["inspect", "--posts", "--include", "all", str(tmp_path)])
    assert result.exit_code == 0
    assert ordered([observed(json.loads(line)) for line in result.stdout.splitlines()]) == ordered(expected)


def test_only_feed_posts_are_read_unless_stories_and_profile_are_included(tmp_path):
    expected = write_media_json(tmp_path, corpus())
    assert read_rows([tmp_path], [PostKind.POST]) == ordered([r for r in expected if r["kind"] == "post"])
    with read_export([tmp_path]) as export:
        assert set(export.not_included) == {PostKind.STORY, PostKind.PROFILE_PHOTO}


def test_a_flattened_carousel_is_one_post_with_images_then_videos(tmp_path):
    media = [SynthMedia(fmt="mp4"), SynthMedia(width=9), SynthMedia(fmt="mp4", ext=""), SynthMedia(width=10)]
    expected = write_media_json(tmp_path, [SynthPost(T0, "mix", media)])
    rows = read_rows([tmp_path])
    assert rows == expected and [m["type"] for m in rows[0]["media"]] == ["image", "image", "video", "video"]


def test_posts_sharing_a_second_but_not_a_caption_stay_apart(tmp_path):
    posts = [SynthPost(T0, "first", [SynthMedia(), SynthMedia(width=9)]), SynthPost(T0, "second"),
             SynthPost(T0, "", kind="story"), SynthPost(T0 + 5, "", kind="story")]
    expected = write_media_json(tmp_path, posts)
    assert read_rows([tmp_path], ALL_KINDS) == ordered(expected)


def test_location_name_is_kept(tmp_path):
    write_media_json(tmp_path, [SynthPost(T0, "sunset", location_name="Pantai Kuta, Bali")])
    with read_export([tmp_path]) as export:
        assert export.posts[0].location.name == "Pantai Kuta, Bali"


def test_real_utf8_text_is_not_mojibake_decoded(tmp_path):
    captions = ["Â£12 on the tag", "typed \\u00e9", "Café ☕ 🌸 👩\u200d🎨", "لوحة جديدة — שלום"]
    write_media_json(tmp_path, [SynthPost(T0 + i, c) for i, c in enumerate(captions)])
    assert [r["caption"] for r in read_rows([tmp_path])] == captions


def _ids(root: Path) -> dict[frozenset[str], str]:
    # Keyed by the set of files: shuffled entries legitimately reorder a carousel's images.
    with read_export([root], ALL_KINDS) as export:
        return {frozenset(m.path for m in p.media): p.id for p in export.posts}


def test_ids_are_stable_when_entries_are_shuffled_or_captions_edited(tmp_path):
    write_media_json(tmp_path / "a", corpus())
    before = _ids(tmp_path / "a")
    path = tmp_path / "a" / "media.json"
    data = json.loads(path.read_text("utf-8"))
    rnd = random.Random(3)
    for entries in data.values():
        rnd.shuffle(entries)
        for entry in entries:  # one edit per caption, applied to all of a post's entries
            entry["caption"] = f"edited: {entry['caption']}"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    after = _ids(tmp_path / "a")
    assert before == after and len(set(before.values())) == len(before)


@pytest.mark.parametrize("fmt,ext,mime", [("jpg", None, "image/jpeg"), ("webp", None, "image/webp"),
                                          ("heic", None, "image/heic"), ("mp4", "", "video/mp4")])
def test_media_are_recognised_by_their_bytes(tmp_path, fmt, ext, mime):
    write_media_json(tmp_path, [SynthPost(T0, "x", [SynthMedia(fmt=fmt, ext=ext)])])
    with read_export([tmp_path]) as export:
        assert export.posts[0].media[0].mime == mime


def test_missing_media_are_flagged_and_counted(tmp_path):
    expected = write_media_json(tmp_path, corpus())
    missing = sorted(m["path"] for r in expected if r["kind"] == "post" for m in r["media"] if m["missing"])
    result = CliRunner().invoke(cli, ["inspect", "--json", str(tmp_path)])
    summary = json.loads(result.stdout)
    assert len(missing) == 3 and summary["missing_files"] == 3
    assert sorted(summary["missing_examples"]) == missing

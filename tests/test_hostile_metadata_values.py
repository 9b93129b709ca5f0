"""Hostile values in posts_1.json (duplicate entries, impossible dates, mojibake, lone surrogates,
wrong JSON types): only the affected post is left out, always with its reason in the report.

The harness (`migrate`, `refused`, `survived`, the export builders) is in tests/hostile_support.py.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.hostile_support import (POSTS_JSON, T, edit_posts_json, entries, export_with, good_post, migrate,
                                   survived)

pytestmark = pytest.mark.integration


# -- duplicates and dates -----------------------------------------------------------------------------
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

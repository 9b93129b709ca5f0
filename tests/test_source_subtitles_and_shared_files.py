"""Subtitles are not media, captions keep their whitespace, posts that share a file stay apart.

Each behaviour is checked on both Meta layouts that show it (HTML pages and JSON files), built
by the same fixture builder from the same posts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pindah.migrator.model import MediaType, Subtitle, make_post_id
from pindah.migrator.sources import read_export
from pindah.migrator.summary import summarise
from tests.exportbuilder.html import write_html_export
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

T0 = int(datetime(2024, 9, 23, 22, 10, 37, tzinfo=timezone.utc).timestamp())
LAYOUTS = ("html", "json")


def write(layout: str, root: Path, posts: list[SynthPost], **options) -> list[dict]:
    if layout == "html":
        return write_html_export(root, posts, "2025", **options)
    return write_meta_json(root, posts, "new", **options)


# -- subtitles -------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_carousel_of_twenty_videos_with_thirteen_subtitles_is_one_post_of_twenty_videos(tmp_path: Path, layout: str) -> None:
    videos = [SynthMedia("mp4", subtitles=(None,) if i < 13 else ()) for i in range(20)]
    write(layout, tmp_path, [SynthPost(T0, "twenty clips", videos)])
    with read_export([tmp_path]) as export:
        (post,) = export.posts
        assert [m.type for m in post.media] == [MediaType.VIDEO] * 20
        assert [len(m.subtitles) for m in post.media] == [1] * 13 + [0] * 7
        # each subtitle sits on the video it was written beside (its name starts with the video's)
        assert all(s.path.endswith(".srt") and s.path.startswith(m.path.rsplit(".", 1)[0] + "_")
                   for m in post.media for s in m.subtitles)
        summary = summarise(export, ["posts"])
    assert (summary.posts, summary.images, summary.videos, summary.subtitles) == (1, 0, 20, 13)
    assert summary.missing_files == 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_subtitle_is_attached_to_its_own_video_with_its_format_and_language(tmp_path: Path, layout: str) -> None:
    media = [SynthMedia(), SynthMedia("mp4", subtitles=("en", None)), SynthMedia("mp4"), SynthMedia("mp4", subtitles=("pt-BR",))]
    (expected,) = write(layout, tmp_path, [SynthPost(T0, "mixed", media)])
    with read_export([tmp_path]) as export:
        got = export.posts[0].media
        assert [m.path for m in got] == [m["path"] for m in expected["media"]]
        assert [[s.path for s in m.subtitles] for m in got] == [m.get("subtitles", []) for m in expected["media"]]
        assert [[(s.format, s.language) for s in m.subtitles] for m in got] == [
            [], [("srt", "en"), ("srt", None)], [], [("srt", "pt-BR")]]


def one_photo_page(root: Path, html: str) -> None:
    """A hand-written posts_1.html (for markup the builder never writes) and its one photo,
    media/posts/202409/1.jpg."""
    page = root / "your_instagram_activity/media/posts_1.html"
    page.parent.mkdir(parents=True)
    (root / "media/posts/202409").mkdir(parents=True)
    (root / "media/posts/202409/1.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    page.write_text(html, "utf-8")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_missing_subtitle_file_is_not_missing_media(tmp_path: Path, layout: str) -> None:
    write(layout, tmp_path, [SynthPost(T0, "clip", [SynthMedia("mp4", subtitles=(None,))])])
    for srt in tmp_path.rglob("*.srt"):
        srt.unlink()
    with read_export([tmp_path]) as export:
        assert len(export.posts[0].media[0].subtitles) == 1
        summary = summarise(export, ["posts"])
    assert (summary.videos, summary.images, summary.missing_files, summary.missing_subtitles) == (1, 0, 0, 1)


def test_a_subtitle_link_in_a_post_without_video_is_reported_not_taken_for_an_image(tmp_path: Path) -> None:
    one_photo_page(tmp_path,
                   '<html><body><div class="pam _3-95 _2ph- _a6-g uiBoxWhite noborder"><div class="_3-95 _a6-p">'
                   '<div><a href="media/posts/202409/1.jpg"><img src="media/posts/202409/1.jpg" /></a></div>'
                   '<div><a href="media/posts/202409/1_n_1787.vtt">Subtitles for video</a></div></div>'
                   '<div class="_3-94 _a6-o">Sep 23, 2024 10:10 pm</div></div></body></html>')
    with read_export([tmp_path]) as export:
        assert [m.path for m in export.posts[0].media] == ["media/posts/202409/1.jpg"]
        assert any("subtitle file media/posts/202409/1_n_1787.vtt but holds no video" in str(p) for p in export.problems)


def test_a_video_without_subtitles_shows_none_in_inspect_posts(tmp_path: Path) -> None:
    write_meta_json(tmp_path, [SynthPost(T0, "a", [SynthMedia("mp4")]), SynthPost(T0 + 60, "b", [SynthMedia("mp4", subtitles=("en",))])], "new")
    with read_export([tmp_path]) as export:
        shown = [post.as_dict()["media"][0] for post in export.posts]
    assert "subtitles" not in shown[0]
    assert shown[1]["subtitles"] == [Subtitle(export.posts[1].media[0].subtitles[0].path, "srt", "en").as_dict()]
    json.dumps(shown)  # what `inspect --posts` prints must stay JSON


# -- caption whitespace ------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_captions_keep_leading_and_trailing_whitespace_like_the_json_export(tmp_path: Path, layout: str) -> None:
    captions = ["\n.\nBlek paints the harbour", "  two spaces first", "trailing line\n", "\tTab and end \n\n"]
    write(layout, tmp_path, [SynthPost(T0 + i * 60, c) for i, c in enumerate(captions)])
    with read_export([tmp_path]) as export:
        assert [p.caption for p in export.posts] == captions


def test_indentation_of_a_pretty_printed_page_is_not_part_of_the_caption(tmp_path: Path) -> None:
    one_photo_page(tmp_path,
                   '<html><body>\n  <div class="pam _3-95 _2ph- _a6-g uiBoxWhite noborder">\n'
                   '    <h2 class="_3-95 _2pim _a6-h _a6-i">\n      <br />.<br />Blek paints \n    </h2>\n'
                   '    <div class="_3-95 _a6-p"><img src="media/posts/202409/1.jpg" /></div>\n'
                   '    <div class="_3-94 _a6-o">Sep 23, 2024 10:10 pm</div>\n  </div>\n</body></html>')
    with read_export([tmp_path]) as export:
        assert export.posts[0].caption == "\n.\nBlek paints"


# -- posts that share a file --------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_two_posts_sharing_a_file_but_not_time_or_caption_stay_two_posts(tmp_path: Path, layout: str) -> None:
    posts = [SynthPost(T0, "first showing", [SynthMedia(name="17874424560169856")]),
             SynthPost(T0 + 3600, "shown again", [SynthMedia(name="17874424560169856")]),
             SynthPost(T0 + 7200, "first showing", [SynthMedia(name="17874424560169856")])]
    write(layout, tmp_path, posts)
    with read_export([tmp_path]) as export:
        got = export.posts
        assert [p.caption for p in got] == ["first showing", "shown again", "first showing"]
        assert len({p.media[0].path for p in got}) == 1
        ids = [p.id for p in got]
        assert ids[0] == make_post_id(["17874424560169856"])  # the earliest keeps the id it always had
        assert len(set(ids)) == 3
        assert not any("listed twice" in str(p) for p in export.problems)


def test_the_ids_of_posts_sharing_a_file_are_the_same_in_the_json_and_html_exports(tmp_path: Path) -> None:
    posts = [SynthPost(T0, "first", [SynthMedia(name="shared")]), SynthPost(T0 + 3600, "again", [SynthMedia(name="shared")])]
    write("json", tmp_path / "json", posts)
    write("html", tmp_path / "html", posts)
    with read_export([tmp_path / "json"]) as from_json, read_export([tmp_path / "html"]) as from_html:
        assert [p.id for p in from_json.posts] == [p.id for p in from_html.posts]
    with read_export([tmp_path / "json"]) as again:
        assert [p.id for p in again.posts] == [p.id for p in from_json.posts]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_true_duplicate_same_media_time_and_caption_is_kept_once_and_noted(tmp_path: Path, layout: str) -> None:
    posts = [SynthPost(T0, "twice", [SynthMedia(name="dup")]), SynthPost(T0, "twice", [SynthMedia(name="dup")])]
    write(layout, tmp_path, posts)
    with read_export([tmp_path]) as export:
        assert [p.id for p in export.posts] == [make_post_id(["dup"])]
        assert any("is listed twice; kept once" in str(p) for p in export.problems)


@pytest.mark.slow
def test_a_twenty_thousand_post_localised_export_with_shared_files_reads_twenty_thousand_posts(tmp_path: Path) -> None:
    # Every 50th post re-uses the picture of the post before it, at another time with another caption.
    posts = []
    for n in range(20_000):
        name = f"img{n - 1}" if n % 50 == 49 else f"img{n}"
        posts.append(SynthPost(T0 - n * 3_600, f"painting {n}", [SynthMedia(name=name)]))
    write_html_export(tmp_path, posts, "2025", language="pt", posts_per_page=5_000)
    with read_export([tmp_path]) as export:
        assert len(export.posts) == 20_000
        assert len({p.id for p in export.posts}) == 20_000
        assert sorted(p.caption for p in export.posts) == sorted(p.caption for p in posts)
        assert all(p.time_precision == "minute" for p in export.posts)

"""The HTML export reader: both markups, folder and ZIP, quirks, kinds, and refusals."""

from __future__ import annotations

import re
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pindah.migrator.errors import InputError
from pindah.migrator.exportfs import ExportTree
from pindah.migrator.model import MediaType, Post, PostKind
from pindah.migrator.sources import read_export
from pindah.migrator.sources.base import ReadContext
from pindah.migrator.sources.html import UTC_NOTE, HtmlReader, parse_time
from tests.exportbuilder.corpus import long_caption, quirky_posts
from tests.exportbuilder.html import ENTRY_PAGES, VARIANT_DIRS, write_html_export
from tests.exportbuilder.media import media_bytes
from tests.exportbuilder.spec import SynthMedia, SynthPost

ALL_KINDS = frozenset(PostKind)
VARIANTS = ("2025", "2022")
T0 = int(datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc).timestamp())


def row(post: Post) -> dict:
    """A post in `expected_row` shape."""
    return {
        "kind": post.kind.value,
        "taken_at": post.as_dict()["taken_at"],
        "caption": post.caption,
        "media": [{"path": m.path, "type": m.type.value, "missing": m.missing} for m in post.media],
    }


def by_time(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["taken_at"], [m["path"] for m in r["media"]]))


def zip_export(folder: Path, zip_path: Path, wrapper: str = "instagram-rina.wulandari_-2025-10-29-UXHPhjRr") -> Path:
    """Pack like Meta: entries under a wrapper folder, with explicit directory entries."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        dirs: set[str] = set()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = f"{wrapper}/{path.relative_to(folder).as_posix()}"
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                name = "/".join(parts[:i]) + "/"
                if name not in dirs:
                    dirs.add(name)
                    zf.writestr(name, b"")
            zf.write(path, rel)
    return zip_path


def read_posts(root: Path, kinds: frozenset[PostKind] = ALL_KINDS) -> tuple[list[Post], ReadContext]:
    """Run the reader directly, to see its context (problems, files read, kinds left out)."""
    ctx = ReadContext(kinds=kinds)
    with ExportTree.from_paths([root]) as tree:
        posts = list(HtmlReader().read(tree, ctx))
        for media in (m for post in posts for m in post.media):
            _ = media.type  # sniff while the tree is open; the result is cached
    return posts, ctx


def hand_page(root: Path, boxes: str, *, name: str = "posts_1.html", folder: str = "your_instagram_activity/media",
              media: tuple[str, ...] = (), tail: str = "</div></body></html>") -> Path:
    """A hand-written page (for markup the builder never writes) and the media it names."""
    page = root / folder / name
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8" /><title>Posts</title></head>'
                    f'<body><div role="main">{boxes}{tail}', encoding="utf-8")
    for rel in media:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(media_bytes("mp4" if rel.endswith(".mp4") else "jpg"))
    return root


def box(inner: str, when: str = "Aug 17, 2025 11:23 am", caption: str | None = None) -> str:
    head = f'<h2 class="_3-95 _2pim _a6-h _a6-i">{caption}</h2>' if caption is not None else ""
    return (f'<div class="pam _3-95 _2ph- _a6-g uiBoxWhite noborder">{head}<div class="_3-95 _a6-p">'
            f'<div>{inner}</div></div><div class="_3-94 _a6-o">{when}</div></div>')


def img(path: str) -> str:
    return f'<div><a target="_blank" href="{path}"><img src="{path}" class="_a6_o _3-96" /></a></div>'


# -- the whole corpus, both markups, folder and ZIP -------------------------------------------
@pytest.mark.parametrize("container", ["folder", "zip"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_read_export_reproduces_every_quirky_post_exactly(tmp_path: Path, variant: str, container: str) -> None:
    folder = tmp_path / "export"
    expected = write_html_export(folder, quirky_posts(), variant, posts_per_page=6)
    given = zip_export(folder, tmp_path / "export.zip") if container == "zip" else folder
    with read_export([given], ALL_KINDS) as export:
        assert export.layout == "html"
        assert by_time([row(p) for p in export.posts]) == by_time(expected)
        assert all(p.layout == "html" and p.time_precision == "minute" for p in export.posts)


@pytest.mark.parametrize("variant", VARIANTS)
def test_times_are_taken_as_utc_to_the_minute_with_one_note_for_the_whole_export(tmp_path: Path, variant: str) -> None:
    posts = [SynthPost(T0 + i * 86_400 + 37, f"day {i}") for i in range(5)]
    write_html_export(tmp_path, posts, variant)
    got, ctx = read_posts(tmp_path)
    assert [p.taken_at for p in got] == [
        datetime.fromtimestamp(s.taken_at - s.taken_at % 60, timezone.utc) for s in posts]
    assert [str(p) for p in ctx.problems] == [f"export: {UTC_NOTE}"]


def test_two_posts_in_the_same_minute_stay_two_posts(tmp_path: Path) -> None:
    posts = [SynthPost(T0, "first"), SynthPost(T0 + 40, "second")]  # 07:08:09 and 07:08:49
    write_html_export(tmp_path, posts)
    got, _ = read_posts(tmp_path)
    assert [p.caption for p in got] == ["first", "second"]
    assert got[0].taken_at == got[1].taken_at
    assert got[0].id != got[1].id


@pytest.mark.parametrize("variant", VARIANTS)
def test_captions_keep_emoji_sequences_rtl_text_and_all_2200_characters(tmp_path: Path, variant: str) -> None:
    captions = ["Studio day 👩‍🎨 with pride 🏳️‍🌈 and 👍🏽", "لوحة جديدة في المرسم", "ציור חדש בסטודיו",
                "Cafe\u0301 in NFD", long_caption()]
    write_html_export(tmp_path, [SynthPost(T0 + i * 60, c) for i, c in enumerate(captions)], variant)
    got, _ = read_posts(tmp_path)
    assert [p.caption for p in got] == captions
    assert len(got[-1].caption) == 2200


@pytest.mark.parametrize("variant", VARIANTS)
def test_entities_are_decoded_and_line_breaks_kept_without_any_mojibake_fix(tmp_path: Path, variant: str) -> None:
    caption = "It's by @budi.santoso & me: \"5 < 6\"\u00a0ok\nLine two\n\nPrints Â£12"
    write_html_export(tmp_path, [SynthPost(T0, caption)], variant)
    page = (tmp_path / VARIANT_DIRS[variant] / "posts_1.html").read_text("utf-8")
    assert "&#039;" in page and "&#064;budi.santoso" in page and "<br />" in page and "&nbsp;" in page
    got, _ = read_posts(tmp_path)
    assert got[0].caption == caption
    assert got[0].mentions == ("budi.santoso",)


def test_script_tags_in_a_caption_are_kept_as_text(tmp_path: Path) -> None:
    caption = "<script>alert('hi')</script> <b>not bold</b> <!-- not a comment -->"
    write_html_export(tmp_path, [SynthPost(T0, caption)])
    got, _ = read_posts(tmp_path)
    assert got[0].caption == caption


def test_a_twenty_item_mixed_carousel_keeps_its_order_and_types(tmp_path: Path) -> None:
    items = [SynthMedia("mp4", width=8 + i) if i % 4 == 3 else SynthMedia(("jpg", "webp", "png")[i % 3], width=8 + i)
             for i in range(20)]
    (expected,) = write_html_export(tmp_path, [SynthPost(T0, "carousel", items)])
    got, _ = read_posts(tmp_path)
    assert row(got[0])["media"] == expected["media"]
    assert [m.type for m in got[0].media].count(MediaType.VIDEO) == 5


def test_missing_media_are_kept_and_marked_missing(tmp_path: Path) -> None:
    items = [SynthMedia(), SynthMedia(missing=True), SynthMedia("mp4", missing=True)]
    (expected,) = write_html_export(tmp_path, [SynthPost(T0, "half gone", items)])
    got, _ = read_posts(tmp_path)
    assert row(got[0]) == expected
    assert [m.missing for m in got[0].media] == [False, True, True]
    assert got[0].media[2].type is MediaType.VIDEO  # from the <video> tag: no bytes to sniff


@pytest.mark.parametrize("variant", VARIANTS)
def test_posts_spread_over_many_pages_are_all_read_in_page_number_order(tmp_path: Path, variant: str) -> None:
    posts = [SynthPost(T0 + i * 3600, f"post {i}") for i in range(11)]
    write_html_export(tmp_path, posts, variant, posts_per_page=1)
    got, ctx = read_posts(tmp_path)
    assert [p.caption for p in got] == [f"post {i}" for i in range(11)]
    assert ctx.files_read == [f"{VARIANT_DIRS[variant]}/posts_{n}.html" for n in range(1, 12)]


def test_location_and_tagged_users_come_from_the_label_value_tables(tmp_path: Path) -> None:
    posts = [SynthPost(T0, "here", latitude=-6.175392, longitude=106.827153), SynthPost(T0 + 60, "no place")]
    write_html_export(tmp_path, posts, tagged_users={0: ["budi.santoso", "art_collective.id"]})
    got, _ = read_posts(tmp_path)
    assert (got[0].location.latitude, got[0].location.longitude) == (-6.175392, 106.827153)
    assert got[0].tagged_users == ("budi.santoso", "art_collective.id")
    assert got[1].location is None and got[1].tagged_users == ()


# -- kinds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_each_kind_page_gives_its_kind_and_igtv_counts_as_reels(tmp_path: Path, variant: str) -> None:
    kinds = ["post", "reel", "igtv", "story", "archived", "profile_photo", "other"]
    write_html_export(tmp_path, [SynthPost(T0 + i * 60, k, [SynthMedia("mp4" if k in ("reel", "igtv") else "jpg")],
                                           kind=k) for i, k in enumerate(kinds)], variant)
    got, _ = read_posts(tmp_path)
    assert {p.caption: p.kind for p in got} == {
        "post": PostKind.POST, "reel": PostKind.REEL, "igtv": PostKind.REEL, "story": PostKind.STORY,
        "archived": PostKind.ARCHIVED, "profile_photo": PostKind.PROFILE_PHOTO, "other": PostKind.OTHER}


def test_only_wanted_kinds_are_read_and_the_others_are_noted_with_their_page(tmp_path: Path) -> None:
    posts = [SynthPost(T0, "feed"), SynthPost(T0 + 60, "reel", [SynthMedia("mp4")], kind="reel"),
             SynthPost(T0 + 120, "story", kind="story")]
    write_html_export(tmp_path, posts)
    got, ctx = read_posts(tmp_path, frozenset({PostKind.POST}))
    assert [p.caption for p in got] == ["feed"]
    assert ctx.files_read == ["your_instagram_activity/media/posts_1.html"]
    assert ctx.not_included == {PostKind.REEL: ["your_instagram_activity/media/reels.html"],
                                PostKind.STORY: ["your_instagram_activity/media/stories.html"]}


def test_an_export_with_only_stories_is_still_detected_as_html(tmp_path: Path) -> None:
    write_html_export(tmp_path, [SynthPost(T0, "story", kind="story")], "2022")
    assert not (tmp_path / "content/posts_1.html").exists()
    with read_export([tmp_path], {PostKind.STORY}) as export:
        assert export.layout == "html"
        assert [p.kind for p in export.posts] == [PostKind.STORY]


# -- detection ------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_entry_and_unrelated_pages_are_never_read_as_posts(tmp_path: Path, variant: str) -> None:
    write_html_export(tmp_path, [SynthPost(T0, "mine")], variant)
    assert (tmp_path / ENTRY_PAGES[variant]).exists()
    got, ctx = read_posts(tmp_path)
    assert [p.caption for p in got] == ["mine"]
    assert ctx.files_read == [f"{VARIANT_DIRS[variant]}/posts_1.html"]


def test_a_json_export_with_an_html_copy_beside_it_is_read_as_json(tmp_path: Path) -> None:
    from tests.exportbuilder.meta_json import write_meta_json

    posts = [SynthPost(T0, "same post")]
    write_html_export(tmp_path, posts, "2025")
    expected = write_meta_json(tmp_path, posts, "new")
    with read_export([tmp_path]) as export:
        assert export.layout != "html"
        assert [row(p) for p in export.posts] == expected  # second precision: JSON's, not HTML's


def test_an_export_without_html_pages_is_not_claimed(tmp_path: Path) -> None:
    (tmp_path / "your_instagram_activity/likes").mkdir(parents=True)
    (tmp_path / "your_instagram_activity/likes/liked_posts.html").write_text("<html></html>")
    with ExportTree.from_paths([tmp_path]) as tree:
        assert not HtmlReader().detect(tree)


# -- structure over class names ---------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_posts_are_found_by_structure_when_meta_renames_every_class(tmp_path: Path, variant: str) -> None:
    expected = write_html_export(tmp_path, quirky_posts()[:12], variant)
    for page in (tmp_path / VARIANT_DIRS[variant]).glob("*.html"):
        text = page.read_text("utf-8")
        renamed = re.sub(r'class="[^"]*"', lambda m: f'class="x{zlib.crc32(m[0].encode()) % 9999}"', text)
        page.write_text(renamed, "utf-8")
    with read_export([tmp_path], ALL_KINDS) as export:
        assert by_time([row(p) for p in export.posts]) == by_time(expected)


def test_a_caption_that_reads_like_a_date_is_not_taken_for_the_time(tmp_path: Path) -> None:
    write_html_export(tmp_path, [SynthPost(T0, "Aug 17, 2025 11:23 am"), SynthPost(T0 + 60, "x")])
    got, _ = read_posts(tmp_path)
    assert [(p.caption, p.taken_at.strftime("%H:%M")) for p in got] == [("Aug 17, 2025 11:23 am", "07:08"),
                                                                         ("x", "07:09")]


def test_a_video_poster_is_not_a_slide_and_a_linked_video_is_one_item(tmp_path: Path) -> None:
    video, thumb = "media/reels/202508/AQabc_1790.mp4", "media/reels/202508/1790_thumb.jpg"
    photo = "media/posts/202508/1791.jpg"
    inner = (f'<a href="{video}"><video src="{video}" poster="{thumb}" controls></video></a>'
             f'<img src="{thumb}" />{img(photo)}')
    hand_page(tmp_path, box(inner, caption="reel"), media=(video, thumb, photo))
    got, _ = read_posts(tmp_path)
    assert [(m.path, m.type_hint) for m in got[0].media] == [(video, MediaType.VIDEO), (photo, MediaType.IMAGE)]


def test_a_bare_link_to_a_video_file_is_one_video_item(tmp_path: Path) -> None:
    video = "media/posts/202508/AQxyz_1790"  # extensionless, as some exports have them
    hand_page(tmp_path, box(f'<a target="_blank" href="{video}">{video}</a>'), media=(video,))
    (tmp_path / video).write_bytes(media_bytes("mp4"))
    got, _ = read_posts(tmp_path)
    assert [(m.path, m.type_hint, m.type) for m in got[0].media] == [(video, None, MediaType.VIDEO)]


def test_pages_in_the_2024_content_folder_are_read_too(tmp_path: Path) -> None:
    photo = "media/posts/202406/1.jpg"
    hand_page(tmp_path, box(img(photo), "Jun 20, 2024 11:11 am"), folder="your_instagram_activity/content",
              media=(photo,))
    with read_export([tmp_path]) as export:
        assert export.layout == "html" and [p.media[0].path for p in export.posts] == [photo]


def test_the_2022_time_format_and_its_variants_are_read(tmp_path: Path) -> None:
    photo = "media/posts/201502/1.jpg"
    boxes = "".join(box(img(photo.replace("1.jpg", f"{i}.jpg")), when) for i, when in enumerate(
        ["Feb 26, 2015, 3:07 PM", "Feb 26, 2015 3:08 pm", "Feb 26, 2015, 12:09 AM"]))
    hand_page(tmp_path, boxes, folder="content", media=tuple(photo.replace("1.jpg", f"{i}.jpg") for i in range(3)))
    got, _ = read_posts(tmp_path)
    assert [p.taken_at.strftime("%Y-%m-%d %H:%M") for p in got] == [
        "2015-02-26 15:07", "2015-02-26 15:08", "2015-02-26 00:09"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Feb 26, 2015, 3:07 PM", "2015-02-26 15:07"),
    ("Aug 17, 2025 11:23 am", "2025-08-17 11:23"),
    ("Jul 07, 2024 7:15 pm", "2024-07-07 19:15"),
    ("Sep 8, 2016, 4:36 PM", "2016-09-08 16:36"),
    ("Dec 1, 2020 12:05 AM", "2020-12-01 00:05"),
    ("Dec 1, 2020 12:05 pm", "2020-12-01 12:05"),
    ("Aug 17, 2025 11:23\u202fam", "2025-08-17 11:23"),
    ("September 3, 2021 18:30", "2021-09-03 18:30"),
    ("Feb 30, 2021 3:07 PM", None),
    ("Aug 17, 2025 13:23 pm", None),
    ("17 août 2025 11:23", "2025-08-17 11:23"),
])
def test_parse_time_reads_meta_date_lines(text: str, expected: str | None) -> None:
    moment = parse_time(text)
    assert (moment.strftime("%Y-%m-%d %H:%M") if moment else None) == expected
    assert moment is None or moment.tzinfo is timezone.utc


# -- per-post problems ------------------------------------------------------------------------
def test_a_post_without_media_is_skipped_with_a_problem(tmp_path: Path) -> None:
    photo = "media/posts/202508/2.jpg"
    hand_page(tmp_path, box("", caption="only words") + box(img(photo), "Aug 17, 2025 11:24 am"), media=(photo,))
    got, ctx = read_posts(tmp_path)
    assert [p.media[0].path for p in got] == [photo]
    assert "your_instagram_activity/media/posts_1.html post 1: has no photo or video; skipped" in map(str, ctx.problems)


def test_a_post_whose_date_cannot_be_read_stays_in_dated_from_its_media_folder_and_flagged(tmp_path: Path) -> None:
    photos = ("media/posts/202508/0.jpg", "media/posts/201407/1.jpg", "media/posts/202508/2.jpg")
    hand_page(tmp_path, box(img(photos[0]), "Feb 30, 2025 11:23 am") + box(img(photos[1]), "Mitte Juli 2014 um 10:15")
              + box(img(photos[2])), media=photos)
    got, ctx = read_posts(tmp_path)
    assert [(p.media[0].path, p.taken_at.strftime("%Y-%m-%d %H:%M"), p.time_precision) for p in got] == [
        (photos[0], "2025-08-01 00:00", "month"), (photos[1], "2014-07-01 00:00", "month"),
        (photos[2], "2025-08-17 11:23", "minute")]
    problems = [str(p) for p in ctx.problems if p.where != "export"]
    page = "your_instagram_activity/media/posts_1.html"
    assert problems == [
        f"{page} post 1: has a date pindah cannot read ('Feb 30, 2025 11:23 am'); "
        "dated 2025-08 (first of the month) from its media folder",
        f"{page} post 2: has a date pindah cannot read ('Mitte Juli 2014 um 10:15'); "
        "dated 2014-07 (first of the month) from its media folder",
    ]
    assert ctx.skipped == []


def read_no_posts(tmp_path: Path, boxes: str, photo: str) -> ReadContext:
    """Read a hand page of `boxes` naming one photo; assert no post came of it; the context says why."""
    hand_page(tmp_path, boxes, media=(photo,))
    got, ctx = read_posts(tmp_path)
    assert got == []
    return ctx


def test_a_post_with_neither_a_readable_date_nor_a_month_folder_is_skipped_with_its_reason(tmp_path: Path) -> None:
    photo = "media/posts/misc/1.jpg"
    ctx = read_no_posts(tmp_path, box(img(photo), "Feb 30, 2025 11:23 am"), photo)
    assert [str(p) for p in ctx.skipped] == [
        "your_instagram_activity/media/posts_1.html post 1: has a date pindah cannot read ('Feb 30, 2025 11:23 am'), "
        "and no YYYYMM media folder to date it by; skipped"]


def test_media_outside_any_post_box_are_reported_not_silently_lost(tmp_path: Path) -> None:
    photo = "media/posts/202508/1.jpg"
    ctx = read_no_posts(tmp_path, f'<div><div>{img(photo)}</div><div>vor drei Tagen</div></div>', photo)
    assert [str(p) for p in ctx.problems] == [
        "your_instagram_activity/media/posts_1.html: 1 media file(s) on this page belong to no post "
        "with a date pindah can read; they are left out"]


def test_a_cut_off_page_keeps_its_posts_and_says_it_is_cut_off(tmp_path: Path) -> None:
    photos = ("media/posts/202508/1.jpg", "media/posts/202508/2.jpg")
    hand_page(tmp_path, box(img(photos[0])) + box(img(photos[1]), "Aug 17, 2025 11:30 am")[:-40], media=photos, tail="")
    got, ctx = read_posts(tmp_path)
    # The cut went through the second post's date line: it stays, dated from its folder, flagged.
    assert [(p.media[0].path, p.time_precision) for p in got] == [(photos[0], "minute"), (photos[1], "month")]
    assert any("cut off" in p.what for p in ctx.problems)
    assert any(p.where.endswith("post 2") and "media folder" in p.what for p in ctx.problems)


# -- fatal problems -----------------------------------------------------------------------------
@pytest.mark.parametrize("garbage", [bytes(range(256)) * 8, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
                                     b"just some text, not a page"])
def test_a_page_that_is_not_html_is_refused_naming_the_file(tmp_path: Path, garbage: bytes) -> None:
    write_html_export(tmp_path, [SynthPost(T0, "fine")])
    (tmp_path / "your_instagram_activity/media/stories.html").write_bytes(garbage)
    with pytest.raises(InputError, match=r"your_instagram_activity/media/stories\.html is not a readable HTML page"):
        read_export([tmp_path], ALL_KINDS)

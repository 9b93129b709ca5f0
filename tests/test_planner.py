"""The planner: captions, carousels, videos, dates, mentions and alt text, per kind of target.

Lengths are checked with an independent count (the `regex` module's `\\X`, `len`, UTF-8 bytes, a
plain link substitution), never with the planner's own `textcount`, so a counting bug in the
code under test can't hide itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pindah.adapters.contract import Capabilities, TextCounting
from pindah.adapters.toolkit import textparse
from pindah.migrator.model import AltOrigin, Media, MediaType, Post, PostKind
from pindah.migrator.planner import PlanOptions, PostPlan, plan_post, plan_posts
from pindah.adapters.toolkit.textcount import Measure, text_length
from pindah.adapters.toolkit.textsplit import fit_prefix, split_to_fit, truncate
from tests.exportbuilder.memory import MemoryTree

MP4 = frozenset({"video/mp4"})
BLUESKY = Capabilities(max_text=300, max_media_per_post=4, mix_images_and_videos=False,
                       max_videos_per_post=1, video_mime_types=MP4, max_alt_text=2000,
                       threads=True, backdating=True)
MASTODON = Capabilities(max_text=500, url_weight=23, max_media_per_post=4, mix_images_and_videos=False,
                        max_videos_per_post=1, video_mime_types=MP4, max_alt_text=1500,
                        threads=True, backdating=False)
PIXELFED = Capabilities(max_text=500, text_counting=TextCounting.CODE_POINTS, max_media_per_post=4,
                        requires_media=True, max_alt_text=1000, threads=True, backdating=False)
GOTOSOCIAL = Capabilities(max_text=5000, url_weight=25, max_media_per_post=6, video_mime_types=MP4,
                          threads=True, backdating=True)
NO_THREADS = Capabilities(max_text=300, max_media_per_post=4, mix_images_and_videos=False,
                          max_videos_per_post=1, video_mime_types=MP4, max_alt_text=100,
                          threads=False, backdating=False)
BYTES = Capabilities(max_text=300, text_counting=TextCounting.BYTES, threads=True)
ALL_CAPS = {"bluesky": BLUESKY, "mastodon": MASTODON, "pixelfed": PIXELFED,
            "gotosocial": GOTOSOCIAL, "no-threads": NO_THREADS, "bytes": BYTES}

T0 = datetime(2024, 7, 7, 12, 30, tzinfo=timezone.utc)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
MPEG4 = b"\x00\x00\x00\x18ftypisom" + bytes(52)
ARTIST = "👩‍🎨"  # WOMAN ZWJ PALETTE: 1 grapheme, 3 code points, 11 bytes




def make_post(caption: str = "", kinds: str = "i", *, post_id: str = "p20240707-123000-0123456789",
              missing: tuple[int, ...] = (), alts: dict[int, tuple[str, AltOrigin]] | None = None,
              taken_at: datetime = T0) -> Post:
    """`kinds`: one letter per carousel item, "i" image or "v" video, in order."""
    files: dict[str, bytes] = {}
    tree = MemoryTree(files)
    media = []
    for i, kind in enumerate(kinds):
        path = f"media/posts/202407/{i}_n.{'mp4' if kind == 'v' else 'jpg'}"
        if i not in missing:
            files[path] = MPEG4 if kind == "v" else JPEG
        alt, origin = (alts or {}).get(i, (None, None))
        media.append(Media(path=path, tree=tree, alt_text=alt, alt_origin=origin))
    return Post(id=post_id, kind=PostKind.POST, taken_at=taken_at, caption=caption, media=media,
                layout="test")


def independent_length(text: str, caps: Capabilities) -> int:
    if caps.url_weight:
        # A link is "http(s)://" and all that follows up to a space, unless glued to a letter,
        # digit, @, $ or # (twitter-text's rule); it counts `url_weight`. This simple rule takes
        # a link's trailing punctuation as link, so it can only come out lower than a strict count.
        text = re.sub(r"(?<![\w@$#＠＃])https?://\S+", "x" * caps.url_weight, text)
    if caps.text_counting is TextCounting.GRAPHEMES:
        return len(regex.findall(r"\X", text))
    if caps.text_counting is TextCounting.CODE_POINTS:
        return len(text)
    return len(text.encode("utf-8"))


def assert_every_part_fits(plan: PostPlan, caps: Capabilities) -> None:
    for part in plan.parts:
        assert independent_length(part.text, caps) <= caps.max_text, (part.index, part.text)


def grapheme_bounds(text: str) -> set[int]:
    return {0} | {m.end() for m in regex.finditer(r"\X", text)}


def assert_caption_kept(caption: str, plan: PostPlan) -> None:
    """Chunks are the caption's own slices, in order, separated by whitespace only, cut on
    grapheme boundaries, and together they are all of it."""
    original = textparse.clean_text(caption).strip()
    bounds = grapheme_bounds(original)
    pos = 0
    for part in plan.parts:
        assert part.text.startswith(part.caption)
        if not part.caption:
            continue
        found = original.find(part.caption, pos)
        assert found >= 0, part.caption
        assert original[pos:found].strip() == "", original[pos:found]
        assert found in bounds and found + len(part.caption) in bounds
        pos = found + len(part.caption)
    assert original[pos:].strip() == ""


def captions(plan: PostPlan) -> list[str]:
    return [p.caption for p in plan.parts if p.caption]


# -- counting ------------------------------------------------------------------------------------

def test_zwj_emoji_is_one_grapheme_three_code_points_eleven_bytes():
    assert text_length(ARTIST, BLUESKY) == 1
    assert text_length(ARTIST, PIXELFED) == 3
    assert text_length(ARTIST, BYTES) == 11
    assert text_length("🇮🇩🏳️‍🌈👍🏽e\u0301", BLUESKY) == 4


def test_mastodon_counts_every_link_as_23_whatever_its_length():
    long_link = "https://example.com/" + "a" * 200
    assert text_length(f"see {long_link} now", MASTODON) == 4 + 23 + 4
    assert text_length("https://t.co/x", MASTODON) == 23  # short links count 23 too
    assert text_length(f"({long_link}).", MASTODON) == 1 + 23 + 2  # closing punctuation is not link
    assert text_length(long_link, BLUESKY) == len(long_link)


def test_indic_conjunct_counts_as_older_servers_count_it():
    # क्ष is one grapheme in Unicode 15.1 and two before: the count takes the larger.
    assert text_length("क्ष", BLUESKY) == 2


def test_fit_prefix_and_truncate_never_cut_inside_a_grapheme():
    text = (ARTIST + "e\u0301") * 10
    prefix = fit_prefix(text, 5, BLUESKY)
    assert prefix == (ARTIST + "e\u0301") * 2 + ARTIST
    assert truncate("one two three four", 10, BLUESKY) == "one two…"


def test_split_to_fit_prefers_a_paragraph_break_over_a_later_word_break():
    text = "a" * 60 + " " + "b" * 10 + "\n\n" + "c " * 30
    chunks = split_to_fit(text, 100, 100, BLUESKY)
    assert chunks[0] == "a" * 60 + " " + "b" * 10


# -- captions ------------------------------------------------------------------------------------

def test_zwj_caption_is_cut_later_where_graphemes_count_than_where_code_points_count():
    caption = " ".join([ARTIST] * 300)
    same_limit = dict(max_text=300, max_media_per_post=4, threads=True, backdating=True)
    by_grapheme = plan_post(make_post(caption), Capabilities(**same_limit))
    by_code_point = plan_post(make_post(caption), Capabilities(**same_limit,
                                                                text_counting=TextCounting.CODE_POINTS))
    # 300 less a 6-character marker leaves 294 for k artists and k-1 spaces: 2k-1 graphemes
    # (so 147 artists) where graphemes count, 4k-1 code points (so 73) where code points count.
    assert captions(by_grapheme)[0].count(ARTIST) == 147
    assert captions(by_code_point)[0].count(ARTIST) == 73
    assert_every_part_fits(by_grapheme, Capabilities(**same_limit))


def test_zwj_caption_on_bluesky_and_pixelfed_split_at_different_points_and_both_fit():
    caption = " ".join([ARTIST] * 400)
    bsky, pixelfed = plan_post(make_post(caption), BLUESKY), plan_post(make_post(caption), PIXELFED)
    assert captions(bsky)[0].count(ARTIST) != captions(pixelfed)[0].count(ARTIST)
    for plan, caps in ((bsky, BLUESKY), (pixelfed, PIXELFED)):
        assert_every_part_fits(plan, caps)
        assert_caption_kept(caption, plan)
        assert all(c.startswith(ARTIST) and c.endswith(ARTIST) for c in captions(plan))


@pytest.mark.parametrize("sentence", [
    "هذه لوحة جديدة رسمتها في الصباح الباكر على ضوء الشمس. ",
    "זה ציור חדש שציירתי בבוקר המוקדם לאור השמש. ",
])
def test_rtl_caption_is_split_between_whole_words(sentence):
    caption = sentence * 40
    plan = plan_post(make_post(caption), BLUESKY)
    assert plan.part_count > 1
    assert_every_part_fits(plan, BLUESKY)
    assert_caption_kept(caption, plan)
    words = set(caption.split())
    for chunk in captions(plan):
        assert set(chunk.split()) <= words  # no word was cut in two


@pytest.mark.parametrize("caps", [BLUESKY, MASTODON, PIXELFED], ids=["bluesky", "mastodon", "pixelfed"])
def test_instagram_maximum_caption_of_2200_characters_becomes_a_thread_that_fits(caps):
    words = "ink sketch of the old harbour at dawn, drawn on location with a fountain pen".split()
    caption = ""
    i = 0
    while len(caption) < 2200:
        caption += words[i % len(words)] + ("\n" if i % 23 == 22 else " ")
        i += 1
    caption = caption[:2200]
    plan = plan_post(make_post(caption), caps)
    # No more posts than the text needs: the bare lower bound (every part full to the last
    # character, marker and date line included) is met even though cuts fall between words.
    date_line = 0 if caps.backdating else len("\n\n📷 Instagram, 7 July 2024")
    assert plan.part_count == -(-(len(caption.strip()) + date_line) // (caps.max_text - len(" (1/8)")))
    assert_every_part_fits(plan, caps)
    assert_caption_kept(caption, plan)
    assert f"caption split into {len(captions(plan))} parts" in plan.notes


def test_newlines_and_hashtags_are_kept_inside_a_part():
    caption = "Harbour at dawn\n\nInk on paper\n#ink #sketch #harbour"
    plan = plan_post(make_post(caption), BLUESKY)
    assert plan.parts[0].text == caption
    assert plan.post.hashtags == ("ink", "sketch", "harbour")


def test_hashtags_are_never_split_across_parts():
    tags = [f"#tag{i:03d}longname" for i in range(60)]
    caption = " ".join(tags)
    plan = plan_post(make_post(caption), BLUESKY)
    assert plan.part_count > 1
    seen = [tok for chunk in captions(plan) for tok in chunk.split()]
    assert seen == tags


def test_link_counts_23_on_mastodon_so_a_long_link_still_fits_in_one_post():
    link = "https://example.com/portfolio/" + "x" * 120
    caption = "word " * 90 + link + " after"
    assert len(caption) > 500
    plan = plan_post(make_post(caption), MASTODON, PlanOptions(date_line=False))
    assert [p.text for p in plan.parts] == [caption]
    assert_every_part_fits(plan, MASTODON)


def test_link_at_the_cut_is_never_split_on_mastodon():
    link = "https://example.com/portfolio/" + "x" * 120
    caption = "word " * 93 + link + " tail" * 30
    plan = plan_post(make_post(caption), MASTODON)
    assert plan.part_count == 2
    assert sum(link in c for c in captions(plan)) == 1
    assert_every_part_fits(plan, MASTODON)
    assert_caption_kept(caption, plan)


def test_link_is_kept_whole_on_bluesky_even_when_it_must_open_the_next_part():
    link = "https://example.com/" + "y" * 150
    caption = "word " * 40 + link
    plan = plan_post(make_post(caption), BLUESKY)
    assert captions(plan)[-1] == link
    assert_every_part_fits(plan, BLUESKY)


def test_a_word_longer_than_a_post_is_cut_on_grapheme_boundaries_only():
    word = "e\u0301" * 400 + ARTIST * 100
    plan = plan_post(make_post(word), BLUESKY)
    assert_every_part_fits(plan, BLUESKY)
    assert_caption_kept(word, plan)
    assert "".join(captions(plan)) == word


def test_japanese_caption_without_spaces_is_cut_after_a_sentence():
    caption = "今日は港で朝焼けを描きました。" * 30
    plan = plan_post(make_post(caption), BLUESKY)
    assert_every_part_fits(plan, BLUESKY)
    assert "".join(captions(plan)) == caption
    assert all(c.endswith("。") for c in captions(plan))


def test_part_markers_are_counted_within_the_limit():
    fits_alone = "abcd " * 60  # 299 graphemes once stripped: one post, no marker needed
    assert [p.text for p in plan_post(make_post(fits_alone), BLUESKY).parts] == [fits_alone.strip()]
    plan = plan_post(make_post("abcd " * 61), BLUESKY)  # 304: two parts, each with a marker
    assert [p.text[-6:] for p in plan.parts] == [" (1/2)", " (2/2)"]
    assert len(plan.parts[0].caption) <= 300 - len(" (1/2)")
    assert_every_part_fits(plan, BLUESKY)


def test_without_numbering_parts_carry_no_markers():
    plan = plan_post(make_post("word " * 100), BLUESKY, PlanOptions(number_parts=False))
    assert plan.part_count == 2
    assert not any("(1/2)" in p.text for p in plan.parts)


# -- carousels and video -------------------------------------------------------------------------

def test_twenty_images_become_five_posts_and_the_caption_is_written_once():
    plan = plan_post(make_post("Sketchbook tour", "i" * 20), BLUESKY)
    assert [len(p.media) for p in plan.parts] == [4] * 5
    assert [m for p in plan.parts for m in p.media] == list(range(20))
    assert plan.parts[0].text == "Sketchbook tour (1/5)"
    assert [p.text for p in plan.parts[1:]] == ["(2/5)", "(3/5)", "(4/5)", "(5/5)"]
    assert "20 images → 5 posts (this platform takes 4 per post)" in plan.notes


def test_twenty_item_mixed_carousel_without_galleries_keeps_instagrams_order_in_runs_of_one_kind():
    kinds = "iivii" "iivi" "vivii" "iivv" "i" "i"  # 14 images, 6 videos
    kinds = kinds[:20]
    post = make_post("Mixed", kinds)
    plan = plan_post(post, BLUESKY)
    flat = [m for p in plan.parts for m in p.media]
    assert flat == list(range(20))  # the thread shows the carousel in Instagram's order
    for part in plan.parts:
        types = {post.media[m].type for m in part.media}
        assert len(part.media) <= 4 and len(types) == 1
        if MediaType.VIDEO in types:
            assert len(part.media) == 1
    assert plan.parts[0].caption == "Mixed" and all(not p.caption for p in plan.parts[1:])
    assert "images and videos in separate posts, in Instagram's order: " \
           "this platform doesn't mix them in one post" in plan.notes


def test_without_galleries_a_video_between_images_stays_between_them():
    # The carousel seen on a real PDS: item 11 (a video) went out after images 12 and 13.
    plan = plan_post(make_post("", "i" * 10 + "v" + "ii"), BLUESKY)
    assert [p.media for p in plan.parts] == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9), (10,), (11, 12)]
    # image / video / image: the video stays in the middle, not last.
    assert [p.media for p in plan_post(make_post("", "ivi"), BLUESKY).parts] == [(0,), (1,), (2,)]
    assert [p.media for p in plan_post(make_post("", "iviiiii"), MASTODON).parts] == \
        [(0,), (1,), (2, 3, 4, 5), (6,)]


def test_carousel_opening_with_a_video_keeps_it_first_with_the_caption():
    plan = plan_post(make_post("Reel first", "vii"), BLUESKY)
    assert [p.media for p in plan.parts] == [(0,), (1, 2)]
    assert plan.parts[0].caption == "Reel first"


def test_mixed_carousel_on_a_target_that_mixes_keeps_exact_order_six_per_post():
    kinds = ("iv" * 10)
    plan = plan_post(make_post("", kinds), GOTOSOCIAL)
    assert [p.media for p in plan.parts] == [tuple(range(k, min(k + 6, 20))) for k in range(0, 20, 6)]


def test_video_on_a_target_without_video_is_dropped_with_the_reason():
    plan = plan_post(make_post("Studio", "ivi"), PIXELFED)
    assert plan.parts[0].media == (0, 2)
    assert plan.dropped_media == [(1, "video: this platform doesn't take video")]


def test_missing_files_are_dropped_with_the_reason():
    plan = plan_post(make_post("Studio", "iii", missing=(1,)), BLUESKY)
    assert plan.parts[0].media == (0, 2)
    assert plan.dropped_media == [(1, "file missing from the export")]


def test_post_without_usable_media_is_skipped_where_media_is_required():
    plan = plan_post(make_post("Only words", "ii", missing=(0, 1)), PIXELFED)
    assert plan.parts == [] and plan.skipped
    assert "needs a picture or video" in plan.skipped and "file missing" in plan.skipped
    text_only = plan_post(make_post("Only words", "ii", missing=(0, 1)), MASTODON,
                          PlanOptions(text_without_media=True))
    assert text_only.skipped is None and text_only.parts[0].media == ()


def test_a_post_whose_only_picture_is_missing_is_left_out_with_the_reason_unless_text_alone_is_wanted():
    post = make_post("The finished mural", "i", missing=(0,))
    plan = plan_post(post, MASTODON)
    assert plan.parts == [] and plan.skipped == (
        "its picture is missing from the export: media/posts/202407/0_n.jpg; "
        "to publish the text alone, use --text-without-media")
    several = plan_post(make_post("Diptych", "ii", missing=(0, 1)), MASTODON)
    assert several.skipped.startswith("none of its 2 pictures and videos can be used "
                                      "(media/posts/202407/0_n.jpg: file missing from the export; ")
    anyway = plan_post(post, MASTODON, PlanOptions(text_without_media=True))
    assert anyway.skipped is None and [p.text for p in anyway.parts] == [
        "The finished mural\n\n📷 Instagram, 7 July 2024"]


def test_post_with_neither_caption_nor_media_is_skipped():
    plan = plan_post(make_post("  \n ", "v", missing=(0,)), MASTODON)
    assert plan.skipped and "no caption" in plan.skipped and plan.part_count == 0


def test_pixelfed_long_caption_keeps_media_on_the_first_part():
    plan = plan_post(make_post("word " * 300, "i"), PIXELFED)
    assert plan.parts[0].media == (0,) and plan.part_count > 1
    assert_every_part_fits(plan, PIXELFED)


# -- targets without threads ---------------------------------------------------------------------

def test_without_threads_the_caption_is_shortened_at_a_word_with_an_ellipsis_and_said_so():
    caption = "one two three " * 40
    plan = plan_post(make_post(caption, "i"), NO_THREADS, PlanOptions(date_line=False))
    assert plan.part_count == 1
    text = plan.parts[0].text
    assert text.endswith("…") and text[:-1].split() == caption.split()[:len(text[:-1].split())]
    assert independent_length(text, NO_THREADS) <= 300
    assert any("caption shortened" in n for n in plan.notes)


def test_without_threads_extra_media_are_dropped_each_with_a_reason():
    plan = plan_post(make_post("x", "iiviiii"), NO_THREADS)
    assert plan.parts[0].media == (0, 1, 3, 4)
    assert [i for i, _ in plan.dropped_media] == [2, 5, 6]
    assert "video: can't share a post with images" in plan.dropped_media[0][1]
    assert "over the limit of 4" in plan.dropped_media[1][1]
    assert "3 of 7 files left out: this platform can't do threads" in plan.notes


# -- dates, parts, mentions, footer, alt text ----------------------------------------------------

def test_date_line_is_added_only_where_the_target_cannot_backdate():
    bsky = plan_post(make_post("Harbour", "i"), BLUESKY)
    masto = plan_post(make_post("Harbour", "i"), MASTODON)
    assert bsky.parts[0].text == "Harbour"
    assert masto.parts[0].text == "Harbour\n\n📷 Instagram, 7 July 2024"
    assert "date added as a line: this platform can't backdate" in masto.notes
    off = plan_post(make_post("Harbour", "i"), MASTODON, PlanOptions(date_line=False))
    assert off.parts[0].text == "Harbour"


def test_date_line_goes_only_into_the_first_part_and_counts_toward_its_limit():
    plan = plan_post(make_post("word " * 200, "i"), MASTODON)
    assert "📷 Instagram" in plan.parts[0].text
    assert not any("📷" in p.text for p in plan.parts[1:])
    assert_every_part_fits(plan, MASTODON)


def test_date_line_format_and_time_zone_are_the_artists_choice():
    from zoneinfo import ZoneInfo

    late = make_post("Night", "i", taken_at=datetime(2024, 7, 7, 20, 0, tzinfo=timezone.utc))
    options = PlanOptions(date_format="(Instagram {iso_date})", date_tz=ZoneInfo("Asia/Jakarta"))
    assert plan_post(late, MASTODON, options).parts[0].text == "Night\n\n(Instagram 2024-07-08)"


def test_parts_form_a_chain_one_second_apart_with_stable_keys():
    post = make_post("word " * 200, "i" * 9)
    plan = plan_post(post, BLUESKY)
    assert [p.reply_to for p in plan.parts] == [None] + list(range(plan.part_count - 1))
    assert [p.created_at for p in plan.parts] == [T0 + timedelta(seconds=i) for i in range(plan.part_count)]
    assert [p.key for p in plan.parts] == [f"{post.id}#{i}" for i in range(plan.part_count)]


def test_mentions_stay_plain_text_by_default_and_become_instagram_links_on_request():
    caption = "with @ana.draws and @bo_ink. mail me@example.com"
    assert plan_post(make_post(caption), BLUESKY).parts[0].text == caption
    linked = plan_post(make_post(caption), BLUESKY, PlanOptions(mentions="link")).parts[0].text
    assert linked == "with instagram.com/ana.draws and instagram.com/bo_ink. mail me@example.com"
    in_link = "read https://medium.com/@ana/process-notes"
    assert plan_post(make_post(in_link), BLUESKY, PlanOptions(mentions="link")).parts[0].text == in_link


def test_footer_goes_into_the_first_part_and_a_line_with_an_unknown_url_is_left_out():
    options = PlanOptions(footer="From my Instagram, {date}\n{instagram_url}")
    known = plan_post(make_post("word " * 150, "i"), MASTODON, options,
                      instagram_url="https://www.instagram.com/p/C9abc/")
    assert known.parts[0].text.endswith("(1/2)\n\nFrom my Instagram, 7 July 2024\nhttps://www.instagram.com/p/C9abc/")
    assert "From my" not in known.parts[1].text
    unknown = plan_post(make_post("Harbour", "i"), MASTODON, options)
    # The footer already says the date, so no second date line.
    assert unknown.parts[0].text == "Harbour\n\nFrom my Instagram, 7 July 2024"
    assert_every_part_fits(known, MASTODON)


def test_options_with_unknown_placeholders_are_refused():
    with pytest.raises(ValueError):
        PlanOptions(footer="{url}")
    with pytest.raises(ValueError):
        PlanOptions(mentions="ping")


def test_instagram_generated_alt_text_is_dropped_unless_asked_for():
    generated = ("May be an image of harbour and boats", AltOrigin.INSTAGRAM)
    post = make_post("x", "ii", alts={0: generated, 1: ("Ink drawing of boats", AltOrigin.USER)})
    assert plan_post(post, BLUESKY).parts[0].alt == (None, "Ink drawing of boats")
    kept = plan_post(post, BLUESKY, PlanOptions(keep_generated_alt=True)).parts[0].alt
    assert kept == ("May be an image of harbour and boats", "Ink drawing of boats")
    assert plan_post(post, BLUESKY, PlanOptions(include_alt_text=False)).parts[0].alt == (None, None)


def test_long_alt_text_is_cut_at_a_word_to_the_targets_alt_limit():
    alt = "Ink drawing of the harbour at dawn with boats " * 5
    plan = plan_post(make_post("x", "i", alts={0: (alt, AltOrigin.USER)}), NO_THREADS)
    cut = plan.parts[0].alt[0]
    assert cut.endswith("…") and len(cut) <= 100 and alt.startswith(cut[:-1])
    assert alt[len(cut) - 1] == " "


def test_same_post_same_capabilities_same_plan():
    def plan() -> PostPlan:
        return plan_post(make_post("word " * 300 + ARTIST * 50, "iviiiiivii"), MASTODON,
                         PlanOptions(footer="{instagram_url}"), instagram_url="https://instagram.com/p/x/")
    first, second = plan(), plan()
    assert first.parts == second.parts and first.notes == second.notes
    assert first.dropped_media == second.dropped_media


def test_plan_posts_orders_oldest_first_and_ties_by_id():
    a = make_post("a", post_id="b", taken_at=T0)
    b = make_post("b", post_id="a", taken_at=T0)
    c = make_post("c", post_id="c", taken_at=T0 - timedelta(days=1))
    assert [p.post.id for p in plan_posts([a, b, c], BLUESKY)] == ["c", "a", "b"]


def test_bytes_target_counts_utf8_bytes():
    plan = plan_post(make_post((ARTIST + " ") * 100), BYTES)
    assert_every_part_fits(plan, BYTES)
    assert plan.part_count == -(-1200 // 294)  # 12 bytes an artist, 294 after the marker


# -- property: any caption, any target -----------------------------------------------------------

_PIECES = st.sampled_from([
    "art", "ink", "Café", "e\u0301", "naïve", ARTIST, "👍🏽", "🇮🇩", "🏳️‍🌈", "👨‍👩‍👧‍👦",
    "مرحبا", "لوحة", "שלום", "צִיּוּר", "नमस्ते", "क्षत्रिय", "日本語", "描きました。", "#sketch",
    "#日本", "@ana.draws", "https://example.com/a/b", "https://t.co/x", "(see", "it).", "—",
])
_WORD = st.one_of(
    _PIECES,
    st.lists(_PIECES, min_size=1, max_size=4).map("".join),
    st.lists(_PIECES, min_size=30, max_size=120).map("".join),  # longer than a post
    st.text(alphabet="abcdefghij\u0301\u05b4\u064e\u200d", min_size=1, max_size=12),
)
_SEPARATOR = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  ", " \u00a0"])


@st.composite
def random_captions(draw) -> str:
    words = draw(st.lists(_WORD, min_size=0, max_size=250))
    return "".join(w + draw(_SEPARATOR) for w in words)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caption=random_captions(), target=st.sampled_from(sorted(ALL_CAPS)), kinds=st.sampled_from(["", "i", "iviiiiii"]))
def test_any_caption_on_any_target_fits_every_part_and_loses_nothing(caption, target, kinds):
    caps = ALL_CAPS[target]
    plan = plan_post(make_post(caption, kinds), caps)
    if plan.skipped:
        assert not textparse.clean_text(caption).strip() or (caps.requires_media and not kinds)
        return
    assert_every_part_fits(plan, caps)
    if caps.threads:
        assert_caption_kept(caption, plan)
    else:
        chunk = plan.parts[0].caption
        kept = chunk[:-1] if chunk.endswith("…") and not caption.strip().endswith("…") else chunk
        assert textparse.clean_text(caption).strip().startswith(kept)


@settings(max_examples=200, deadline=None)
@given(text=random_captions(), budget=st.integers(min_value=30, max_value=400))
def test_split_to_fit_chunks_fit_their_budget_in_every_unit(text, budget):
    # (A budget below the link weight can't hold any link: the planner never asks for one.)
    for counting in TextCounting:
        measure = Measure(counting, 23 if counting is TextCounting.GRAPHEMES else None)
        if not text.strip():
            assert split_to_fit(text, budget, budget, measure) == []
            continue
        chunks = split_to_fit(text, budget // 2 + 15, budget, measure)
        assert text_length(chunks[0], measure) <= budget // 2 + 15
        assert all(text_length(c, measure) <= budget for c in chunks[1:])
        assert "".join("".join(c.split()) for c in chunks) == "".join(text.split())


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=600),
       counting=st.sampled_from(list(TextCounting)), budget=st.integers(min_value=30, max_value=200))
def test_split_to_fit_cuts_any_unicode_on_grapheme_boundaries_and_keeps_all_of_it(text, counting, budget):
    measure = Measure(counting, None)
    chunks = split_to_fit(text, budget, budget, measure)
    bounds = grapheme_bounds(text)
    pos = 0
    gap = regex.compile(r"[^\S\u00a0\u2007\u202f]*")  # breakable whitespace only
    for chunk in chunks:
        assert text_length(chunk, measure) <= budget or len(regex.findall(r"\X", chunk)) == 1
        found = text.find(chunk, pos)
        assert found >= pos and gap.fullmatch(text, pos, found)
        assert found in bounds and found + len(chunk) in bounds
        pos = found + len(chunk)
    assert gap.fullmatch(text, pos)

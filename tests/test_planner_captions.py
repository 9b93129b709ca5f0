"""The planner cuts long captions into threads that fit each target: between words and graphemes,
never inside a link or hashtag, in right-to-left and space-less scripts, with part markers counted.

Targets, `make_post` and the independent length checks are in tests/planner_support.py.
"""

from __future__ import annotations

import pytest

from pindah.adapters.contract import Capabilities, TextCounting
from pindah.migrator.planner import PlanOptions, plan_post
from tests.planner_support import (ARTIST, BLUESKY, MASTODON, PIXELFED, assert_caption_kept, assert_every_part_fits,
                                   captions, make_post)


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

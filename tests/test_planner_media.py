"""The planner spreads carousels and videos over posts in Instagram's order, drops what a target
can't take (video, missing files, extra media without threads) with the reason, and shortens captions
where a target has no threads.

Targets, `make_post` and the independent length checks are in tests/planner_support.py.
"""

from __future__ import annotations

from pindah.migrator.model import MediaType
from pindah.migrator.planner import PlanOptions, plan_post
from tests.planner_support import (BLUESKY, GOTOSOCIAL, MASTODON, NO_THREADS, PIXELFED, assert_every_part_fits,
                                   independent_length, make_post)


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

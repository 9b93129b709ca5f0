"""The planner's date lines, reply chains, mentions, footers, alt text and ordering follow the artist's
options and each target's limits, and the same post always gets the same plan.

Targets, `make_post` and the independent length checks are in tests/planner_support.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pindah.migrator.model import AltOrigin
from pindah.migrator.planner import PlanOptions, PostPlan, plan_post, plan_posts
from tests.planner_support import (ARTIST, BLUESKY, BYTES, MASTODON, NO_THREADS, T0, assert_every_part_fits,
                                   make_post)


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

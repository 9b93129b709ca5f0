"""The planner's text counting (graphemes, code points, bytes, links) and splitting, and the
property tests: any caption on any target fits every part and loses nothing.

Targets, `make_post` and the independent length checks are in tests/planner_support.py.
"""

from __future__ import annotations

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pindah.adapters.contract import TextCounting
from pindah.adapters.toolkit import textparse
from pindah.adapters.toolkit.textcount import Measure, text_length
from pindah.adapters.toolkit.textsplit import fit_prefix, split_to_fit, truncate
from pindah.adapters.toolkit.texttokens import FewestParts, tokenize
from pindah.migrator.planner import plan_post
from tests.planner_support import (ALL_CAPS, ARTIST, BLUESKY, BYTES, MASTODON, PIXELFED, assert_caption_kept,
                                   assert_every_part_fits, grapheme_bounds, make_post)


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


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["ink", "watercolour", "a", "👩‍🎨", "https://t.co/x", ".", " ", "\n", "\n\n"]),
                min_size=1, max_size=120).map("".join),
       st.integers(min_value=12, max_value=60), st.sampled_from([BLUESKY, MASTODON]))
def test_the_backward_packing_finds_exactly_the_first_word_needing_no_more_parts(text, budget, caps):
    # `_best_cut` takes the earliest cut that keeps the fewest parts from `earliest` instead
    # of searching the counts word by word: both must name the same word, for every count.
    tokens = tokenize(text, caps.text_counting, caps.url_weight)
    if not len(tokens) or tokens.longest_word > budget:
        return
    fewest = FewestParts(tokens, budget)
    words = range(tokens.first_word, len(tokens), 2)
    for parts in range(1, fewest[tokens.first_word] + 1):
        assert fewest.earliest(parts) == min(k for k in words if fewest[k] <= parts)

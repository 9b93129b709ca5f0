"""The fast planner plans exactly what the planner planned before it was made fast.

The digests below were taken with the planner of commit bc75d76 (before issue 15's work) on
the synthetic account of `tests/plan_corpus.py`: plain and awkward captions (words longer than
a post, conjuncts, no-break spaces, marks after spaces, links), alt texts, every kind of
target and three sets of options. Any change in any part's text, media, alt text, date or
key, or in any note, changes a digest. A deliberate change of what the planner writes must
update them, and say why in its commit.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta, timezone

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from pindah.adapters.contract import TextCounting
from pindah.adapters.toolkit.textcount import Measure, raw_length, text_length
from pindah.adapters.toolkit.textsplit import measure
from pindah.adapters.toolkit import texttokens
from pindah.adapters.toolkit.texttokens import tokenize
from pindah.migrator.planner import PlanOptions, plan_posts
from tests.plan_corpus import make_posts, plan_digest
from tests.planner_support import ALL_CAPS

GOLDEN = {
    "bluesky": "d5d15d92697b9af6bfdaee8bddb763fc4c5b63d3d7dcc9b27a6eadb038ab5a41",
    "mastodon": "c431005fc5658f3728c2f18b51df68e7a525e6407da55d2a656aeb9d39bf71b0",
    "pixelfed": "79b3446b18423dc36a90fbb8212438e17ab66f274099a6a552d88bc82d2eaa0b",
    "gotosocial": "596d99a3b44847199f9ae19634999d6ed04eb66ea4b7571224b5bf1082b27c93",
    "no-threads": "342b2b18e0a5d35a7d50df6034024a04d00860b984569a7b07be044f6799a4a9",
    "bytes": "a12941a50904b881a1b8991467764324a376fc9ee81d45199c8f5092c79edd1e",
}
OPTIONS = (PlanOptions(),
           PlanOptions(footer="more: {instagram_url}\nmade {iso_date}", mentions="link",
                       date_tz=timezone(timedelta(hours=7))),
           PlanOptions(number_parts=False, date_line=False, keep_generated_alt=True))


@pytest.mark.parametrize("kind_of_target", sorted(GOLDEN))
def test_plans_of_a_whole_account_are_the_same_as_before_the_planner_was_made_fast(kind_of_target):
    digest = hashlib.sha256()
    for hard in (False, True):
        for options in OPTIONS:
            posts = make_posts(200, hard=hard)
            urls = {p.id: f"https://www.instagram.com/p/{p.id}/" for p in posts[::3]}
            digest.update(plan_digest(plan_posts(posts, ALL_CAPS[kind_of_target], options, instagram_urls=urls)).encode())
    assert digest.hexdigest() == GOLDEN[kind_of_target]


# Characters that make counting hard: marks, ZWJ, flags, skin tones, conjuncts, Prepend,
# Hangul jamo, CR LF, odd whitespace, no-break spaces, links and colons.
_ALPHABET = st.sampled_from(["a", "b", ".", "!", ":", "/", " ", "  ", "\n", "\n\n", "\r\n", "\t", "\u3000",
                             "\u2029", "\u00a0", "\u0301", "\u200d", "👩", "🎨", "🏽", "🇮", "🇩", "क", "्",
                             "ष", "\u0600", "\u1100", "\u1161", "日", "」", "https://example.art/x",
                             "https://t.co/", "x://y", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join),
       st.sampled_from(list(TextCounting)), st.sampled_from([None, 23]))
def test_each_token_and_a_whole_text_weigh_what_text_length_says(text, counting, url_weight):
    # The planner measures long captions on the splitter's tokens instead of counting twice.
    rule = Measure(counting, url_weight)
    assert measure(text, rule) == text_length(text, rule)
    tokens = tokenize(text, counting, url_weight)
    assert texttokens._has_glue(text) == (texttokens._GLUE.search(text) is not None)  # its shortcut is exact
    for k, (start, end, weight, _) in enumerate(tokens.tuples()):
        piece = text[start:end]
        is_word = k % 2 == tokens.first_word
        assert weight == (text_length(piece, rule) if is_word else raw_length(piece, counting)), piece


def test_the_stdlib_splits_text_at_exactly_the_spaces_the_unicode_rules_break_at():
    every_character = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    by_unicode = [m.start() for m in regex.finditer(texttokens._BREAKING_SPACE, every_character)]
    spelled = [m.start() for m in re.finditer(texttokens._BREAKING_SPACE_SPELLED, every_character)]
    assert by_unicode == spelled and len(spelled) == 22


def test_planning_leaves_the_cycle_collector_as_it_found_it_and_garbage_made_before_is_still_freed():
    import gc
    import weakref

    class Node:
        pass

    def make_cycle() -> weakref.ref:
        a, b = Node(), Node()
        a.other, b.other = b, a  # only the cycle collector can free these
        return weakref.ref(a)

    caps = ALL_CAPS["bluesky"]
    was = gc.isenabled()
    try:
        gc.enable()
        posts = make_posts(50)
        cycle = make_cycle()  # young when planning starts: it ages with the plans
        plans = plan_posts(posts, caps)
        assert gc.isenabled() and gc.get_freeze_count() == 0  # nothing left frozen
        gc.collect()
        assert cycle() is None and len(plans) == 50
        gc.disable()
        plan_posts(make_posts(5), caps)
        assert not gc.isenabled()  # a caller that paused it keeps it paused
    finally:
        (gc.enable if was else gc.disable)()


def test_a_word_that_glues_to_the_space_before_it_is_noticed_whenever_it_comes_back():
    # A combining mark after a space makes one grapheme of both: no cut may fall between them,
    # and the tokens must then be whole graphemes, however often the word was weighed before.
    text = "word \u0301x more words here"
    for _ in range(3):
        tokens = tokenize(text, TextCounting.GRAPHEMES, None)
        boundaries = {m.start() for m in regex.finditer(r"\X", text)}
        assert set(tokens.offsets[:-1]) <= boundaries
        text += " again"  # a new text each time, not one tokenize remembers


def test_glue_is_still_found_after_more_gluing_words_than_can_be_remembered(monkeypatch):
    monkeypatch.setattr(texttokens, "_GLUING_WORDS", set())
    monkeypatch.setattr(texttokens, "_WEIGHTS", {})
    monkeypatch.setattr(texttokens, "_CACHE_LIMIT", 2)
    for i in range(5):
        text = f"w{i} \u0301m{i} and more"  # a new word with a mark glued to the space before it
        tokens = tokenize(text, TextCounting.GRAPHEMES, None)
        assert set(tokens.offsets[:-1]) <= {m.start() for m in regex.finditer(r"\X", text)}
    assert texttokens._TOO_MANY in texttokens._GLUING_WORDS

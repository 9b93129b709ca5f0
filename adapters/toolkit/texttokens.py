"""A text as the words and whitespace runs it may be cut between, each weighed in a target's unit.

`textsplit` cuts captions between these tokens. Tokens alternate word, whitespace, word, ...
and every boundary between two of them is a grapheme boundary. Each whitespace run has a break
quality (a space, a sentence end, a line break, a paragraph break).

Why this module is shaped for speed: planning re-runs after every selection in the browser
app and must handle 20,000 posts in well under two seconds. A text is split once at its
whitespace runs (the stdlib, in C), and everything else is looked up per distinct word or run:
captions repeat their words, hashtags, emoji and spaces, so each is weighed with `textcount`
(grapheme segmentation is slow), and checked for a sentence end or for a mark that would glue it
to a space, once ever (bounded tables). The lists are then built with look-ups in one C loop,
slices and `accumulate`, never a Python loop over every word. A token's kind (its break
quality, whether a word ends a sentence) is only looked up where a cut is being chosen: a
long caption is weighed whole, but its kinds are read near its few cuts.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter

import regex

from pindah.adapters.contract import TextCounting

from .textcount import GRAPHEME, Measure, text_length

# Whitespace a text may be broken at. No-break spaces (French « », figures) are glue, not gaps.
_NO_BREAK = "\u00a0\u2007\u202f"
_BREAKING_SPACE = "[^\\S" + _NO_BREAK + "]"  # in `regex` terms: Unicode White_Space but the above
# The same characters spelled out for the stdlib, which splits faster (a test checks both agree).
_BREAKING_SPACE_SPELLED = "[\t-\r \x85\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]"
_SPLIT = re.compile(f"({_BREAKING_SPACE_SPELLED}+)")
# The only places where whitespace and the next or previous character form one grapheme: a
# combining mark (or ZWJ) right after a space, or a Prepend character right before one. When a
# text has none (nearly always), splitting at whitespace runs is splitting at grapheme boundaries.
# `_glued` finds them from the words' facts; this pattern is what it must agree with (tested).
_GLUE = regex.compile(
    rf"[^\S{_NO_BREAK}][\p{{GCB=Extend}}\p{{GCB=ZWJ}}\p{{GCB=SpacingMark}}]|\p{{GCB=Prepend}}[^\S{_NO_BREAK}]"
)
_MARK = regex.compile(r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}]")
_PREPEND = regex.compile(r"\p{GCB=Prepend}")
_ALL_SPACE = regex.compile(rf"[^\S{_NO_BREAK}]+")
_NEWLINE = regex.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
# A word ending a sentence: the whitespace run after it is a sentence break.
_SENTENCE_TAIL = re.compile(r"[.!?…。！？‼⁉][\"'”’»)\]」』]*\Z")

# Break qualities of a whitespace run, best last. A word token has quality 0.
WORD, SPACE, SENTENCE, LINE, PARAGRAPH = range(5)


@dataclass(frozen=True, eq=False)
class Tokens:
    """Token k is pieces[k], at text[offsets[k]:offsets[k + 1]]; words are the tokens k with
    k % 2 == first_word."""

    pieces: list[str]
    weights: Sequence[int]
    prefix: list[int]  # prefix[k] = total weight of tokens[:k] (len = tokens + 1)
    first_word: int  # 0 when the text starts with a word, 1 when with whitespace

    def __len__(self) -> int:
        return len(self.weights)

    @functools.cached_property
    def kinds(self) -> Sequence[int]:
        """Each token's kind: a run's SPACE / LINE / PARAGRAPH (not yet SENTENCE), a word's
        facts (bits). Only cuts inside words need them all."""
        return _looked_up(_KINDS, _kind, self.pieces)

    def kinds_between(self, start: int, end: int) -> Sequence[int]:
        """`kinds[start:end]`, looking up only those (a cut between words reads a few)."""
        known = self.__dict__.get("kinds")
        if known is not None:
            return known[start:end]
        return _looked_up(_KINDS, _kind, self.pieces[start:end])

    @functools.cached_property
    def offsets(self) -> list[int]:
        """Where each token starts, and the end (len = tokens + 1); only cuts inside words
        need them all, so they are worked out on first use."""
        return list(accumulate(map(len, self.pieces), initial=0))

    @property
    def starts(self) -> list[int]:
        return self.offsets[:-1]

    @property
    def ends(self) -> list[int]:
        return self.offsets[1:]

    @functools.cached_property
    def quality(self) -> list[int]:
        """Break quality of each token (WORD for words); only cuts inside words need them all."""
        quality = list(self.kinds)
        quality[self.first_word::2] = [WORD] * len(quality[self.first_word::2])
        for k in range(1 - self.first_word, len(quality), 2):
            if quality[k] == SPACE and k and self.kinds[k - 1] & ENDS_SENTENCE:
                quality[k] = SENTENCE
        return quality

    @property
    def longest_word(self) -> int:
        return max(self.weights[self.first_word::2], default=0)

    def tuples(self) -> list[tuple[int, int, int, int]]:
        """(start, end, weight, quality) of each token, for cuts that rewrite tokens."""
        return list(zip(self.offsets, self.offsets[1:], self.weights, self.quality))


@functools.lru_cache(maxsize=16)  # the planner splits one caption again when markers widen
def tokenize(text: str, counting: TextCounting, url_weight: int | None) -> Tokens:
    """The words and whitespace runs of `text`, weighed the way `text_length` would."""
    pieces = _SPLIT.split(text)  # word, space, word, ..., word (first and last may be "")
    weigh = _weights_of(counting, url_weight)
    weights = _looked_up(*weigh, pieces)  # also notes each new word that glues to a space
    # Nearly always no word ever seen glues to a space, and this check costs nothing.
    if _GLUING_WORDS and not text.isascii() \
            and (_TOO_MANY in _GLUING_WORDS or not _GLUING_WORDS.isdisjoint(pieces[0::2])) \
            and _glued(_looked_up(_KINDS, _kind, pieces[0::2])):
        pieces = [""]  # the same alternation, built from whole graphemes
        for cluster in GRAPHEME.findall(text):
            is_space = _ALL_SPACE.fullmatch(cluster) is not None
            if is_space == (len(pieces) % 2 == 0):  # same kind as the last piece
                pieces[-1] += cluster
            else:
                pieces.append(cluster)
        weights = _looked_up(*weigh, pieces)
    n = len(pieces)
    # Only the first and last pieces can be empty; they are no tokens.
    lo = 1 if pieces[0] == "" else 0
    hi = n - (1 if pieces[-1] == "" and n > lo else 0)
    if lo or hi < n:
        pieces, weights = pieces[lo:hi], weights[lo:hi]
    return Tokens(pieces, weights, list(accumulate(weights, initial=0)), lo)


# What a word tells about the whitespace beside it, worked out once per distinct word (bits):
# it ends a sentence; it starts with a mark (one grapheme with a space before it); it ends
# with a Prepend character (one grapheme with a space after it). A run's kind is its quality.
ENDS_SENTENCE, _MARK_FIRST, _PREPEND_LAST = 1, 2, 4
_GLUING = frozenset(f for f in range(8) if f & (_MARK_FIRST | _PREPEND_LAST))
_KINDS: dict[str, int] = {}  # word -> its facts; whitespace run -> SPACE / LINE / PARAGRAPH
_WEIGHTS: dict[tuple[TextCounting, int | None], tuple[dict[str, int], Callable[[str], int]]] = {}  # per rule
_CACHE_LIMIT = 100_000  # distinct pieces remembered per table: odd text can be endless
# Every word in a table of `_WEIGHTS` that starts with a mark or ends with a Prepend character
# (and maybe some no longer there): a text none of whose words is here has no glue. Each word
# is checked once, when it is first weighed, so a text costs a look-up per word at most, and
# nothing at all while no such word was ever seen (nearly always).
_GLUING_WORDS: set[str] = set()
_TOO_MANY = "\x00too many\x00"  # in `_GLUING_WORDS` once it is full: no text is then known glue-free


def _weights_of(counting: TextCounting, url_weight: int | None) -> tuple[dict[str, int], Callable[[str], int]]:
    """The table of pieces' weights under one counting rule, and how to weigh a new piece
    (which also notes whether it glues to a space: see `_GLUING_WORDS`)."""
    found = _WEIGHTS.get((counting, url_weight))
    if found is None:
        length = functools.partial(text_length, caps=Measure(counting, url_weight))

        def weigh(piece: str) -> int:
            if _ALL_SPACE.fullmatch(piece) is None and _kind(piece) in _GLUING:  # a word that glues
                # Past the bound the set stops growing, and from then on every text is checked
                # the slow way (the tables are being filled as this runs: they can't be cleared).
                if len(_GLUING_WORDS) < _CACHE_LIMIT:
                    _GLUING_WORDS.add(piece)
                else:
                    _GLUING_WORDS.add(_TOO_MANY)
            return length(piece)

        found = _WEIGHTS[counting, url_weight] = ({}, weigh)
    return found


def _looked_up(cache: dict[str, int], compute: Callable[[str], int], keys: list[str]) -> tuple[int, ...]:
    """`tuple(map(compute, keys))`, computing each distinct key once ever: captions repeat
    their words, hashtags, emoji and spaces, and a dictionary look-up costs far less than
    segmenting text into graphemes again."""
    try:
        # Nearly always every piece is known. An itemgetter of all keys looks them up in one
        # C loop (a third faster than mapping `cache.__getitem__`: no method call per key);
        # with one key it returns the value itself, not a tuple. (Looking for a None among
        # the results instead compares each int with None: a tenth of tokenizing.)
        return itemgetter(*keys)(cache) if len(keys) > 1 else tuple([cache[key] for key in keys])
    except KeyError:
        pass
    missing = set(keys).difference(cache)
    if len(cache) + len(missing) > _CACHE_LIMIT:
        cache.clear()
        missing = set(keys)
    for key in missing:
        cache[key] = compute(key)
    return tuple(map(cache.__getitem__, keys))


def _kind(piece: str) -> int:
    if piece and _ALL_SPACE.fullmatch(piece):
        return _run_quality(piece)
    facts = ENDS_SENTENCE if _SENTENCE_TAIL.search(piece) else 0
    if piece and not piece.isascii():
        if _MARK.match(piece):
            facts |= _MARK_FIRST
        if _PREPEND.match(piece[-1]):
            facts |= _PREPEND_LAST
    return facts


def _glued(facts: Sequence[int]) -> bool:
    """Whether a whitespace run and a character beside it form one grapheme, from the facts
    of the words between the runs: a word after a run starts with a mark, or a word before
    one ends with a Prepend character (exactly what `_GLUE` finds)."""
    if _GLUING.isdisjoint(facts):
        return False  # nearly always: no word starts with a mark or ends with Prepend
    return any(f & _MARK_FIRST for f in facts[1:]) or any(f & _PREPEND_LAST for f in facts[:-1])


def _has_glue(text: str) -> bool:
    return not text.isascii() and _glued(_looked_up(_KINDS, _kind, _SPLIT.split(text)[0::2]))


def _run_quality(run: str) -> int:
    if "\n" not in run and run.isascii():
        return SPACE
    newlines = len(_NEWLINE.findall(run))
    return PARAGRAPH if newlines >= 2 or "\u2029" in run else LINE if newlines else SPACE


class FewestParts:
    """fewest[k]: the fewest `budget`-sized parts the text from token k needs, cutting only
    between words. Never less from a later token: `earliest(n)` is where it drops to n.
    Computed on demand (a chain of greedy parts, a handful per caption), remembered per token."""

    def __init__(self, tokens: Tokens, budget: int) -> None:
        self._tokens = tokens
        self._budget = budget
        n = len(tokens)
        last_word = n - 1 if (n - 1) % 2 == tokens.first_word else n - 2
        self._end_weight = tokens.prefix[last_word + 1] if n else 0
        self._last_word = last_word
        self._memo: dict[int, int] = {n: 0}
        self._earliest: dict[int, int] = {}

    def earliest(self, parts: int) -> int:
        """The first word k with fewest[k] <= parts: `parts` parts packed backwards from the
        end, each as long as it can be, start there, and no packing of that many reaches
        further back (the greedy forward count is the fewest, so a later word needs no more).
        One walk of `parts` binary searches instead of a chain of counts per probe."""
        found = self._earliest.get(parts)
        if found is None:
            prefix, word, budget = self._tokens.prefix, self._tokens.first_word, self._budget
            end, found = self._last_word + 1, word  # a part spans tokens[start:end]
            for _ in range(parts):
                start = bisect.bisect_left(prefix, prefix[end] - budget)
                start += start % 2 != word  # a part starts with a word, not a run
                if start <= word:
                    found = word
                    break
                found, end = start, start - 1  # the run before it is dropped
            self._earliest[parts] = found
        return found

    def __getitem__(self, k: int) -> int:
        memo, toks, budget = self._memo, self._tokens, self._budget
        prefix, word_parity = toks.prefix, toks.first_word
        chain: list[int] = []
        while k not in memo:
            if k % 2 != word_parity:
                chain.append(k)  # leading whitespace of a part is dropped
                k += 1
                continue
            if self._end_weight - prefix[k] <= budget:
                memo[k] = 1
                break
            chain.append(k)
            j = bisect.bisect_right(prefix, prefix[k] + budget) - 1  # tokens[k:j] fit
            k = (j if j % 2 != word_parity else j - 1) + 1  # after the furthest whitespace run
        value = memo[k]
        for at in reversed(chain):
            value += at % 2 == word_parity  # a word starts a part; whitespace passes it on
            memo[at] = value
        return value

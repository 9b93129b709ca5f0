"""A text as the words and whitespace runs it may be cut between, each weighed in a target's unit.

`textsplit` cuts captions between these tokens. Tokens alternate word, whitespace, word, ...
and every boundary between two of them is a grapheme boundary. Each whitespace run has a break
quality (a space, a sentence end, a line break, a paragraph break).

Why this module is shaped for speed: planning re-runs after every selection in the browser
app and must handle 20,000 posts in well under two seconds. Almost every code point weighs one
unit, so weights start as plain lengths (computed in C: `regex.split`, `map(len)`,
`accumulate`), and only the few pieces that hold a character that counts differently (a
joiner, a non-ASCII byte, a link's colon) are measured one by one with `textcount`. Break
qualities of whitespace runs repeat ("\\n\\n", " ") and are cached.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from itertools import accumulate

import regex

from pindah.adapters.contract import TextCounting

from .textcount import GRAPHEME, JOINER, Measure, raw_length, text_length

# Whitespace a text may be broken at. No-break spaces (French « », figures) are glue, not gaps.
_NO_BREAK = "\u00a0\u2007\u202f"
_BREAKING_SPACE = "[^\\S" + _NO_BREAK + "]"  # in `regex` terms: Unicode White_Space but the above
# The same characters spelled out for the stdlib, which splits faster (a test checks both agree).
_BREAKING_SPACE_SPELLED = "[\t-\r \x85\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]"
_SPLIT = re.compile(f"({_BREAKING_SPACE_SPELLED}+)")
# The only places where whitespace and the next or previous character form one grapheme: a
# combining mark (or ZWJ) right after a space, or a Prepend character right before one. When a
# text has none (nearly always), splitting at whitespace runs is splitting at grapheme boundaries.
_GLUE = regex.compile(
    rf"[^\S{_NO_BREAK}][\p{{GCB=Extend}}\p{{GCB=ZWJ}}\p{{GCB=SpacingMark}}]|\p{{GCB=Prepend}}[^\S{_NO_BREAK}]"
)
# Glue needs whitespace beside a non-ASCII character: the stdlib finds those places quickly
# (str.isspace covers every Unicode space), and `_GLUE` then looks only there.
_AFTER_SPACE = re.compile(r"(?<=\s)[^\x00-\x7f]")  # zero-width sides: neighbours may overlap
_BEFORE_SPACE = re.compile(r"[^\x00-\x7f](?=\s)")
_MARK = regex.compile(r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}]")
_PREPEND = regex.compile(r"\p{GCB=Prepend}")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CR, _CR_OR_COLON = re.compile("\r"), re.compile("[\r:]")
_ALL_SPACE = regex.compile(rf"[^\S{_NO_BREAK}]+")
_NEWLINE = regex.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
# A word ending a sentence, seen from the whitespace run after it (the run starts at the end
# of the match).
_SENTENCE_END = regex.compile(rf"[.!?…。！？‼⁉][\"'”’»)\]」』]*(?=[^\S{_NO_BREAK}])")

# Break qualities of a whitespace run, best last. A word token has quality 0.
WORD, SPACE, SENTENCE, LINE, PARAGRAPH = range(5)

_RUN_QUALITY: dict[str, int] = {}  # whitespace run -> SPACE / LINE / PARAGRAPH (bounded below)


@dataclass(frozen=True, eq=False)
class Tokens:
    """Token k spans text[starts[k]:ends[k]]; words are the tokens k with k % 2 == first_word."""

    starts: list[int]
    ends: list[int]
    weights: list[int]
    quality: list[int]
    prefix: list[int]  # prefix[k] = total weight of tokens[:k] (len = tokens + 1)
    first_word: int  # 0 when the text starts with a word, 1 when with whitespace
    breaks: dict[int, list[int]]  # SENTENCE / LINE / PARAGRAPH -> indexes of such runs, ascending

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def longest_word(self) -> int:
        return max(self.weights[self.first_word::2], default=0)

    def tuples(self) -> list[tuple[int, int, int, int]]:
        """(start, end, weight, quality) of each token, for cuts that rewrite tokens."""
        return list(zip(self.starts, self.ends, self.weights, self.quality))


@functools.lru_cache(maxsize=16)  # the planner splits one caption again when markers widen
def tokenize(text: str, counting: TextCounting, url_weight: int | None) -> Tokens:
    """The words and whitespace runs of `text`, weighed the way `text_length` would."""
    if not _has_glue(text):
        pieces = _SPLIT.split(text)  # word, space, word, ..., word (first and last may be "")
    else:
        pieces = [""]  # the same alternation, built from whole graphemes
        for cluster in GRAPHEME.findall(text):
            is_space = _ALL_SPACE.fullmatch(cluster) is not None
            if is_space == (len(pieces) % 2 == 0):  # same kind as the last piece
                pieces[-1] += cluster
            else:
                pieces.append(cluster)
    weights = list(map(len, pieces))
    offsets = list(accumulate(weights, initial=0))
    _reweigh(text, pieces, weights, offsets, counting, url_weight)
    quality = _qualities(text, pieces, offsets)
    # Only the first and last pieces can be empty; they are no tokens.
    lo = 1 if pieces[0] == "" else 0
    hi = len(pieces) - (1 if pieces[-1] == "" and len(pieces) > lo else 0)
    starts, ends = offsets[lo:hi], offsets[lo + 1:hi + 1]
    weights, quality = weights[lo:hi], quality[lo:hi]
    breaks: dict[int, list[int]] = {SENTENCE: [], LINE: [], PARAGRAPH: []}
    first_word = lo
    for k in range(1 - first_word, len(quality), 2):
        if quality[k] != SPACE:
            breaks[quality[k]].append(k)
    return Tokens(starts, ends, weights, quality, list(accumulate(weights, initial=0)), first_word, breaks)


def _has_glue(text: str) -> bool:
    if text.isascii():
        return False
    # Each distinct character beside a space is looked up once (emoji next to spaces are
    # common, marks and Prepend characters there are not); `_GLUE` has the last word.
    if any(map(_glues_after_space, set(_AFTER_SPACE.findall(text)))) or any(
            map(_glues_before_space, set(_BEFORE_SPACE.findall(text)))):
        return _GLUE.search(text) is not None
    return False


@functools.lru_cache(maxsize=4096)
def _glues_after_space(char: str) -> bool:
    return _MARK.match(char) is not None


@functools.lru_cache(maxsize=4096)
def _glues_before_space(char: str) -> bool:
    return _PREPEND.match(char) is not None


@functools.lru_cache(maxsize=8)
def _uneven(counting: TextCounting, url_weight: int | None) -> regex.Pattern[str] | None:
    """Characters that make a piece weigh other than its length in code points."""
    alternatives = []
    if counting is TextCounting.GRAPHEMES:
        alternatives.append(JOINER.pattern)  # joins neighbours (or is CR, of CR LF)
    elif counting is TextCounting.BYTES:
        alternatives.append(r"[^\x00-\x7f]")  # more than one byte
    if url_weight is not None:
        alternatives.append(":")  # may start a link
    return regex.compile("|".join(alternatives)) if alternatives else None


def _reweigh(text: str, pieces: list[str], weights: list[int], offsets: list[int],
             counting: TextCounting, url_weight: int | None) -> None:
    """Measure, in place, the pieces whose weight is not their length."""
    uneven = _uneven(counting, url_weight)
    if uneven is None:
        return
    measure = Measure(counting, url_weight)
    done = -1  # the last piece measured
    for start, end in _suspects(text, url_weight):
        k = bisect.bisect_right(offsets, start) - 1
        while k < len(pieces) and offsets[k] < end:  # a non-ASCII run may cover several pieces
            if k != done and uneven.search(text, max(start, offsets[k]), min(end, offsets[k + 1])):
                piece = pieces[k]
                weights[k] = text_length(piece, measure) if k % 2 == 0 else raw_length(piece, counting)
                done = k
            k += 1


def _suspects(text: str, url_weight: int | None) -> list[tuple[int, int]]:
    """Spans where a character weighing other than one may be, in order: every uneven character
    is non-ASCII, CR or a link's colon (the stdlib finds these quickly; `_uneven` decides)."""
    found = [m.span() for m in _NON_ASCII.finditer(text)]
    ascii_suspect = _CR_OR_COLON if url_weight is not None else _CR
    extra = [m.span() for m in ascii_suspect.finditer(text)]
    return sorted(found + extra) if extra else found


def _qualities(text: str, pieces: list[str], offsets: list[int]) -> list[int]:
    runs = pieces[1::2]
    unknown = set(runs).difference(_RUN_QUALITY)
    if unknown:
        if len(_RUN_QUALITY) > 4096:  # odd whitespace can be endless; the usual runs are few
            _RUN_QUALITY.clear()
            unknown = set(runs)
        for run in unknown:
            _RUN_QUALITY[run] = _run_quality(run)
    quality = [WORD] * len(pieces)
    quality[1::2] = [_RUN_QUALITY[run] for run in runs]
    for end in _SENTENCE_END.finditer(text):
        k = bisect.bisect_left(offsets, end.end())
        if k % 2 == 1 and offsets[k] == end.end() and quality[k] == SPACE:
            quality[k] = SENTENCE  # a run right after a word ending in . ! ? (and quotes)
    return quality


def _run_quality(run: str) -> int:
    if "\n" not in run and run.isascii():
        return SPACE
    newlines = len(_NEWLINE.findall(run))
    return PARAGRAPH if newlines >= 2 or "\u2029" in run else LINE if newlines else SPACE


class FewestParts:
    """fewest[k]: the fewest `budget`-sized parts the text from token k needs, cutting only
    between words. Never less from a later token, so callers can bisect over it. Computed on
    demand (a chain of greedy parts, a handful per caption), remembered per token."""

    def __init__(self, tokens: Tokens, budget: int) -> None:
        self._tokens = tokens
        self._budget = budget
        n = len(tokens)
        last_word = n - 1 if (n - 1) % 2 == tokens.first_word else n - 2
        self._end_weight = tokens.prefix[last_word + 1] if n else 0
        self._memo: dict[int, int] = {n: 0}

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

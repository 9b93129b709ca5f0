"""Count text the way a target counts it.

Targets disagree about what "300 characters" means. Bluesky and Mastodon count user-perceived
characters (grapheme clusters: 👩‍🎨 is one), Pixelfed counts Unicode code points (Laravel's
`max:`, so 👩‍🎨 is three), some APIs count UTF-8 bytes, and Mastodon counts every link as 23
whatever its length. The migration tools before pindah counted UTF-16 units or code points,
overshot, or cut emoji and links in half. Here every count is made in the target's own unit,
and every cut (`textsplit`) falls on a grapheme boundary.

Counts err on the high side wherever targets may disagree (older Unicode data, links the
server may or may not recognise), because a part that is one character too long is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import regex

from pindah.adapters.contract import TextCounting

class Counting(Protocol):
    """What a count needs; `Capabilities` and `Measure` both provide it."""

    @property
    def text_counting(self) -> TextCounting: ...

    @property
    def url_weight(self) -> int | None: ...


@dataclass(frozen=True)
class Measure:
    """A counting rule on its own, e.g. for alt text (where links are not weighted)."""

    text_counting: TextCounting = TextCounting.GRAPHEMES
    url_weight: int | None = None


GRAPHEME = regex.compile(r"\X")
# Every rule that keeps two code points in one grapheme involves one of these (CR LF, Hangul
# jamo, marks, ZWJ, Prepend, flags); text without them has one grapheme per code point, and
# counting it needs no segmentation (which is slow: most captions never need it).
JOINER = regex.compile(r"[\r\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
                        r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}]")
# Unicode 15.1 (rule GB9c) made Indic conjuncts such as क्ष one grapheme; servers on older
# Unicode data (Ruby before 3.4, older JavaScript segmenters) still count two. Counting each
# join once more gives the larger of both answers, so what fits here fits there too.
_CONJUNCT_JOIN = regex.compile(r"\p{InCB=Linker}[\p{InCB=Extend}\p{InCB=Linker}]*(?=\p{InCB=Consonant})")

# Links, the way Mastodon's twitter-text finds them: a scheme, a host with a letter TLD, then
# path characters; a link never ends in . , ; : ! ? ' etc. Preceded by an ASCII letter, digit,
# @, $ or # it is not a link; preceded by another letter (é, ا) servers may disagree.
_LINK_START = regex.compile(
    r"(?:(?P<web>https?://)|(?:dat|dweb|ipfs|ipns|ssb|gopher|gemini)://|(?:xmpp|magnet):)", regex.IGNORECASE)
_NOT_A_LINK_AFTER = regex.compile(r"[A-Za-z0-9@＠$#＃]")
_UNSURE_AFTER = regex.compile(r"[\p{L}\p{M}\p{N}_]")
_STRICT_URL = regex.compile(
    r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?::[0-9]{1,5})?"
    r"(?P<path>[/?#][A-Za-z0-9!*';:=+,.$/%#\[\]\-_~&|@?]*)?",
    regex.IGNORECASE,
)
_URL_PATH_END = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_#/+-")


def raw_length(text: str, counting: TextCounting) -> int:
    """Length in the target's unit, links counted like any other text."""
    if counting is TextCounting.CODE_POINTS:
        return len(text)
    if counting is TextCounting.BYTES:
        return len(text.encode("utf-8"))
    if text.isascii():
        return len(text) - text.count("\r\n")
    if JOINER.search(text) is None:
        return len(text)  # no character that can join its neighbour: one grapheme each
    return GRAPHEME.subn("", text)[1] + len(_CONJUNCT_JOIN.findall(text))


def text_length(text: str, caps: Counting) -> int:
    """How long the target will say `text` is (never less: see the module docstring)."""
    weight = caps.url_weight
    if weight is None or ":" not in text:
        return raw_length(text, caps.text_counting)
    total, pos = 0, 0
    for start, end in link_spans(text):
        if start == end:
            total += weight  # a link we can't vouch for: charged as link and as text
            continue
        total += raw_length(text[pos:start], caps.text_counting) + weight
        pos = end
    return total + raw_length(text[pos:], caps.text_counting)


def link_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each link a server will count as a link, and (start, start) for each
    place that may or may not be one (a short one there might still count `weight`)."""
    found: list[tuple[int, int]] = []
    pos = 0
    for start in _LINK_START.finditer(text):
        at = start.start()
        if at < pos:
            continue  # a scheme inside a link already found
        before = text[at - 1] if at else " "
        if _NOT_A_LINK_AFTER.match(before):
            continue
        link = _STRICT_URL.match(text, at) if start.group("web") else None
        if link is None or _UNSURE_AFTER.match(before):
            found.append((at, at))
            continue
        pos = _link_end(text, link)
        found.append((at, pos))
    return found


def _link_end(text: str, link: regex.Match[str]) -> int:
    end = link.end()
    path_start = link.start("path")
    if path_start >= 0:
        while end > path_start and text[end - 1] not in _URL_PATH_END:
            end -= 1
    return end


def fits(text: str, limit: int | None, caps: Counting) -> bool:
    return limit is None or text_length(text, caps) <= limit

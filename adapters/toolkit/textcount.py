"""Count text the way a target counts it, and cut text so that it fits.

Targets disagree about what "300 characters" means. Bluesky and Mastodon count user-perceived
characters (grapheme clusters: 👩‍🎨 is one), Pixelfed counts Unicode code points (Laravel's
`max:`, so 👩‍🎨 is three), some APIs count UTF-8 bytes, and Mastodon counts every link as 23
whatever its length. The migration tools before pindah counted UTF-16 units or code points,
overshot, or cut emoji and links in half. Here every count is made in the target's own unit,
and every cut falls on a grapheme boundary.

`split_to_fit` is the one place captions are cut: at a paragraph, line, sentence or word
boundary; a link, hashtag or mention is only broken when it alone is longer than a whole post.
Counts err on the high side wherever targets may disagree (older Unicode data, links the
server may or may not recognise), because a part that is one character too long is refused.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Protocol

import regex

from pindah.adapters.contract import TextCounting

ELLIPSIS = "…"


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


_CLUSTER = regex.compile(r"\X")
# Every rule that keeps two code points in one grapheme involves one of these (CR LF, Hangul
# jamo, marks, ZWJ, Prepend, flags); text without them has one grapheme per code point, and
# counting it needs no segmentation (which is slow: most captions never need it).
_JOINER = regex.compile(r"[\r\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
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

# Whitespace a text may be broken at. No-break spaces (French « », figures) are glue, not gaps.
_NO_BREAK = "\u00a0\u2007\u202f"
_SPLIT = regex.compile(rf"([^\S{_NO_BREAK}]+)")
# The only places where whitespace and the next or previous character form one grapheme: a
# combining mark (or ZWJ) right after a space, or a Prepend character right before one. When a
# text has none (nearly always), splitting at whitespace runs is splitting at grapheme boundaries.
_GLUE = regex.compile(
    rf"[^\S{_NO_BREAK}][\p{{GCB=Extend}}\p{{GCB=ZWJ}}\p{{GCB=SpacingMark}}]|\p{{GCB=Prepend}}[^\S{_NO_BREAK}]"
)
_ALL_SPACE = regex.compile(rf"[^\S{_NO_BREAK}]+")
_NEWLINE = regex.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
_SENTENCE_END = regex.compile(r"[.!?…。！？‼⁉][\"'”’»)\]」』]*$")
_SENTENCE_TAIL = frozenset(".!?…。！？‼⁉\"'”’»)]」』")
# Inside these a hard cut is the very last resort.
_PROTECTED = regex.compile(r"(?:https?|[a-z]+)://\S+|#[\p{L}\p{M}\p{N}_]+|@[A-Za-z0-9_.]+", regex.IGNORECASE)
_SOFT_PUNCT = frozenset(",;:、，；：)]}」』》〉-–—/")
_CJK = regex.compile(r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]")

# Break qualities of a whitespace run, best last. A word token has quality 0.
WORD, SPACE, SENTENCE, LINE, PARAGRAPH = range(5)
# How full a part must be before a break of that quality counts as better than any space: a
# paragraph break after a third of a post is a fine place to cut, after two words it is not.
_FLOOR = {PARAGRAPH: 0.3, LINE: 0.4, SENTENCE: 0.5, SPACE: 0.0}
# The same when words longer than a post force cuts and part counts can't be foreseen: then a
# good break must also not waste much of the part.
_MIN_FILL = {PARAGRAPH: 0.5, LINE: 0.6, SENTENCE: 0.75, SPACE: 0.0}
# Inside a word: after a sentence end (3), after punctuation (2), between CJK characters (1),
# anywhere (0), inside a link, hashtag or mention (-1).
_HARD_FILL = {3: 0.6, 2: 0.7, 1: 0.8, 0: 0.0, -1: 0.0}


def raw_length(text: str, counting: TextCounting) -> int:
    """Length in the target's unit, links counted like any other text."""
    if counting is TextCounting.CODE_POINTS:
        return len(text)
    if counting is TextCounting.BYTES:
        return len(text.encode("utf-8"))
    if text.isascii():
        return len(text) - text.count("\r\n")
    if _JOINER.search(text) is None:
        return len(text)  # no character that can join its neighbour: one grapheme each
    return _CLUSTER.subn("", text)[1] + len(_CONJUNCT_JOIN.findall(text))


def text_length(text: str, caps: Counting) -> int:
    """How long the target will say `text` is (never less: see the module docstring)."""
    weight = caps.url_weight
    if weight is None or ":" not in text:
        return raw_length(text, caps.text_counting)
    total, pos = 0, 0
    for start, end in _links(text):
        if start == end:
            total += weight  # a link we can't vouch for: charged as link and as text
            continue
        total += raw_length(text[pos:start], caps.text_counting) + weight
        pos = end
    return total + raw_length(text[pos:], caps.text_counting)


def _links(text: str) -> list[tuple[int, int]]:
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


def fit_prefix(text: str, limit: int, caps: Counting) -> str:
    """The longest prefix of `text`, ending on a grapheme boundary, that counts at most `limit`."""
    used, end = 0, 0
    for start, stop, weight in _units(text, caps):
        if used + weight > limit:
            break
        used += weight
        end = stop
    return text[:end]


def truncate(text: str, limit: int, caps: Counting, ellipsis: str = ELLIPSIS) -> str:
    """`text` if it fits, else its best-boundary beginning plus `ellipsis`, within `limit`."""
    if text_length(text, caps) <= limit:
        return text
    room = limit - text_length(ellipsis, caps)
    if room <= 0:
        return fit_prefix(ellipsis, limit, caps)
    chunks = split_to_fit(text, room, room, caps)
    return (chunks[0] if chunks else "") + ellipsis


def split_to_fit(text: str, first_budget: int, rest_budget: int, caps: Counting) -> list[str]:
    """Cut `text` into chunks: the first counting at most `first_budget`, the others `rest_budget`.

    Each chunk is a slice of `text` with the whitespace at its cut removed, so joining the
    chunks with the whitespace that was between them gives `text` back (stripped). Newlines
    inside a chunk are kept. A word only gets cut when it is longer than a whole post.

    Where to cut: never so that more parts are needed than the fewest possible; among the cuts
    that keep that number, the best boundary (paragraph, line, sentence, word), then the
    fullest part. Pretty cuts that cost an extra post are not worth it on rate-limited targets.
    """
    if first_budget < 1 or rest_budget < 1:
        raise ValueError("budgets must be at least 1")
    tokens = _tokens(text, caps)
    fewest = _fewest_parts(text, caps.text_counting, caps.url_weight, rest_budget)
    chunks: list[str] = []
    i, n = 0, len(tokens)
    while True:
        while i < n and tokens[i][3] != WORD:
            i += 1
        if i >= n:
            return chunks
        budget = first_budget if not chunks else rest_budget
        used, j = 0, i
        candidates: list[tuple[int, int]] = []  # (token index of a whitespace run, fill before it)
        while j < n and used + tokens[j][2] <= budget:
            if tokens[j][3] != WORD:
                candidates.append((j, used))
            used += tokens[j][2]
            j += 1
        if j >= n:
            last = n - 1 if tokens[-1][3] == WORD else n - 2
            chunks.append(text[tokens[i][0]:tokens[last][1]])
            return chunks
        if tokens[j][3] != WORD:
            candidates.append((j, used))  # the run that overflowed is itself a fine place to cut
        if fewest is not None and candidates:
            cut: tuple[int, int] | None = min(candidates, key=lambda c: _cut_rank(tokens, fewest, c, budget))
        else:
            cut = _best_break(tokens, candidates, budget)
            if tokens[j][3] == WORD and tokens[j][2] > rest_budget and (cut is None or cut[1] < budget // 2):
                # The next word will be broken wherever it lands: start breaking it here rather
                # than leave this part half empty.
                cut = None
        if cut is not None:
            chunks.append(text[tokens[i][0]:tokens[cut[0] - 1][1]])
            i = cut[0] + 1
            continue
        start, end, _, _ = tokens[j]
        room = budget - used
        offset = _hard_cut(text[start:end], room, caps, force=j == i) if room > 0 or j == i else 0
        if offset == 0:  # nothing of the long word fits after this part's other words
            chunks.append(text[tokens[i][0]:tokens[j - 2][1]])
            i = j
            continue
        chunks.append(text[tokens[i][0]:start + offset])
        rest = text[start + offset:end]
        tokens[j] = (start + offset, end, text_length(rest, caps), WORD)
        i = j


@functools.lru_cache(maxsize=16)
def _fewest_parts(text: str, counting: TextCounting, url_weight: int | None, budget: int) -> tuple[int, ...] | None:
    """For each token index, the fewest `budget`-sized parts the text from there needs, cutting
    only between words; None when some word is longer than a part (cuts then are forced)."""
    tokens = _cached_tokens(text, counting, url_weight)
    n = len(tokens)
    if any(t[2] > budget for t in tokens if t[3] == WORD):
        return None
    prefix = [0]
    for t in tokens:
        prefix.append(prefix[-1] + t[2])
    fewest = [0] * (n + 1)
    last_word = n - 1 if n and tokens[-1][3] == WORD else n - 2
    for k in range(n - 1, -1, -1):
        if tokens[k][3] != WORD:
            fewest[k] = fewest[k + 1]  # leading whitespace of a part is dropped
            continue
        if prefix[last_word + 1] - prefix[k] <= budget:
            fewest[k] = 1
            continue
        # the furthest whitespace run w with tokens[k:w] fitting: greedy is optimal for this.
        j = bisect.bisect_right(prefix, prefix[k] + budget) - 1  # tokens[k:j] fit
        w = j if tokens[j][3] != WORD else j - 1
        fewest[k] = 1 + fewest[w + 1]
    return tuple(fewest)


def _cut_rank(tokens: list[tuple[int, int, int, int]], fewest: tuple[int, ...], cut: tuple[int, int],
              budget: int) -> tuple[int, int, int]:
    index, fill = cut
    quality = tokens[index][3]
    if fill < _FLOOR[quality] * budget:
        quality = SPACE  # a paragraph break after two words is no better than any space
    return (1 + fewest[index + 1], -quality, -fill)


def _best_break(tokens: list[tuple[int, int, int, int]], candidates: list[tuple[int, int]],
                budget: int) -> tuple[int, int] | None:
    for quality in (PARAGRAPH, LINE, SENTENCE, SPACE):
        good = [c for c in candidates if tokens[c[0]][3] == quality and c[1] >= _MIN_FILL[quality] * budget]
        if good:
            return good[-1]
    return candidates[-1] if candidates else None


def _tokens(text: str, caps: Counting) -> list[tuple[int, int, int, int]]:
    """(start, end, weight, quality) of each word and whitespace run, on grapheme boundaries."""
    return list(_cached_tokens(text, caps.text_counting, caps.url_weight))


@functools.lru_cache(maxsize=16)  # the planner splits one caption again when markers widen
def _cached_tokens(text: str, counting: TextCounting, url_weight: int | None) -> tuple[tuple[int, int, int, int], ...]:
    measure = Measure(counting, url_weight)
    if _GLUE.search(text) is None:
        pieces = _SPLIT.split(text)  # word, space, word, ..., word (first and last may be "")
    else:
        pieces = [""]  # the same alternation, built from whole graphemes
        for cluster in _CLUSTER.findall(text):
            is_space = _ALL_SPACE.fullmatch(cluster) is not None
            if is_space == (len(pieces) % 2 == 0):  # same kind as the last piece
                pieces[-1] += cluster
            else:
                pieces.append(cluster)
    tokens: list[tuple[int, int, int, int]] = []
    pos = 0
    for k, piece in enumerate(pieces):
        start, pos = pos, pos + len(piece)
        if not piece:
            continue
        if k % 2 == 0:
            weight = len(piece) if piece.isascii() and ":" not in piece else text_length(piece, measure)
            tokens.append((start, pos, weight, WORD))
            continue
        if "\n" in piece or not piece.isascii():
            newlines = len(_NEWLINE.findall(piece))
            quality = PARAGRAPH if newlines >= 2 or "\u2029" in piece else LINE if newlines else SPACE
        else:
            quality = SPACE
        if quality == SPACE and tokens and pieces[k - 1][-1] in _SENTENCE_TAIL and _SENTENCE_END.search(pieces[k - 1]):
            quality = SENTENCE
        tokens.append((start, pos, raw_length(piece, counting), quality))
    return tuple(tokens)


def _units(text: str, caps: Counting) -> list[tuple[int, int, int]]:
    """(start, end, weight) of the smallest pieces a cut may separate: graphemes, and links
    when the target weighs links (cutting one would change its count, so it stays whole)."""
    counting = caps.text_counting
    units = [(m.start(), m.end(), raw_length(m.group(), counting)) for m in _CLUSTER.finditer(text)]
    weight = caps.url_weight
    if weight is None or ":" not in text:
        return units
    merged: list[tuple[int, int, int]] = []
    k = 0
    for at, end in _links(text):
        while k < len(units) and units[k][1] <= at:
            merged.append(units[k])
            k += 1
        if k >= len(units):
            break
        if at == end:  # same surcharge as text_length, on the grapheme where it starts
            s, e, w = units[k]
            merged.append((s, e, w + weight))
            k += 1
            continue
        s0, extra = units[k][0], 0
        while k < len(units) and units[k][0] < end:
            if units[k][1] > end:
                extra += units[k][2]  # a mark glued onto the link's last character
            end = max(end, units[k][1])
            k += 1
        merged.append((s0, end, weight + extra))
    merged.extend(units[k:])
    return merged


def _hard_cut(word: str, budget: int, caps: Counting, *, force: bool = False) -> int:
    """Where to cut a word longer than `budget`: an offset on a grapheme boundary, preferring
    after a sentence end, then after punctuation, then between CJK characters, then anywhere
    outside a link, hashtag or mention. 0 if not even one grapheme fits (unless `force`)."""
    units = _units(word, caps)
    protected = [m.span() for m in _PROTECTED.finditer(word)]
    used = 0
    fills: list[tuple[int, int, int]] = []  # (offset, fill, class) of each possible cut
    for _, end, weight in units:
        if used + weight > budget:
            break
        used += weight
        fills.append((end, used, _cut_class(word, end, protected)))
    if not fills:
        return units[0][1] if force and units else 0
    for wanted in (3, 2, 1, 0, -1):
        for offset, fill, klass in reversed(fills):
            if klass == wanted and fill >= _HARD_FILL[wanted] * budget:
                return offset
    return fills[-1][0]


def _cut_class(word: str, offset: int, protected: list[tuple[int, int]]) -> int:
    if offset >= len(word):
        return 0
    if any(s < offset < e for s, e in protected):
        return -1
    before, after = word[offset - 1], word[offset]
    if before in ".!?…。！？‼⁉" and after not in "\"'”’»)]」』.!?…":
        return 3
    if before in _SOFT_PUNCT:
        return 2
    if _CJK.match(before) and _CJK.match(after):
        return 1
    return 0

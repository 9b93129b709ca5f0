"""Cut text so that each piece fits a target's limit, counted the target's way (`textcount`).

`split_to_fit` is the one place captions are cut: at a paragraph, line, sentence or word
boundary; a link, hashtag or mention is only broken when it alone is longer than a whole post.
Every cut falls on a grapheme boundary.

Where to cut is decided on the tokens of `texttokens` with prefix sums and binary search, so
a 2,200-character caption costs a few dozen steps per part rather than a walk over every word:
the browser app re-plans a whole account after each selection.
"""

from __future__ import annotations

import bisect
import math

import regex

from .textcount import GRAPHEME, Counting, link_spans, raw_length, text_length
from .texttokens import ENDS_SENTENCE, LINE, PARAGRAPH, SENTENCE, SPACE, WORD, FewestParts, Tokens, tokenize

ELLIPSIS = "…"

# Inside these a hard cut is the very last resort.
_PROTECTED = regex.compile(r"(?:https?|[a-z]+)://\S+|#[\p{L}\p{M}\p{N}_]+|@[A-Za-z0-9_.]+", regex.IGNORECASE)
_SOFT_PUNCT = frozenset(",;:、，；：)]}」』》〉-–—/")
_CJK = regex.compile(r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]")

# How full a part must be before a break of that quality counts as better than any space: a
# paragraph break after a third of a post is a fine place to cut, after two words it is not.
_FLOOR = {PARAGRAPH: 0.3, LINE: 0.4, SENTENCE: 0.5, SPACE: 0.0}
# The same when words longer than a post force cuts and part counts can't be foreseen: then a
# good break must also not waste much of the part.
_MIN_FILL = {PARAGRAPH: 0.5, LINE: 0.6, SENTENCE: 0.75, SPACE: 0.0}
# Inside a word: after a sentence end (3), after punctuation (2), between CJK characters (1),
# anywhere (0), inside a link, hashtag or mention (-1).
_HARD_FILL = {3: 0.6, 2: 0.7, 1: 0.8, 0: 0.0, -1: 0.0}


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
    return [chunk for chunk, _ in split_measured(text, first_budget, rest_budget, caps)]


def split_measured(text: str, first_budget: int, rest_budget: int, caps: Counting) -> list[tuple[str, int]]:
    """`split_to_fit`, each chunk with its count (known from the cut, so never counted twice)."""
    if first_budget < 1 or rest_budget < 1:
        raise ValueError("budgets must be at least 1")
    tokens = tokenize(text, caps.text_counting, caps.url_weight)
    chunks: list[tuple[str, int]] = []
    if not len(tokens):
        return chunks
    fewest = FewestParts(tokens, rest_budget) if tokens.longest_word <= rest_budget else None
    start = 0
    if fewest is not None:
        stopped = _split_between_words(text, tokens, fewest, first_budget, rest_budget, chunks)
        if stopped is None:
            return chunks
        start = stopped
    return _split_with_hard_cuts(text, tokens.tuples(), start, chunks, first_budget, rest_budget, caps, fewest)


def _split_between_words(text: str, tokens: Tokens, fewest: FewestParts, first_budget: int,
                         rest_budget: int, chunks: list[tuple[str, int]]) -> int | None:
    """Cut between words while every word fits a part (nearly always). Returns None when done,
    else the token where a word must be cut (only a first part smaller than a word does it)."""
    pieces, prefix, word = tokens.pieces, tokens.prefix, tokens.first_word
    n = len(tokens)
    i = word  # the first word
    while i < n:
        budget = first_budget if not chunks else rest_budget
        j = bisect.bisect_right(prefix, prefix[i] + budget, i) - 1  # tokens[i:j] fit, tokens[j] not
        if j >= n:
            last = n - 1 if (n - 1) % 2 == word else n - 2
            chunks.append(("".join(pieces[i:last + 1]), prefix[last + 1] - prefix[i]))
            return None
        last_run = j if j % 2 != word else j - 1  # whitespace runs i+1, i+3, ... last_run
        if last_run < i:
            return i
        cut = _best_cut(tokens, fewest, i, last_run, budget)
        chunks.append(("".join(pieces[i:cut]), prefix[cut] - prefix[i]))
        i = cut + 1
    return None


def _best_cut(tokens: Tokens, fewest: FewestParts, i: int, last_run: int, budget: int) -> int:
    """Among the whitespace runs i+1, i+3, ... last_run: those leaving the fewest parts after
    (a suffix of them, since fewer words never need more parts), then the best break that is
    full enough (`_FLOOR`), then the fullest part."""
    least = fewest[last_run + 1]
    first_run = max(i + 1, fewest.earliest(least) - 1)  # the run before that word, or this part's first
    prefix = tokens.prefix
    base = prefix[i]
    # The last break of a quality is taken only above that quality's floor, so runs below the
    # lowest floor are never chosen: only the kinds of the runs above it are read.
    start = bisect.bisect_left(prefix, base + math.ceil(_FLOOR[PARAGRAPH] * budget), first_run, last_run + 1)
    start += (start - tokens.first_word) % 2 == 0  # a run, not a word
    if start > last_run:
        return last_run
    window = tokens.kinds_between(start - 1, last_run + 1)  # the word before `start` ... last_run
    runs = window[:0:-2]  # backwards: last_run, last_run - 2, ... start
    for quality in (PARAGRAPH, LINE):
        if quality in runs:
            run = last_run - 2 * runs.index(quality)
            if prefix[run] - base >= _FLOOR[quality] * budget:
                return run
    # A sentence break: a plain space after a word ending in . ! ? and quotes.
    for n, (run_kind, word_kind) in enumerate(zip(runs, window[-2::-2])):
        if run_kind == SPACE and word_kind & ENDS_SENTENCE:
            run = last_run - 2 * n
            return run if prefix[run] - base >= _FLOOR[SENTENCE] * budget else last_run
    return last_run


def _split_with_hard_cuts(text: str, tokens: list[tuple[int, int, int, int]], i: int,
                          chunks: list[tuple[str, int]], first_budget: int, rest_budget: int, caps: Counting,
                          fewest: FewestParts | None) -> list[tuple[str, int]]:
    """The general walk, from token `i` on: also cuts words longer than a part, at the best
    place inside them (`_hard_cut`). `tokens` is rewritten as words are cut."""
    n = len(tokens)
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
            chunks.append(_measured(text[tokens[i][0]:tokens[last][1]], caps))
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
            chunks.append(_measured(text[tokens[i][0]:tokens[cut[0] - 1][1]], caps))
            i = cut[0] + 1
            continue
        start, end, _, _ = tokens[j]
        room = budget - used
        offset = _hard_cut(text[start:end], room, caps, force=j == i) if room > 0 or j == i else 0
        if offset == 0:  # nothing of the long word fits after this part's other words
            chunks.append(_measured(text[tokens[i][0]:tokens[j - 2][1]], caps))
            i = j
            continue
        chunks.append(_measured(text[tokens[i][0]:start + offset], caps))
        rest = text[start + offset:end]
        tokens[j] = (start + offset, end, text_length(rest, caps), WORD)
        i = j


def _measured(chunk: str, caps: Counting) -> tuple[str, int]:
    return chunk, text_length(chunk, caps)


def measure(text: str, caps: Counting) -> int:
    """`text_length`, added up over the tokens `split_to_fit` uses (and caches): measuring a
    long caption and then splitting it segments it once."""
    return tokenize(text, caps.text_counting, caps.url_weight).prefix[-1]


def _cut_rank(tokens: list[tuple[int, int, int, int]], fewest: FewestParts, cut: tuple[int, int],
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


def _units(text: str, caps: Counting) -> list[tuple[int, int, int]]:
    """(start, end, weight) of the smallest pieces a cut may separate: graphemes, and links
    when the target weighs links (cutting one would change its count, so it stays whole)."""
    counting = caps.text_counting
    units = [(m.start(), m.end(), raw_length(m.group(), counting)) for m in GRAPHEME.finditer(text)]
    weight = caps.url_weight
    if weight is None or ":" not in text:
        return units
    merged: list[tuple[int, int, int]] = []
    k = 0
    for at, end in link_spans(text):
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

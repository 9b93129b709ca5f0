"""What a Bluesky post record is made of, computed offline: record keys, facets, video facts.

Room: pure functions the adapter calls while building an `app.bsky.feed.post` record. No
network, no state, so each rule is unit-tested on its own (tests/test_bluesky_offline.py).

* Record keys (TIDs) are *derived* from the engine's idempotency key and the post's original
  time, never drawn at random: the same part of the same post always gets the same key, so a
  repeated create is refused by the server instead of becoming a duplicate, even when the
  journal was lost. The time goes in the TID's timestamp bits, so the repository lists posts in
  their Instagram order; a hash of the key fills the sub-second and clock-id bits, so two posts
  of the same second still get different keys (~30 bits apart).
* Facets mark links and hashtags with UTF-8 *byte* offsets (what the lexicon counts), never
  Python string indexes. Instagram @names get no mention facet: they are not Bluesky accounts,
  and a resolvable `@name.tld` could notify a stranger.
* `mp4_info` (from `migrator.mp4`) reads a video's duration and picture size, for the duration
  limit and the embed's aspect ratio, without ffmpeg.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import regex

from pindah.adapters.toolkit import textparse

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
_RKEY_SALT = b"pindah/bluesky/rkey/1\0"  # change it and every record key changes: never do
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640

# Links with a scheme, as people paste them; the end is trimmed of trailing punctuation below.
_SCHEME_URL = regex.compile(r"(?<![\w@/.])https?://[^\s<>\"'`]+", regex.IGNORECASE)
# Bare domains ("rina.art/shop") only under common TLDs: "file.jpg" or "notes.txt" must
# not become links. Instagram never linked captions, so a missed bare link is no regression.
_TLDS = ("com|net|org|art|io|co|me|info|shop|store|studio|gallery|design|page|app|dev|xyz|blog|"
         "link|ink|social|online|site|website|world|id|uk|de|fr|nl|jp|au|ca|es|br|ch|at|be|se|no|"
         "dk|fi|pl|pt|nz|sg|my|ph|th|vn|kr|tw|hk|us|eu")
_BARE_URL = regex.compile(
    r"(?<![\w@/.\-#])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")(?![\w-])"
    r"(?::\d{1,5})?(?:/[^\s<>\"'`]*)?", regex.IGNORECASE)
_TRAILING = ".,;:!?'\"…»”’"


# -- record keys ----------------------------------------------------------------------------
def tid(micros: int, clock_id: int) -> str:
    """The TID syntax: 53 bits of microseconds since 1970, then a 10-bit clock id, 13 chars."""
    if not 0 <= micros < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError("TID out of range")
    return _s32(micros).rjust(11, "2") + _s32(clock_id).rjust(2, "2")


def _s32(value: int) -> str:
    out = ""
    while value:
        value, digit = divmod(value, 32)
        out = TID_ALPHABET[digit] + out
    return out


def derive_rkey(key: str, created_at: datetime) -> str:
    """The record key of one part: same key and time, same rkey, on every run and machine."""
    digest = hashlib.sha256(_RKEY_SALT + key.encode("utf-8")).digest()
    second = int(created_at.astimezone(UTC).timestamp())
    micros = max(0, second) * 1_000_000 + int.from_bytes(digest[:4], "big") % 1_000_000
    return tid(micros, int.from_bytes(digest[4:6], "big") & 0x3FF)


def iso_time(moment: datetime) -> str:
    """createdAt as the lexicon wants it: UTC, milliseconds, 'Z'."""
    if moment.tzinfo is None:
        raise ValueError("createdAt needs a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- facets ---------------------------------------------------------------------------------
def detect_facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets of `text`, with byte offsets into its UTF-8 encoding."""
    if not text:
        return []
    spans: list[tuple[int, int, dict[str, Any]]] = []
    taken: list[tuple[int, int]] = []
    for pattern, bare in ((_SCHEME_URL, False), (_BARE_URL, True)):
        for match in pattern.finditer(text):
            start, end = match.start(), _trim_url(text, match.start(), match.end())
            if end - start < 4 or _overlaps(taken, start, end):
                continue
            target = text[start:end]
            uri = ("https://" + target) if bare else target
            if bare and "." not in target.split("/", 1)[0]:
                continue
            taken.append((start, end))
            spans.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": uri}))
    for match in textparse._HASHTAG.finditer(text):  # Instagram's own idea of a hashtag
        start, end = match.start(), match.end()
        tag = match.group(1)
        if _overlaps(taken, start, end) or len(regex.findall(r"\X", tag)) > MAX_TAG_GRAPHEMES \
                or len(tag.encode("utf-8")) > MAX_TAG_BYTES:
            continue  # inside a link, or longer than Bluesky takes: left as plain text
        taken.append((start, end))
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    offsets = _byte_offsets(text)
    return [{"index": {"byteStart": offsets[start], "byteEnd": offsets[end]}, "features": [feature]}
            for start, end, feature in sorted(spans, key=lambda s: s[0])]


def _trim_url(text: str, start: int, end: int) -> int:
    """A link doesn't end with sentence punctuation, nor with a ')' it didn't open."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING or last == ")" and text.count("(", start, end) < text.count(")", start, end):
            end -= 1
        else:
            break
    return end


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < b and a < end for a, b in taken)


def _byte_offsets(text: str) -> list[int]:
    """offsets[i] = UTF-8 byte position of character i (and of the end, at len(text))."""
    offsets = [0] * (len(text) + 1)
    position = 0
    for i, char in enumerate(text):
        offsets[i] = position
        code = ord(char)
        position += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    offsets[len(text)] = position
    return offsets

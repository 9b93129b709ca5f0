"""Bluesky record rules that need no server: UTF-8 byte-offset facets, record keys (TIDs),
timestamps, MP4 facts, language tags and the https-only rule.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from pindah.adapters.bluesky import BlueskyAdapter
from pindah.adapters.bluesky_record import TID_ALPHABET, derive_rkey, detect_facets, iso_time, tid
from pindah.adapters.bluesky_xrpc import check_url
from pindah.migrator.errors import PindahError
from pindah.adapters.toolkit.mp4 import mp4_info
from tests.bluesky_support import VIDEO

pytestmark = pytest.mark.bluesky


TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def _utf8_slice(text: str, facet: dict[str, Any]) -> str:
    return text.encode()[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode()


@pytest.mark.parametrize("text, expected", [
    ("#art", [("#art", "tag", "art")]),
    ("é #art", [("#art", "tag", "art")]),
    ("🎨👩🏽‍🎨 #art https://rina.art/x", [("#art", "tag", "art"), ("https://rina.art/x", "link", "https://rina.art/x")]),
    ("See https://example.com/a. Next", [("https://example.com/a", "link", "https://example.com/a")]),
    ("(https://en.wikipedia.org/wiki/Batik_(textile)).",
     [("https://en.wikipedia.org/wiki/Batik_(textile)", "link", "https://en.wikipedia.org/wiki/Batik_(textile)")]),
    ("shop: rina.art/prints!", [("rina.art/prints", "link", "https://rina.art/prints")]),
    ("file.jpg and notes.txt and e.g. this", []),
    ("https://x.com/#anchor #real", [("https://x.com/#anchor", "link", "https://x.com/#anchor"),
                                     ("#real", "tag", "real")]),
    ("mail me@rina.art or @rina.art #日本語", [("#日本語", "tag", "日本語")]),
    ("#1 #a1 #_x_ café#not", [("#a1", "tag", "a1"), ("#_x_", "tag", "_x_")]),
    ("#" + "a" * 65 + " #ok", [("#ok", "tag", "ok")]),
])
def test_facets_use_utf8_byte_offsets(text, expected):
    facets = detect_facets(text)
    got = [(_utf8_slice(text, f), f["features"][0]["$type"].rsplit("#", 1)[1],
            f["features"][0].get("tag") or f["features"][0].get("uri")) for f in facets]
    assert got == expected
    assert all(f["features"][0]["$type"] != "app.bsky.richtext.facet#mention" for f in facets)


def test_record_keys_are_valid_tids_stable_distinct_and_in_time_order():
    moment = datetime(2020, 5, 17, 10, 30, tzinfo=UTC)
    key = derive_rkey("abc#0", moment)
    assert TID_RE.match(key) and key == derive_rkey("abc#0", moment)
    assert key == derive_rkey("abc#0", moment.astimezone(timezone(timedelta(hours=7))))  # same instant
    same_second = {derive_rkey(f"post{i}#0", moment) for i in range(2000)}
    assert len(same_second) == 2000
    later = derive_rkey("abc#1", moment + timedelta(seconds=1))
    earlier = derive_rkey("zzz#0", moment - timedelta(seconds=1))
    assert earlier < key < later  # the repository lists posts in their Instagram order
    assert tid(0, 0) == "2" * 13
    assert tid((1 << 53) - 1, 1023)[0] in TID_ALPHABET[:16]
    # The TID's time is the post's time (to the second).
    value = sum(TID_ALPHABET.index(c) << (5 * (12 - i)) for i, c in enumerate(key))
    assert (value >> 10) // 1_000_000 == int(moment.timestamp())
    with pytest.raises(ValueError):
        iso_time(datetime(2020, 1, 1))


def test_iso_time_is_utc_milliseconds_with_z():
    assert iso_time(datetime(2019, 6, 1, 19, 34, 56, 789000, tzinfo=timezone(timedelta(hours=7)))) \
        == "2019-06-01T12:34:56.789Z"


def test_mp4_facts_come_from_the_moov_box(tmp_path):
    assert mp4_info(VIDEO) == type(mp4_info(VIDEO))(2.0, 480, 600)
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x10mdat" + b"\x00" * 8)
    assert mp4_info(fake).seconds is None


def test_languages_are_checked_before_any_post_is_sent():
    assert BlueskyAdapter("rina.bsky.social", {"langs": "id, en"}).langs == ("id", "en")
    assert BlueskyAdapter("rina.bsky.social", {"langs": ["pt-BR"]}).langs == ("pt-BR",)
    with pytest.raises(PindahError, match="not a language tag"):
        BlueskyAdapter("rina.bsky.social", {"langs": ["Bahasa Indonesia"]})
    with pytest.raises(PindahError, match="at most 3"):
        BlueskyAdapter("rina.bsky.social", {"langs": "id,en,ja,nl"})


def test_only_https_except_loopback():
    for ok in ("https://bsky.social", "http://localhost:2583", "http://127.0.0.1:9", "http://[::1]:80"):
        check_url(ok)
    for bad in ("http://bsky.social", "http://10.0.0.5", "ftp://x.org", "https://"):
        with pytest.raises(PindahError):
            check_url(bad)

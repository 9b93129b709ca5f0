"""Targets, posts and independent checks shared by the planner tests (tests/test_planner_*.py).

Lengths are checked with an independent count (the `regex` module's `\\X`, `len`, UTF-8 bytes, a
plain link substitution), never with the planner's own `textcount`, so a counting bug in the
code under test can't hide itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import regex

from pindah.adapters.contract import Capabilities, TextCounting
from pindah.adapters.toolkit import textparse
from pindah.migrator.model import AltOrigin, Media, Post, PostKind
from pindah.migrator.planner import PostPlan
from tests.exportbuilder.memory import MemoryTree


MP4 = frozenset({"video/mp4"})
BLUESKY = Capabilities(max_text=300, max_media_per_post=4, mix_images_and_videos=False,
                       max_videos_per_post=1, video_mime_types=MP4, max_alt_text=2000,
                       threads=True, backdating=True)
MASTODON = Capabilities(max_text=500, url_weight=23, max_media_per_post=4, mix_images_and_videos=False,
                        max_videos_per_post=1, video_mime_types=MP4, max_alt_text=1500,
                        threads=True, backdating=False)
PIXELFED = Capabilities(max_text=500, text_counting=TextCounting.CODE_POINTS, max_media_per_post=4,
                        requires_media=True, max_alt_text=1000, threads=True, backdating=False)
GOTOSOCIAL = Capabilities(max_text=5000, url_weight=25, max_media_per_post=6, video_mime_types=MP4,
                          threads=True, backdating=True)
NO_THREADS = Capabilities(max_text=300, max_media_per_post=4, mix_images_and_videos=False,
                          max_videos_per_post=1, video_mime_types=MP4, max_alt_text=100,
                          threads=False, backdating=False)
BYTES = Capabilities(max_text=300, text_counting=TextCounting.BYTES, threads=True)
ALL_CAPS = {"bluesky": BLUESKY, "mastodon": MASTODON, "pixelfed": PIXELFED,
            "gotosocial": GOTOSOCIAL, "no-threads": NO_THREADS, "bytes": BYTES}

T0 = datetime(2024, 7, 7, 12, 30, tzinfo=timezone.utc)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
MPEG4 = b"\x00\x00\x00\x18ftypisom" + bytes(52)
ARTIST = "👩‍🎨"  # WOMAN ZWJ PALETTE: 1 grapheme, 3 code points, 11 bytes


def make_post(caption: str = "", kinds: str = "i", *, post_id: str = "p20240707-123000-0123456789",
              missing: tuple[int, ...] = (), alts: dict[int, tuple[str, AltOrigin]] | None = None,
              taken_at: datetime = T0) -> Post:
    """`kinds`: one letter per carousel item, "i" image or "v" video, in order."""
    files: dict[str, bytes] = {}
    tree = MemoryTree(files)
    media = []
    for i, kind in enumerate(kinds):
        path = f"media/posts/202407/{i}_n.{'mp4' if kind == 'v' else 'jpg'}"
        if i not in missing:
            files[path] = MPEG4 if kind == "v" else JPEG
        alt, origin = (alts or {}).get(i, (None, None))
        media.append(Media(path=path, tree=tree, alt_text=alt, alt_origin=origin))
    return Post(id=post_id, kind=PostKind.POST, taken_at=taken_at, caption=caption, media=media,
                layout="test")


def independent_length(text: str, caps: Capabilities) -> int:
    if caps.url_weight:
        # A link is "http(s)://" and all that follows up to a space, unless glued to a letter,
        # digit, @, $ or # (twitter-text's rule); it counts `url_weight`. This simple rule takes
        # a link's trailing punctuation as link, so it can only come out lower than a strict count.
        text = re.sub(r"(?<![\w@$#＠＃])https?://\S+", "x" * caps.url_weight, text)
    if caps.text_counting is TextCounting.GRAPHEMES:
        return len(regex.findall(r"\X", text))
    if caps.text_counting is TextCounting.CODE_POINTS:
        return len(text)
    return len(text.encode("utf-8"))


def assert_every_part_fits(plan: PostPlan, caps: Capabilities) -> None:
    for part in plan.parts:
        assert independent_length(part.text, caps) <= caps.max_text, (part.index, part.text)


def grapheme_bounds(text: str) -> set[int]:
    return {0} | {m.end() for m in regex.finditer(r"\X", text)}


def assert_caption_kept(caption: str, plan: PostPlan) -> None:
    """Chunks are the caption's own slices, in order, separated by whitespace only, cut on
    grapheme boundaries, and together they are all of it."""
    original = textparse.clean_text(caption).strip()
    bounds = grapheme_bounds(original)
    pos = 0
    for part in plan.parts:
        assert part.text.startswith(part.caption)
        if not part.caption:
            continue
        found = original.find(part.caption, pos)
        assert found >= 0, part.caption
        assert original[pos:found].strip() == "", original[pos:found]
        assert found in bounds and found + len(part.caption) in bounds
        pos = found + len(part.caption)
    assert original[pos:].strip() == ""


def captions(plan: PostPlan) -> list[str]:
    return [p.caption for p in plan.parts if p.caption]

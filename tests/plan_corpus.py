"""A synthetic account for planning: the same posts every run, and a digest of their plans.

Shared by `bench/plan_speed.py` (how fast) and `tests/test_planner_golden.py` (the same output
as before the planner was made fast). Captions are shaped like a real account's: mostly short,
some up to Instagram's 2,200 characters with emoji, ZWJ sequences, Arabic, Japanese, hashtags,
mentions, links and blank lines; single images, carousels up to 20 items, reels, a few missing
files. Media live in an in-memory tree, so sniffing their first bytes is part of planning.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from pindah.migrator.model import AltOrigin, Media, Post, PostKind
from pindah.migrator.planner import PostPlan
from tests.exportbuilder.memory import MemoryTree

JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
MPEG4 = b"\x00\x00\x00\x18ftypisom" + bytes(52)
WORDS = ("ink", "sketch", "harbour", "dawn", "watercolour", "commission", "open", "thank you",
         "new", "piece", "studio", "process", "detail", "paper", "brush", "colour", "light")
EXTRAS = ("🌊", "🎨", "👩‍🎨", "✨", "👍🏽", "🇮🇩", "café", "naïve", "لوحة جديدة", "新しい作品です。",
          "#illustration", "#art", "#日本", "@studio.mate", "https://example.art/shop/prints-2024",
          "https://t.co/x")
# Harder text for the golden corpus only (the bench keeps its own mix): words longer than a
# post, conjuncts, no-break spaces, combining marks after spaces, CRLF, a link inside a word.
HARD = ("क्षत्रिय", "«\u00a0bonjour\u00a0»", " \u0301x", "\r\n", "a" * 140, "日本語の長い文" * 30,
        "medium.com/@name/post", "x://y", "https://example.art/" + "p" * 320, "end.\u2029Next")


def make_caption(rng: random.Random, extras: tuple[str, ...] = EXTRAS) -> str:
    roll = rng.random()
    if roll < 0.1:
        return ""
    length = rng.randint(10, 150) if roll < 0.5 else rng.randint(150, 500) if roll < 0.8 else rng.randint(500, 2200)
    out: list[str] = []
    size = 0
    while size < length:
        piece = rng.choice(extras) if rng.random() < 0.15 else rng.choice(WORDS)
        sep = rng.choices((" ", "\n", "\n\n", ". "), weights=(80, 8, 4, 8))[0]
        out.append(piece + sep)
        size += len(piece) + len(sep)
    return "".join(out)[:2200]


def make_posts(count: int, seed: int = 7, *, hard: bool = False) -> list[Post]:
    """`count` posts, the same for the same seed. `hard` adds awkward text and alt texts."""
    rng = random.Random(seed)
    extra_rng = random.Random(seed + 1)  # so the plain corpus doesn't change with `hard`
    tree = MemoryTree()
    start = datetime(2016, 1, 1, tzinfo=timezone.utc)
    posts = []
    for n in range(count):
        roll = rng.random()
        kinds = ("i" if roll < 0.5 else "v" if roll < 0.6
                 else "".join(rng.choice("iiiv") for _ in range(rng.randint(2, 20))))
        media = []
        for k, kind in enumerate(kinds):
            path = f"media/posts/{n}/{k}.{'mp4' if kind == 'v' else 'jpg'}"
            if rng.random() > 0.02:  # a few files missing, as in real exports
                tree.files[path] = MPEG4 if kind == "v" else JPEG
            media.append(Media(path=path, tree=tree))  # type: ignore[arg-type]
        caption = make_caption(rng)
        if hard:
            caption = _harden(extra_rng, caption)
            for item in media:
                _add_alt(extra_rng, item)
        posts.append(Post(id=f"p{n:06d}", kind=PostKind.POST, taken_at=start + timedelta(hours=3 * n),
                          caption=caption, media=media, layout="bench"))
    return posts


def _harden(rng: random.Random, caption: str) -> str:
    if rng.random() < 0.5:
        return caption
    words = caption.split(" ")
    for _ in range(rng.randint(1, 4)):
        words.insert(rng.randint(0, len(words)), rng.choice(HARD))
    return " ".join(words)


def _add_alt(rng: random.Random, media: Media) -> None:
    roll = rng.random()
    if roll < 0.6:
        return
    if roll < 0.75:
        media.alt_text, media.alt_origin = "May be an image of text", None
    elif roll < 0.8:
        media.alt_text, media.alt_origin = "ink drawing", AltOrigin.INSTAGRAM
    else:
        media.alt_text = make_caption(rng) or "a harbour at dawn"
        media.alt_origin = AltOrigin.USER


def plan_digest(plans: Iterable[PostPlan]) -> str:
    """SHA-256 over everything a plan says: parts (text, media, links, dates, keys, alt text,
    caption slice), notes, files left out and why, whether the post is skipped and why."""
    digest = hashlib.sha256()
    for plan in plans:
        digest.update(repr((plan.post.id, plan.skipped, plan.notes, plan.dropped_media,
                            plan.media_required)).encode())
        for part in plan.parts:
            digest.update(repr((part.index, part.text, part.media, part.reply_to,
                                part.created_at.isoformat(), part.key, part.alt, part.caption)).encode())
    return digest.hexdigest()

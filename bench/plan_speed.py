"""How fast the planner turns posts into threads, against a naive word wrap of the same captions.

Run: `python bench/plan_speed.py [--posts N]`. It makes N synthetic posts (default 20,000; the
same every run) shaped like a real account: mostly short captions, some long ones up to
Instagram's 2,200 characters with emoji, ZWJ sequences, Arabic, Japanese, hashtags, mentions,
links and blank lines; single images, carousels up to 20 items, reels, a few missing files.
Media live in an in-memory tree, so sniffing their first bytes is part of the time measured.
Then, in the same run, it times:

  (a) baseline: `textwrap.wrap(caption, width=limit)` of every caption (code points, no
      markers, no date line, no media, newlines flattened: less work and worse results),
  (b) pindah: `plan_posts` for a Bluesky-like and a Mastodon-like target, fresh posts each.

and prints posts/second and total time (CPU time of this process, so other load on the machine
doesn't skew them; wall time beside it), and pindah's time as a multiple of the baseline's.
"""

from __future__ import annotations

import argparse
import random
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pindah.adapters.contract import Capabilities  # noqa: E402
from pindah.migrator.model import Media, Post, PostKind  # noqa: E402
from pindah.migrator.planner import PlanOptions, plan_posts  # noqa: E402
from tests.exportbuilder.memory import MemoryTree  # noqa: E402

MP4 = frozenset({"video/mp4"})
TARGETS = {
    "bluesky-like": Capabilities(max_text=300, max_media_per_post=4, mix_images_and_videos=False,
                                 max_videos_per_post=1, video_mime_types=MP4, max_alt_text=2000,
                                 backdating=True),
    "mastodon-like": Capabilities(max_text=500, url_weight=23, max_media_per_post=4,
                                  mix_images_and_videos=False, max_videos_per_post=1,
                                  video_mime_types=MP4, max_alt_text=1500, backdating=False),
}
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
MPEG4 = b"\x00\x00\x00\x18ftypisom" + bytes(52)
WORDS = ("ink", "sketch", "harbour", "dawn", "watercolour", "commission", "open", "thank you",
         "new", "piece", "studio", "process", "detail", "paper", "brush", "colour", "light")
EXTRAS = ("🌊", "🎨", "👩‍🎨", "✨", "👍🏽", "🇮🇩", "café", "naïve", "لوحة جديدة", "新しい作品です。",
          "#illustration", "#art", "#日本", "@studio.mate", "https://example.art/shop/prints-2024",
          "https://t.co/x")




def make_caption(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return ""
    length = rng.randint(10, 150) if roll < 0.5 else rng.randint(150, 500) if roll < 0.8 else rng.randint(500, 2200)
    out: list[str] = []
    size = 0
    while size < length:
        piece = rng.choice(EXTRAS) if rng.random() < 0.15 else rng.choice(WORDS)
        sep = rng.choices((" ", "\n", "\n\n", ". "), weights=(80, 8, 4, 8))[0]
        out.append(piece + sep)
        size += len(piece) + len(sep)
    return "".join(out)[:2200]


def make_posts(count: int, seed: int = 7) -> list[Post]:
    rng = random.Random(seed)
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
        posts.append(Post(id=f"p{n:06d}", kind=PostKind.POST, taken_at=start + timedelta(hours=3 * n),
                          caption=make_caption(rng), media=media, layout="bench"))
    return posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()

    captions = [p.caption for p in make_posts(args.posts)]
    print(f"{args.posts:,} posts, {sum(map(len, captions)):,} caption characters")
    for name, caps in TARGETS.items():
        # CPU time of this process, not wall time: other work on a shared machine would
        # otherwise decide the ratio. Wall time is printed too.
        wall, cpu = time.perf_counter(), time.process_time()
        wrapped = sum(len(textwrap.wrap(c, width=caps.max_text or 500)) for c in captions)
        base_wall, base_cpu = time.perf_counter() - wall, time.process_time() - cpu

        posts = make_posts(args.posts)  # fresh Media: nothing sniffed or cached yet
        wall, cpu = time.perf_counter(), time.process_time()
        plans = plan_posts(posts, caps, PlanOptions())
        our_wall, our_cpu = time.perf_counter() - wall, time.process_time() - cpu

        parts = sum(p.part_count for p in plans)
        skipped = sum(p.skipped is not None for p in plans)
        print(f"\n{name} ({caps.max_text} {caps.text_counting.value}, {caps.max_media_per_post} media/post)")
        print(f"  baseline textwrap.wrap : {args.posts / base_cpu:>8,.0f} posts/s  {base_cpu:6.2f} s CPU"
              f"  {base_wall:6.2f} s wall  ({wrapped:,} pieces)")
        print(f"  pindah plan_posts      : {args.posts / our_cpu:>8,.0f} posts/s  {our_cpu:6.2f} s CPU"
              f"  {our_wall:6.2f} s wall  ({parts:,} parts, {skipped:,} skipped)")
        print(f"  pindah / baseline      : {our_cpu / base_cpu:.1f}× the CPU time")

if __name__ == "__main__":
    main()

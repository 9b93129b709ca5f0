"""Writes the small sample export shipped in `sample/instagram-export/` (the README's demo).

    python -m tests.exportbuilder.sample DIR [--force]

A 2025 ("new" layout) Meta JSON export of an invented illustrator: eight posts over four
years (single images, a five-image carousel, a carousel with a video, a long caption, emoji,
hashtags, @mentions), one reel and one story. The pictures are small generated artworks
(480x600 JPEG) so that a portfolio built from the sample looks like one. Output is
deterministic: every random choice is seeded, so each run writes the same bytes.

The videos are `assets/sample-loop.mp4`: a real, playable two-second H.264 loop (42 kB),
encoded once with ffmpeg from Pillow-drawn frames and kept as a file, so that neither the
project nor its tests need a video encoder.
"""

from __future__ import annotations

import io
import math
import random
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from PIL import Image, ImageDraw, ImageFilter

from .meta_json import write_meta_json
from .spec import SynthMedia, SynthPost

SIZE = (480, 600)
RGB = tuple[int, int, int]
Painter = Callable[[ImageDraw.ImageDraw, random.Random], None]  # draws one motif in place


def _t(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp())


def _shade(color: RGB, factor: float) -> RGB:
    return tuple(max(0, min(255, int(c * factor))) for c in color)  # type: ignore[return-value]


def _wave(y: float, amp: float, freq: float, phase: float, width: int = SIZE[0]) -> list[tuple[float, float]]:
    return [(x, y + amp * math.sin(x * freq + phase)) for x in range(0, width + 8, 8)]


# -- painters: each draws one motif over a gradient background --------------------------------
def hills(draw: ImageDraw.ImageDraw, rnd: random.Random, sun: RGB, land: RGB, layers: int = 4) -> None:
    w, h = SIZE
    cx, cy, r = rnd.randint(120, 360), rnd.randint(120, 230), rnd.randint(45, 75)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=sun)
    for i in range(layers):
        base = h * (0.45 + 0.13 * i)
        points = _wave(base, 18 + 6 * i, 0.008 + 0.004 * rnd.random(), rnd.uniform(0, 6))
        draw.polygon(points + [(w, h), (0, h)], fill=_shade(land, 1.15 - 0.22 * i))


def sea(draw: ImageDraw.ImageDraw, rnd: random.Random, sun: RGB, water: RGB, layers: int = 7) -> None:
    w, h = SIZE
    draw.ellipse((w / 2 - 60, 150, w / 2 + 60, 270), fill=sun)
    for i in range(layers):
        base = 260 + i * (h - 260) / layers
        points = _wave(base, 6 + 2 * i, 0.03 + 0.01 * rnd.random(), rnd.uniform(0, 6))
        draw.polygon(points + [(w, h), (0, h)], fill=_shade(water, 1.2 - 0.08 * i))
        draw.line(points, fill=_shade(water, 1.6), width=2)


def flowers(draw: ImageDraw.ImageDraw, rnd: random.Random, petal: RGB, leaf: RGB, count: int = 9) -> None:
    w, h = SIZE
    draw.ellipse((330, 60, 410, 140), fill=(244, 236, 200))  # moon
    for _ in range(count):
        x, y, r = rnd.randint(40, w - 40), rnd.randint(230, h - 40), rnd.randint(18, 34)
        draw.line((x, y, x + rnd.randint(-20, 20), h), fill=leaf, width=4)
        for k in range(6):
            a = k * math.pi / 3 + rnd.random() * 0.3
            px, py = x + r * math.cos(a), y + r * math.sin(a)
            draw.ellipse((px - r * 0.6, py - r * 0.6, px + r * 0.6, py + r * 0.6), fill=petal)
        draw.ellipse((x - r * 0.4, y - r * 0.4, x + r * 0.4, y + r * 0.4), fill=(250, 210, 90))


def kites(draw: ImageDraw.ImageDraw, rnd: random.Random, colors: list[RGB], count: int = 4) -> None:
    w, h = SIZE
    for i in range(count):
        x, y, s = rnd.randint(60, w - 60), rnd.randint(60, h // 2 + 60), rnd.randint(30, 55)
        draw.polygon([(x, y - s), (x + s * 0.7, y), (x, y + s * 1.3), (x - s * 0.7, y)], fill=colors[i % len(colors)])
        draw.line([(x, y + s * 1.3)] + [(x + 12 * math.sin(j), y + s * 1.3 + 22 * j) for j in range(1, 8)],
                  fill=(250, 250, 245), width=2)
    draw.polygon(_wave(h * 0.82, 10, 0.01, 1.0) + [(w, h), (0, h)], fill=(96, 140, 88))


def batik(draw: ImageDraw.ImageDraw, rnd: random.Random, ink: RGB, accent: RGB) -> None:
    w, h = SIZE
    for row, y in enumerate(range(60, h + 60, 120)):
        for x in range(0 if row % 2 else 60, w + 120, 120):
            draw.ellipse((x - 48, y - 48, x + 48, y + 48), fill=_shade(accent, 1.35))
            draw.ellipse((x - 48, y - 48, x + 48, y + 48), outline=ink, width=4)
            draw.ellipse((x - 18, y - 18, x + 18, y + 18), fill=ink)


def koi(draw: ImageDraw.ImageDraw, rnd: random.Random, fish: RGB, pad: RGB) -> None:
    w, h = SIZE
    for _ in range(9):
        x, y, r = rnd.randint(30, w - 30), rnd.randint(30, h - 30), rnd.randint(28, 52)
        start = rnd.randint(0, 359)
        draw.pieslice((x - r, y - r, x + r, y + r), start, start + 320, fill=_shade(pad, rnd.uniform(0.85, 1.15)))
    for i in range(4):
        x, y = 110 + (i % 2) * 230 + rnd.randint(-30, 30), 120 + i * 120 + rnd.randint(-20, 20)
        flip = 1 if i % 2 else -1
        draw.ellipse((x - 60, y - 22, x + 60, y + 22), fill=fish)
        draw.polygon([(x + 55 * flip, y), (x + 95 * flip, y - 26), (x + 95 * flip, y + 26)], fill=fish)
        draw.ellipse((x - 15, y - 14, x + 20, y + 10), fill=(250, 246, 238))
        draw.ellipse((x - 52 * flip - 4, y - 8, x - 52 * flip + 4, y), fill=(30, 30, 30))


def lanterns(draw: ImageDraw.ImageDraw, rnd: random.Random, glow: RGB, body: RGB, count: int = 7) -> None:
    w, _ = SIZE
    for _ in range(count):
        x, y, s = rnd.randint(50, w - 50), rnd.randint(80, 520), rnd.randint(22, 40)
        draw.line((x, 0, x, y - s), fill=(60, 50, 70), width=2)
        for halo, color in ((2.2, (85, 40, 75)), (1.7, (140, 62, 72))):  # soft light around it
            draw.ellipse((x - s * halo, y - s * halo, x + s * halo, y + s * halo), fill=color)
        draw.rounded_rectangle((x - s, y - s * 1.2, x + s, y + s * 1.2), radius=s // 2, fill=body)
        draw.line((x - s, y, x + s, y), fill=glow, width=3)


def mountains(draw: ImageDraw.ImageDraw, rnd: random.Random, rock: RGB, snow: RGB) -> None:
    w, h = SIZE
    for i, (peak_x, peak_y) in enumerate([(140, 230), (330, 180), (460, 300), (40, 320)]):
        base = h * 0.85
        half = rnd.randint(150, 220)
        color = _shade(rock, 1.0 - 0.12 * (i % 3))
        draw.polygon([(peak_x - half, base), (peak_x, peak_y), (peak_x + half, base)], fill=color)
        cap = 0.25
        draw.polygon([(peak_x - half * cap, peak_y + (base - peak_y) * cap), (peak_x, peak_y),
                      (peak_x + half * cap, peak_y + (base - peak_y) * cap)], fill=snow)
    draw.rectangle((0, h * 0.85, w, h), fill=_shade(rock, 0.6))


def artwork(seed: int, top: RGB, bottom: RGB, paint: Painter, size: tuple[int, int] = SIZE) -> bytes:
    """A gradient, a motif, and a faint paper grain, as a JPEG. Same seed, same bytes."""
    rnd = random.Random(seed)
    mask = Image.linear_gradient("L").resize(size)
    img = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)
    paint(ImageDraw.Draw(img), rnd)
    # Grain gives the flat shapes a printed look (and a realistic JPEG size).
    grain = Image.frombytes("L", size, rnd.randbytes(size[0] * size[1])).filter(ImageFilter.GaussianBlur(0.6))
    img = Image.blend(img, Image.merge("RGB", (grain, grain, grain)), 0.07)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80, optimize=True)
    return buf.getvalue()


def _art(seed: int, top: RGB, bottom: RGB, painter: Callable[..., None], *args: object) -> Callable[[], bytes]:
    return lambda: artwork(seed, top, bottom, lambda d, r: painter(d, r, *args))


SEA_PALETTES = [((250, 214, 165), (120, 170, 200), (240, 140, 90), (52, 104, 150)),
                ((200, 220, 240), (150, 190, 220), (255, 250, 230), (40, 90, 140)),
                ((255, 190, 170), (230, 150, 150), (255, 230, 120), (90, 80, 140)),
                ((60, 60, 110), (120, 110, 160), (250, 240, 210), (30, 40, 90)),
                ((230, 240, 220), (170, 210, 190), (250, 200, 120), (40, 120, 120))]

LONG_CAPTION = """On batik and patience.

My grandmother drew wax lines with a canting every morning before the heat came. She said the \
cloth tells you when you are rushing: the wax cools, the line thickens, and the pattern remembers.

This piece is my attempt to draw the way she worked. Every circle here is drawn by hand, four \
rings each, and I allowed myself no rulers and no undo. It took eleven evenings. Some rings \
wobble. I kept them.

If you are in Yogyakarta next month, the original will hang at the small show at the Kampung \
library, next to pieces by people much braver than me.

Thank you for reading this far 🙏

#batik #patterns #drawing #slowart #yogyakarta"""


def sample_posts() -> list[tuple[SynthPost, list[Callable[[], bytes]]]]:
    """The sample's posts, each with one bytes-maker per media (videos get the playable loop)."""
    W, H = SIZE
    image = lambda: SynthMedia(width=W, height=H)  # noqa: E731
    video = lambda: SynthMedia(fmt="mp4")  # noqa: E731
    mp4 = lambda: (Path(__file__).parent / "assets" / "sample-loop.mp4").read_bytes()  # noqa: E731
    return [
        (SynthPost(_t("2021-03-14 06:12"), "Sunrise over the terraces 🌄 First piece of the year.\n\n#illustration #landscape",
                   [image()]), [_art(1, (255, 200, 150), (255, 236, 210), hills, (255, 240, 200), (110, 150, 90))]),
        (SynthPost(_t("2021-09-02 20:45"), "Night garden 🌙🌸 drawn while the neighbours' frogs sang.",
                   [image()]), [_art(2, (20, 30, 70), (70, 60, 120), flowers, (240, 170, 200), (60, 110, 80))]),
        (SynthPost(_t("2022-05-20 07:30"), "Five studies of the same sea, one for each morning of the residency. Swipe →\n\n#seascape #studies",
                   [image() for _ in range(5)]),
         [_art(30 + i, p[0], p[1], sea, p[2], p[3]) for i, p in enumerate(SEA_PALETTES)]),
        (SynthPost(_t("2022-11-11 19:05"), LONG_CAPTION, [image()]),
         [_art(4, (240, 228, 205), (225, 205, 170), batik, (70, 45, 30), (170, 90, 40))]),
        (SynthPost(_t("2023-04-09 10:00"), "Kite festival sketches 🪁 and a tiny animation, for @layang.layang.club\n\n#kites #sketchbook",
                   [image(), image(), video()]),
         [_art(51, (140, 200, 240), (220, 240, 250), kites, [(230, 80, 70), (250, 200, 60), (60, 120, 200)]),
          _art(52, (250, 180, 120), (250, 230, 190), kites, [(40, 60, 120), (200, 60, 120), (250, 250, 250)]),
          mp4]),
        (SynthPost(_t("2023-12-24 21:00"), "Lanterns for the new year ✨🏮\n\n#illustration #lanterns",
                   [image()]), [_art(6, (15, 20, 50), (50, 30, 70), lanterns, (250, 190, 90), (210, 60, 50))]),
        (SynthPost(_t("2024-07-07 15:20"), "Koi pond commission for @rumah.teh 🐟☕ Thank you for trusting me with your wall!\n\n#commission #koi",
                   [image()]), [_art(7, (60, 130, 130), (20, 70, 90), koi, (240, 120, 50), (90, 160, 90))]),
        (SynthPost(_t("2025-02-14 09:00"), "Last one from the mountain series. Prints are up in the shop 🏔️\n\n#mountains #printshop",
                   [image()]), [_art(8, (180, 200, 230), (240, 235, 230), mountains, (110, 110, 140), (250, 250, 252))]),
        (SynthPost(_t("2024-10-01 18:00"), "Inking the koi, sped up 12x 🎥\n\n#process #reels", [video()], kind="reel"), [mp4]),
        (SynthPost(_t("2025-03-01 08:15"), "", [image()], kind="story"),
         [_art(10, (255, 220, 200), (250, 170, 150), flowers, (255, 255, 255), (90, 140, 90))]),
    ]


def write_sample(root: Path) -> list[dict]:
    """Write the sample export under `root`; return the expected rows."""
    items = sample_posts()
    makers = {(post.kind, post.taken_at, i): make for post, ms in items for i, make in enumerate(ms)}
    return write_meta_json(root, [post for post, _ in items], "new", username="sekar.draws",
                           full_name="Sekar Ayu 🎨",
                           media_content=lambda post, i, _m: makers[(post.kind, post.taken_at, i)]())


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--force"]
    if len(args) != 1:
        print("usage: python -m tests.exportbuilder.sample DIR [--force]", file=sys.stderr)
        return 2
    root = Path(args[0])
    if root.exists() and any(root.iterdir()):
        if "--force" not in argv:
            print(f"{root} is not empty; pass --force to replace it", file=sys.stderr)
            return 2
        shutil.rmtree(root)
    rows = write_sample(root)
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"wrote {len(rows)} posts to {root} ({total / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

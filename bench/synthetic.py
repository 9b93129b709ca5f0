"""Stand-ins for an artist's photographed work, for the benches: reproducible from a seed.

Smooth light, soft-edged shapes and film-like grain coarse enough to survive a downscale, as real
texture does; flat test cards would compress (and so benchmark) unrealistically well.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw


def painting(seed: int, size: tuple[int, int]) -> Image.Image:
    """An RGB picture of `size`, different for every seed."""
    rng = random.Random(seed)
    small = (max(1, size[0] // 4), max(1, size[1] // 4))
    light = Image.linear_gradient("L").rotate(rng.randrange(360)).resize(small)
    base = Image.merge("RGB", (light, light.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                               Image.radial_gradient("L").resize(small)))
    draw = ImageDraw.Draw(base)
    reach = max(small) // 6
    for _ in range(60):
        x, y, r = rng.randrange(small[0]), rng.randrange(small[1]), rng.randrange(reach // 10 + 1, reach + 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    base = base.resize(size, Image.Resampling.BICUBIC)
    grain = Image.merge("RGB", [Image.effect_noise((size[0] // 2, size[1] // 2), 40 + 4 * (seed % 5))
                                .resize(size, Image.Resampling.BILINEAR) for _ in range(3)])
    return Image.blend(base, grain, 0.45)


def painting_jpeg(seed: int, size: tuple[int, int], quality: int = 88) -> bytes:
    """`painting` saved as a JPEG, as a phone or Instagram would hand it over."""
    out = io.BytesIO()
    painting(seed, size).save(out, "JPEG", quality=quality)
    return out.getvalue()

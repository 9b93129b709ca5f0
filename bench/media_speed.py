"""How fast the media pipeline fits big photos to a Bluesky-like target, against plain Pillow.

Run: `python bench/media_speed.py [--images N]`. It makes N 4000×5000 JPEGs (gradients, shapes
and coarse grain, so they neither compress trivially nor blur away when downscaled) in a temp
folder, then times in the same run:

  (a) baseline: Pillow open → thumbnail((2000, 2000)) → save JPEG quality 85 (no byte limit met
      on purpose, no metadata check: the least work any tool could do),
  (b) pindah: `process_media` for 1,000,000 bytes / 2000 px side, into an empty cache,
  (c) pindah again with fresh `Media` objects (what a resumed run does): served from the cache.

and prints images/second for each, the ratio to the baseline, and what (b) produced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import painting  # noqa: E402
from pindah.adapters.contract import Capabilities  # noqa: E402
from pindah.migrator import media as pipeline  # noqa: E402
from pindah.migrator.exportfs import ExportTree  # noqa: E402
from pindah.migrator.model import Media  # noqa: E402

SIZE = (4000, 5000)
TARGET = Capabilities(image_max_bytes=1_000_000, image_max_side=2000,
                      image_mime_types=frozenset({"image/jpeg", "image/png"}))



def generate(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:02d}.jpg"
        painting(i, SIZE).save(path, "JPEG", quality=92)
        paths.append(path)
    return paths


def baseline(paths: list[Path], out: Path) -> float:
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as img:
            img.thumbnail((2000, 2000))
            img.save(out / path.name, "JPEG", quality=85)
    return time.perf_counter() - started


def pindah(folder: Path, names: list[str], cache: Path) -> tuple[float, list[pipeline.MediaResult]]:
    tree = ExportTree.from_paths([folder])
    started = time.perf_counter()
    results = [pipeline.process_media(Media(name, tree), TARGET, cache) for name in names]
    elapsed = time.perf_counter() - started
    tree.close()
    return elapsed, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    args = parser.parse_args()

    encodes = 0
    real_save = pipeline.save_image

    def counting_save(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal encodes
        encodes += 1
        return real_save(*a, **k)
    pipeline.save_image = counting_save  # type: ignore[assignment]

    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        root = Path(tmp)
        (root / "export").mkdir()
        (root / "baseline").mkdir()
        print(f"generating {args.images} JPEGs of {SIZE[0]}×{SIZE[1]} ...", flush=True)
        paths = generate(root / "export", args.images)
        sizes = [p.stat().st_size for p in paths]
        print(f"  sources: {statistics.mean(sizes) / 1e6:.1f} MB on average")
        names = [p.name for p in paths]
        n = len(paths)

        t_base = baseline(paths, root / "baseline")
        base_sizes = [p.stat().st_size for p in (root / "baseline").iterdir()]
        t_cold, results = pindah(root / "export", names, root / "cache")
        cold_encodes = encodes
        t_warm, again = pindah(root / "export", names, root / "cache")

        assert all(r.prepared for r in results), [r.skipped for r in results]
        assert again == results and all(r.from_cache for r in again)
        assert encodes == cold_encodes, "the cached pass re-encoded"
        out_sizes = [r.prepared.path.stat().st_size for r in results if r.prepared]
        qualities = [a for r in results for a in r.actions if a.startswith("quality")]

        print()
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(the ratios compare passes of the same run)")
        print(f"{'pass':<34}{'images/s':>10}{'vs baseline':>13}")
        for label, seconds in (("(a) Pillow thumbnail + q85", t_base), ("(b) pindah, cold cache", t_cold),
                               ("(c) pindah, cached (resume)", t_warm)):
            print(f"{label:<34}{n / seconds:>10.2f}{t_base / seconds:>12.2f}×")
        print()
        print(f"baseline outputs: {min(base_sizes) / 1e6:.2f}-{max(base_sizes) / 1e6:.2f} MB, "
              f"{sum(s > 1_000_000 for s in base_sizes)} of {n} over 1 MB")
        print(f"pindah outputs:   {min(out_sizes) / 1e6:.2f}-{max(out_sizes) / 1e6:.2f} MB, "
              f"{encodes / n:.1f} encodes per image, {len(qualities)} needed a lower quality "
              f"({', '.join(sorted(set(q.split()[1] for q in qualities))) or '-'})")


if __name__ == "__main__":
    main()

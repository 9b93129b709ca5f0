"""How long `pindah inspect` takes, and how much memory, as an export grows.

Builds Meta JSON exports of 2,000 and 20,000 posts (50,000 media files for the latter) with the
test fixture builder, then runs `pindah inspect --json` and `--posts` in a child process each
(so peak memory is the child's own), and, in the same run, a baseline: a plain script that only
json-loads every posts file and lists the media folder. Prints seconds, peak RSS and ratios.

    python bench/inspect_speed.py [--posts 20000] [--zip]

With `--zip` the same export is also measured as one ZIP, then `inspect --posts` on folder and
ZIP is run `--repeat` times, interleaved, and the ratio of the medians printed.

`--formats` instead measures the same posts written three ways, in one run: the JSON export,
the English HTML export and HTML exports in other languages (date lines read through CLDR
patterns), to show that reading a localised HTML export costs no more than an English one:

    python bench/inspect_speed.py --formats [--posts 20000] [--languages ru,ja,ar_EG] [--repeat 3]
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.exportbuilder.container import zip_folder  # noqa: E402
from tests.exportbuilder.corpus import big_export_posts  # noqa: E402
from tests.exportbuilder.html import write_html_export  # noqa: E402
from tests.exportbuilder.meta_json import write_meta_json  # noqa: E402

BASELINE = """
import json, os, sys
root = sys.argv[1]
posts = 0
for dirpath, _, files in os.walk(root):
    for f in files:
        if f.startswith("posts_") and f.endswith(".json"):
            with open(os.path.join(dirpath, f), "rb") as fh:
                data = json.load(fh)
            posts += len(data) if isinstance(data, list) else 1
print(posts)
"""


# Each measured child reports its own peak RSS on exit (RUSAGE_CHILDREN would give the maximum
# over every child so far, hiding how memory grows with the export).
PEAK = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
        "'PEAK_KB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)); ")


def run(cmd: list[str]) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of one child process; `cmd` is [python, "-c", code, *args]."""
    cmd = [cmd[0], "-c", PEAK + cmd[2], *cmd[3:]]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak = int(proc.stderr.rsplit("PEAK_KB ", 1)[1].split()[0]) / 1024
    return seconds, peak, proc.stdout


def build(n_posts: int, folder: Path) -> None:
    posts = big_export_posts(n_posts, media_per_post=2.5)
    write_meta_json(folder, posts, "new", posts_per_file=5000, link_duplicates=True)


PINDAH = [sys.executable, "-c", "import sys; from pindah.migrator.cli import main; sys.argv[0] = 'pindah'; main()"]


def _link_media(source: Path, target: Path) -> None:
    """Hard-link one export's media tree into another: JSON and HTML exports of the same posts
    name the same files, and writing 50,000 of them again would only time the disk."""
    sources: dict[int, Path] = {}  # inode -> the file to link from (a copy once one is full)
    for dirpath, _, files in os.walk(source / "media"):
        into = target / Path(dirpath).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            original = Path(dirpath, name)
            inode = original.stat().st_ino
            try:
                os.link(sources.setdefault(inode, original), into / name)
            except OSError as exc:  # EMLINK: the file system's links-per-file limit
                if exc.errno != errno.EMLINK:
                    raise
                shutil.copyfile(original, into / name)
                sources[inode] = into / name


def compare_formats(n_posts: int, languages: list[str], repeat: int = 3) -> None:
    """`inspect --json` on the same posts as JSON, English HTML and localised HTML exports."""
    posts = big_export_posts(n_posts, media_per_post=2.5)
    with tempfile.TemporaryDirectory() as tmp:
        exports = {"JSON (new layout)": Path(tmp, "json")}
        write_meta_json(exports["JSON (new layout)"], posts, "new", posts_per_file=5000, link_duplicates=True)
        for language in ["en", *languages]:
            folder = Path(tmp, f"html-{language}")
            _link_media(exports["JSON (new layout)"], folder)
            write_html_export(folder, posts, "2025", posts_per_page=5000,
                              language=None if language == "en" else language)
            exports[f"HTML, dates in '{language}'"] = folder
        times: dict[str, list[float]] = {name: [] for name in exports}
        peaks: dict[str, float] = {}
        for _ in range(repeat):  # rounds interleave the exports, so a busy machine hits all alike
            for name, folder in exports.items():
                seconds, peaks[name], out = run([*PINDAH, "inspect", str(folder), "--json"])
                assert json.loads(out)["posts"] == n_posts, name
                times[name].append(seconds)
        print(f"{'export of ' + str(n_posts) + ' posts':<34}{'inspect s':>11}{'peak MB':>9}{'x JSON':>8}")
        first = statistics.median(next(iter(times.values())))
        for name, samples in times.items():
            seconds = statistics.median(samples)
            print(f"{name:<34}{seconds:>11.2f}{peaks[name]:>9.0f}{seconds / first:>8.2f}")
        print(f"each row: median of {repeat} runs of `pindah inspect <export> --json` in a child process; "
              f"every export reads all {n_posts} posts")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--zip", action="store_true", help="also measure the same export as one ZIP")
    parser.add_argument("--formats", action="store_true",
                        help="compare JSON, English HTML and localised HTML exports of the same posts")
    parser.add_argument("--languages", default="ru,pt,ja,ar_EG", help="languages for --formats (CLDR codes)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per export for --formats and for the zip/folder ratio of --zip (median shown)")
    args = parser.parse_args()
    if args.formats:
        compare_formats(args.posts, [lang for lang in args.languages.split(",") if lang], args.repeat)
        return
    pindah = PINDAH
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in sorted({max(1, args.posts // 10), args.posts}):
            folder = Path(tmp, f"export-{n}")
            t0 = time.perf_counter()
            build(n, folder)
            built = time.perf_counter() - t0
            media = sum(len(f) for _, _, f in os.walk(folder / "media"))
            base_s, base_mb, _ = run([sys.executable, "-c", BASELINE, str(folder)])
            summ_s, summ_mb, out = run([*pindah, "inspect", str(folder), "--json"])
            summary = json.loads(out)
            post_s, post_mb, lines = run([*pindah, "inspect", str(folder), "--posts"])
            assert summary["posts"] == n and len(lines.splitlines()) == n
            rows.append((f"folder {n} posts / {media} media", base_s, summ_s, post_s, summ_mb, post_mb))
            print(f"built {n} posts in {built:.1f}s", file=sys.stderr)
            if args.zip and n == args.posts:
                zpath = zip_folder(folder, Path(tmp, f"export-{n}.zip"))
                summ_s, summ_mb, _ = run([*pindah, "inspect", str(zpath), "--json"])
                post_s, post_mb, _ = run([*pindah, "inspect", str(zpath), "--posts"])
                rows.append((f"zip {n} posts / {media} media", base_s, summ_s, post_s, summ_mb, post_mb))
        print(f"{'export':<34}{'baseline s':>11}{'inspect s':>11}{'--posts s':>11}"
              f"{'x baseline':>11}{'peak MB':>9}{'--posts MB':>11}")
        for name, base_s, summ_s, post_s, summ_mb, post_mb in rows:
            print(f"{name:<34}{base_s:>11.2f}{summ_s:>11.2f}{post_s:>11.2f}{summ_s / base_s:>11.1f}"
                  f"{summ_mb:>9.0f}{post_mb:>11.0f}")
        print("baseline = json.load of every posts file + os.walk, in a child process; "
              "peak MB = the child's own maximum RSS")
        if args.zip:
            compare_zip(Path(tmp, f"export-{args.posts}"), Path(tmp, f"export-{args.posts}.zip"),
                        args.posts, args.repeat)


def compare_zip(folder: Path, zpath: Path, n_posts: int, repeat: int) -> None:
    """`inspect --posts` on the folder and the ZIP, interleaved, median of `repeat` rounds each:
    one run of each on a shared machine says more about the neighbours than about pindah."""
    times: dict[str, list[float]] = {"folder": [], "zip": []}
    for _ in range(repeat):
        for name, path in (("folder", folder), ("zip", zpath)):
            seconds, _, lines = run([*PINDAH, "inspect", str(path), "--posts"])
            assert len(lines.splitlines()) == n_posts, name
            times[name].append(seconds)
    folder_s, zip_s = (statistics.median(times[name]) for name in ("folder", "zip"))
    print(f"inspect --posts, median of {repeat} interleaved runs: folder {folder_s:.2f} s, zip {zip_s:.2f} s; "
          f"zip / folder = {zip_s / folder_s:.2f}×")

if __name__ == "__main__":
    main()

"""How fast pindah publishes to Bluesky, end to end, against raw uploadBlob/createRecord loops.

Run: `python bench/bluesky_speed.py [--posts N] [--images K] [--rounds R]`. It starts the
reference PDS on 127.0.0.1 (tests/bluesky_pds.py, installing its npm packages on first use) with
rate limits off, so that neither side waits for a budget, writes an export of N posts (a caption
with emoji, a hashtag and a link, and K photo-like 1080×1350 JPEGs each, default 2), warms the
server up untimed (60 uploads and creates in a spare account), runs `pindah plan` once, untimed
(the dry run an artist makes first: it prepares every image into the media cache, so the timed
run uploads already-prepared bytes, as the raw loops do), then, R times, each in new accounts:

  (a) pindah: `pindah migrate EXPORT --to bluesky:A` in a subprocess (the installed command's
      own entry point, with Python's bytecode cache on as an installed package has it; the
      untimed dry run fills it), with an empty journal and
      the media cache the dry run filled: process start-up, login, reading the export,
      planning, uploadBlob, createRecord, the journal written before and after every call,
      and the HTML report;
  (b) raw createRecord: the very records pindah wrote (read back from A), created again in a
      plain loop on one `requests.Session` in account B, whose repository already holds
      the same blobs (uploaded before the clock starts): the least a client can do;
  (c) raw uploadBlob + createRecord: the same loop in account C, uploading the prepared bytes
      first: the same wire work as pindah, nothing else.

The three run one after the other in every round (the machine's load changes slowly, so each
round compares like with like); it prints each round and the best of every kind, posts/second,
and pindah's ratio to (b) and (c) (best against best). `--cold` also times a run whose media
cache starts empty (media preparation included), for information.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import painting_jpeg
from tests.bluesky_pds import LocalPds
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

T0 = 1_546_300_800  # 2019-01-01


def photo(seed: int) -> bytes:
    """A 1080×1350 stand-in for an Instagram photo."""
    return painting_jpeg(seed, (1080, 1350))


def build_export(root: Path, posts: int, images: int) -> None:
    synth = [SynthPost(T0 + i * 86400, f"Study {i} 🌿 #dailysketch https://rina.art/studies/{i}",
                       [SynthMedia() for _ in range(images)]) for i in range(posts)]
    write_meta_json(root, synth, media_content=lambda post, index, media: photo(post.taken_at + index))


class Raw:
    """The minimal client: one session, one bearer token, no checks, no journal."""

    def __init__(self, pds: LocalPds, handle: str, password: str) -> None:
        self.base = pds.url + "/xrpc/"
        self.http = requests.Session()
        login = self.http.post(self.base + "com.atproto.server.createSession",
                               json={"identifier": handle, "password": password}, timeout=30)
        login.raise_for_status()
        self.did = login.json()["did"]
        self.http.headers["Authorization"] = f"Bearer {login.json()['accessJwt']}"

    def upload(self, data: bytes, mime: str) -> dict[str, Any]:
        answer = self.http.post(self.base + "com.atproto.repo.uploadBlob", data=data,
                                headers={"Content-Type": mime}, timeout=60)
        answer.raise_for_status()
        return answer.json()["blob"]

    def create(self, record: dict[str, Any]) -> None:
        answer = self.http.post(self.base + "com.atproto.repo.createRecord", timeout=60, json={
            "repo": self.did, "collection": "app.bsky.feed.post", "record": record})
        answer.raise_for_status()


def warm_up(pds: LocalPds, account: Any, rounds: int = 60) -> None:
    """Untimed uploads and creates first: a fresh Node process runs slowly until its JIT has
    compiled the hot paths, and whichever side went first would pay for that."""
    raw = Raw(pds, account.handle, account.app_password)
    for i in range(rounds):
        blob = raw.upload(photo(10_000 + i), "image/jpeg")
        raw.create({"$type": "app.bsky.feed.post", "text": f"warm-up {i} #x", "createdAt": "2019-01-01T00:00:00.000Z",
                    "embed": {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": ""}]}})


def blobs_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    embed = record.get("embed") or {}
    return [item["image"] for item in embed.get("images", [])]


def pindah_run(export: Path, env: dict[str, str], handle: str, *extra: str) -> float:
    """`pindah migrate` in a subprocess (the `pindah` command's entry point), timed."""
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "migrate", str(export), "--to", f"bluesky:{handle}",
                          *extra],
                         env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"pindah failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    return seconds


def one_round(pds: LocalPds, export: Path, work: Path, env: dict[str, str], n: int, name: str) -> dict[str, float]:
    """(a), (b) and (c) once, in three new accounts; the seconds each took."""
    a, b, c = (pds.create_account(f"{name}{side}") for side in "abc")
    run_env = env | {"PINDAH_STATE_DIR": str(work / f"state-{name}"), "PINDAH_BLUESKY_APP_PASSWORD": a.app_password}
    took = {"pindah": pindah_run(export, run_env, a.handle)}
    records = [r["value"] for r in sorted(pds.list_records(a.did), key=lambda r: r["value"]["createdAt"])]
    assert len(records) == n, f"pindah made {len(records)} records for {n} posts"
    blob_bytes = {blob["ref"]["$link"]: pds.get_blob(a.did, blob["ref"]["$link"])
                  for record in records for blob in blobs_of(record)}

    # (b) account B already holds the blobs (uploaded untimed): createRecord only.
    raw_b = Raw(pds, b.handle, b.app_password)
    for cid, data in blob_bytes.items():
        assert raw_b.upload(data, "image/jpeg")["ref"]["$link"] == cid
    started = time.perf_counter()
    for record in records:
        raw_b.create(record)
    took["create"] = time.perf_counter() - started

    # (c) account C: upload the same bytes, then create: pindah's wire work, bare.
    raw_c = Raw(pds, c.handle, c.app_password)
    started = time.perf_counter()
    for record in records:
        for blob in blobs_of(record):
            raw_c.upload(blob_bytes[blob["ref"]["$link"]], blob["mimeType"])
        raw_c.create(record)
    took["upload+create"] = time.perf_counter() - started
    assert len(pds.list_records(b.did)) == len(pds.list_records(c.did)) == n
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--images", type=int, default=2, choices=range(1, 5), metavar="1-4",
                        help="images per post (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat (a), (b), (c) and keep the best of each")
    parser.add_argument("--cold", action="store_true", help="also time one run with an empty media cache")
    args = parser.parse_args(argv)
    n = args.posts

    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        work = Path(tmp)
        export = work / "export"
        build_export(export, n, args.images)
        pds = LocalPds(work / "pds", rate_limits=False).start()
        try:
            warm_up(pds, pds.create_account("warmup"))
            # pip compiles an installed package's bytecode; a sandbox may forbid writing it
            # (PYTHONDONTWRITEBYTECODE): keep this run's own cache in its work folder instead.
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("PINDAH_") and k != "PYTHONDONTWRITEBYTECODE"} | {
                "PYTHONPYCACHEPREFIX": str(work / "pycache"),
                "PINDAH_CACHE_DIR": str(work / "cache"), "XDG_CONFIG_HOME": str(work / "config"),
                "PYTHONPATH": str(ROOT), "PINDAH_BLUESKY_PDS": pds.url}
            cold = None
            if args.cold:  # before the dry run: nothing is prepared yet
                acct = pds.create_account("cold")
                cold = pindah_run(export, env | {"PINDAH_STATE_DIR": str(work / "state-cold"),
                                                 "PINDAH_BLUESKY_APP_PASSWORD": acct.app_password}, acct.handle)
            dry = pds.create_account("dry")
            prep = pindah_run(export, env | {"PINDAH_STATE_DIR": str(work / "state-dry"),
                                             "PINDAH_BLUESKY_APP_PASSWORD": dry.app_password}, dry.handle, "--dry-run")
            rounds = [one_round(pds, export, work, env, n, f"r{i}") for i in range(args.rounds)]
        finally:
            pds.stop()

    print(f"{n} posts, {args.images} image(s) each, local PDS {pds.info['pdsVersion']} on Node {pds.info['node']}")
    print(f"  untimed dry run (prepares every image into the cache): {prep:.2f} s")
    if cold is not None:
        print(f"  pindah migrate with an empty media cache: {cold:.2f} s  {n / cold:.1f} posts/s (preparation included)")
    for i, took in enumerate(rounds):
        print(f"  round {i + 1}: (a) {took['pindah']:.2f} s  (b) {took['create']:.2f} s  (c) {took['upload+create']:.2f} s"
              f"  a/c {took['upload+create'] / took['pindah']:.2f}")
    best = {kind: min(took[kind] for took in rounds) for kind in rounds[0]}
    rate = {kind: n / seconds for kind, seconds in best.items()}
    print(f"best of {len(rounds)}:")
    print(f"  (a) pindah migrate, end to end     {best['pindah']:7.2f} s  {rate['pindah']:7.1f} posts/s")
    print(f"  (b) raw createRecord loop          {best['create']:7.2f} s  {rate['create']:7.1f} posts/s")
    print(f"  (c) raw uploadBlob + createRecord  {best['upload+create']:7.2f} s  {rate['upload+create']:7.1f} posts/s")
    print(f"  ratio pindah / raw createRecord:          {rate['pindah'] / rate['create']:.2f}")
    print(f"  ratio pindah / raw uploadBlob+createRecord: {rate['pindah'] / rate['upload+create']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How fast pindah publishes to Bluesky, end to end, against raw createRecord calls.

Run: `python bench/bluesky_speed.py [--posts N] [--images K]`. It starts the reference PDS on
127.0.0.1 (tests/bluesky_pds.py, installing its npm packages on first use) with rate limits
off, so that neither side waits for a budget, writes an export of N posts (a caption with
emoji, a hashtag and a link, and K photo-like 1080×1350 JPEGs each, default 1), warms the
server up untimed (60 uploads and creates in a fourth account), then times in the same run:

  (a) pindah: `pindah migrate EXPORT --to bluesky:A` in a subprocess, with an empty media
      cache and journal: start-up, reading the export, planning, preparing every image,
      uploadBlob, createRecord, and the journal written before and after every call;
  (b) raw createRecord: the very records pindah wrote (read back from A), created again in a
      plain loop on one `requests.Session` in account B, whose repository already holds
      the same blobs (uploaded before the clock starts): the least a client can do;
  (c) raw uploadBlob + createRecord: the same loop in account C, uploading the prepared bytes
      first: the same wire work as pindah, nothing else.

and prints posts/second for each and pindah's ratio to (b) and (c).
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
from tests.chaos_support import CHILD

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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--images", type=int, default=1, choices=range(1, 5), metavar="1-4",
                        help="images per post (an Instagram post always has one)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pindah-bench-") as tmp:
        work = Path(tmp)
        export = work / "export"
        build_export(export, args.posts, args.images)
        pds = LocalPds(work / "pds", rate_limits=False).start()
        try:
            a, b, c, warm = (pds.create_account(name) for name in ("bencha", "benchb", "benchc", "warmup"))
            warm_up(pds, warm)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")} | {
                "PINDAH_STATE_DIR": str(work / "state"), "PINDAH_CACHE_DIR": str(work / "cache"),
                "XDG_CONFIG_HOME": str(work / "config"), "PYTHONPATH": str(ROOT),
                "PINDAH_BLUESKY_PDS": pds.url, "PINDAH_BLUESKY_APP_PASSWORD": a.app_password}

            started = time.perf_counter()
            run = subprocess.run([sys.executable, str(CHILD), "migrate", str(export), "--to", f"bluesky:{a.handle}"],
                                 env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            pindah_s = time.perf_counter() - started
            if run.returncode != 0:
                print(run.stdout, run.stderr, file=sys.stderr)
                return 1
            records = [r["value"] for r in sorted(pds.list_records(a.did), key=lambda r: r["value"]["createdAt"])]
            assert len(records) == args.posts, f"pindah made {len(records)} records for {args.posts} posts"
            blob_bytes = {blob["ref"]["$link"]: pds.get_blob(a.did, blob["ref"]["$link"])
                          for record in records for blob in blobs_of(record)}

            # (b) account B already holds the blobs (uploaded untimed): createRecord only.
            raw_b = Raw(pds, b.handle, b.app_password)
            for cid, data in blob_bytes.items():
                assert raw_b.upload(data, "image/jpeg")["ref"]["$link"] == cid
            started = time.perf_counter()
            for record in records:
                raw_b.create(record)
            create_s = time.perf_counter() - started

            # (c) account C: upload the same bytes, then create: pindah's wire work, bare.
            raw_c = Raw(pds, c.handle, c.app_password)
            started = time.perf_counter()
            for record in records:
                for blob in blobs_of(record):
                    raw_c.upload(blob_bytes[blob["ref"]["$link"]], blob["mimeType"])
                raw_c.create(record)
            upload_create_s = time.perf_counter() - started
            assert len(pds.list_records(b.did)) == len(pds.list_records(c.did)) == args.posts
        finally:
            pds.stop()

    n = args.posts
    rate = {name: n / seconds for name, seconds in
            (("pindah", pindah_s), ("create", create_s), ("upload+create", upload_create_s))}
    print(f"{n} posts, {args.images} image(s) each, local PDS {pds.info['pdsVersion']} on Node {pds.info['node']}")
    print(f"  (a) pindah migrate, end to end     {pindah_s:7.2f} s  {rate['pindah']:7.1f} posts/s")
    print(f"  (b) raw createRecord loop          {create_s:7.2f} s  {rate['create']:7.1f} posts/s")
    print(f"  (c) raw uploadBlob + createRecord  {upload_create_s:7.2f} s  {rate['upload+create']:7.1f} posts/s")
    print(f"  ratio pindah / raw createRecord:          {rate['pindah'] / rate['create']:.2f}")
    print(f"  ratio pindah / raw uploadBlob+createRecord: {rate['pindah'] / rate['upload+create']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

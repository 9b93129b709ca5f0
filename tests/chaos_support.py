"""Shared by the chaos, fault, secrets and concurrency tests: a recognisable export, running the
CLI in children, SIGKILLing them at chosen points, and reading targets back.

Every image of `chaos_export` has its own pixel size and every video its own bytes, so what a
target holds can be traced back to the exact source file and its position in the carousel:
"media attached in order" is checked on the bytes the server serves, not on pindah's journal.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from pindah.adapters.toolkit.mp4 import strip_user_data
from pindah.migrator.planner import PlanOptions, PostPlan, plan_posts
from pindah.migrator.sources import read_export
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "tests" / "chaos_run.py"
VIDEO = ROOT / "tests" / "exportbuilder" / "assets" / "sample-loop.mp4"
T0 = 1_420_000_000  # 2014-12-31

LONG = ("Ink, then wash, then ink again: the long way round, every evening for a month. "
        "Each layer has to dry before the next one goes on, so the piece grows slowly. ")


# -- the export ---------------------------------------------------------------------------------
@dataclass
class ChaosExport:
    root: Path
    posts: list[SynthPost]
    identity: dict[str, tuple[str, Any]] = field(default_factory=dict)  # export path -> ("image", (w, h)) | ("video", n)

    @property
    def media_count(self) -> int:
        return sum(len(p.media) for p in self.posts)


def video_bytes(n: int) -> bytes:
    """The sample clip plus a `free` box holding n: still a valid MP4, with bytes of its own."""
    payload = f"pindah-chaos-video-{n}".encode()
    return VIDEO.read_bytes() + struct.pack(">I", 8 + len(payload)) + b"free" + payload


def chaos_export(root: Path, n_posts: int, *, seed: int = 8) -> ChaosExport:
    """`n_posts` feed posts: single images, carousels up to 10 (threads on Bluesky), long captions
    (threads everywhere), videos alone and inside carousels, two posts in the same second."""
    rng = random.Random(seed)
    posts: list[SynthPost] = []
    serial = [0]

    def image() -> SynthMedia:
        serial[0] += 1
        k = serial[0]
        return SynthMedia("jpg", width=16 + k % 97, height=12 + k // 97)

    def video() -> SynthMedia:
        serial[0] += 1
        return SynthMedia("mp4", name=f"AQchaosvideo{serial[0]:05d}")

    for i in range(n_posts):
        shape = i % 10
        taken = T0 + i * 7 * 3600 + (0 if i != 12 else -7 * 3600)  # posts 11 and 12: same second
        caption = f"Piece {i} from the studio #chaos{i % 5}"
        if shape == 3:
            media = [image() for _ in range(rng.randint(5, 10))]
        elif shape == 6:
            caption = f"Process notes {i}. " + LONG * 4 + "#process"
            media = [image(), image()]
        elif shape == 8:
            media = [video()]
        elif shape == 9:
            media = [image(), video(), image()]
            caption = f"Clip and stills {i} " + LONG * 2
        else:
            media = [image() for _ in range(1 + i % 3)]
        posts.append(SynthPost(taken, caption, media))

    videos: dict[int, bytes] = {}

    def content(post: SynthPost, index: int, media: SynthMedia) -> bytes:
        if media.is_video:
            return videos.setdefault(id(media), video_bytes(int(media.name[-5:])))  # type: ignore[index]
        img = Image.new("RGB", (media.width, media.height), ((media.width * 7) % 256, (media.height * 13) % 256, 90))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90)
        return out.getvalue()

    rows = write_meta_json(root, posts, media_content=content)
    export = ChaosExport(root, posts)
    for post, row in zip(posts, rows):
        for media, item in zip(post.media, row["media"]):
            export.identity[item["path"]] = identity_of(videos[id(media)]) if media.is_video \
                else ("image", (media.width, media.height))
    return export


def plans_for(export_root: Path, caps: Any, options: PlanOptions = PlanOptions()) -> list[PostPlan]:
    with read_export([export_root]) as exp:
        return plan_posts(exp.posts, caps, options)


def identity_of(data: bytes) -> tuple[str, Any]:
    """What a file served by a target is: ("image", pixel size) or ("video", bytes with their
    user-data boxes blanked, as pindah sends them: location and device data never leave)."""
    if data[4:8] == b"ftyp":
        with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
            tmp.write(data)
            tmp.flush()
            strip_user_data(Path(tmp.name))  # idempotent: a sent file comes back the same
            return ("video", Path(tmp.name).read_bytes())
    with Image.open(io.BytesIO(data)) as img:
        return ("image", img.size)


# -- running the CLI ---------------------------------------------------------------------------
def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(tmp / "state"), "PINDAH_CACHE_DIR": str(tmp / "cache"),
            "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp / "config"),
            "PINDAH_MASTODON_TOKEN_STORE": "file", "PYTHONDONTWRITEBYTECODE": "1",
            "CHAOS_UNLIMITED": "1"}
    return env | extra


def run(args: list[str], env: dict[str, str], *, timeout: float = 600,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False, cwd=cwd)


def clean_failure(done: subprocess.CompletedProcess[str]) -> None:
    """A run that did not finish must still end the way the README promises: a known exit code,
    one 'Error:' line, never a traceback."""
    text = done.stdout + done.stderr
    assert "Traceback" not in text, text[-3000:]
    assert done.returncode in (0, 1, 3), f"exit {done.returncode}:\n{text[-3000:]}"


@dataclass
class KillLog:
    random: int = 0
    after_create: int = 0
    after_upload: int = 0
    missed: int = 0  # a planned kill that found the run already finished

    @property
    def total(self) -> int:
        return self.random + self.after_create + self.after_upload


def kill_and_resume(args: list[str], env: dict[str, str], *, kills: int, work: int, rng: random.Random,
                    progress: Path, deadline: float, slow_ms: int = 10) -> KillLog:
    """SIGKILL `kills` runs of `pindah args` and leave the rest to the caller's final run.

    Kills are spread over the whole migration: the k-th waits until the k-th slice of the remote
    calls (`work` = uploads + creates planned) has started, then a random 0-40 ms more. Every
    fourth kill instead dies right after a create returned (before the journal heard of it),
    every fourth+2 right after an upload."""
    log = KillLog()
    for k in range(kills):
        if time.monotonic() > deadline:
            raise AssertionError(f"the chaos loop ran out of time after {log.total} kills")
        if k % 4 == 1:
            done = run(args, env | {"CRASH_AFTER_CREATE": str(rng.randint(1, 3))},
                       timeout=max(10.0, deadline - time.monotonic()))
            if done.returncode == -signal.SIGKILL:
                log.after_create += 1
            else:
                clean_failure(done)
                log.missed += 1
            continue
        if k % 4 == 3:
            done = run(args, env | {"CRASH_AFTER_UPLOAD": str(rng.randint(1, 4))},
                       timeout=max(10.0, deadline - time.monotonic()))
            if done.returncode == -signal.SIGKILL:
                log.after_upload += 1
            else:
                clean_failure(done)
                log.missed += 1
            continue
        threshold = max(1, int(work * (k + 1) / (kills + 1)))
        proc = subprocess.Popen([sys.executable, str(CHILD), *args],
                                env=env | {"CHAOS_PROGRESS": str(progress), "SLOW_MS": str(slow_ms)},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while proc.poll() is None and _progress(progress) < threshold:
                if time.monotonic() > deadline:
                    raise AssertionError("a chaos run did not progress in time")
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.04))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                log.random += 1
            else:
                log.missed += 1
        finally:
            if proc.poll() is None:  # the loop gave up: never leave our child running
                proc.kill()
            _, err = proc.communicate(timeout=60)
        if proc.returncode != -signal.SIGKILL:
            assert "Traceback" not in err.decode(errors="replace"), err.decode(errors="replace")[-3000:]
    return log


def _progress(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def finish(args: list[str], env: dict[str, str], *, attempts: int = 4) -> subprocess.CompletedProcess[str]:
    """What the README tells the artist: run the same command again until it ends with exit 0;
    after an exit 1 (posts failed, e.g. a server that kept failing past the retries) run
    `pindah retry-failed` with the same export and --to. A stopped run (exit 3) is resumed."""
    command = list(args)
    for _ in range(attempts):
        done = run(command, env)
        clean_failure(done)
        if done.returncode == 0 and command[0] == args[0]:
            return done
        command = ["retry-failed", *args[1:]] if done.returncode == 1 else list(args)
    raise AssertionError(f"no clean finish after {attempts} runs:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


# -- reading targets back -------------------------------------------------------------------------
@dataclass
class Tally:
    """What a read-back found, in the issue's words."""

    expected_posts: int = 0
    expected_parts: int = 0
    lost: list[str] = field(default_factory=list)  # part keys missing on the target
    duplicates: int = 0  # records/statuses beyond one per planned part
    unknown: int = 0  # things on the target no plan explains
    wrong: list[str] = field(default_factory=list)  # text, thread or media order differences

    def assert_exactly_once(self) -> None:
        assert not self.lost, f"{len(self.lost)} parts lost: {self.lost[:10]}"
        assert self.duplicates == 0, f"{self.duplicates} duplicates"
        assert self.unknown == 0, f"{self.unknown} unexplained items on the target"
        assert not self.wrong, "\n".join(self.wrong[:20])


def check_bluesky(pds: Any, did: str, plans: list[PostPlan], export: ChaosExport, *,
                  blobs: bool = True) -> Tally:
    """Every planned part exactly once under its derived record key, with its text, its place in
    the thread and its media (downloaded back) in carousel order."""
    from pindah.adapters.bluesky_record import derive_rkey

    records = pds.list_records(did)
    tally = Tally(len(plans), sum(len(p.parts) for p in plans))
    by_rkey: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_rkey.setdefault(record["uri"].rsplit("/", 1)[1], []).append(record)
    expected = {derive_rkey(part.key, part.created_at): (plan, part) for plan in plans for part in plan.parts}
    want_texts = Counter(part.text for plan in plans for part in plan.parts)
    got_texts = Counter(r["value"]["text"] for r in records)
    # A part made twice shows as its text twice, whatever record key the second copy got.
    tally.duplicates = sum(max(0, n - want_texts[t]) for t, n in got_texts.items() if t in want_texts)
    tally.unknown = sum(1 for r in records if r["uri"].rsplit("/", 1)[1] not in expected
                        and r["value"]["text"] not in want_texts)
    blob_cache: dict[str, bytes] = {}
    for plan in plans:
        previous = None
        for part in plan.parts:
            rkey = derive_rkey(part.key, part.created_at)
            found = by_rkey.get(rkey)
            if not found:
                tally.lost.append(part.key)
                previous = None
                continue
            value = found[0]["value"]
            if value["text"] != part.text:
                tally.wrong.append(f"{part.key}: text {value['text'][:60]!r} != {part.text[:60]!r}")
            if part.index and previous is not None:
                parent = (value.get("reply") or {}).get("parent", {}).get("uri")
                if parent != previous:
                    tally.wrong.append(f"{part.key}: replies to {parent}, not to part {part.index - 1}")
            previous = found[0]["uri"]
            want = [export.identity[plan.post.media[i].path] for i in part.media]
            embed = value.get("embed") or {}
            cids = [im["image"]["ref"]["$link"] for im in embed.get("images", [])]
            if "video" in embed:
                cids = [embed["video"]["ref"]["$link"]]
            if len(cids) != len(want):
                tally.wrong.append(f"{part.key}: {len(cids)} media on the target, {len(want)} planned")
                continue
            if blobs:
                got = []
                for cid in cids:
                    if cid not in blob_cache:
                        blob_cache[cid] = pds.get_blob(did, cid)
                    got.append(identity_of(blob_cache[cid]))
                if got != want:
                    tally.wrong.append(f"{part.key}: media {[g[1] if g[0] == 'image' else 'video' for g in got]} "
                                       f"!= planned {[w[1] if w[0] == 'image' else 'video' for w in want]}")
    return tally


def check_mastodon(server: Any, plans: list[PostPlan], export: ChaosExport) -> Tally:
    """The simulated server's statuses: each planned part exactly once, found by its exact text
    under the part it replies to (media-only parts of different threads may share a text like
    "(2/3)"), with the uploaded files (as the server received them) in carousel order."""
    from pindah.adapters.mastodon_status import restore_mentions

    statuses = server.statuses()
    tally = Tally(len(plans), sum(len(p.parts) for p in plans))
    under: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for status in sorted(statuses, key=lambda s: s["created_at"]):
        under.setdefault((status["in_reply_to_id"], restore_mentions(status["text"])), []).append(status)
    used: set[str] = set()
    for plan in plans:
        previous: str | None = None
        for part in plan.parts:
            found = under.get((previous if part.index else None, part.text), [])
            if not found or (part.index and previous is None):
                tally.lost.append(part.key)
                previous = None
                continue
            status = found[0]
            used.update(s["id"] for s in found)
            tally.duplicates += len(found) - 1
            previous = status["id"]
            want = [export.identity[plan.post.media[i].path] for i in part.media]
            got = [identity_of(server.upload_of(mid)) for mid in status["media"]]
            if got != want:
                tally.wrong.append(f"{part.key}: media {len(got)} {[g[1] if g[0] == 'image' else 'video' for g in got]}"
                                   f" != planned {[w[1] if w[0] == 'image' else 'video' for w in want]}")
    texts = {part.text for plan in plans for part in plan.parts}
    for status in statuses:
        if status["id"] not in used:
            if restore_mentions(status["text"]) in texts:
                tally.duplicates += 1
            else:
                tally.unknown += 1
    return tally


# -- the journal ---------------------------------------------------------------------------------
POST_STATES = {"planned", "posted", "failed", "skipped"}
PART_STATES = {"planned", "posting", "posted", "failed", "deleted"}
MEDIA_STATES = {"planned", "uploading", "uploaded", "failed", "skipped"}


def journal_problems(state_dir: Path, *, finished: bool) -> list[str]:
    """Every row of every journal in a legal state (opened read-only with sqlite3 itself).
    `finished`: the last run ended normally, so nothing may be left half-way."""
    problems: list[str] = []
    for path in sorted(state_dir.rglob("*.sqlite")):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                problems.append(f"{path.name}: integrity_check failed")
            posts = {r[0]: r for r in db.execute("SELECT post_id, state, reason FROM posts")}
            media_rows = db.execute("SELECT post_id, idx, state, remote_id, reason FROM media").fetchall()
            media_by_post: dict[str, dict[int, str]] = {}
            for post_id, idx, state, remote, reason in media_rows:
                media_by_post.setdefault(post_id, {})[idx] = state
                if post_id not in posts:
                    problems.append(f"media {post_id}/{idx}: no such post")
                if state not in MEDIA_STATES:
                    problems.append(f"media {post_id}/{idx}: illegal state {state!r}")
                if state == "uploaded" and not remote:
                    problems.append(f"media {post_id}/{idx}: uploaded without a remote id")
                if state in ("skipped", "failed") and not reason:
                    problems.append(f"media {post_id}/{idx}: {state} without a reason")
                if finished and state == "uploading":
                    problems.append(f"media {post_id}/{idx}: left 'uploading' by a finished run")
            parts_by_post: dict[str, list[tuple[int, str, list[int]]]] = {}
            for post_id, idx, state, remote, media in db.execute(
                    "SELECT post_id, idx, state, remote_id, media FROM parts"):
                try:
                    indexes = json.loads(media)
                    assert isinstance(indexes, list) and all(isinstance(i, int) for i in indexes)
                except (ValueError, AssertionError):
                    problems.append(f"part {post_id}#{idx}: media column {media!r} is not a list of indexes")
                    indexes = []
                parts_by_post.setdefault(post_id, []).append((idx, state, indexes))
                if post_id not in posts:
                    problems.append(f"part {post_id}#{idx}: no such post")
                if state not in PART_STATES:
                    problems.append(f"part {post_id}#{idx}: illegal state {state!r}")
                if state == "posted" and not remote:
                    problems.append(f"part {post_id}#{idx}: posted without a remote id")
                if finished and state == "posting":
                    problems.append(f"part {post_id}#{idx}: left 'posting' by a finished run")
                missing = [i for i in indexes if i not in media_by_post.get(post_id, {})]
                if missing:
                    problems.append(f"part {post_id}#{idx}: names media {missing} the journal does not have")
            for post_id, (_, state, reason) in posts.items():
                if state not in POST_STATES:
                    problems.append(f"post {post_id}: illegal state {state!r}")
                if state in ("failed", "skipped") and not reason:
                    problems.append(f"post {post_id}: {state} without a reason")
                if state == "posted":
                    for idx, part_state, indexes in parts_by_post.get(post_id, []):
                        all_skipped = indexes and all(media_by_post[post_id].get(i) == "skipped" for i in indexes)
                        if part_state != "posted" and not (part_state == "planned" and all_skipped):
                            problems.append(f"post {post_id} is posted but its part {idx} is {part_state!r}")
        finally:
            db.close()
    return problems

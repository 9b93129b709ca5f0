"""Shared by the chaos, conformance, secrets and concurrency tests: a recognisable export, running the
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from pindah.adapters.bluesky import BlueskyAdapter
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


def bluesky_case(pds: Any, tmp_path: Path, n_posts: int, *, seed: int,
                 name: str) -> tuple[ChaosExport, Any, list[PostPlan]]:
    """A chaos export in tmp_path/export, a fresh account `name` on the local PDS, and the plans a
    Bluesky run follows for that export (what the read-back is checked against)."""
    export = chaos_export(tmp_path / "export", n_posts, seed=seed)
    return export, pds.create_account(name), plans_for(export.root, BlueskyAdapter.capabilities)


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
    during_call: int = 0  # killed while a remote call was under way
    after_create: int = 0  # the target made the post; the journal never heard
    after_upload: int = 0

    @property
    def total(self) -> int:
        return self.during_call + self.after_create + self.after_upload


def kill_points(kills: int, work: int, rng: random.Random) -> list[dict[str, str]]:
    """Where each of `kills` runs dies, counted in remote calls from that run's start, never in
    seconds. A run resumes where the last one died, so the points add up across the migration:
    each "during a call" kill lets about 1/(kills+2) of the `work` (uploads + creates planned) be
    done first, so the kills spread over the whole migration and work is always left for the
    next one. Every fourth run instead dies right after a create returned (before the journal
    heard of it), every fourth+2 right after an upload."""
    step = max(2, work // (kills + 2))
    points = []
    for k in range(kills):
        if k % 4 == 1:
            points.append({"CRASH_AFTER_CREATE": str(rng.randint(1, 2))})
        elif k % 4 == 3:
            points.append({"CRASH_AFTER_UPLOAD": str(rng.randint(1, 3))})
        else:
            points.append({"KILL_AT_CALL": str(rng.randint(max(1, step // 2), step)),
                           "KILL_DELAY_MS": str(rng.choice((0, 0, 5, 20)))})
    return points


def kill_and_resume(args: list[str], env: dict[str, str], *, kills: int, work: int,
                    rng: random.Random) -> KillLog:
    """SIGKILL `kills` runs of `pindah args` at the points `kill_points` chose; the caller's final
    run finishes the migration. Every run must really die where it was told to: a run that ends
    on its own means the test interrupted nothing, and fails it."""
    log = KillLog()
    for k, point in enumerate(kill_points(kills, work, rng)):
        done = run(args, env | point, timeout=300)
        assert done.returncode == -signal.SIGKILL, (
            f"run {k + 1} ({point}) ended with exit {done.returncode} instead of being killed there"
            f"\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
        if "KILL_AT_CALL" in point:
            log.during_call += 1
        elif "CRASH_AFTER_CREATE" in point:
            log.after_create += 1
        else:
            log.after_upload += 1
    return log


def work_of(plans: list[PostPlan]) -> int:
    """Remote calls a clean run makes: one upload per planned file, one create per part."""
    return sum(len(part.media) + 1 for plan in plans for part in plan.parts)


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

@dataclass
class Published:
    """One post, or one part of a split post, as a target holds it: read back from the target
    itself (records, statuses, the site's files), never from pindah's journal."""

    id: str
    text: str
    parent: str | None  # the id of the part it continues (a reply, or the part before it)
    media: list[bytes] = field(default_factory=list)  # the files as the target serves them, in order


def check_published(published: list[Published], plans: list[PostPlan], export: ChaosExport, *,
                    videos: bool = True) -> Tally:
    """Each planned part exactly once, found by its exact text under the part it continues
    (media-only parts of different threads may share a text like "(2/3)"), with its files in
    carousel order (each source file is recognised by its pixel size or its bytes).
    `videos=False`: the target takes no video, so planned videos are not expected there."""
    tally = Tally(len(plans), sum(len(p.parts) for p in plans))
    under: dict[tuple[str | None, str], list[Published]] = {}
    for item in published:
        under.setdefault((item.parent, item.text), []).append(item)
    used: set[str] = set()
    for plan in plans:
        previous: str | None = None
        for part in plan.parts:
            found = under.get((previous if part.index else None, part.text), [])
            if not found or (part.index and previous is None):
                tally.lost.append(part.key)
                previous = None
                continue
            used.update(item.id for item in found)
            tally.duplicates += len(found) - 1
            previous = found[0].id
            want = [export.identity[plan.post.media[i].path] for i in part.media]
            want = [w for w in want if videos or w[0] == "image"]
            got = [identity_of(data) for data in found[0].media]
            if got != want:
                tally.wrong.append(f"{part.key}: media {_sizes(got)} on the target != planned {_sizes(want)}")
    texts = {part.text for plan in plans for part in plan.parts}
    for item in published:
        if item.id not in used:
            if item.text in texts:
                tally.duplicates += 1
            else:
                tally.unknown += 1
    return tally


def check_bluesky(pds: Any, did: str, plans: list[PostPlan], export: ChaosExport) -> Tally:
    """`check_published` on the records (and blobs) of one account of the reference PDS."""
    from tests.targets.bluesky import read_records

    return check_published(read_records(pds, did), plans, export)


def check_mastodon(server: Any, plans: list[PostPlan], export: ChaosExport) -> Tally:
    """`check_published` on the statuses (and received files) of a simulated Mastodon server."""
    from tests.targets.mastodon import read_statuses

    return check_published(read_statuses(server), plans, export)


def _sizes(media: list[tuple[str, Any]]) -> list[Any]:
    return [m[1] if m[0] == "image" else "video" for m in media]


# -- the journal ---------------------------------------------------------------------------------
POST_STATES = {"planned", "posted", "failed", "skipped"}
PART_STATES = {"planned", "posting", "posted", "failed", "deleted"}
MEDIA_STATES = {"planned", "uploading", "uploaded", "failed", "skipped"}


def _row_problems(where: str, has_post: bool, state: str, legal: set[str], remote: str | None, *,
                  done: str, busy: str, finished: bool) -> list[str]:
    """What a media or a part row can have wrong alike: no post of its own, a state the journal does not
    know, `done` without the remote id, or `busy` (half-way) left behind by a run that ended normally."""
    found = []
    if not has_post:
        found.append(f"{where}: no such post")
    if state not in legal:
        found.append(f"{where}: illegal state {state!r}")
    if state == done and not remote:
        found.append(f"{where}: {done} without a remote id")
    if finished and state == busy:
        found.append(f"{where}: left {busy!r} by a finished run")
    return found


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
                problems += _row_problems(f"media {post_id}/{idx}", post_id in posts, state, MEDIA_STATES,
                                          remote, done="uploaded", busy="uploading", finished=finished)
                if state in ("skipped", "failed") and not reason:
                    problems.append(f"media {post_id}/{idx}: {state} without a reason")
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
                problems += _row_problems(f"part {post_id}#{idx}", post_id in posts, state, PART_STATES,
                                          remote, done="posted", busy="posting", finished=finished)
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

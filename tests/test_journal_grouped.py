"""A run's journal writes are gathered and committed before each remote call and each wait.

What must hold for exactly-once is what another reader (a crash's resume) finds on disk at the
moment a call goes out: this call's "about to" record and every earlier call's outcome. The
checks here read the journal file through a second connection, as a resumed run would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pindah.adapters.contract import Capabilities, PostRequest, RateBudget
from pindah.migrator import journal as J
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.runner import Runner
from pindah.migrator.sources import read_export

from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.fake_target import FakeAdapter, Server

T0 = 1_600_000_000


def on_disk(path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """What a second process would read from the journal file now."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_a_grouped_write_reaches_the_file_at_durable_and_not_before(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal.open(path) as journal:
        with journal.grouped():
            journal.set_meta("resume_at", "later")
            assert J.peek_meta(path).get("resume_at") is None  # gathered, not yet on disk
            assert journal.meta()["resume_at"] == "later"  # but the run itself reads it back
            journal.durable()
            assert J.peek_meta(path)["resume_at"] == "later"
            journal.set_meta("resume_at", "")
        assert J.peek_meta(path)["resume_at"] == ""  # leaving the group commits


def _run(tmp_path: Path, server: Server, caps: Capabilities | None = None, sleep=lambda s: None):
    posts = [SynthPost(T0 + i * 86400, f"Work {i} #art", [SynthMedia() for _ in range(1 + i % 3)]) for i in range(4)]
    write_meta_json(tmp_path / "export", posts)
    adapter = FakeAdapter(server, caps)
    with read_export([tmp_path / "export"]) as exp:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        with Journal.open(tmp_path / "journal.sqlite") as journal:
            outcome = Runner(adapter, journal, tmp_path / "cache", sleep=sleep).run(plans)
            return outcome, journal.counts()


def test_every_call_finds_its_about_to_record_and_every_earlier_outcome_on_disk(tmp_path):
    path = tmp_path / "journal.sqlite"
    seen: list[str] = []

    def check(op: str, arg: object) -> None:
        if op == "upload":  # arg: "<part key>/m<index>"
            key, _, mi = str(arg).rpartition("/m")
            post_id = key.rsplit("#", 1)[0]
            state = on_disk(path, "SELECT state FROM media WHERE post_id=? AND idx=?", (post_id, int(mi)))
            assert state == [(J.UPLOADING,)], f"{arg}: {state} on disk as the upload starts"
        else:
            assert isinstance(arg, PostRequest)
            assert on_disk(path, "SELECT state FROM parts WHERE key=?", (arg.key,)) == [(J.POSTING,)]
            uploaded = on_disk(path, "SELECT count(*) FROM media WHERE post_id=? AND state=?", (arg.post_id, J.UPLOADED))
            assert uploaded == [(len(arg.media),)], "the files this post shows are recorded as uploaded"
        earlier = on_disk(path, "SELECT count(*) FROM posts WHERE state=?", (J.POSTED,))[0][0]
        assert earlier == len(seen), "every post created before this call is recorded as published"
        if op == "create":
            seen.append(arg.key)

    server = Server(fail=lambda op, arg: check(op, arg))
    server_calls = server.calls
    outcome, counts = _run(tmp_path, server)
    assert len(outcome.posted) == 4 and counts == {J.POSTED: 4}
    assert len([c for c in server_calls if c.startswith("create")]) == 4
    assert on_disk(path, "SELECT count(*) FROM posts WHERE state=?", (J.POSTED,)) == [(4,)]


def test_a_run_waiting_for_its_budget_has_everything_done_so_far_on_disk(tmp_path):
    path = tmp_path / "journal.sqlite"
    caps = Capabilities(max_text=300, max_media_per_post=4, image_max_bytes=1_000_000, image_max_side=2000,
                        rate_budgets=(RateBudget("media", 2, 60),))  # waits right after a create
    server = Server()
    waits: list[tuple[float, int]] = []
    clock = [1_000.0]

    def sleep(seconds: float) -> None:
        created = len([c for c in server.calls if c.startswith("create")])
        posted = on_disk(path, "SELECT count(*) FROM posts WHERE state=?", (J.POSTED,))[0][0]
        waits.append((seconds, posted))
        assert posted == created, "a stop during this wait would lose nothing"
        clock[0] += seconds

    posts = [SynthPost(T0 + i * 86400, f"Work {i}", [SynthMedia()]) for i in range(4)]
    write_meta_json(tmp_path / "export", posts)
    adapter = FakeAdapter(server, caps)
    with read_export([tmp_path / "export"]) as exp:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        with Journal.open(path) as journal:
            Runner(adapter, journal, tmp_path / "cache", sleep=sleep, clock=lambda: clock[0]).run(plans)
    assert waits and all(posted >= 2 for _, posted in waits)  # it waited after 2 posts, both on disk
    assert on_disk(path, "SELECT count(*) FROM posts WHERE state=?", (J.POSTED,)) == [(4,)]

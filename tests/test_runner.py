"""The runner against an in-memory target: exactly once, retries, per-post failures, budgets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pindah.adapters.contract import Capabilities, RateBudget
from pindah.migrator import journal as J
from pindah.migrator.errors import RunStopped
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.runner import Runner
from pindah.migrator.sources import read_export
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.fake_target import FakeAdapter, Server, permanent, transient

T0 = 1_600_000_000


def _export(tmp_path: Path, n: int = 5) -> Path:
    posts = [SynthPost(T0 + i * 86400, f"Work {i} #art", [SynthMedia() for _ in range(1 + i % 3)]) for i in range(n)]
    write_meta_json(tmp_path / "export", posts)
    return tmp_path / "export"


def _run(tmp_path: Path, server: Server, caps: Capabilities | None = None, clock=None, **kwargs):
    adapter = FakeAdapter(server, caps)
    with read_export([_export(tmp_path)]) as exp:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        with Journal.open(tmp_path / "state" / "journal.sqlite") as journal:
            extra = {"clock": clock} if clock else {}
            runner = Runner(adapter, journal, tmp_path / "cache", sleep=lambda s: None, **extra, **kwargs)
            outcome = runner.run(plans)
            counts = journal.counts()
    return outcome, counts


def test_every_post_is_published_once_in_order_and_a_rerun_publishes_nothing(tmp_path):
    server = Server()
    outcome, counts = _run(tmp_path, server)
    assert len(outcome.posted) == 5 and counts == {J.POSTED: 5}
    created = [c for c in server.calls if c.startswith("create")]
    assert len(created) == len(server.posts) == 5
    times = [server.posts[c.split()[1]]["created_at"] for c in created]
    assert times == sorted(times)  # oldest first
    again, _ = _run(tmp_path, server)
    assert again.posted == [] and again.already == 5
    assert len([c for c in server.calls if c.startswith("create")]) == 5


def test_transient_failures_are_retried_until_they_succeed(tmp_path):
    failures = iter([transient(), transient(retry_after=2)])
    server = Server(fail=lambda op, arg: next(failures, None) if op == "create" else None)
    outcome, counts = _run(tmp_path, server)
    assert counts == {J.POSTED: 5} and not outcome.failed
    assert len(server.posts) == 5


def test_a_create_that_landed_before_its_answer_was_lost_is_not_posted_twice(tmp_path):
    sent = []

    def fail(op, arg):
        if op == "create" and not sent:
            sent.append(arg.key)
            return transient(after_landing=True)
        return None

    server = Server(fail=fail)
    outcome, _ = _run(tmp_path, server)
    assert len(server.posts) == 5
    assert server.calls.count(f"create {sent[0]}") == 1 and f"find {sent[0]}" in server.calls


def test_a_permanent_failure_fails_only_that_post_and_says_why(tmp_path):
    server = Server(fail=lambda op, arg: permanent() if op == "create" and "Work 2" in arg.text else None)
    outcome, counts = _run(tmp_path, server)
    assert counts == {J.POSTED: 4, J.FAILED: 1}
    assert list(outcome.failed.values()) == ["server answered 422: text too long."]


def test_a_target_that_keeps_failing_stops_the_run_and_retry_failed_brings_the_posts_back(tmp_path):
    server = Server(fail=lambda op, arg: transient())
    outcome, counts = _run(tmp_path, server, max_attempts=2)
    assert outcome.stopped is not None and counts.get(J.FAILED) == 3 and not server.posts
    with Journal.open(tmp_path / "state" / "journal.sqlite") as journal:
        assert journal.reset_failed() == 3
    server.fail = lambda op, arg: None
    outcome, counts = _run(tmp_path, server)
    assert counts == {J.POSTED: 5} and len(server.posts) == 5


def test_an_unknown_outcome_from_a_crash_is_reconciled_with_the_target(tmp_path):
    server = Server()
    _run(tmp_path, server)
    # Simulate a crash after create but before the journal write: the part is "posting".
    with Journal.open(tmp_path / "state" / "journal.sqlite") as journal:
        first = journal.posts()[0].post_id
        journal.post_state(first, J.PLANNED)
        journal.part_posting(first, 0)
    before = [c for c in server.calls if c.startswith("create")]
    _run(tmp_path, server)
    assert [c for c in server.calls if c.startswith("create")] == before  # found, not re-created
    assert f"find {first}#0" in server.calls


def test_a_spent_daily_budget_stops_cleanly_with_the_time_to_continue(tmp_path):
    now = [1_700_000_000.0]
    caps = Capabilities(max_text=300, backdating=True, rate_budgets=(RateBudget("posts", 2, 86400),))
    server = Server()
    outcome, counts = _run(tmp_path, server, caps=caps, clock=lambda: now[0])
    assert isinstance(outcome.stopped, RunStopped) and outcome.stopped.resume_at is not None
    assert len(server.posts) == 2 and counts.get(J.POSTED) == 2
    now[0] += 86400 + 1  # the next day, a new run continues where it stopped
    outcome, counts = _run(tmp_path, server, caps=caps, clock=lambda: now[0])
    assert len(server.posts) == 4 and counts.get(J.POSTED) == 4


def test_journal_is_private_and_a_second_run_on_it_is_refused(tmp_path):
    path = tmp_path / "state" / "j.sqlite"
    with Journal.open(path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        with pytest.raises(RunStopped, match="another pindah run"):
            Journal.open(path)


def test_gps_and_camera_metadata_never_reach_the_target(tmp_path):
    from PIL import Image

    server = Server()
    folder = _export(tmp_path, 1)
    jpg = next((folder / "media").rglob("*.jpg"))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "S", 2: (6.0, 10.0, 31.4), 3: "E", 4: (106.0, 49.0, 38.0)})
    Image.new("RGB", (64, 48), (10, 20, 30)).save(jpg, exif=exif)
    adapter = FakeAdapter(server)
    with read_export([folder]) as exp, Journal.open(tmp_path / "j.sqlite") as journal:
        Runner(adapter, journal, tmp_path / "cache", sleep=lambda s: None).run(plan_posts(exp.posts, adapter.caps))
    (uploaded,) = server.media.values()
    with Image.open(uploaded.path) as img:
        assert not img.getexif().get_ifd(0x8825) and 0x010F not in img.getexif()
    assert b"PhoneMaker" not in uploaded.path.read_bytes()


def test_an_hourly_and_a_daily_budget_of_the_same_name_are_both_kept():
    from pindah.migrator.ratelimit import Pacer

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer((RateBudget("posts", 2, 3600), RateBudget("posts", 3, 86400)), clock=lambda: now[0],
                  sleep=sleep, max_wait=10 * 86400)
    for _ in range(4):
        pacer.acquire("posts")
    # 2 per hour: the third call waits an hour; 3 per day: the fourth waits for the next day.
    assert slept == [3600, 86400 - 3600]


def test_a_thread_part_left_empty_by_refused_files_does_not_break_the_reply_chain(tmp_path):
    write_meta_json(tmp_path / "export", [SynthPost(T0, "nine images", [SynthMedia() for _ in range(9)])])
    files = sorted((tmp_path / "export" / "media").rglob("*.jpg"))
    rows = read_export([tmp_path / "export"]).posts[0].media
    for item in rows[4:8]:  # the whole second part: not images at all
        (tmp_path / "export" / item.path).write_bytes(b"<html>not a picture</html>")
    assert len(files) == 9
    server = Server()
    adapter = FakeAdapter(server)
    with read_export([tmp_path / "export"]) as exp, Journal.open(tmp_path / "j.sqlite") as journal:
        plans = plan_posts(exp.posts, adapter.caps)
        assert [len(p.media) for p in plans[0].parts] == [4, 4, 1]
        Runner(adapter, journal, tmp_path / "cache", sleep=lambda s: None).run(plans)
    first, third = (f"{plans[0].post.id}#0", f"{plans[0].post.id}#2")
    assert set(server.posts) == {first, third}
    assert server.posts[third]["reply_to"] == f"p:{first}"


def test_an_upload_older_than_the_servers_unattached_media_lifetime_is_uploaded_again(tmp_path):
    now = [1_700_000_000.0]
    caps = Capabilities(max_text=300, backdating=True, media_reuse_seconds=3600)
    refuse = [True]
    server = Server(fail=lambda op, arg: permanent() if op == "create" and refuse[0] else None)
    _run(tmp_path, server, caps=caps, clock=lambda: now[0])
    uploads = [c for c in server.calls if c.startswith("upload")]
    with Journal.open(tmp_path / "state" / "journal.sqlite") as journal:
        journal.reset_failed()
    refuse[0] = False
    now[0] += 7200  # two hours later the server has deleted those unattached files
    _run(tmp_path, server, caps=caps, clock=lambda: now[0])
    again = [c for c in server.calls if c.startswith("upload")][len(uploads):]
    assert sorted(again) == sorted(uploads)  # every file sent again, none reused
    assert len(server.posts) == 5


def test_after_the_journal_is_lost_the_posts_already_there_are_found_and_recorded_not_created(tmp_path):
    server = Server()
    first, _ = _run(tmp_path, server)
    assert len(first.posted) == 5 and first.found == []
    assert sum(c.startswith("find") for c in server.calls) <= 3  # a first run looks only a few times
    (tmp_path / "state" / "journal.sqlite").unlink()
    created_before = sum(c.startswith("create") for c in server.calls)
    again, counts = _run(tmp_path, server)
    assert again.posted == [] and len(again.found) == 5 and counts == {J.POSTED: 5}
    assert sum(c.startswith("create") for c in server.calls) == created_before

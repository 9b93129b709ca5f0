"""verify and rollback as engine functions: paced, retried, and never claiming what did not happen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from pindah.adapters.contract import RateBudget, RemoteRef
from pindah.migrator import aftercare, commands
from pindah.migrator import journal as J
from pindah.migrator.engine import Selection, journal_path, make_plans, migrate
from pindah.migrator.errors import PostFailed
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions
from pindah.migrator.sources import read_export
from tests.cli_support import invoke, pindah_group, with_target
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.fake_target import FakeAdapter, Server, transient

T0 = 1_600_000_000
SERVER = Server()  # the remote side of the registered test target, reset per test


class StubbornTarget(FakeAdapter):
    """A fake target whose server answers a delete with 404 and keeps the post (as snac does):
    the adapter reads it back and says so with PostFailed, as the Mastodon adapter does."""

    name = "stubborn"
    example = "stubborn:"
    keep: set[str] = set()  # post keys the server refuses to delete
    lie: set[str] = set()  # post keys whose delete answers "done" while the post stays

    def __init__(self, location: str | None = None, config: dict[str, Any] | None = None) -> None:
        super().__init__(SERVER)

    def delete_post(self, ref: RemoteRef) -> None:
        key = ref.id.removeprefix("p:")
        self.server.calls.append(f"delete {key}")
        error = self.server.fail("delete", key)
        if error:
            raise error
        if key in self.keep:
            raise PostFailed("the post is still on the server: it answered 404 to deleting it but still shows it")
        if key not in self.lie:
            super().delete_post(ref)


@pytest.fixture(autouse=True)
def _registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_target(monkeypatch, tmp_path, StubbornTarget)
    SERVER.posts.clear(), SERVER.media.clear(), SERVER.calls.clear()
    SERVER.fail = lambda op, arg: None
    StubbornTarget.keep, StubbornTarget.lie = set(), set()
    monkeypatch.setattr(StubbornTarget, "capabilities", StubbornTarget.capabilities.refined(
        rate_budgets=(RateBudget("posts", 1000, 3600), RateBudget("deletes", 1000, 3600))))


def _migrated(tmp_path: Path, n: int = 3) -> Path:
    posts = [SynthPost(T0 + i * 86400, f"Work {i} #art", [SynthMedia()]) for i in range(n)]
    write_meta_json(tmp_path / "export", posts)
    adapter = StubbornTarget()
    with read_export([tmp_path / "export"]) as exp:
        outcome, _ = migrate(exp, adapter, make_plans(exp, adapter, Selection(), PlanOptions()))
        path = journal_path(adapter, exp)
    assert len(outcome.posted) == n and len(SERVER.posts) == n
    return path


def _cli(*args: str) -> Result:
    return invoke(pindah_group(commands.register), *args)


def test_rollback_deletes_what_it_reads_back_as_gone_and_the_journal_forgets_only_those(tmp_path: Path) -> None:
    path = _migrated(tmp_path)
    with Journal.open(path) as journal:
        result = aftercare.rollback(StubbornTarget(), journal, sleep=lambda s: None)
        assert journal.counts() == {J.PLANNED: 3}
    assert len(result.deleted) == 3 and not result.still_there and SERVER.posts == {}


def test_a_post_the_server_keeps_after_a_404_is_reported_still_there_and_stays_in_the_journal(tmp_path: Path) -> None:
    path = _migrated(tmp_path)
    stubborn = sorted(SERVER.posts)[1]
    StubbornTarget.keep = {stubborn}
    result = _cli("rollback", "--to", "stubborn", "--yes")
    assert result.exit_code == 1, result.output
    assert "Deleted 2 post(s)" in result.output and "Deleted 3" not in result.output
    assert "the post is still on the server" in result.output and "1 post(s) are still on" in result.output
    assert list(SERVER.posts) == [stubborn]
    with Journal.open(path) as journal:
        known = [p for p in journal.all_parts(J.POSTED)]
        assert [p.key for p in known] == [stubborn] and journal.counts() == {J.PLANNED: 2, J.POSTED: 1}
    # The journal still knows it: verify finds it, and a second rollback tries it again.
    assert _cli("verify", "--to", "stubborn").exit_code == 0
    StubbornTarget.keep = set()
    again = _cli("rollback", "--to", "stubborn", "--yes")
    assert again.exit_code == 0 and "Deleted 1 post(s)" in again.output and SERVER.posts == {}


def test_a_delete_that_answers_done_but_leaves_the_post_is_not_counted_as_deleted(tmp_path: Path) -> None:
    path = _migrated(tmp_path, 2)
    StubbornTarget.lie = {sorted(SERVER.posts)[0]}
    with Journal.open(path) as journal:
        result = aftercare.rollback(StubbornTarget(), journal, sleep=lambda s: None)
        assert journal.counts() == {J.PLANNED: 1, J.POSTED: 1}
    assert len(result.deleted) == 1 and len(result.still_there) == 1
    assert "still on the target" in result.still_there[0].problem


def test_rollback_and_verify_retry_a_passing_server_error_and_are_paced(tmp_path: Path) -> None:
    path = _migrated(tmp_path)
    failures = iter([transient(), transient(retry_after=1)])
    SERVER.fail = lambda op, arg: next(failures, None) if op == "delete" else None
    with Journal.open(path) as journal:
        assert aftercare.verify(StubbornTarget(), journal, sleep=lambda s: None).differences == []
        result = aftercare.rollback(StubbornTarget(), journal, sleep=lambda s: None)
        deletes_logged = len(journal.calls_since("deletes", 0))
    assert len(result.deleted) == 3 and SERVER.posts == {}
    assert sum(c.startswith("delete") for c in SERVER.calls) == 3 + 2  # two 503s, each tried again
    assert deletes_logged == 3  # each delete counted once in the target's "deletes" budget


def test_verify_names_what_is_missing_and_exits_1(tmp_path: Path) -> None:
    _migrated(tmp_path)
    gone = sorted(SERVER.posts)[0]
    del SERVER.posts[gone]
    result = _cli("verify", "--to", "stubborn")
    assert result.exit_code == 1 and f"{gone.split('#')[0]} part 0: missing on the target" in result.output
    assert "Checked 3 published part(s): 1 difference(s)." in result.output

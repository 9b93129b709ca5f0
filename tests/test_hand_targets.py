"""Published by hand is a declared capability the core handles for any target, not only Cara:
the runner leaves parts pending, `pindah mark-posted` records them, `refresh(marks)` hands the
marks back to the adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pytest
from click.testing import Result

from pindah.adapters.contract import Mark
from pindah.migrator import commands, marks
from pindah.migrator import journal as J
from pindah.migrator.engine import Selection, journal_path, make_plans, migrate
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions
from pindah.migrator.sources import read_export
from tests.cli_support import invoke, pindah_group, with_target
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.fake_target import FakeAdapter, Server

T0 = 1_600_000_000
SEEN: list[dict[str, Mark]] = []  # every refresh(marks) the core made


class HandmadeTarget(FakeAdapter):
    """A platform without an API: pindah prepares posts (kept in memory), the artist posts them."""

    name = "handmade"
    example = "handmade:"
    capabilities = FakeAdapter.capabilities.refined(published_by_hand=True)

    def __init__(self, location: str | None = None, config: dict[str, Any] | None = None) -> None:
        super().__init__(Server())

    def refresh(self, marks: Mapping[str, Mark]) -> None:
        SEEN.append(dict(marks))


@pytest.fixture(autouse=True)
def _registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_target(monkeypatch, tmp_path, HandmadeTarget)
    SEEN.clear()


def _prepared(tmp_path: Path) -> tuple[Path, list[str]]:
    write_meta_json(tmp_path / "export", [SynthPost(T0 + i * 86400, f"Work {i}", [SynthMedia()]) for i in range(2)])
    adapter = HandmadeTarget()
    with read_export([tmp_path / "export"]) as exp:
        plans = make_plans(exp, adapter, Selection(), PlanOptions())
        outcome, _ = migrate(exp, adapter, plans)
        path = journal_path(adapter, exp)
    assert len(adapter.server.posts) == 2  # prepared...
    return path, [p.post.id for p in plans]


def _cli(*args: str) -> Result:
    return invoke(pindah_group(commands.register, marks.register), *args)


def test_the_runner_leaves_every_part_pending_for_a_target_published_by_hand(tmp_path: Path) -> None:
    path, ids = _prepared(tmp_path)
    with Journal.open(path) as journal:  # ...but nothing counts as published
        assert journal.counts() == {J.PLANNED: 2}
        assert {p.state for p in journal.all_parts()} == {J.PLANNED}
    assert SEEN and set(SEEN[-1]) == {f"{i}#0" for i in ids}
    assert {m.state for m in SEEN[-1].values()} == {"pending"}


def test_mark_posted_works_for_any_target_published_by_hand_and_refreshes_it(tmp_path: Path) -> None:
    path, ids = _prepared(tmp_path)
    result = _cli("mark-posted", "--to", "handmade", f"{ids[0]}#0", "https://handmade.example/p/1")
    assert result.exit_code == 0, result.output
    assert f"{ids[0]}#0: posted on Handmade (https://handmade.example/p/1)" in result.output
    assert "1 of 2 Handmade posts done (1 posted, 0 skipped)." in result.output
    assert SEEN[-1][f"{ids[0]}#0"].state == "posted" and SEEN[-1][f"{ids[0]}#0"].url == "https://handmade.example/p/1"
    assert _cli("mark-posted", "--to", "handmade", "--skip", ids[1]).exit_code == 0
    with Journal.open(path) as journal:
        assert journal.counts() == {J.POSTED: 1, J.SKIPPED: 1}
        assert journal.post(ids[1]).reason == "skipped on Handmade by you"
    assert _cli("mark-posted", "--to", "handmade", "--undo", ids[0]).exit_code == 0
    with Journal.open(path) as journal:
        assert journal.post(ids[0]).state == J.PLANNED


def test_a_target_without_a_checklist_says_so(tmp_path: Path) -> None:
    _prepared(tmp_path)
    result = _cli("mark-posted", "--to", "handmade", "--checklist")
    assert result.exit_code == 2 and "handmade keeps no checklist" in result.output

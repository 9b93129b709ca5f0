"""Pacing and estimates by the server's own rate-limit figures (X-RateLimit-Limit/Remaining/Reset),
not only by the platform's published defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pindah.adapters.contract import RateBudget, RemoteRef
from pindah.migrator.errors import RunStopped
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.ratelimit import Pacer, ServerLimits, estimate_with
from pindah.migrator.runner import Runner
from pindah.migrator.sources import read_export
from tests.clock import Clock
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.fake_target import FakeAdapter, Server

T0 = 1_600_000_000
DEFAULTS = (RateBudget("requests", 300, 300),)  # the platform's published default: 300 per 5 min


def pacer(clock: Clock, **kwargs) -> Pacer:
    return Pacer(DEFAULTS, clock=clock, sleep=clock.sleep, **kwargs)


def pacer_told(answer: tuple[str, int, int, float], **kwargs) -> tuple[Clock, Pacer]:
    """A pacer on a fresh clock that has just read one server answer: (budget, limit, calls left,
    seconds until the reset)."""
    clock = Clock()
    p = pacer(clock, **kwargs)
    budget, limit, remaining, reset_in = answer
    p.observe(budget, limit, remaining, clock.now + reset_in)
    return clock, p


def test_a_budget_the_server_says_is_spent_waits_for_its_reset_before_the_call():
    clock, p = pacer_told(("requests", 15, 0, 120))
    p.acquire("posts")  # the defaults would allow it; the server said no more until the reset
    assert clock.slept == [120]


def test_the_calls_left_are_counted_down_until_the_server_answers_again():
    clock, p = pacer_told(("requests", 15, 2, 200))
    p.acquire("media")
    p.acquire("posts")
    assert clock.slept == []
    p.acquire("posts")  # the third call would be the 16th of the window
    assert clock.slept == [200]


def test_a_fresh_answer_replaces_the_count_and_a_passed_reset_frees_the_budget():
    clock, p = pacer_told(("requests", 15, 1, 60))
    p.acquire("posts")
    p.observe("requests", 15, 5, clock.now + 60)  # the server's answer to that call
    p.acquire("posts")
    assert clock.slept == []
    p.observe("posts", 30, 0, clock.now - 1)  # an old figure, past its reset: no longer holds
    p.acquire("posts")
    assert clock.slept == []


def test_figures_of_another_budget_do_not_hold_up_uploads():
    clock, p = pacer_told(("posts", 300, 0, 3 * 3600))  # Mastodon's 3-hour status budget
    p.acquire("media")
    assert clock.slept == []


def test_a_reset_too_far_away_stops_the_run_with_the_time_to_continue():
    clock, p = pacer_told(("requests", 15, 0, 3600), max_wait=600)
    with pytest.raises(RunStopped) as stop:
        p.acquire("posts")
    assert "15 requests per 5 min" in stop.value.one_line()
    assert stop.value.resume_at is not None and stop.value.resume_at.timestamp() == clock.now + 3600


def test_the_estimate_uses_the_servers_limit_and_its_reset_instead_of_the_default():
    clock = Clock()
    limits = ServerLimits(clock)
    counts = {"posts": 10, "media": 10}
    default, used = estimate_with(limits, DEFAULTS, counts)
    assert default == 0 and used == DEFAULTS  # 20 calls fit in 300 per 5 min
    # A GoToSocial configured for 15 requests per 5 minutes; logging in used 3 of them and the
    # window ends in 4 minutes: 20 more calls need the rest of this window and one more.
    limits.observe("requests", 15, 12, clock.now + 240)
    seconds, budgets = estimate_with(limits, DEFAULTS, counts)
    assert budgets == (RateBudget("requests", 15, 300),)
    assert seconds == 240


@dataclass
class _Report:  # what the toolkit's HTTP layer gives its observers
    family: str
    limit: int | None
    remaining: int | None
    reset_at: float | None


class _ServerWithHeaders(FakeAdapter):
    """A fake target that, like a real server, answers each call with its rate figures."""

    capabilities = FakeAdapter.capabilities.refined(rate_budgets=DEFAULTS)

    def __init__(self, server: Server, clock: Clock, limit: int) -> None:
        super().__init__(server)
        self.rate_observers: list = []
        self.clock, self.limit, self.left, self.reset_at = clock, limit, limit, clock.now + 300
        self.refused = 0

    def _answer(self) -> None:
        if self.clock.now >= self.reset_at:
            self.left, self.reset_at = self.limit, self.clock.now + 300
        if self.left <= 0:
            self.refused += 1  # a 429: what pacing by the figures must avoid
        self.left -= 1
        for observer in self.rate_observers:
            observer(_Report("requests", self.limit, max(0, self.left), self.reset_at))

    def prepare(self, *, interactive: bool) -> None:
        self._answer()  # the login check

    def upload_media(self, media, key: str) -> RemoteRef:
        self._answer()
        return super().upload_media(media, key)

    def create_post(self, request) -> RemoteRef:
        self._answer()
        return super().create_post(request)


def test_a_run_paced_by_the_servers_figures_waits_before_it_would_be_refused(tmp_path: Path):
    posts = [SynthPost(T0 + i * 86400, f"Work {i}", [SynthMedia()]) for i in range(5)]
    write_meta_json(tmp_path / "export", posts)
    clock = Clock()
    adapter = _ServerWithHeaders(Server(), clock, limit=4)
    with read_export([tmp_path / "export"]) as exp, Journal.open(tmp_path / "journal.sqlite") as journal:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        runner = Runner(adapter, journal, tmp_path / "cache", clock=clock, sleep=clock.sleep)
        outcome = runner.run(plans)
    assert len(outcome.posted) == 5 and adapter.refused == 0
    assert clock.slept and all(0 < s <= 300 for s in clock.slept)  # waited for resets, never after a 429


def test_a_dry_run_estimates_with_the_figures_the_server_gave_at_login(tmp_path: Path, monkeypatch):
    from pindah.migrator.engine import Selection, dry_run, make_plans
    from pindah.migrator.ratelimit import watch_rates

    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    posts = [SynthPost(T0 + i * 86400, f"Work {i}", [SynthMedia()]) for i in range(10)]
    write_meta_json(tmp_path / "export", posts)
    clock = Clock()
    adapter = _ServerWithHeaders(Server(), clock, limit=15)
    limits = ServerLimits(clock)
    assert watch_rates(adapter, limits.report)
    adapter.prepare(interactive=False)  # its answer carries the server's figures
    with read_export([tmp_path / "export"]) as exp:
        report = dry_run(exp, adapter, make_plans(exp, adapter, Selection(), PlanOptions()), limits=limits)
    assert report.budgets == ["15 requests per 5 min (the server's own figure)"]
    assert report.eta_seconds is not None and report.eta_seconds > 60  # not "less than a minute"

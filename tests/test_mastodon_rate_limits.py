"""The Mastodon-API adapter and runner honour each server's rate limits: 429s are waited out until
the reset, daily limits stop the run, every answer's rate headers reach the pacer, and the dry
run's ETA follows the budget model.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from pindah.adapters.mastodon import MastodonAdapter
from pindah.adapters.mastodon_api import parse_reset
from pindah.migrator import journal as J
from pindah.migrator.engine import dry_run
from pindah.migrator.errors import RunStopped, TransientError
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.ratelimit import estimate_seconds
from pindah.migrator.sources import read_export
from tests.exportbuilder.corpus import big_export_posts
from tests.exportbuilder.meta_json import write_meta_json
from tests.mastodon_sim import T_NOW, Fault
from tests.mastodon_support import FakeTime, _adapter, _file, _plans, _request, _run, _server
from tests.mastodon_support import private_state_fixture, rsps_fixture  # noqa: F401 - the fixtures

pytestmark = pytest.mark.mastodon


def test_429_with_an_iso_reset_is_retried_after_the_servers_time(rsps):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    reset = datetime.fromtimestamp(T_NOW + 600, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    date = "Sun, 15 Jun 2025 15:06:40 GMT"  # T_NOW on the server's clock
    sim.faults.append(Fault("POST", "/api/v1/statuses", (429, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                                               "X-RateLimit-Reset": reset, "Date": date},
                                                         {"error": "Too many requests"})))
    t.now += 120  # this computer's clock is 2 minutes fast: the wait still follows the server
    with pytest.raises(TransientError) as err:
        adapter.create_post(_request())
    assert err.value.retry_after == pytest.approx(600)
    # Until the reset, nothing more is sent to that budget: the call is refused here.
    with pytest.raises(TransientError):
        adapter.create_post(_request())
    assert sim.log.count("POST /api/v1/statuses") == 1
    t.now += 600
    assert adapter.create_post(_request()).id and len(sim.statuses) == 1


def test_the_runner_waits_out_a_429_until_the_reset_and_posts_once(rsps, tmp_path):
    t = FakeTime(start=float(int(time.time())))  # the runner's retry may read the real clock
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    plans = _plans(tmp_path, adapter)[:2]
    reset = datetime.fromtimestamp(t.now + 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sim.faults.append(Fault("POST", "/api/v1/statuses", (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                                                         {"error": "Too many requests"})))
    outcome, _, counts = _run(tmp_path, adapter, t, plans)
    assert counts == {J.POSTED: 2} and outcome.stopped is None
    assert len(sim.statuses) == sum(len(p.parts) for p in plans)
    assert max(t.slept) == pytest.approx(60, abs=5)


def test_reads_wait_for_the_reset_themselves(rsps):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    ref = adapter.create_post(_request())
    reset = datetime.fromtimestamp(T_NOW + 90, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sim.faults.append(Fault("GET", r"/api/v1/statuses/.*", (429, {"X-RateLimit-Reset": reset}, {"error": "Too many"})))
    assert adapter.read_post(ref)["text"] == "Ink study #art"
    assert t.slept == [pytest.approx(90)]


def test_parse_reset_reads_iso_epoch_and_seconds():
    assert parse_reset("2026-11-25T12:48:51.000Z", server_now=datetime(2026, 11, 25, 12, 48, 0, tzinfo=UTC)
                       .timestamp(), local_now=0) == pytest.approx(51)
    assert parse_reset("1700000100", server_now=None, local_now=1_700_000_000) == 100
    assert parse_reset("42", server_now=None, local_now=5) == 42 and parse_reset("soon", server_now=None, local_now=0) is None


def test_pixelfed_daily_limit_stops_the_run(rsps, tmp_path):
    sim = _server(rsps, "pixelfed")
    adapter = _adapter(sim)
    sim.faults.append(Fault("POST", "/api/v2/media", (429, {}, {"message": "Too Many Attempts."})))
    with pytest.raises(RunStopped, match="1,250 a day"):
        adapter.upload_media(_file(tmp_path), "p#0/m0")


@pytest.mark.parametrize("flavour,hours", [("mastodon", 41.5), ("pixelfed", 24.17), ("gotosocial", 0.96)])
def test_dry_run_eta_for_1000_posts_follows_the_budget_model(rsps, tmp_path, flavour, hours):
    sim = _server(rsps, flavour)
    adapter = _adapter(sim)
    folder = tmp_path / "big"
    write_meta_json(folder, big_export_posts(1000, 2.5))
    with read_export([folder]) as exp:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        before = list(sim.log)
        report = dry_run(exp, adapter, plans)
    assert sim.log == before  # a dry run never calls the target
    counts = {"posts": sum(len(p.parts) for p in plans), "media": sum(p.media_count for p in plans)}
    assert counts == {"posts": 1000, "media": 2500}
    expected = estimate_seconds(adapter.caps.rate_budgets, counts, call_seconds=adapter.caps.typical_call_seconds)
    assert report.eta_seconds == expected
    assert expected / 3600 == pytest.approx(hours, abs=0.01)
    assert not (tmp_path / "state" / "journals").exists()  # nor writes a journal


def test_every_answers_rate_headers_reach_the_observers_and_nothing_sleeps_in_the_layer(rsps):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = MastodonAdapter(sim.base, {}, clock=t.clock, sleep=t.sleep)
    heard = []
    adapter.rate_observers.append(heard.append)
    adapter.prepare(interactive=False)
    adapter.create_post(_request())
    assert [(r.family, r.limit, r.remaining) for r in heard][-1] == ("posts", 300, 299)
    assert heard[-1].reset_at == pytest.approx(T_NOW + 300) and t.slept == []

"""Chaos: migrations out of disk and cut off mid-upload, resumed each time, end with every post
exactly once on the target. (Migrations SIGKILLed and resumed, on every registered target, are
tests/test_kill_resume.py.)

The targets are real servers on 127.0.0.1: the reference Bluesky PDS (tests/bluesky_pds.py) and
the simulated Mastodon server served over HTTP (tests/mastodon_http.py). pindah runs as the real
CLI in child processes (tests/chaos_run.py). What the tests check is read back from the servers,
never from pindah's journal: the records/statuses, their texts and threads, and the media bytes
the servers hold (each source image has its own pixel size and each video its own bytes, so
"in carousel order" is checked on what the server serves). `pindah verify` must agree, and the
journal must hold only legal rows.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from pindah.adapters.bluesky import BlueskyAdapter
from tests import chaos_support as chaos
from tests import figures
from tests.bluesky_pds import LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.faultproxy import FaultProxy
from tests.mastodon_http import MastodonHttp
from tests.targets.mastodon import plan_caps


pytestmark = [pytest.mark.chaos, pytest.mark.integration]


def _check_everything_there_once(pds: LocalPds, account, export: chaos.ChaosExport, env: dict[str, str],
                                 request) -> None:
    """Read back from the PDS: every planned part once; `pindah verify` agrees; the journal is legal."""
    tally = chaos.check_bluesky(pds, account.did, chaos.plans_for(export.root, BlueskyAdapter.capabilities), export)
    figures.record_tally(request, tally)
    tally.assert_exactly_once()
    done = chaos.run(["verify", "--to", f"bluesky:{account.handle}"], env)
    assert done.returncode == 0 and "everything is there" in done.stdout, done.stdout + done.stderr
    assert chaos.journal_problems(Path(env["PINDAH_STATE_DIR"]), finished=True) == []


# -- the network drops mid-upload ------------------------------------------------------------------
def test_bluesky_migration_survives_connections_reset_mid_upload_and_mid_create(bluesky_pds: LocalPds,
                                                                               tmp_path: Path, request):
    export, account, plans = chaos.bluesky_case(bluesky_pds, tmp_path, 8, seed=3, name="drop")
    writes = ("/xrpc/com.atproto.repo.uploadBlob", "/xrpc/com.atproto.repo.createRecord")
    with FaultProxy(bluesky_pds.pds_port, rate=0.2, seed=11, kinds=("reset",),
                    match=lambda method, path: path in writes) as proxy:
        env = chaos.base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        chaos.finish(["migrate", str(export.root), "--to", f"bluesky:{account.handle}"], env, attempts=6)
    assert proxy.injected["reset"] >= 3
    # Some resets dropped an upload halfway through its body: the network went away mid-upload.
    assert any(s.fault == "reset" and s.path.endswith("uploadBlob") for s in proxy.log)
    tally = chaos.check_bluesky(bluesky_pds, account.did, plans, export)
    figures.record_tally(request, tally, faults=proxy.faults_total())
    tally.assert_exactly_once()
    assert chaos.journal_problems(tmp_path / "state", finished=True) == []


def test_mastodon_migration_survives_connections_reset_mid_upload_and_mid_create(tmp_path: Path, request):
    export = chaos.chaos_export(tmp_path / "export", 8, seed=4)
    with MastodonHttp() as server:
        plans = chaos.plans_for(export.root, plan_caps(server.url, server.token, tmp_path))
        with FaultProxy(server.port, rate=0.2, seed=12, kinds=("reset",),
                        match=lambda method, path: method == "POST") as proxy:
            env = chaos.base_env(tmp_path, PINDAH_MASTODON_TOKEN=server.token)
            # The journal remembers the server by the address pindah was given: the proxy's.
            chaos.finish(["migrate", str(export.root), "--to", f"mastodon:{proxy.url}"], env, attempts=6)
        tally = chaos.check_mastodon(server, plans, export)
    assert proxy.injected["reset"] >= 3
    figures.record_tally(request, tally, faults=proxy.faults_total())
    tally.assert_exactly_once()
    assert chaos.journal_problems(tmp_path / "state", finished=True) == []


# -- a full disk -----------------------------------------------------------------------------------
_STOP_LINE = re.compile(r"^Error: cannot write the journal .+ Free some disk space")
OPEN_WRITES = 6  # Journal.open writes the schema version and five meta rows


def _said(done) -> str:
    """stderr from its "Error:" line on, with rich's wrapping undone (it wraps at 80 columns when
    not on a terminal). Notes said earlier in the run (a video sent the direct road) come before."""
    lines = done.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Error:")), 0)
    return " ".join(" ".join(lines[start:]).split())


def test_journal_writes_failing_like_a_full_disk_stop_cleanly_and_lose_nothing_on_resume(
        bluesky_pds: LocalPds, tmp_path: Path, request):
    """sqlite3 raises "database or disk is full" after N journal writes (a different N each run,
    so the failure lands on every kind of write: plans, 'posting', 'posted', uploads, budgets)."""
    export = chaos.chaos_export(tmp_path / "export", 14, seed=5)
    account = bluesky_pds.create_account("full")
    env = chaos.base_env(tmp_path, PINDAH_BLUESKY_PDS=bluesky_pds.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
    args = ["migrate", str(export.root), "--to", f"bluesky:{account.handle}"]
    rng = random.Random(99)
    stops = 0
    for attempt in range(60):
        after = OPEN_WRITES + (1 if attempt == 0 else rng.randint(1, 80))
        done = chaos.run(args, env | {"JOURNAL_FULL_AFTER": str(after)})
        chaos.clean_failure(done)
        if done.returncode == 0:
            break
        assert done.returncode == 3, done.stdout + done.stderr
        assert _STOP_LINE.search(_said(done)) and "disk is full" in _said(done), done.stderr
        assert len([line for line in done.stderr.splitlines() if line.startswith("Error:")]) == 1
        stops += 1
    else:
        raise AssertionError("the migration never finished")
    assert stops >= 5
    _check_everything_there_once(bluesky_pds, account, export, env, request)


def test_a_disk_that_really_fills_up_stops_cleanly_and_loses_nothing_on_resume(bluesky_pds: LocalPds,
                                                                              tmp_path: Path, request):
    """RLIMIT_FSIZE makes every file the run writes stop growing at a limit: SQLite itself meets
    the full disk (its own error path, not a simulation of it)."""
    export = chaos.chaos_export(tmp_path / "export", 14, seed=6)
    account = bluesky_pds.create_account("fsize")
    env = chaos.base_env(tmp_path, PINDAH_BLUESKY_PDS=bluesky_pds.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
    args = ["migrate", str(export.root), "--to", f"bluesky:{account.handle}"]
    stops, messages = 0, set()
    for _ in range(40):
        done = chaos.run(args, env | {"FSIZE_LIMIT": str(160_000)})
        chaos.clean_failure(done)
        if done.returncode == 0:
            break
        assert done.returncode == 3, done.stdout + done.stderr
        assert len([x for x in done.stderr.splitlines() if x.startswith("Error:")]) == 1, done.stderr
        assert _said(done).startswith("Error: ") and "free some disk space" in _said(done).lower(), done.stderr
        messages.add(_said(done).split("(")[-1].split(")")[0])
        stops += 1
    else:
        raise AssertionError("the migration never finished")
    assert stops >= 1, "the limit was never reached: lower it"
    assert any("I/O" in m or "too large" in m.lower() for m in messages), messages
    _check_everything_there_once(bluesky_pds, account, export, env, request)


@pytest.mark.parametrize("after", [0, 3])
def test_a_disk_already_full_when_the_run_starts_stops_cleanly_with_exit_3(tmp_path: Path, after: int):
    export = chaos.chaos_export(tmp_path / "export", 3, seed=7)
    env = chaos.base_env(tmp_path)
    args = ["migrate", str(export.root), "--to", f"folder:{tmp_path / 'site'}"]
    assert chaos.run(args, env | {"JOURNAL_FULL_AFTER": "7"}).returncode == 3  # a journal exists already
    done = chaos.run(args, env | {"JOURNAL_FULL_AFTER": str(after)})
    assert done.returncode == 3, done.stderr
    assert _STOP_LINE.search(_said(done)) and "disk is full" in _said(done)


# -- verify reads back more than text -------------------------------------------------------------
def test_verify_reports_a_post_whose_pictures_disappeared_on_the_target(tmp_path: Path):
    export = chaos.chaos_export(tmp_path / "export", 4, seed=9)
    with MastodonHttp() as server:
        env = chaos.base_env(tmp_path, PINDAH_MASTODON_TOKEN=server.token)
        target = f"mastodon:{server.url}"
        assert chaos.run(["migrate", str(export.root), "--to", target], env).returncode == 0
        with server.lock:
            status = next(s for s in server.sim.statuses.values() if len(s["media"]) > 1)
            status["media"] = status["media"][:1]  # the server lost all but the first picture
        done = chaos.run(["verify", "--to", target], env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 difference" in done.stdout

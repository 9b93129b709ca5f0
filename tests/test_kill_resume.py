"""A migration SIGKILLed again and again, then resumed, ends with every post exactly once: on
every registered target (tests/targets/), read back from the target itself.

Each kill is placed by progress, never by the clock (tests/chaos_support.py `kill_points`): the
child process kills itself while its N-th remote call is under way, right after a create
returned (the target made the post, the journal never heard), or right after an upload. Every
run must die where it was told to, so each one interrupts what this test says it interrupts,
on a loaded machine as on an idle one.

Sized for CI (24 posts, 6 kills per target); `--full` is the issue's run (200 posts, 25 kills).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests import figures
from tests.bluesky_pds import bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import (
    base_env,
    chaos_export,
    check_published,
    finish,
    journal_problems,
    kill_and_resume,
    plans_for,
    run,
    work_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_killed_mid_run_and_resumed_publishes_every_post_exactly_once(target, tmp_path: Path, request):
    posts, kills = (200, 25) if request.config.getoption("--full") else (24, 6)
    export = chaos_export(tmp_path / "export", posts)
    env = base_env(tmp_path, **target.env)
    args = ["migrate", str(export.root), "--to", target.spec]
    plans = plans_for(export.root, target.caps)

    log = kill_and_resume(args, env, kills=kills, work=work_of(plans), rng=random.Random(20261125))
    assert log.after_create >= 1 and log.after_upload >= 1 and log.during_call >= 1, log
    finish(args, env)

    tally = check_published(target.read(), plans, export, videos=target.caps.supports_video)
    figures.record_tally(request, tally, kills=log.total)
    tally.assert_exactly_once()
    assert journal_problems(tmp_path / "state", finished=True) == []
    if not target.manual:  # a kit stays pending until the artist marks what they posted by hand
        verify = run(["verify", "--to", target.spec], env)
        assert verify.returncode == 0 and "everything is there" in verify.stdout, verify.stdout + verify.stderr
        again = run(args, env)
        assert again.returncode == 0 and "Nothing new to migrate" in again.stdout, again.stdout


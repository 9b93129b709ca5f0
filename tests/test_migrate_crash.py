"""A migration killed (SIGKILL) at random moments and resumed ends with every post exactly once.

The site is read back (posts.json, pages), not the journal: the journal could be wrong too.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_500_000_000


def _posts(n: int) -> list[SynthPost]:
    posts = []
    for i in range(n):
        media = [SynthMedia("mp4") if (i + k) % 7 == 0 else SynthMedia() for k in range(1 + i % 6)]
        caption = ("Long story about this piece. " * (40 if i % 5 == 0 else 1)) + f"#work{i}"
        posts.append(SynthPost(T0 + i * 3600, caption, media))
    posts.append(SynthPost(T0 + 5 * 3600, "Same second as another post", [SynthMedia()]))
    return posts


@pytest.fixture
def setup(tmp_path: Path):
    export = tmp_path / "export"
    write_meta_json(export, _posts(30))
    env = {**os.environ, "PINDAH_STATE_DIR": str(tmp_path / "state"), "PINDAH_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(ROOT)}
    return export, tmp_path / "site", env


def _cmd(export: Path, site: Path) -> list[str]:
    return [sys.executable, str(ROOT / "tests" / "crashing_run.py"), "migrate", str(export), "--to", f"folder:{site}"]


def _published(site: Path) -> dict[str, list[str]]:
    """post id -> the keys of its parts, read from the site itself."""
    entries = json.loads((site / "posts.json").read_text())
    entries = entries["posts"] if isinstance(entries, dict) else entries
    return {e["post_id"]: e.get("keys") or e.get("keys_seen") for e in entries}


def _expected_ids(export: Path, env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "inspect", str(export), "--posts"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return [json.loads(line)["id"] for line in out.splitlines()]


def _check_exactly_once(export: Path, site: Path, env: dict[str, str]) -> None:
    published = _published(site)
    expected = _expected_ids(export, env)
    assert sorted(published) == sorted(expected)  # every post, none twice (dict keys are unique)
    for keys in published.values():
        assert len(keys) == len(set(keys))  # no part twice
        assert keys == sorted(keys, key=lambda k: int(k.rsplit("#", 1)[1]))  # parts in order
    verify = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "verify", "--to", f"folder:{site}"],
                            env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_killed_right_after_a_create_before_journaling_then_resumed_posts_everything_once(setup):
    export, site, env = setup
    for crash_at in (1, 3, 4, 9):
        run = subprocess.run(_cmd(export, site), env={**env, "CRASH_AFTER_CREATE": str(crash_at)},
                             capture_output=True, text=True)
        assert run.returncode == -signal.SIGKILL
    final = subprocess.run(_cmd(export, site), env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stdout + final.stderr
    _check_exactly_once(export, site, env)


def test_killed_at_random_moments_many_times_then_resumed_posts_everything_once(setup):
    export, site, env = setup
    rng = random.Random(20261125)
    kills = 0
    for _ in range(12):
        proc = subprocess.Popen(_cmd(export, site), env={**env, "SLOW_MS": "15"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.6))  # start-up takes ~0.3 s; a full run ~2.5 s
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 5  # the test must really have interrupted runs
    final = subprocess.run(_cmd(export, site), env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    _check_exactly_once(export, site, env)
    again = subprocess.run(_cmd(export, site), env=env, capture_output=True, text=True)
    assert "Nothing new to migrate" in again.stdout

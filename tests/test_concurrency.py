"""Two `pindah migrate` runs on the same export and target at once: the second refuses with a
clear message (exit 3) while the first works, and nothing is ever posted twice or lost. Checked
by reading each target back (the site's posts.json and pages, the PDS's records, the simulated
Mastodon server's statuses), for the folder, Bluesky and Mastodon targets.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pindah.adapters.bluesky import BlueskyAdapter
from pindah.adapters.folder import FolderAdapter
from tests.bluesky_pds import LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import (
    CHILD,
    ChaosExport,
    base_env,
    chaos_export,
    check_bluesky,
    check_mastodon,
    journal_problems,
    plans_for,
    run,
)
from tests.mastodon_http import MastodonHttp

pytestmark = pytest.mark.integration

REFUSAL = "another pindah run is already working on this export and target"


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(CHILD), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def wait_for(condition, what: str, proc: subprocess.Popen[str] | None = None, timeout: float = 120) -> None:
    """Wait for a state the test set up (never for an amount of time); a run that ended first fails."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended (exit {proc.returncode}) before {what}:\n{out[-1500:]}{err[-1500:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def held(gate: Path) -> Path:
    """The file a run held at `gate` creates while it waits (tests/chaos_run.py)."""
    return Path(f"{gate}.waiting")


def check_site(site: Path, plans, export: ChaosExport) -> list[str]:
    """What a visitor of the site sees: every planned part once in posts.json, a page for every
    post, every post linked from the index pages."""
    problems = []
    data = json.loads((site / "posts.json").read_text("utf-8"))
    entries = data["posts"] if isinstance(data, dict) else data
    keys = [key for entry in entries for key in entry["keys"]]
    want = [part.key for plan in plans for part in plan.parts]
    problems += [f"{k} missing from posts.json" for k in sorted(set(want) - set(keys))]
    problems += [f"{k} {n} times in posts.json" for k in set(keys) if (n := keys.count(k)) > 1]
    index = " ".join(p.read_text("utf-8") for p in site.glob("index*.html"))
    for entry in entries:
        if not (site / entry["page"]).exists():
            problems.append(f"page {entry['page']} of {entry['post_id']} is missing")
        if entry["page"] not in index:
            problems.append(f"{entry['post_id']} is not on the index")
    return problems


def two_at_once(args: list[str], env: dict[str, str], tmp: Path) -> tuple[subprocess.CompletedProcess[str], ...]:
    """The first run is held as its second remote call starts (lock taken, work under way) until
    the second run has come and gone: it is surely working while the second one tries."""
    gate = tmp / "first-may-go-on"
    first = start(args, env | {"CHAOS_HOLD": f"2:{gate}"})
    try:
        wait_for(held(gate).exists, "the first run started posting", first)
        second = run(args, env, timeout=300)
        assert first.poll() is None, "the first run must still be working while the second was refused"
        gate.touch()
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    return subprocess.CompletedProcess(first.args, first.returncode, out, err), second


def assert_refused(second: subprocess.CompletedProcess[str]) -> None:
    said = " ".join(second.stderr.split())
    assert second.returncode == 3, second.stdout + second.stderr
    assert REFUSAL in said and "Traceback" not in said, said
    assert re.search(r"wait for it to finish", said, re.IGNORECASE)


def test_a_second_run_on_the_same_export_and_folder_refuses_and_nothing_doubles(tmp_path):
    export = chaos_export(tmp_path / "export", 12, seed=31)
    env = base_env(tmp_path)
    args = ["migrate", str(export.root), "--to", f"folder:{tmp_path / 'site'}"]
    first, second = two_at_once(args, env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert_refused(second)
    assert check_site(tmp_path / "site", plans_for(export.root, FolderAdapter.capabilities), export) == []
    assert run(["verify", "--to", f"folder:{tmp_path / 'site'}"], env).returncode == 0
    assert journal_problems(tmp_path / "state", finished=True) == []


def test_a_second_run_given_the_zip_of_the_same_export_refuses_too(tmp_path):
    """Same export, other shape (ZIP vs folder) and another spelling of the site's path."""
    from tests.exportbuilder.container import zip_folder

    export = chaos_export(tmp_path / "export", 12, seed=32)
    packed = zip_folder(export.root, tmp_path / "instagram.zip")
    env = base_env(tmp_path)
    gate = tmp_path / "first-may-go-on"
    first = start(["migrate", str(export.root), "--to", f"folder:{tmp_path / 'site'}"], env | {"CHAOS_HOLD": f"2:{gate}"})
    try:
        wait_for(held(gate).exists, "the first run started posting", first)
        second = subprocess.run([sys.executable, str(CHILD), "migrate", str(packed), "--to", "folder:./site/"],
                                env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
        gate.touch()
        first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0
    assert_refused(second)
    assert check_site(tmp_path / "site", plans_for(export.root, FolderAdapter.capabilities), export) == []


@pytest.mark.bluesky
def test_a_second_run_on_the_same_export_and_bluesky_account_refuses_and_nothing_doubles(bluesky_pds: LocalPds,
                                                                                        tmp_path):
    export = chaos_export(tmp_path / "export", 10, seed=33)
    account = bluesky_pds.create_account("twice")
    env = base_env(tmp_path, PINDAH_BLUESKY_PDS=bluesky_pds.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
    args = ["migrate", str(export.root), "--to", f"bluesky:{account.handle}"]
    assert run(args + ["--limit", "1"], env).returncode == 0  # logged in once, so both runs reuse the session
    first, second = two_at_once(args, env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert_refused(second)
    tally = check_bluesky(bluesky_pds, account.did, plans_for(export.root, BlueskyAdapter.capabilities), export)
    tally.assert_exactly_once()


@pytest.mark.mastodon
def test_a_second_run_on_the_same_export_and_mastodon_account_refuses_and_nothing_doubles(tmp_path, monkeypatch):
    from pindah.adapters.mastodon import MastodonAdapter

    export = chaos_export(tmp_path / "export", 10, seed=34)
    with MastodonHttp() as server:
        env = base_env(tmp_path, PINDAH_MASTODON_TOKEN=server.token)
        args = ["migrate", str(export.root), "--to", f"mastodon:{server.url}"]
        first, second = two_at_once(args, env, tmp_path)
        assert first.returncode == 0, first.stderr
        assert_refused(second)
        monkeypatch.setenv("PINDAH_MASTODON_TOKEN", server.token)
        monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "planning"))
        adapter = MastodonAdapter(server.url, {})
        adapter.prepare(interactive=False)
        tally = check_mastodon(server, plans_for(export.root, adapter.caps), export)
    tally.assert_exactly_once()


@pytest.mark.mastodon
def test_runs_started_at_the_same_instant_never_double_post(tmp_path, monkeypatch):
    """No slowing down: whichever takes the lock publishes; the others refuse or find nothing left."""
    from pindah.adapters.mastodon import MastodonAdapter

    export = chaos_export(tmp_path / "export", 8, seed=35)
    for round_ in range(3):
        with MastodonHttp() as server:
            env = base_env(tmp_path / f"round{round_}", PINDAH_MASTODON_TOKEN=server.token)
            args = ["migrate", str(export.root), "--to", f"mastodon:{server.url}"]
            procs = [start(args, env) for _ in range(3)]
            done = [(p.communicate(timeout=300), p.returncode) for p in procs]
            codes = sorted(code for _, code in done)
            assert all(code in (0, 3) for code in codes) and codes.count(0) >= 1, done
            for (out, err), code in done:
                assert "Traceback" not in out + err
                if code == 3:
                    assert REFUSAL in " ".join(err.split())
            monkeypatch.setenv("PINDAH_MASTODON_TOKEN", server.token)
            monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "planning"))
            adapter = MastodonAdapter(server.url, {})
            adapter.prepare(interactive=False)
            check_mastodon(server, plans_for(export.root, adapter.caps), export).assert_exactly_once()


def test_a_run_that_read_the_site_while_another_was_writing_it_does_not_erase_that_runs_posts(tmp_path):
    export = chaos_export(tmp_path / "export", 12, seed=36)
    env = base_env(tmp_path)
    site = tmp_path / "site"
    first_gate, second_gate = tmp_path / "first-may-go-on", tmp_path / "second-may-go-on"
    # The artist starts a test batch, then (impatient) the whole export in another terminal. The
    # second run reads the site while the first writes it (the first is held mid-publishing until
    # the second has read it), plans (long, for a big export) and reaches the journal only after
    # the first has finished: so it is not refused.
    first = start(["migrate", str(export.root), "--to", f"folder:{site}", "--limit", "6"],
                  env | {"CHAOS_HOLD": f"3:{first_gate}"})
    second = None
    try:
        wait_for(held(first_gate).exists, "the first run to publish", first)
        second = start(["migrate", str(export.root), "--to", f"folder:{site}"], env | {"CHAOS_OPEN_GATE": str(second_gate)})
        wait_for(held(second_gate).exists, "the second run to have read the site", second)
        first_gate.touch()
        assert first.wait(timeout=300) == 0
        second_gate.touch()
        out, err = second.communicate(timeout=300)
        assert second.returncode == 0, err
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert check_site(site, plans_for(export.root, FolderAdapter.capabilities), export) == []

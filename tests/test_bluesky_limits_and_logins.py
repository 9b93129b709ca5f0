"""Bluesky against the real reference PDS: rate limits are waited out or stop the run with the
time to continue, the PDS is found from the handle, the login is kept (0600) and reused, the main
password and a wrong one are refused, a dry run needs no login, and the PDS never leaves 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import re
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from tests.bluesky_pds import Account, LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.faultproxy import LoopbackService
from tests.bluesky_support import (T0, check_exactly_once, expected_plans, integration, migrate, no_secrets,
                                   pindah, pindah_env, write_export)
from tests.bluesky_support import media_cache_fixture  # noqa: F401 - the session fixture

pytestmark = pytest.mark.bluesky


class LimitingProxy(LoopbackService):
    """A loopback HTTP proxy in front of the PDS that answers chosen calls with a 429 (real
    `ratelimit-*` headers, reset in epoch seconds) and logs when every call arrived."""

    def __init__(self, upstream_port: int, rule: Callable[[str, int], float | None]) -> None:
        self.upstream_port = upstream_port
        self.rule = rule  # (nsid, how many times it was seen) -> seconds until reset, or None
        self.seen: Counter[str] = Counter()
        self.log: list[tuple[float, str, int, float | None]] = []  # (time, nsid, status, reset)
        self.lock = threading.Lock()
        super().__init__()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        nsid = handler.path.split("?", 1)[0].removeprefix("/xrpc/")
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.seen[nsid] += 1
            wait = self.rule(nsid, self.seen[nsid])
        now = time.time()
        if wait is not None:
            reset = int(now + wait)
            self.log.append((now, nsid, 429, reset))
            payload = b'{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}'
            handler.send_response(429)
            for key, value in (("ratelimit-limit", "3000"), ("ratelimit-remaining", "0"),
                               ("ratelimit-reset", str(reset)), ("ratelimit-policy", "3000;w=300"),
                               ("Content-Type", "application/json"), ("Content-Length", str(len(payload)))):
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(handler.command, handler.path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        self.log.append((now, nsid, answer.status, None))
        handler.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "keep-alive", "content-length"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@integration
def test_a_429_with_reset_headers_is_waited_out(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Paced post {i} #slow", [SynthMedia(), SynthMedia()]) for i in range(5)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("paced")

    def rule(nsid: str, count: int) -> float | None:
        if nsid == "com.atproto.repo.createRecord" and count == 2:
            return 3.0
        if nsid == "com.atproto.repo.uploadBlob" and count == 5:
            return 2.0
        return None

    with LimitingProxy(bluesky_pds.pds_port, rule) as proxy:
        env = pindah_env(tmp_path / "state", media_cache, proxy.url, account.app_password)
        started = time.time()
        run = migrate(export, account, env)
        took = time.time() - started
    assert run.returncode == 0, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    # the server's reset is whole seconds, so the wait is 2 or 3 s: the words matter, not the count
    assert re.search(r"waiting \d+ s for the target's limit", said) and "asks pindah to slow down" in said
    limited = [(t, nsid, reset) for t, nsid, status, reset in proxy.log if status == 429]
    # in either order: the next post's images may go out while a post is created
    assert sorted(nsid for _, nsid, _ in limited) == ["com.atproto.repo.createRecord", "com.atproto.repo.uploadBlob"]
    for at, nsid, reset in limited:
        later = [t for t, n, status, _ in proxy.log if n == nsid and t > at]
        assert later and min(later) >= reset - 0.05, f"{nsid} was called again before its reset"
    assert took >= 3
    check_exactly_once(bluesky_pds, account, expected_plans(export))


@integration
def test_a_spent_daily_budget_stops_cleanly_with_the_time_to_continue(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Budget post {i}", [SynthMedia()]) for i in range(4)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("budget")
    env = pindah_env(tmp_path / "state", media_cache, None, account.app_password)

    with LimitingProxy(bluesky_pds.pds_port,
                       lambda nsid, n: 7 * 3600.0 if nsid == "com.atproto.repo.uploadBlob" and n >= 3 else None) as proxy:
        stopped = migrate(export, account, env | {"PINDAH_BLUESKY_PDS": proxy.url})
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "limit of 3000 calls per 5 min is used up until" in " ".join(stopped.stderr.split())
    assert "Traceback" not in stopped.stderr
    assert len(bluesky_pds.list_records(account.did)) == 2  # what was done is kept

    resumed = migrate(export, account, env | {"PINDAH_BLUESKY_PDS": bluesky_pds.url})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    check_exactly_once(bluesky_pds, account, expected_plans(export))


@integration
def test_the_servers_own_login_limit_is_read_from_its_headers(bluesky_pds: LocalPds, media_cache, tmp_path):
    export = write_export(tmp_path / "export", [SynthPost(T0, "One post")])
    account = bluesky_pds.create_account("limited")
    # 30 failed logins per 5 minutes (identifier + IP): pindah logs in by DID, so use that.
    for _ in range(30):
        wrong = requests.post(f"{bluesky_pds.url}/xrpc/com.atproto.server.createSession",
                              json={"identifier": account.did, "password": "wrong-password"}, timeout=30)
        assert wrong.status_code == 401
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password)
    run = migrate(export, account, env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "too many logins" in run.stderr and re.search(r"from \d{4}-\d\d-\d\d \d\d:\d\d", run.stderr)
    no_secrets(run, account)


@integration
def test_pds_is_found_from_the_handle_and_the_login_is_kept_and_reused(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Found {i}", [SynthMedia()]) for i in range(3)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("found")
    state = tmp_path / "state"
    # No server given: handle -> DID (resolveHandle) -> DID document (the local PLC) -> PDS.
    env = pindah_env(state, media_cache, None, account.app_password,
                     PINDAH_BLUESKY_HANDLE_RESOLVER=bluesky_pds.url, PINDAH_BLUESKY_PLC_DIRECTORY=bluesky_pds.plc_url)
    first = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}", "--limit", "1"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    sessions = list((state / "sessions" / "bluesky").glob("*.json"))
    assert len(sessions) == 1
    assert stat.S_IMODE(sessions[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(sessions[0].parent.stat().st_mode) == 0o700
    assert account.app_password not in sessions[0].read_text()

    # No password at all now: the saved session (refreshed as needed) carries the run.
    env.pop("PINDAH_BLUESKY_APP_PASSWORD")
    rest = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}"], env)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert len(bluesky_pds.list_records(account.did)) == 3

    # A revoked session and no password: a clean stop that says how to log in.
    sessions[0].write_text(json.dumps({**json.loads(sessions[0].read_text()), "accessJwt": "x.e30.y",
                                       "refreshJwt": "x.e30.y"}))
    revoked = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}"], env)
    assert revoked.returncode == 0  # nothing left to write, so no login was needed
    rollback = pindah(["rollback", "--to", f"bluesky:{account.handle}", "--yes"], env)
    assert rollback.returncode == 3 and "PINDAH_BLUESKY_APP_PASSWORD" in rollback.stderr, rollback.stderr


@integration
def test_the_main_password_and_a_wrong_password_are_refused(bluesky_pds: LocalPds, media_cache, tmp_path):
    export = write_export(tmp_path / "export", [SynthPost(T0, "Hello")])
    account = bluesky_pds.create_account("careful")
    state = tmp_path / "state"
    main = migrate(export, account, pindah_env(state, media_cache, bluesky_pds.url, account.password))
    assert main.returncode == 3 and "main Bluesky password" in main.stderr, main.stderr
    wrong = migrate(export, account, pindah_env(state, media_cache, bluesky_pds.url, "abcd-efgh-ijkl-mnop"))
    assert wrong.returncode == 3 and "app password" in wrong.stderr
    for run in (main, wrong):
        no_secrets(run, account)
        assert "Traceback" not in run.stderr
    assert not list(state.rglob("sessions/**/*.json"))  # nothing kept from either attempt
    assert bluesky_pds.list_records(account.did) == []


@integration
def test_a_dry_run_needs_no_login_and_counts_the_daily_upload_budget(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 3600, f"Carousel {i}", [SynthMedia() for _ in range(4)]) for i in range(300)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("dryrun")
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, None)
    plan = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}", "--dry-run", "--json",
                   str(tmp_path / "plan.json")], env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    report = json.loads((tmp_path / "plan.json").read_text())
    # 1,200 images at 1,000 uploads a day: the estimate must span more than a day.
    assert report["eta_seconds"] >= 86400
    assert bluesky_pds.list_records(account.did) == []


@integration
def test_the_local_server_never_tried_to_leave_the_machine(bluesky_pds: LocalPds):
    assert bluesky_pds.info["bind"] == "127.0.0.1"
    assert bluesky_pds.refusals() == []

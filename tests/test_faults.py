"""Fault injection: migrations through a loopback proxy (tests/faultproxy.py) that answers 20% of
calls with 500/502/503, 429 with reset headers, connection resets, slow answers and truncated
bodies end with the same exactly-once result; permanent refusals (400, 401, 413) are reported
per post (401 stops the run) and are never retried: the proxy counts every attempt.

Targets: the reference Bluesky PDS and the simulated Mastodon server over HTTP, read back as in
tests/test_chaos.py. `--full` makes the 20% runs larger.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests import figures
from tests.bluesky_pds import LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import (
    base_env,
    bluesky_case,
    chaos_export,
    check_bluesky,
    check_mastodon,
    clean_failure,
    finish,
    journal_problems,
    plans_for,
    run,
)
from tests.faultproxy import KINDS, FaultProxy
from tests.mastodon_http import MastodonHttp
from tests.targets.mastodon import plan_caps

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

CREATE = "/xrpc/com.atproto.repo.createRecord"
UPLOAD = "/xrpc/com.atproto.repo.uploadBlob"


def _posts(request) -> int:
    return 60 if request.config.getoption("--full") else 8


def _said(done) -> str:
    return " ".join(done.stderr.split())


def _report(path: Path) -> dict[str, dict]:
    return {p["post_id"]: p for p in json.loads(path.read_text())["posts"]}


# -- 20% faults, exactly once --------------------------------------------------------------------
def test_bluesky_migration_through_20_percent_faults_publishes_every_post_exactly_once(
        bluesky_pds: LocalPds, tmp_path: Path, request):
    export, account, plans = bluesky_case(bluesky_pds, tmp_path, _posts(request), seed=21, name="faulty")
    with FaultProxy(bluesky_pds.pds_port, rate=0.2, seed=2026, kinds=KINDS) as proxy:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        args = ["migrate", str(export.root), "--to", f"bluesky:{account.handle}"]
        finish(args, env, attempts=8)
        calls = sum(proxy.attempts.values())
    assert set(proxy.injected) >= {"500", "502", "503", "429", "reset", "slow", "truncated"} or calls < 60, proxy.injected
    assert 0.08 * calls <= proxy.faults_total() <= 0.35 * calls, (proxy.faults_total(), calls)
    tally = check_bluesky(bluesky_pds, account.did, plans, export)
    figures.record_tally(request, tally, faults=proxy.faults_total())
    tally.assert_exactly_once()
    verify = run(["verify", "--to", f"bluesky:{account.handle}"], env | {"PINDAH_BLUESKY_PDS": bluesky_pds.url})
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert journal_problems(tmp_path / "state", finished=True) == []


def test_mastodon_migration_through_20_percent_faults_publishes_every_post_exactly_once(
        tmp_path: Path, request):
    export = chaos_export(tmp_path / "export", _posts(request), seed=22)
    with MastodonHttp() as server:
        plans = plans_for(export.root, plan_caps(server.url, server.token, tmp_path))
        with FaultProxy(server.port, rate=0.2, seed=2027, kinds=KINDS) as proxy:
            env = base_env(tmp_path, PINDAH_MASTODON_TOKEN=server.token)
            target = f"mastodon:{proxy.url}"
            finish(["migrate", str(export.root), "--to", target], env, attempts=8)
            calls = sum(proxy.attempts.values())
            proxy.enabled = False
            verify = run(["verify", "--to", target], env)
        tally = check_mastodon(server, plans, export)
    assert 0.08 * calls <= proxy.faults_total() <= 0.35 * calls, (proxy.faults_total(), calls)
    figures.record_tally(request, tally, faults=proxy.faults_total())
    tally.assert_exactly_once()
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert journal_problems(tmp_path / "state", finished=True) == []


# -- permanent refusals ----------------------------------------------------------------------------
def test_bluesky_400_and_413_fail_only_their_posts_are_reported_and_never_retried(bluesky_pds: LocalPds,
                                                                                tmp_path: Path, request):
    export, account, plans = bluesky_case(bluesky_pds, tmp_path, 8, seed=23, name="refused")
    bad_text = plans[2].parts[0].text  # the server refuses this post's text (400)
    big = next(p for p in plans[4:] if len(p.parts) == 1 and export.identity[p.post.media[0].path][0] == "image")
    too_big_w_h = export.identity[big.post.media[0].path][1]
    seen: Counter[str] = Counter()

    def rule(method: str, path: str, body: bytes, count: int):
        if path == CREATE and bad_text in body.decode(errors="replace"):
            seen["400"] += 1
            return 400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record: text too long"}
        if path == UPLOAD and _image_size(body) == too_big_w_h:
            seen["413"] += 1
            return 413, {"error": "PayloadTooLarge", "message": "request entity too large"}
        return None

    with FaultProxy(bluesky_pds.pds_port, rate=0.0, rule=rule) as proxy:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        done = run(["migrate", str(export.root), "--to", f"bluesky:{account.handle}",
                    "--json", str(tmp_path / "report.json")], env)
    clean_failure(done)
    assert done.returncode == 1, done.stdout + done.stderr  # some posts failed
    assert seen == {"400": 1, "413": 1}, seen  # each refusal was met once: never retried
    report = _report(tmp_path / "report.json")
    assert report[plans[2].post.id]["state"] == "failed" and "text too long" in json.dumps(report[plans[2].post.id])
    # A refused file leaves its post without it, with the reason, or fails the post: never silently.
    big_entry = json.dumps(report[big.post.id])
    assert "413" in big_entry or "larger than this server accepts" in big_entry, big_entry
    assert "failed" in done.stdout and "retry-failed" in done.stdout
    # Everything else arrived exactly once.
    others = [p for p in plans if p.post.id not in (plans[2].post.id, big.post.id)]
    tally = check_bluesky(bluesky_pds, account.did, others, export)
    assert not tally.lost and tally.duplicates == 0 and not tally.wrong
    assert journal_problems(tmp_path / "state", finished=True) == []


def test_a_refused_upload_is_journaled_as_failed_not_left_uploading(bluesky_pds: LocalPds, tmp_path: Path):
    export = chaos_export(tmp_path / "export", 2, seed=28)
    account = bluesky_pds.create_account("refusedup")

    def rule(method: str, path: str, body: bytes, count: int):
        return (413, {"error": "PayloadTooLarge", "message": "request entity too large"}) if path == UPLOAD else None

    with FaultProxy(bluesky_pds.pds_port, rate=0.0, rule=rule) as proxy:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        done = run(["migrate", str(export.root), "--to", f"bluesky:{account.handle}"], env)
    assert done.returncode == 1, done.stderr
    assert journal_problems(tmp_path / "state", finished=True) == []


def test_bluesky_401_stops_the_run_at_once_and_the_next_run_finishes_exactly_once(bluesky_pds: LocalPds,
                                                                                tmp_path: Path, request):
    export, account, plans = bluesky_case(bluesky_pds, tmp_path, 8, seed=24, name="revoked")
    after_401: Counter[str] = Counter()

    def rule(method: str, path: str, body: bytes, count: int):
        if path == CREATE and count >= 3:
            after_401[path] += 1
            return 401, {"error": "AuthenticationRequired", "message": "Token could not be verified"}
        if after_401:
            after_401[path] += 1
        return None

    with FaultProxy(bluesky_pds.pds_port, rate=0.0, rule=rule) as proxy:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        args = ["migrate", str(export.root), "--to", f"bluesky:{account.handle}"]
        done = run(args, env)
    clean_failure(done)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "did not accept pindah's login" in _said(done) and "app password" in _said(done)
    # The run stopped at the first 401: no further create. Only the next post's images, sent
    # alongside that create (Adapter.uploads_alongside), may reach the server after its answer.
    assert after_401[CREATE] == 1 and set(after_401) <= {CREATE, UPLOAD} and after_401[UPLOAD] <= 4, after_401
    resumed = finish(args, env | {"PINDAH_BLUESKY_PDS": bluesky_pds.url})
    assert "Traceback" not in resumed.stderr
    tally = check_bluesky(bluesky_pds, account.did, plans, export)
    tally.assert_exactly_once()


@pytest.mark.parametrize("message", ["Token [redacted] could not be verified", "Bad token [/] try again"])
def test_a_servers_words_in_brackets_reach_the_stop_message_unchanged(bluesky_pds: LocalPds, tmp_path: Path,
                                                                       message: str):
    export = chaos_export(tmp_path / "export", 2, seed=25)
    account = bluesky_pds.create_account("brackets")

    def rule(method: str, path: str, body: bytes, count: int):
        return (401, {"error": "AuthenticationRequired", "message": message}) if path == CREATE else None

    with FaultProxy(bluesky_pds.pds_port, rate=0.0, rule=rule) as proxy:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        done = run(["migrate", str(export.root), "--to", f"bluesky:{account.handle}"], env)
    assert done.returncode == 3, done.stderr
    assert message in _said(done)


def test_a_server_error_at_login_is_a_resumable_stop_not_a_bad_input_exit(bluesky_pds: LocalPds, tmp_path: Path):
    export = chaos_export(tmp_path / "export", 2, seed=26)
    account = bluesky_pds.create_account("hiccup")

    def rule(method: str, path: str, body: bytes, count: int):
        if path == "/xrpc/com.atproto.server.createSession":
            return 503, {"error": "Unavailable", "message": "try later"}
        return None

    with FaultProxy(bluesky_pds.pds_port, rate=0.0, rule=rule) as proxy:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=proxy.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        done = run(["migrate", str(export.root), "--to", f"bluesky:{account.handle}"], env)
    clean_failure(done)
    assert done.returncode == 3, done.stderr


def test_mastodon_422_and_413_fail_only_their_posts_and_401_stops_the_run_none_retried(
        tmp_path: Path):
    export = chaos_export(tmp_path / "export", 8, seed=27)
    with MastodonHttp() as server:
        plans = plans_for(export.root, plan_caps(server.url, server.token, tmp_path))
        bad_text = plans[1].parts[0].text
        big = next(p for p in plans[3:] if len(p.parts) == 1 and export.identity[p.post.media[0].path][0] == "image")
        big_size = export.identity[big.post.media[0].path][1]
        seen: Counter[str] = Counter()
        stop_after = [False]

        def rule(method: str, path: str, body: bytes, count: int):
            if stop_after[0] and path.startswith("/api/"):
                seen["401"] += 1
                return 401, {"error": "The access token is invalid"}
            if path == "/api/v1/statuses" and _form_text(body) == bad_text:
                seen["422"] += 1
                return 422, {"error": "Validation failed: Text character limit of 500 exceeded"}
            if path in ("/api/v2/media", "/api/v1/media") and _image_size(_multipart_file(body)) == big_size:
                seen["413"] += 1
                return 413, {"error": "File is too large"}
            return None

        with FaultProxy(server.port, rate=0.0, rule=rule) as proxy:
            env = base_env(tmp_path, PINDAH_MASTODON_TOKEN=server.token)
            args = ["migrate", str(export.root), "--to", f"mastodon:{proxy.url}", "--json", str(tmp_path / "r.json")]
            done = run(args, env)
            clean_failure(done)
            assert done.returncode == 1, done.stdout + done.stderr
            assert seen == {"422": 1, "413": 1}, seen
            report = _report(tmp_path / "r.json")
            assert report[plans[1].post.id]["state"] == "failed"
            assert "character limit" in json.dumps(report[plans[1].post.id])
            assert "too large" in json.dumps(report[big.post.id]).lower()
            others = [p for p in plans if p.post.id not in (plans[1].post.id, big.post.id)]
            tally = check_mastodon(server, others, export)
            assert not tally.lost and tally.duplicates == 0 and not tally.wrong
            # A revoked token: the run stops at its first call, says how to log in, and asks once.
            stop_after[0] = True
            seen.clear()
            relapse = run(["retry-failed", str(export.root), "--to", f"mastodon:{proxy.url}"], env)
    clean_failure(relapse)
    assert relapse.returncode == 3, relapse.stdout + relapse.stderr
    assert "login" in _said(relapse) and "pindah login" in _said(relapse)
    assert seen["401"] == 1, seen


# -- helpers ---------------------------------------------------------------------------------------
def _image_size(data: bytes) -> tuple[int, int] | None:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:  # noqa: BLE001 - not an image: no size
        return None


def _multipart_file(body: bytes) -> bytes:
    match = re.search(rb'name="file"; filename="[^"]*"\r\nContent-Type: [^\r]*\r\n\r\n', body)
    if not match:
        return b""
    rest = body[match.end():]
    return rest[: rest.rfind(b"\r\n--")]


def _form_text(body: bytes) -> str | None:
    from urllib.parse import parse_qsl

    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True)).get("status")
    except UnicodeDecodeError:
        return None


def test_running_migrate_again_after_a_failure_still_says_a_post_is_missing(tmp_path: Path):
    export = chaos_export(tmp_path / "export", 4, seed=29)
    with MastodonHttp() as server:
        creates = Counter()

        def rule(method: str, path: str, body: bytes, count: int):
            if method == "POST" and path == "/api/v1/statuses":
                creates["n"] += 1
                if creates["n"] == 2:
                    return 422, {"error": "Validation failed: try another day"}
            return None

        with FaultProxy(server.port, rate=0.0, rule=rule) as proxy:
            env = base_env(tmp_path, PINDAH_MASTODON_TOKEN=server.token)
            args = ["migrate", str(export.root), "--to", f"mastodon:{proxy.url}"]
            first = run(args, env)
            again = run(args, env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert again.returncode == 1, again.stdout
    assert "Nothing new to migrate" not in again.stdout
    assert "retry-failed" in " ".join(again.stdout.split())

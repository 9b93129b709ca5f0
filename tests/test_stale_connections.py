"""Every pindah command against a server that closes each connection after its answer, silently.

Found on snac (a real Mastodon-API server): 5 of 48 commands ended with exit 3 "connection
failed or dropped", because a pooled connection the server had closed was used again. The HTTP
layer (pindah.adapters.toolkit.http) re-sends idempotent requests on a fresh connection and
never sends a POST on a reused one. Here every command runs 20 times in a row against
tests/stale_server.py, which loses every request sent on a reused connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from pindah.adapters.toolkit.http import HttpClient, HttpError
from pindah.migrator.cli import cli

from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthPost
from tests.stale_server import StaleMastodon

pytestmark = pytest.mark.mastodon

RUNS = int(__import__("os").environ.get("PINDAH_STALE_RUNS", "20"))
T0 = 1_600_000_000


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN_STORE", "file")
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))
    with StaleMastodon() as stale:
        monkeypatch.setenv("PINDAH_MASTODON_TOKEN", stale.token)
        yield stale


def pindah(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_the_test_server_really_loses_requests_on_reused_connections(server):
    plain = requests.Session()  # what a client without the fix does
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(plain.get(server.url + "/api/v1/instance", timeout=5).status_code)
        except requests.ConnectionError:
            outcomes.append("dropped")
    assert "dropped" in outcomes and server.dropped >= 1


def test_reads_and_deletes_survive_stale_connections_and_posts_never_use_one(server):
    wire = HttpClient(server.url)
    for _ in range(RUNS):
        assert wire.send("GET", "/api/v1/instance").status_code == 200
        assert wire.send("DELETE", "/api/v1/statuses/404", headers={"Authorization": f"Bearer {server.token}"}
                         ).status_code == 404
    created = [wire.send("POST", "/api/v1/statuses", data={"status": f"post {i}"},
                         headers={"Authorization": f"Bearer {server.token}"}).status_code for i in range(RUNS)]
    assert created == [200] * RUNS and len(server.statuses()) == RUNS
    assert server.dropped >= RUNS  # the server did drop the reused connections: they were re-sent
    wire.close()


def test_every_command_passes_20_times_in_a_row(server, tmp_path):
    export = tmp_path / "export"
    # One picture per round: 20 rounds stay within Mastodon's 30 uploads and 30 deletes per
    # 30 minutes, which pindah's pacer keeps (more would make it wait, as it should).
    write_meta_json(export, [SynthPost(T0, "A single piece #ink @budi.santoso")])
    target = f"mastodon:{server.url}"
    for run in range(RUNS):
        steps = [
            ("login", pindah("login", target, "--token", stdin=server.token + "\n")),
            ("plan", pindah("plan", str(export), "--to", target)),
            ("migrate", pindah("migrate", str(export), "--to", target)),
            ("re-run", pindah("migrate", str(export), "--to", target)),
            ("status", pindah("status")),
            ("verify", pindah("verify", "--to", target)),
            ("rollback", pindah("rollback", "--to", target, "--yes")),
        ]
        for name, result in steps:
            assert result.exit_code == 0, f"run {run + 1}, {name}: exit {result.exit_code}: {result.output}"
        assert not server.statuses(), f"run {run + 1}: the rollback left posts behind"
    assert server.dropped > RUNS  # the stale connections were really there, every run


def test_a_dropped_connection_error_names_the_server_and_is_transient(server):
    wire = HttpClient("http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(HttpError) as err:
        wire.send("GET", "/api/v1/instance")
    assert err.value.status == 0 and err.value.host == "127.0.0.1:9"

"""The Mastodon-API adapter's publishing path against a real server: snac (Debian `snac2`).

What snac can prove (shared/reference snac-mastodon-api.md): login (a token, the browser login
with its loopback redirect, the pasted out-of-band code), migrate, a re-run that adds nothing,
verify, text exactly as sent, reply threads, media in order and byte-identical, all over a
server that closes every connection after its answer. What it cannot (idempotency keys,
rollback, limits, 429s) stays on the simulations (tests/test_mastodon_*.py).

Without snac these tests skip with the reason, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from pindah.adapters.mastodon_auth import LoginIO, login
from pindah.migrator import journal as J
from pindah.migrator.cli import cli
from pindah.migrator.engine import journals_for
from pindah.migrator.journal import Journal

from tests.snac_server import USER, SnacServer, in_ci, snac_missing

pytestmark = [pytest.mark.integration, pytest.mark.mastodon]

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "instagram-export"


@pytest.fixture(scope="module")
def snac(tmp_path_factory: pytest.TempPathFactory):
    missing = snac_missing()
    if missing:
        if in_ci():
            pytest.fail(f"CI must run the real Mastodon-API server: {missing}")
        pytest.skip(missing)
    with SnacServer(tmp_path_factory.mktemp("snac") / "data") as server:
        yield server


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN_STORE", "file")
    monkeypatch.delenv("PINDAH_MASTODON_TOKEN", raising=False)
    monkeypatch.setenv("COLUMNS", "500")
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path


def pindah(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


class Browser:
    """What the artist does in the browser: open snac's login form and send it."""

    def __init__(self, snac: SnacServer) -> None:
        self.snac = snac
        self.code = ""

    def allow(self, url: str) -> requests.Response:
        form = requests.get(url, timeout=10).text
        hidden = dict(re.findall(r'name="(redir|cid|state)"[^>]*value="([^"]*)"', form))
        return requests.post(self.snac.url + "/oauth/x-snac-login", allow_redirects=False, timeout=10,
                             data={"login": USER, "passwd": self.snac.password, **hidden})

    def open(self, url: str) -> bool:  # the loopback redirect: follow snac's 303 to pindah's receiver
        answer = self.allow(url)
        assert answer.status_code == 303, answer.status_code
        # The browser lands on pindah's receiver while pindah waits for it: another thread.
        threading.Thread(target=requests.get, args=(answer.headers["Location"],), kwargs={"timeout": 10},
                         daemon=True).start()
        return True

    def paste(self, url: str) -> str:  # out of band: snac shows "CODE&state=S"
        return self.allow(url).text.strip().split("&", 1)[0]


def _login_io(snac: SnacServer, *, browser: bool) -> LoginIO:
    agent, said = Browser(snac), []
    return LoginIO(say=said.append, open_browser=agent.open if browser else (lambda url: False),
                   ask_code=lambda: agent.paste(re.search(r"https?://\S+", said[-1]).group(0)),
                   wait_seconds=10.0)


def test_login_with_a_token_the_browser_or_a_pasted_code(snac, places):
    said = pindah("login", f"mastodon:{snac.url}", "--token", stdin=snac.token + "\n")
    assert said.exit_code == 0, said.output
    assert f"Logged in to 127.0.0.1:{snac.port} as @{USER}" in said.output and snac.token not in said.output
    for browser in (True, False):
        record, where = login(snac.url, {}, _login_io(snac, browser=browser), browser=browser)
        assert record.method == "oauth" and record.acct.startswith(USER) and record.token
        assert Path(where).stat().st_mode & 0o077 == 0  # kept in a private file


def test_a_revoked_token_says_to_log_in_again(snac, places, monkeypatch):
    token = snac.new_token()
    assert snac.revoke(token) < 400
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", token)
    said = pindah("migrate", str(SAMPLE), "--to", f"mastodon:{snac.url}")
    assert said.exit_code != 0 and f"pindah login mastodon:{snac.url}" in " ".join(said.output.split())
    assert "no reason given" not in said.output and token not in said.output


def test_migrate_rerun_and_verify_the_sample_export(snac, places, monkeypatch):
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", snac.token)
    target = f"mastodon:{snac.url}"
    before = {s["id"] for s in snac.statuses()}
    first = pindah("migrate", str(SAMPLE), "--to", target)
    assert first.exit_code == 0, first.output
    with Journal.open(next(iter(journals_for("mastodon")))) as journal:
        parts = list(journal.all_parts(J.POSTED))
        media = {(m.post_id, m.idx): m for p in parts for m in journal.media(p.post_id)}
    new = {s["id"]: s for s in snac.statuses() if s["id"] not in before}
    assert len(new) == len(parts) >= 8 and {p.remote.id for p in parts} == set(new)

    threads = 0
    for part in parts:
        status = new[part.remote.id]
        # Text exactly as sent (snac gives the source text back), threads in order.
        assert status["text"].replace("@\u200d", "@") == part.text
        if part.reply_to is not None:
            threads += 1
            parent = next(p for p in parts if p.post_id == part.post_id and p.idx == part.reply_to)
            assert status["in_reply_to_id"] == parent.remote.id
        # Media in Instagram's order, each file byte for byte what pindah prepared.
        got = [hashlib.sha256(snac.file(a["url"])).hexdigest() for a in status["media_attachments"]]
        assert got == [media[(part.post_id, i)].prepared_sha for i in part.media]
    assert threads >= 1  # the long caption and the carousel became threads

    again = pindah("migrate", str(SAMPLE), "--to", target)
    assert again.exit_code == 0, again.output
    assert len(snac.statuses()) == len(before) + len(parts)  # the re-run added nothing

    checked = pindah("verify", "--to", target)
    assert checked.exit_code == 0, checked.output
    assert f"Checked {len(parts)} published part(s): everything is there." in checked.output


def test_every_read_command_passes_20_times_in_a_row_on_snac(snac, places, monkeypatch):
    """snac closes every connection after its answer: 5 of 48 commands once ended "connection
    failed or dropped". Reads (the login check, plan, a re-run, verify) must never fail so."""
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", snac.token)
    target = f"mastodon:{snac.url}"
    assert pindah("migrate", str(SAMPLE), "--to", target).exit_code == 0
    for run in range(20):
        for args in (("plan", str(SAMPLE), "--to", target), ("migrate", str(SAMPLE), "--to", target),
                     ("status",), ("verify", "--to", target)):
            result = pindah(*args)
            assert result.exit_code == 0, f"run {run + 1}, {args[0]}: {result.output}"

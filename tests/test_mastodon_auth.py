"""Logging in to Mastodon-API servers: OAuth with PKCE (loopback and out-of-band), personal
access tokens, where tokens are kept (keyring or a private file), and logging out."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from click.testing import CliRunner

from pindah.adapters.mastodon import MastodonAdapter
from pindah.adapters.mastodon_auth import (
    KEYRING_SERVICE,
    OOB,
    LoginIO,
    TokenRecord,
    TokenStore,
    login,
    logout,
    server_of,
)
from pindah.migrator.account_commands import login_command, logout_command
from pindah.migrator.errors import PindahError
from tests.mastodon_sim import TOKEN, SimServer

pytestmark = pytest.mark.mastodon

SERVER = "https://social.example"


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("PINDAH_MASTODON_TOKEN", raising=False)
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN_STORE", "file")


@pytest.fixture
def sim():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield SimServer(flavour="mastodon").install(rsps)


class Browser:
    """Plays the artist's browser: logs in, allows pindah, and follows the redirect."""

    def __init__(self, sim: SimServer, *, code: str = "c0de", state: str | None = None, reachable: bool = True) -> None:
        self.sim, self.code, self.state, self.reachable = sim, code, state, reachable
        self.opened: list[dict[str, str]] = []
        self.thread: threading.Thread | None = None

    def open(self, url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self.opened.append(query)
        if not self.reachable:
            return False
        self.sim.codes[self.code] = query["redirect_uri"]
        target = f"{query['redirect_uri']}?code={self.code}&state={self.state or query['state']}"
        # The real browser runs beside pindah; urllib is not intercepted by `responses`.
        self.thread = threading.Thread(target=lambda: urllib.request.urlopen(target, timeout=5).read())
        self.thread.start()
        return True


def _io(browser: Browser | None = None, code: str = "", token: str = "") -> tuple[LoginIO, list[str]]:
    said: list[str] = []
    return LoginIO(say=said.append, open_browser=browser.open if browser else (lambda url: False),
                   ask_code=lambda: code, ask_token=lambda: token, wait_seconds=5), said


def test_browser_login_uses_pkce_and_a_loopback_redirect_and_keeps_the_token_private(sim, tmp_path):
    browser = Browser(sim)
    io, said = _io(browser)
    record, where = login(SERVER, {}, io)
    browser.thread.join()
    asked = browser.opened[0]
    assert asked["redirect_uri"].startswith("http://127.0.0.1:") and asked["scope"] == "read write"
    assert asked["code_challenge_method"] == "S256" and asked["response_type"] == "code"
    token_call = next(c for c in sim.forms if c[0] == "/oauth/token")
    form = dict(token_call[1])
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).decode().rstrip("=")
    assert challenge == asked["code_challenge"] and form["redirect_uri"] == asked["redirect_uri"]
    assert (record.acct, record.account_id, record.method) == ("artist", "42", "oauth")
    path = tmp_path / "state" / "tokens" / "mastodon"
    saved = next(path.glob("*.json"))
    assert where == str(saved) and json.loads(saved.read_text())["token"] == TOKEN
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600 and stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert TOKEN not in " ".join(said) and TOKEN not in repr(record)
    assert TokenStore(mode="file").load(SERVER) == record


def test_without_a_reachable_browser_the_code_is_pasted_out_of_band(sim):
    io, said = _io(Browser(sim, reachable=False), code="pasted")
    sim.codes["pasted"] = OOB
    record, _ = login(SERVER, {}, io)
    assert [a["redirect_uri"] for a in sim.apps][-1] == OOB and record.acct == "artist"
    assert any("paste the code" in line for line in said)
    io, _ = _io(code="pasted-again")  # --no-browser goes straight to the code
    sim.codes["pasted-again"] = OOB
    apps_before = len(sim.apps)
    login(SERVER, {}, io, browser=False)
    assert [a["redirect_uri"] for a in sim.apps[apps_before:]] == [OOB]


def test_a_redirect_for_another_login_is_refused(sim):
    browser = Browser(sim, state="forged")
    with pytest.raises(PindahError, match="did not match"):
        login(SERVER, {}, _io(browser)[0])
    browser.thread.join()
    assert not any(path == "/oauth/token" for path, _, _ in sim.forms)


def test_a_wrong_code_is_a_clear_message(sim):
    with pytest.raises(PindahError, match="did not accept the login code"):
        login(SERVER, {}, _io(code="wrong")[0], browser=False)


def test_a_personal_access_token_from_the_environment_or_the_prompt(sim, monkeypatch):
    record, _ = login(SERVER, {}, _io(token=TOKEN)[0], use_token=True)
    assert record.method == "personal" and not sim.apps and record.acct == "artist"
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", TOKEN)
    assert login(SERVER, {}, _io()[0])[0].method == "personal"
    with pytest.raises(Exception, match="did not accept pindah's login"):
        monkeypatch.setenv("PINDAH_MASTODON_TOKEN", "not-the-token")
        login(SERVER, {}, _io()[0])


def test_logout_forgets_and_revokes_a_browser_login(sim):
    browser = Browser(sim)
    login(SERVER, {}, _io(browser)[0])
    browser.thread.join()
    removed, note = logout(SERVER, {})
    assert removed and note is None and sim.revoked == [TOKEN]
    assert TokenStore(mode="file").load(SERVER) is None
    assert logout(SERVER, {}) == (False, None)


def test_logout_of_a_personal_token_says_where_to_revoke_it(sim):
    login(SERVER, {}, _io(token=TOKEN)[0], use_token=True)
    removed, note = logout(SERVER, {})
    assert removed and "personal access token still works" in note and not sim.revoked


class FakeKeyring:
    def __init__(self, broken: bool = False) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.broken = broken

    def get_password(self, service: str, user: str) -> str | None:
        return self.items.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        if self.broken:
            raise RuntimeError("keyring locked")
        self.items[(service, user)] = value

    def delete_password(self, service: str, user: str) -> None:
        del self.items[(service, user)]


def test_tokens_go_to_the_keyring_when_there_is_one_else_to_a_private_file(tmp_path):
    record = TokenRecord(SERVER, "secret-token", "42", "artist")
    ring = FakeKeyring()
    store = TokenStore(tmp_path / "t", keyring=ring)
    assert store.save(record) == "your system keyring" and not (tmp_path / "t").exists()
    assert json.loads(ring.items[(KEYRING_SERVICE, SERVER)])["token"] == "secret-token"
    assert store.load(SERVER) == record and store.delete(SERVER) and store.load(SERVER) is None
    broken = TokenStore(tmp_path / "t", keyring=FakeKeyring(broken=True))
    assert broken.save(record) == str(broken.path(SERVER)) and broken.load(SERVER) == record
    with pytest.raises(PindahError, match="no usable system keyring"):
        TokenStore(tmp_path / "t", mode="keyring", keyring=None)


def test_cli_login_and_logout_never_print_the_token(sim, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(login_command, ["mastodon:https://social.example", "--token"], input=TOKEN + "\n", obj={})
    assert result.exit_code == 0, result.output
    assert "Logged in to social.example as @artist" in result.output and TOKEN not in result.output
    result = runner.invoke(logout_command, ["mastodon:https://social.example"], obj={})
    assert result.exit_code == 0 and "Logged out of social.example" in result.output
    assert "personal access token still works" in result.output


def test_targets_are_https_servers():
    assert server_of("mastodon:https://Social.Example/") == "https://social.example"
    assert server_of("http://localhost:8080") == "http://localhost:8080"
    for bad in ("mastodon:social.example", "mastodon:http://social.example", "bluesky:https://x.example"):
        with pytest.raises(PindahError):
            server_of(bad)


def test_a_real_run_without_a_saved_login_logs_in_there_and_then(sim):
    io, said = _io(code="now")
    sim.codes["now"] = OOB
    adapter = MastodonAdapter(SERVER, {}, io=io, sleep=lambda s: None)  # no browser: the pasted code
    adapter.prepare(interactive=True)
    assert adapter.account() == "artist@social.example" and any("not logged in" in line for line in said)
    assert TokenStore(mode="file").load(SERVER).token == TOKEN

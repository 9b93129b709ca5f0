"""The toolkit's authorization-code grant with a registered client (adapters/toolkit/oauth_code.py):
the browser login over a loopback redirect, the token exchange, refreshing before expiry and after
a 401, rotated refresh tokens saved before use, and secrets kept out of every message."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import responses
from pindah.adapters.contract import PindahError, RunStopped, TransientError
from pindah.adapters.toolkit.oauth import LoginIO
from pindah.adapters.toolkit.oauth_code import (
    ClientCredentials,
    CodeFlow,
    CodeGrant,
    TokenKeeper,
    TokenSet,
)
from pindah.adapters.toolkit.tokens import SecretStore

TOKEN_URL = "https://auth.example/oauth2/token"
FLOW = CodeFlow("Example", "https://auth.example/oauth2/authorize", TOKEN_URL, ("user", "publish"),
                "run `pindah login example`")
SECRET = "client-s3cret-0123456789"
CLIENT = ClientCredentials("1234", SECRET)


class TokenServer:
    """A token endpoint that rotates refresh tokens (the old one stops working) and counts calls."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.forms: list[dict[str, str]] = []
        self.valid_refresh = {"r-0"}
        self.serial = 0
        self.answer: tuple[int, dict] | None = None
        rsps.add_callback("POST", TOKEN_URL, callback=self._token)

    def _token(self, request):
        form = dict(parse_qsl(request.body))
        self.forms.append(form)
        if self.answer is not None:
            return self.answer[0], {}, json.dumps(self.answer[1])
        if form["client_secret"] != SECRET:
            return 401, {}, json.dumps({"error": "invalid_client", "error_description": "bad client"})
        if form["grant_type"] == "refresh_token":
            if form["refresh_token"] not in self.valid_refresh:
                return 400, {}, json.dumps({"error": "invalid_request",
                                            "error_description": f"Invalid refresh token {form['refresh_token']}"})
            self.valid_refresh.discard(form["refresh_token"])
        self.serial += 1
        self.valid_refresh.add(f"r-{self.serial}")
        return 200, {}, json.dumps({"status": "success", "access_token": f"a-{self.serial}", "token_type": "Bearer",
                                    "expires_in": 3600, "refresh_token": f"r-{self.serial}", "scope": "user publish"})


@pytest.fixture
def server():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield TokenServer(rsps)


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def keeper_for(tmp_path: Path, clock: Clock) -> TokenKeeper:
    return TokenKeeper(CodeGrant(FLOW, CLIENT, clock=clock), SecretStore("example", tmp_path / "tokens", mode="file"),
                       "https://auth.example", clock=clock)


def test_the_browser_login_sends_pkce_and_exchanges_the_code_with_the_client(server, tmp_path):
    opened: list[dict[str, str]] = []

    def browser(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        opened.append(query)
        back = f"{query['redirect_uri']}?code=the-code&state={query['state']}"
        threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=5).read()).start()
        return True

    said: list[str] = []
    tokens = CodeGrant(FLOW, CLIENT).login(LoginIO(say=said.append, open_browser=browser, wait_seconds=5))
    asked, form = opened[0], server.forms[0]
    assert asked["redirect_uri"].startswith("http://127.0.0.1:") and asked["scope"] == "user publish"
    assert asked["client_id"] == "1234" and SECRET not in json.dumps(asked)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).decode().rstrip("=")
    assert challenge == asked["code_challenge"] and asked["code_challenge_method"] == "S256"
    assert (form["grant_type"], form["code"], form["redirect_uri"]) == ("authorization_code", "the-code",
                                                                         asked["redirect_uri"])
    assert form["client_secret"] == SECRET
    assert (tokens.access_token, tokens.refresh_token) == ("a-1", "r-1")
    assert not any(s in " ".join(said) + repr(tokens) + repr(CLIENT) for s in (SECRET, "a-1", "r-1"))


def test_a_token_about_to_expire_is_renewed_and_the_rotated_one_saved_privately(server, tmp_path):
    clock = Clock()
    keeper = keeper_for(tmp_path, clock)
    where = keeper.save(TokenSet("a-0", "r-0", clock.now + 3600), account="artist")
    assert keeper.access_token() == "a-0" and server.forms == []  # still good for an hour
    clock.now += 3600 - 60  # a minute left: too little for a slow upload
    assert keeper.access_token() == "a-1"
    saved = json.loads(Path(where).read_text())
    assert (saved["access_token"], saved["refresh_token"], saved["account"]) == ("a-1", "r-1", "artist")
    assert saved["client_secret"] == SECRET  # typed once, kept with the login
    assert stat.S_IMODE(os.stat(where).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(Path(where).parent).st_mode) == 0o700


def test_a_401_renews_once_and_a_token_another_process_renewed_is_used_as_it_is(server, tmp_path):
    clock = Clock()
    keeper = keeper_for(tmp_path, clock)
    keeper.save(TokenSet("a-0", "r-0", clock.now + 3600))
    assert keeper.after_unauthorized("a-0") == "a-1" and len(server.forms) == 1
    assert keeper.after_unauthorized("a-0") == "a-1" and len(server.forms) == 1  # already renewed


def test_a_refresh_token_rotated_by_another_pindah_is_picked_up_not_reported_as_logged_out(server, tmp_path):
    clock = Clock()
    first, second = keeper_for(tmp_path, clock), keeper_for(tmp_path, clock)
    first.save(TokenSet("a-0", "r-0", clock.now + 3600))
    second.load()
    clock.now += 3600
    assert first.access_token() == "a-1"  # rotated: r-0 is spent
    assert second.access_token() == "a-1"  # r-0 refused: uses what `first` saved, not "logged out"
    clock.now += 3600
    assert second.access_token() == "a-2"  # and renews from r-1 when that one expires


def test_a_refused_refresh_stops_the_run_with_how_to_log_in_and_no_secret(server, tmp_path):
    clock = Clock()
    keeper = keeper_for(tmp_path, clock)
    keeper.save(TokenSet("a-0", "r-revoked", clock.now - 1))
    with pytest.raises(RunStopped) as stopped:
        keeper.access_token()
    said = stopped.value.one_line()
    assert "pindah login example" in said and "r-revoked" not in said and SECRET not in said


def test_a_busy_token_server_is_a_retry_and_a_wrong_secret_says_so(server, tmp_path):
    clock = Clock()
    keeper = keeper_for(tmp_path, clock)
    keeper.save(TokenSet("a-0", "r-0", clock.now - 1))
    server.answer = (503, {"error": "server_error"})
    with pytest.raises(TransientError):
        keeper.access_token()
    server.answer = None
    wrong = TokenKeeper(CodeGrant(FLOW, ClientCredentials("1234", "not-it"), clock=clock), keeper.store,
                        keeper.key, clock=clock)
    with pytest.raises(PindahError, match="client id or secret") as refused:
        wrong.access_token()
    assert "not-it" not in refused.value.one_line()


def test_missing_client_settings_are_named_with_where_to_register():
    with pytest.raises(PindahError) as missing:
        ClientCredentials.from_settings("1234", "", flow=FLOW, register_url="https://auth.example/apps",
                                        id_setting="client_id", secret_setting="client_secret")
    said = missing.value.one_line()
    assert "client_secret" in said and "https://auth.example/apps" in said
    saved = ClientCredentials.from_settings(None, None, flow=FLOW, register_url="x", id_setting="client_id",
                                            secret_setting="client_secret",
                                            saved={"client_id": "1234", "client_secret": SECRET})
    assert saved == CLIENT


def test_a_public_client_sends_no_secret_and_needs_only_its_id(server, tmp_path):
    public = ClientCredentials.from_settings("1234", None, flow=FLOW, register_url="x", id_setting="client_id",
                                             secret_setting="client_secret", secret_required=False)
    server.answer = (200, {"access_token": "a-p", "expires_in": 3600, "refresh_token": "r-p"})
    tokens = CodeGrant(FLOW, public).exchange("the-code", "http://127.0.0.1:8913/callback", "v" * 50)
    assert tokens.refresh_token == "r-p" and "client_secret" not in server.forms[0]
    assert server.forms[0]["code_verifier"] == "v" * 50
    with pytest.raises(PindahError, match="client_id"):
        ClientCredentials.from_settings("", None, flow=FLOW, register_url="x", id_setting="client_id",
                                        secret_setting="client_secret", secret_required=False)

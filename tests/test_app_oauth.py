"""Mastodon through the app: the server's address, its OAuth page in the artist's browser,
the loopback redirect, and the app back at the places with the login kept (never shown)."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from tests.app_support import (
    AppClient,
    authorize_query,
    browser_comes_back,
    login_ends,
    private_home,
)
from tests.mastodon_sim import TOKEN, SimServer

pytestmark = pytest.mark.mastodon

WAIT = "/places/oauth/mastodon/wait"


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN_STORE", "file")
    monkeypatch.delenv("PINDAH_MASTODON_TOKEN", raising=False)
    return private_home(monkeypatch, tmp_path)


def test_mastodon_oauth_in_the_browser_comes_back_to_the_app_logged_in(home: Path, tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sim = SimServer(flavour="mastodon").install(rsps)
        app = AppClient()
        app.choose_sample(home)
        waiting = app.post("/places/oauth/mastodon", {"location": "social.example"})  # no https://: it is implied
        assert waiting.url.path == WAIT
        assert '<meta http-equiv="refresh" content="2">' in waiting.text
        asked = authorize_query(waiting.text, "https://social.example/oauth/authorize")
        assert asked["code_challenge_method"] == "S256" and asked["redirect_uri"].startswith("http://127.0.0.1:")
        # The artist allows pindah on the server, which sends the browser to the loopback redirect.
        sim.codes["code-1"] = asked["redirect_uri"]
        assert "pindah is logged in" in browser_comes_back(asked["redirect_uri"], code="code-1", state=asked["state"])
        page = login_ends(app, WAIT)
        assert "Logged in." in page.text
        assert 'Mastodon, Pixelfed or GoToSocial <span class="muted">social.example' in page.text
        assert app.app.state.workspace.session.targets == ["mastodon:social.example"]
        everything = [page.text, waiting.text] + [app.get(p).text for p in ("/places", "/run", "/after")]
        assert all(TOKEN not in text for text in everything)
    saved = list((tmp_path / "state" / "tokens" / "mastodon").glob("*.json"))
    assert len(saved) == 1 and saved[0].stat().st_mode & 0o777 == 0o600


def test_a_refused_login_says_why_and_adds_nothing(home: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        SimServer(flavour="mastodon").install(rsps)
        app = AppClient()
        app.choose_sample(home)
        waiting = app.post("/places/oauth/mastodon", {"location": "https://social.example"})
        asked = authorize_query(waiting.text, "https://social.example/oauth/authorize")
        browser_comes_back(asked["redirect_uri"], error="access_denied", state=asked["state"])
        page = login_ends(app, WAIT)
        assert "Could not log in to Mastodon, Pixelfed or GoToSocial:" in page.text and "access_denied" in page.text
        assert app.app.state.workspace.session.targets == []

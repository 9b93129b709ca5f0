"""The targets added after the app was written are offered by it without the app naming them:
Tumblr (OAuth 2, the blog's name as its location) and DeviantArt (OAuth 2 with PKCE, no
location) are listed, and their logins in the browser, against their simulations on 127.0.0.1,
add them with the login kept (never shown)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import requests
from pindah.migrator import targets

from tests.app_support import (
    AppClient,
    authorize_query,
    browser_comes_back,
    login_ends,
    private_home,
)
from tests.deviantart_sim import CLIENT_ID as DA_CLIENT_ID
from tests.deviantart_sim import CLIENT_SECRET as DA_CLIENT_SECRET
from tests.deviantart_sim import DeviantArtSim
from tests.sim_http import SimHttp
from tests.tumblr_sim import BLOG, CLIENT_ID, CLIENT_SECRET, TumblrHttp


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("PINDAH_TUMBLR_TOKEN", raising=False)
    return private_home(monkeypatch, tmp_path)


def _settings(monkeypatch: pytest.MonkeyPatch, target: str, **values: str) -> None:
    """The artist's own app (client id and secret) and where the platform is, as settings."""
    for key, value in {**values, "TOKEN_STORE": "file"}.items():
        monkeypatch.setenv(f"PINDAH_TARGETS_{target.upper()}_{key}", value)


def test_tumblr_is_offered_and_its_login_in_the_browser_adds_the_blog(home: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert "tumblr" in targets.available(), targets.broken()
    with TumblrHttp() as server:
        # The artist's own Tumblr app (its client id and secret) and where Tumblr is, as settings.
        _settings(monkeypatch, "tumblr", API_BASE=server.url, CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET)
        app = AppClient()
        app.choose_sample(home)
        places = app.get("/places").text
        assert ">Tumblr</h3>" in places and 'action="/places/oauth/tumblr"' in places
        assert '<label for="tumblr-location">Your blog&#39;s name</label>' in places
        waiting = app.post("/places/oauth/tumblr", {"location": BLOG})
        assert waiting.url.path == "/places/oauth/tumblr/wait" and "Log in to Tumblr" in waiting.text
        asked = authorize_query(waiting.text, "https://www.tumblr.com/oauth2/authorize")
        assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"].startswith("http://127.0.0.1:")
        # The artist allows pindah on tumblr.com, which sends the browser back with a code.
        code = server.sim.new_code(asked["redirect_uri"])
        assert "pindah is logged in" in browser_comes_back(asked["redirect_uri"], code=code, state=asked["state"])
        page = login_ends(app, "/places/oauth/tumblr/wait")
        assert "Logged in. pindah keeps the login in your token store" in page.text
        assert app.app.state.workspace.session.targets == [f"tumblr:{BLOG}"]
        issued = [t for t in server.sim.tokens if t != server.token] + list(server.sim.refresh_tokens)
        assert len(issued) == 2  # one access token and one refresh token, both kept by the adapter
        seen = [waiting.text, page.text] + [app.get(p).text for p in ("/places", "/run", "/after")]
        assert all(secret not in text for text in seen for secret in (*issued, CLIENT_SECRET, code))
    saved = list((tmp_path / "state" / "tokens" / "tumblr").glob("*"))
    assert len(saved) == 1 and saved[0].stat().st_mode & 0o777 == 0o600


def test_deviantart_is_offered_without_a_location_and_its_login_in_the_browser_adds_it(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "deviantart" in targets.available(), targets.broken()
    sim = DeviantArtSim()
    with SimHttp(sim.handle) as server:
        sim.base = server.url
        _settings(monkeypatch, "deviantart", API=server.url, CLIENT_ID=DA_CLIENT_ID, CLIENT_SECRET=DA_CLIENT_SECRET)
        app = AppClient()
        app.choose_sample(home)
        places = app.get("/places").text
        assert ">DeviantArt</h3>" in places and 'action="/places/oauth/deviantart"' in places
        assert 'id="deviantart-location"' not in places  # one account per login: no location to give
        waiting = app.post("/places/oauth/deviantart")
        assert waiting.url.path == "/places/oauth/deviantart/wait" and "Log in to DeviantArt" in waiting.text
        asked = authorize_query(waiting.text, f"{server.url}/oauth2/authorize")
        assert asked["code_challenge_method"] == "S256" and asked["redirect_uri"].startswith("http://127.0.0.1:")
        # The artist allows pindah on DeviantArt (the simulation allows at once and redirects back).
        allowed = requests.get(f"{server.url}/oauth2/authorize", params=asked, allow_redirects=False, timeout=10)
        assert allowed.status_code == 302
        with urllib.request.urlopen(allowed.headers["Location"], timeout=10) as back:
            assert b"pindah is logged in" in back.read()
        page = login_ends(app, "/places/oauth/deviantart/wait")
        assert "Logged in. pindah keeps the login in your token store" in page.text
        assert app.app.state.workspace.session.targets == ["deviantart"]
        seen = [waiting.text, page.text] + [app.get(p).text for p in ("/places", "/run", "/after")]
        assert all(secret not in text for text in seen for secret in sim.issued)  # codes, tokens, client secret
    saved = list((tmp_path / "state" / "tokens" / "deviantart").glob("*"))
    assert len(saved) == 1 and saved[0].stat().st_mode & 0o777 == 0o600

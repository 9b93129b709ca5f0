"""Mastodon through the app: the server's address, its OAuth page in the artist's browser,
the loopback redirect, and the app back at the places with the login kept (never shown)."""

from __future__ import annotations

import re
import time
import urllib.request
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from tests.app_support import AppClient, private_home
from tests.mastodon_sim import TOKEN, SimServer

pytestmark = pytest.mark.mastodon


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
        waiting = app.post("/places/oauth/mastodon", {"location": "social.example"})
        assert waiting.url.path == "/places/oauth/mastodon/wait"
        assert '<meta http-equiv="refresh" content="2">' in waiting.text
        url = unescape(re.search(r'href="(https://social\.example/oauth/authorize[^"]+)"', waiting.text).group(1))
        asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert asked["code_challenge_method"] == "S256" and asked["redirect_uri"].startswith("http://127.0.0.1:")
        # The artist allows pindah on the server, which sends the browser to the loopback redirect
        # (urllib: the real browser's request, not intercepted by `responses`).
        sim.codes["code-1"] = asked["redirect_uri"]
        answer = urllib.request.urlopen(f"{asked['redirect_uri']}?code=code-1&state={asked['state']}", timeout=10)
        assert b"pindah is logged in" in answer.read()
        for _ in range(200):  # the page looks again until the login thread is done
            page = app.get("/places/oauth/mastodon/wait")
            if page.url.path == "/places":
                break
            time.sleep(0.05)
        assert "Logged in." in page.text and "Mastodon, Pixelfed or GoToSocial <span class=\"muted\">social.example" in page.text
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
        url = unescape(re.search(r'href="(https://social\.example/oauth/authorize[^"]+)"', waiting.text).group(1))
        asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        urllib.request.urlopen(f"{asked['redirect_uri']}?error=access_denied&state={asked['state']}", timeout=10).read()
        for _ in range(200):
            page = app.get("/places/oauth/mastodon/wait")
            if page.url.path == "/places":
                break
            time.sleep(0.05)
        assert "did not accept the login" in page.text and "access_denied" in page.text
        assert app.app.state.workspace.session.targets == []

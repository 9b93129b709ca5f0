"""The "where to" screen offers every registered target, from the registry: a target registered
here (never named by the app) is listed with its title and limits, and its OAuth login in the
browser completes through the generic `/places/oauth/<name>` routes."""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from html import escape
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from babel.messages.pofile import read_po
from pindah.adapters.contract import Adapter, Capabilities, PindahError
from pindah.adapters.toolkit.oauth import LoginIO, OAuthSteps, browser_login
from pindah.migrator import targets
from pindah.migrator.app.i18n import LOCALE_DIR
from pindah.migrator.app.offers import texts_of

from tests.app_support import (
    AppClient,
    authorize_query,
    browser_comes_back,
    login_ends,
    private_home,
)

GALLERY_TOKEN = "gallery-access-token-7Qx2"  # what the fake server gives: must never reach a page
GOOD_CODE = "code-from-the-gallery"


class FakeGallery(Adapter):
    """An OAuth target with a location, as a third party would register it: its login is the
    toolkit's browser login (loopback redirect, PKCE, state) against a server that is not there,
    whose code exchange checks the PKCE verifier against the challenge it was shown."""

    name = "fakegallery"
    title = "Fake Gallery"
    description = "a gallery that exists only in this test"
    example = "fakegallery:rina"
    sign_in = "oauth"
    location_prompt = "Your gallery's name"
    capabilities = Capabilities(max_text=777)
    kept: ClassVar[dict[str, str]] = {}  # its "token store": place -> token

    def __init__(self, location: str | None, config: dict[str, Any], *, io: LoginIO | None = None) -> None:
        super().__init__(location, config)
        self.io = io or LoginIO()
        self.challenges: dict[str, str] = {}

    def _authorize_url(self, client: str, redirect_uri: str, challenge: str, state: str) -> str:
        self.challenges[client] = challenge
        return "https://gallery.example/authorize?" + urlencode(
            {"client_id": client, "redirect_uri": redirect_uri, "code_challenge": challenge,
             "code_challenge_method": "S256", "state": state})

    def _exchange(self, client: str, redirect_uri: str, code: str, verifier: str) -> str:
        shown = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if code != GOOD_CODE or shown != self.challenges.get(client):
            raise PindahError("the gallery refused the code")
        return GALLERY_TOKEN

    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        steps = OAuthSteps("gallery.example", register=lambda redirect_uri: "client-1",
                           authorize_url=self._authorize_url, exchange=self._exchange, oob_redirect=None)
        self.kept[self.location or self.name] = browser_login(steps, self.io, browser=browser)
        return "Logged in to the gallery."

    def account(self) -> str:
        return self.location or self.name


class FakeStudio(FakeGallery):
    """An OAuth target without a location (one account per login, like DeviantArt)."""

    name = "fakestudio"
    title = "Fake Studio"
    example = "fakestudio"
    location_prompt = None


class FakeNoLoginIO(Adapter):
    """An OAuth target whose constructor takes no LoginIO: the app cannot drive its login."""

    name = "fakenoio"
    title = "Fake Without LoginIO"
    description = "logs in only in a terminal"
    example = "fakenoio:rina"
    sign_in = "oauth"
    location_prompt = "Your name there"
    capabilities = Capabilities()


class FakePigeon(Adapter):
    """A target whose way of signing in the app does not know."""

    name = "fakepigeon"
    title = "Carrier Pigeon"
    description = "posts by bird"
    example = "fakepigeon:loft-7"
    sign_in = "pigeon"
    capabilities = Capabilities()


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The sample home, with the fake targets registered beside the built-in ones."""
    fakes = (FakeGallery, FakeStudio, FakeNoLoginIO, FakePigeon)
    monkeypatch.setattr(targets, "_loaded", {**targets.available(), **{cls.name: cls for cls in fakes}})
    monkeypatch.setattr(FakeGallery, "kept", {})
    return private_home(monkeypatch, tmp_path)


def ready_app(home: Path) -> AppClient:
    app = AppClient()
    app.choose_sample(home)
    return app


def test_the_places_page_lists_every_registered_target_by_title_with_its_limits_and_form(home: Path) -> None:
    page = ready_app(home).get("/places").text
    for name, cls in targets.available().items():
        assert f">{escape(cls.title or name.capitalize())}</h3>" in page, name
    assert "777 graphemes" in page  # the fake's limits, from Capabilities.describe()
    for action in ("/places/oauth/fakegallery", "/places/oauth/fakestudio", "/places/oauth/mastodon",
                   "/places/password/bluesky", "/places/local/folder", "/places/local/cara"):
        assert f'action="{action}"' in page
    assert '<label for="fakegallery-location">Your gallery&#39;s name</label>' in page
    assert 'id="fakestudio-location"' not in page  # no location: only the button
    assert "Set up in a terminal" in page and "In a terminal, use --to fakepigeon:loft-7" in page
    assert 'action="/places/oauth/fakepigeon"' not in page


def test_the_places_page_in_bahasa_indonesia_translates_the_built_in_targets_texts(home: Path) -> None:
    app = ready_app(home)
    app.http.cookies.set("pindah_lang", "id")
    page = app.get("/places").text
    assert ">Mastodon, Pixelfed atau GoToSocial</h3>" in page and "Alamat servermu</label>" in page
    assert "Masuk lewat peramban" in page and "Di komputer ini" in page
    assert ">Fake Gallery</h3>" in page  # a third party's title the catalog lacks stays as it was given


@pytest.mark.parametrize(("fake", "location", "spec"), [(FakeGallery, "rina", "fakegallery:rina"),
                                                        (FakeStudio, None, "fakestudio")])
def test_a_registered_oauth_target_logs_in_through_the_browser_and_is_added(
        home: Path, fake: type[FakeGallery], location: str | None, spec: str) -> None:
    app = ready_app(home)
    waiting = app.post(f"/places/oauth/{fake.name}", {"location": location} if location else {})
    assert waiting.url.path == f"/places/oauth/{fake.name}/wait" and f"Log in to {fake.title}" in waiting.text
    asked = authorize_query(waiting.text, "https://gallery.example/authorize")
    assert asked["redirect_uri"].startswith("http://127.0.0.1:") and asked["code_challenge_method"] == "S256"
    assert "pindah is logged in" in browser_comes_back(asked["redirect_uri"], code=GOOD_CODE, state=asked["state"])
    page = login_ends(app, f"/places/oauth/{fake.name}/wait")
    assert "Logged in. pindah keeps the login in your token store" in page.text
    assert app.app.state.workspace.session.targets == [spec]
    assert FakeGallery.kept == {location or fake.name: GALLERY_TOKEN}
    seen = [waiting.text, page.text] + [app.get(p).text for p in ("/places", "/run", "/after")]
    assert all(GALLERY_TOKEN not in text and GOOD_CODE not in text for text in seen)


def test_a_browser_answer_from_another_login_is_refused_and_nothing_is_added(home: Path) -> None:
    app = ready_app(home)
    waiting = app.post("/places/oauth/fakegallery", {"location": "rina"})
    asked = authorize_query(waiting.text, "https://gallery.example/authorize")
    browser_comes_back(asked["redirect_uri"], code=GOOD_CODE, state="someone-elses-state")
    page = login_ends(app, "/places/oauth/fakegallery/wait")
    assert "Could not log in to Fake Gallery: the login answer did not match this login" in page.text
    assert app.app.state.workspace.session.targets == [] and FakeGallery.kept == {}


def test_an_oauth_target_without_its_location_or_a_login_io_is_not_started(home: Path) -> None:
    app = ready_app(home)
    page = app.post("/places/oauth/fakegallery", {"location": "  "})
    assert page.url.path == "/places" and "Fill in every field to log in to Fake Gallery." in page.text
    page = app.post("/places/oauth/fakenoio", {"location": "rina"})
    assert "not ready yet. In a terminal: pindah login fakenoio:rina" in page.text
    assert app.app.state.workspace.session.targets == [] and app.app.state.oauth is None


def test_a_place_asked_for_by_the_wrong_way_of_signing_in_or_unknown_is_refused(home: Path) -> None:
    app = ready_app(home)
    for path, form in (("/places/oauth/folder", {"location": "site"}), ("/places/oauth/fakepigeon", {}),
                       ("/places/password/mastodon", {"location": "a.example", "password": "pw-123"}),
                       ("/places/local/bluesky", {"location": "x"}), ("/places/local/no-such-place", {}),
                       ("/places/folder", {"kind": "fakegallery", "path": "x"})):
        page = app.post(path, form)
        assert page.url.path == "/places" and "pindah has no such place to add." in page.text, path
    assert app.app.state.workspace.session.targets == []


def test_the_generic_routes_refuse_a_post_without_the_token_or_from_another_origin(home: Path) -> None:
    app = ready_app(home)
    for path in ("/places/oauth/fakegallery", "/places/password/bluesky", "/places/local/folder"):
        bare = app.http.post(path, data={"location": "rina"}, headers=app.origin)
        foreign = app.http.post(path, data={"csrf": app.keys.csrf, "location": "rina"},
                                headers={"origin": "http://evil.example"})
        assert bare.status_code == 403 and foreign.status_code == 403, path
    assert app.app.state.oauth is None and app.app.state.workspace.session.targets == []


def test_a_local_place_is_added_from_its_generic_form(home: Path) -> None:
    app = ready_app(home)
    page = app.post("/places/local/folder", {"location": "my-site"})  # relative: inside the home
    assert f"Added: folder:{home / 'my-site'}" in page.text
    assert app.app.state.workspace.session.targets == [f"folder:{home / 'my-site'}"]


def test_every_built_in_targets_texts_are_translated_in_the_catalog() -> None:
    with (LOCALE_DIR / "id" / "LC_MESSAGES" / "pindah_app.po").open("rb") as fh:
        catalog = read_po(fh)
    missing = [text for name in targets.BUILT_IN for text in texts_of(targets.available()[name])
               if not (catalog.get(text) and catalog.get(text).string)]
    assert missing == [], ("extract and translate them (migrator/app/i18n.py says how): "
                           f"{missing}")

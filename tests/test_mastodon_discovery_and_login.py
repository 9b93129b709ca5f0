"""The Mastodon-API adapter finds out which server it talks to (Mastodon, Pixelfed, GoToSocial)
and its limits, refuses plain http, and stops cleanly, without showing the token, when a login no
longer works or is missing.
"""

from __future__ import annotations


import pytest
import responses

from pindah.adapters.contract import TextCounting
from pindah.adapters.mastodon import MastodonAdapter
from pindah.adapters.mastodon_api import ApiClient, ApiError
from pindah.adapters.mastodon_flavour import BUDGETS, Flavour
from pindah.migrator.errors import PindahError, RunStopped, TransientError
from tests.mastodon_sim import TOKEN
from tests.mastodon_support import FLAVOURS, _adapter, _request, _server
from tests.mastodon_support import private_state_fixture, rsps_fixture  # noqa: F401 - the fixtures

pytestmark = pytest.mark.mastodon


def test_discovery_reads_each_flavour_and_its_limits(rsps):
    found = {}
    for flavour in FLAVOURS:
        sim = _server(rsps, flavour, base=f"https://{flavour}.example")
        found[flavour] = _adapter(sim)
    mastodon, pixelfed, gts = found["mastodon"].caps, found["pixelfed"].caps, found["gotosocial"].caps
    assert found["mastodon"].info.flavour is Flavour.MASTODON
    assert (mastodon.max_text, mastodon.text_counting, mastodon.url_weight) == (500, TextCounting.GRAPHEMES, 23)
    assert (mastodon.max_media_per_post, mastodon.mix_images_and_videos, mastodon.max_videos_per_post) == (4, False, 1)
    assert "image/heic" in mastodon.image_mime_types and "video/mp4" in mastodon.video_mime_types
    assert (mastodon.image_max_bytes, mastodon.max_alt_text, mastodon.backdating) == (16777216, 1500, False)
    assert mastodon.rate_budgets == BUDGETS[Flavour.MASTODON]

    assert found["pixelfed"].info.flavour is Flavour.PIXELFED and found["pixelfed"].info.software == (0, 12, 4)
    assert (pixelfed.text_counting, pixelfed.url_weight, pixelfed.requires_media) == (TextCounting.CODE_POINTS, None, True)
    assert pixelfed.max_alt_text == 1000  # from /api/v1.1/compose/settings
    assert not pixelfed.supports_video and "image/webp" not in pixelfed.image_mime_types
    assert pixelfed.mix_images_and_videos and pixelfed.rate_budgets == BUDGETS[Flavour.PIXELFED]

    # GoToSocial's bare "0.19.2" version says nothing: nodeinfo names it.
    assert found["gotosocial"].info.flavour is Flavour.GOTOSOCIAL
    assert (gts.max_text, gts.max_media_per_post, gts.image_max_bytes) == (5000, 6, 41943040)
    assert gts.backdating and gts.image_max_pixels is None and gts.text_counting is TextCounting.CODE_POINTS


def test_discovery_falls_back_to_v1_instance_and_config_can_force_the_flavour(rsps):
    sim = _server(rsps, "mastodon", v2_instance=False)
    adapter = _adapter(sim)
    assert sim.log[:2] == ["GET /api/v2/instance", "GET /api/v1/instance"]
    assert adapter.caps.max_text == 500 and adapter.info.domain == "social.example"
    forced = _adapter(sim, config={"flavour": "gotosocial", "backdate": "false"})
    assert forced.info.flavour is Flavour.GOTOSOCIAL and not forced.caps.backdating


def test_plain_http_is_refused_except_on_this_computer():
    with pytest.raises(PindahError, match="plain http"):
        MastodonAdapter("http://social.example", {})
    assert MastodonAdapter("http://127.0.0.1:8080", {}).server == "http://127.0.0.1:8080"
    with pytest.raises(PindahError, match="visibility"):
        MastodonAdapter("https://social.example", {"visibility": "everyone"})


def test_pixelfed_login_page_for_a_bad_token_is_a_clear_stop(rsps, monkeypatch):
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", "expired-token")
    sim = _server(rsps, "pixelfed")
    adapter = MastodonAdapter(sim.base, {}, sleep=lambda s: None)
    with pytest.raises(RunStopped) as stop:
        adapter.prepare(interactive=False)
    assert "did not accept pindah's login" in stop.value.one_line()
    assert "pindah login mastodon:https://social.example" in stop.value.one_line()
    assert "expired-token" not in stop.value.one_line()


def test_an_html_page_served_with_200_is_read_as_the_login_page(rsps):
    rsps.add(responses.GET, "https://pf.example/api/v1/accounts/verify_credentials",
             body="<!doctype html><html><title>Login</title></html>", content_type="text/html")
    api = ApiClient("https://pf.example", token="t0k3n")
    with pytest.raises(ApiError) as err:
        api.call("GET", "/api/v1/accounts/verify_credentials")
    assert err.value.login_page and isinstance(err.value.as_target_error("x"), RunStopped)


def test_mastodon_401_stops_the_run_and_never_shows_the_token(rsps):
    rsps.add(responses.POST, "https://m.example/api/v1/statuses", status=401,
             json={"error": f"The access token {TOKEN} is invalid"})
    api = ApiClient("https://m.example", token=TOKEN)
    with pytest.raises(ApiError) as err:
        api.call("POST", "/api/v1/statuses", data={"status": "x"})
    assert TOKEN not in str(err.value) and TOKEN not in err.value.as_target_error("posting").one_line()
    assert isinstance(err.value.as_target_error("posting"), RunStopped)


def test_without_a_login_a_dry_run_plans_and_a_real_write_stops(rsps, monkeypatch):
    monkeypatch.delenv("PINDAH_MASTODON_TOKEN")
    sim = _server(rsps, "mastodon")
    adapter = _adapter(sim)
    assert adapter.account() == "not-logged-in@social.example" and adapter.caps.max_text == 500
    assert sim.log == ["GET /api/v2/instance"]  # read only
    with pytest.raises(RunStopped, match="not logged in"):
        adapter.create_post(_request())


def test_a_bad_token_answered_422_says_to_log_in_again(rsps, monkeypatch):
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", "revoked-token")
    sim = _server(rsps, "snac")
    with pytest.raises(RunStopped) as stop:
        _adapter(sim)
    said = stop.value.one_line()
    assert f"pindah login mastodon:{sim.base}" in said and "no reason given" not in said
    assert "revoked-token" not in said


def test_a_dry_run_without_the_server_plans_with_published_limits_and_a_real_run_stops(monkeypatch):
    adapter = MastodonAdapter("http://127.0.0.1:9", {})  # nothing listens there
    adapter.prepare(interactive=False, dry_run=True)
    assert adapter.caps.max_text == 500 and "could not be reached" in adapter.offline_note
    with pytest.raises(TransientError, match="no answer"):
        MastodonAdapter("http://127.0.0.1:9", {}).prepare(interactive=False)

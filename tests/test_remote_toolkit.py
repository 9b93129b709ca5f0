"""The adapter toolkit's remote plumbing (HTTP layer, OAuth, secret store) and what Bluesky takes from it.

No network: `responses` simulations and closed ports on 127.0.0.1.
"""

from __future__ import annotations

import stat

import pytest
import responses

from pindah.adapters.bluesky import LEXICON_IMAGE_BYTES, BlueskyAdapter
from pindah.adapters.contract import PindahError, PostFailed, RunStopped, TransientError
from pindah.adapters.toolkit.http import (
    HttpClient,
    HttpError,
    check_url,
    is_loopback,
    new_session,
    to_target_error,
)
from pindah.adapters.toolkit.oauth import LoginIO, OAuthSteps, browser_login
from pindah.adapters.toolkit.tokens import SecretStore

NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port


def test_one_loopback_rule_and_https_only_elsewhere():
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "pds.localhost"))
    assert not any(is_loopback(h) for h in ("10.0.0.5", "example.social", "localhost.example.com"))
    assert check_url("https://Social.Example/path") == "https://social.example"
    with pytest.raises(PindahError, match="plain http"):
        check_url("http://social.example", "Mastodon")


@pytest.mark.parametrize("status, expected", [
    (0, TransientError), (400, PostFailed), (413, PostFailed), (422, PostFailed), (429, TransientError),
    (500, TransientError), (503, TransientError), (401, RunStopped), (403, RunStopped)])
def test_status_codes_map_to_the_contracts_error_classes(status, expected):
    error = to_target_error(HttpError(status, "said", host="h", retry_after=7.0), "posting",
                            where="h", login_hint="log in again")
    assert isinstance(error, expected)
    if expected is TransientError and status:
        assert error.retry_after == 7.0
    if expected is RunStopped:
        assert "log in again" in error.one_line().lower()


def test_rate_headers_of_both_conventions_are_reported_and_the_layer_never_sleeps():
    heard = []
    wire = HttpClient("https://pds.example", clock=lambda: 1_700_000_000.0, observers=[heard.append])
    with responses.RequestsMock() as mock:
        mock.get("https://pds.example/a", headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                                                   "RateLimit-Reset": "1700000042", "RateLimit-Policy": "3000;w=300"})
        mock.get("https://pds.example/b", status=429, headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                                               "X-RateLimit-Reset": "2023-11-14T22:15:20.000Z"})
        mock.get("https://pds.example/c", status=503, headers={"Retry-After": "12"})
        wire.send("GET", "/a", family="posts")
        wire.send("GET", "/b", family="requests")
        wire.send("GET", "/c")
    first, second, third = heard
    assert (first.family, first.limit, first.remaining, first.policy) == ("posts", 3000, 0, "3000;w=300")
    assert first.reset_at == 1_700_000_042 and wire.refused_for("posts") == 42
    assert second.retry_after == pytest.approx(120) and third.retry_after == 12  # ISO reset; Retry-After


def test_no_answer_is_an_error_with_status_0():
    with pytest.raises(HttpError) as err:
        HttpClient(NOWHERE).send("GET", "/api/v1/instance")
    assert err.value.status == 0 and err.value.host == "127.0.0.1:9"


def test_the_secret_store_keeps_a_private_file_without_a_keyring(tmp_path):
    store = SecretStore("example", tmp_path / "tokens", mode="file")
    where = store.save("https://x.example", {"token": "s3cret"})
    assert store.load("https://x.example") == {"token": "s3cret"}
    assert stat.S_IMODE(store.path("https://x.example").stat().st_mode) == 0o600 and where.endswith(".json")
    assert stat.S_IMODE((tmp_path / "tokens").stat().st_mode) == 0o700
    assert store.delete("https://x.example") and store.load("https://x.example") is None


def test_oauth_without_a_browser_and_without_out_of_band_says_so():
    steps = OAuthSteps("art.example", register=lambda redirect: {"id": "c"},
                       authorize_url=lambda client, redirect, challenge, state: "https://art.example/authorize",
                       exchange=lambda client, redirect, code, verifier: code, oob_redirect=None)
    io = LoginIO(say=lambda text: None, open_browser=lambda url: False, ask_code=lambda: "unused")
    with pytest.raises(PindahError, match="did not finish"):
        browser_login(steps, io)
    pasted = OAuthSteps(steps.host, steps.register, steps.authorize_url, exchange=lambda c, r, code, v: (code, r, v))
    code, redirect, verifier = browser_login(pasted, LoginIO(say=lambda t: None, ask_code=lambda: "C0DE"), browser=False)
    assert (code, redirect) == ("C0DE", "urn:ietf:wg:oauth:2.0:oob") and 43 <= len(verifier) <= 128


# -- Bluesky: the lexicon's image limit, and planning without a network -------------------------------

def test_bluesky_image_limit_is_the_lexicons_unless_the_server_says_less():
    assert LEXICON_IMAGE_BYTES == 2_000_000  # app.bsky.embed.images maxSize in the reference PDS
    assert BlueskyAdapter.capabilities.image_max_bytes == LEXICON_IMAGE_BYTES


def test_a_bluesky_dry_run_without_a_network_plans_with_published_limits_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path))
    offline = BlueskyAdapter("rina.bsky.social", {"handle_resolver": NOWHERE})
    offline.prepare(interactive=False, dry_run=True)
    assert "planned with Bluesky's published limits" in offline.offline_note
    assert offline.caps.image_max_bytes == LEXICON_IMAGE_BYTES and offline.caps.max_text == 300
    assert offline.account() == "rina.bsky.social"
    with pytest.raises(RunStopped, match="cannot reach"):  # a real run needs the server
        BlueskyAdapter("rina.bsky.social", {"handle_resolver": NOWHERE}).prepare(interactive=False)
    on_pds = BlueskyAdapter("rina.bsky.social", {"pds": NOWHERE})
    on_pds.prepare(interactive=False, dry_run=True)
    assert on_pds.offline_note


def test_proxy_settings_from_the_environment_still_apply_to_each_server(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "pds.example")
    session = new_session()  # reads them once per server, not on every call
    for _ in range(2):
        assert session.merge_environment_settings("https://bsky.social/xrpc/a", {}, None, None, None)["proxies"][
            "https"] == "http://proxy.invalid:3128"
        assert "https" not in session.merge_environment_settings("https://pds.example/xrpc/b", {}, None, None, None)[
            "proxies"]

"""The DeviantArt adapter against the simulated DeviantArt (tests/deviantart_sim.py) in one process:
what a publish sends, the gallery folder, carousels as linked deviations, token renewal, rate
limits and errors, exactly once after a lost answer, and no claimed deletion. Read back from the
simulated server's own records."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from pindah.adapters.contract import (
    PindahError,
    PostFailed,
    PostRequest,
    PreparedMedia,
    RemoteRef,
    RunStopped,
    TransientError,
)
from pindah.adapters.deviantart import DeviantArtAdapter
from pindah.adapters.toolkit.oauth import LoginIO
from pindah.adapters.toolkit.oauth_code import TokenSet
from pindah.adapters.toolkit.tokens import SecretStore

from tests.clock import Clock
from tests.deviantart_sim import (
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    USERNAME,
    DeviantArtSim,
    Fault,
)

pytestmark = pytest.mark.deviantart

BASE = "https://www.deviantart.com"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


@pytest.fixture
def clock() -> Clock:
    return Clock(1_750_000_000.0)


@pytest.fixture
def sim(clock, tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield DeviantArtSim(base=BASE, clock=clock).install(rsps)


def logged_in(sim: DeviantArtSim, clock: Clock, **settings) -> DeviantArtAdapter:
    """An adapter with a saved login (as `pindah login deviantart` leaves it), prepared for a run."""
    answer = sim.issue_tokens()
    SecretStore("deviantart", mode="file").save(BASE, {
        "access_token": answer["access_token"], "refresh_token": answer["refresh_token"],
        "expires_at": clock() + answer["expires_in"], "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": USERNAME})
    adapter = DeviantArtAdapter(None, {"token_store": "file", **settings}, clock=clock, sleep=clock.sleep)
    adapter.prepare(interactive=False)
    return adapter


def picture(tmp_path: Path, name: str = "a.png") -> PreparedMedia:
    path = tmp_path / name
    path.write_bytes(PNG + name.encode())
    return PreparedMedia(path, "image/png", 8, 8, None, "0" * 64, f"media/posts/{name}")


def request_for(media: RemoteRef, text: str, *, index: int = 0, count: int = 1, parent: RemoteRef | None = None,
                root: RemoteRef | None = None, alt: str | None = None, post: str = "p1") -> PostRequest:
    return PostRequest(f"{post}#{index}", text, (media,), (alt,), datetime(2019, 3, 2, 9, 15, tzinfo=UTC),
                       parent, root, post, index, count)


def test_a_picture_becomes_a_deviation_in_the_from_instagram_folder_marked_not_ai(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    assert [f["name"] for f in sim.folders] == ["Featured", "From Instagram"]  # created once, by name
    text = "Harbour at dawn & <ink>\nsecond line #Ink #sketchbook\n\n📷 Instagram, 2 March 2019"
    ref = adapter.create_post(request_for(adapter.upload_media(picture(tmp_path), "p1#0/m0"), text,
                                          alt="Ink drawing of boats"))
    deviation = sim.deviations[ref.id]
    assert deviation["title"] == "Harbour at dawn & <ink>" and deviation["tags"] == ["ink", "sketchbook"]
    assert deviation["description"].startswith("Harbour at dawn &amp; &lt;ink&gt;<br />second line")
    assert "Image description: Ink drawing of boats" in deviation["description"]
    assert deviation["galleries"] == ["F0", "F1"] and deviation["file"] == PNG + b"a.png"
    sent = dict(sim.last_form("/api/v1/oauth2/stash/publish"))
    assert (sent["is_ai_generated"], sent["is_mature"], sent["agree_tos"]) == ("false", "false", "true")
    back = adapter.read_post(ref)
    assert back == {"text": text, "media": 1, "url": ref.url, "title": "Harbour at dawn & <ink>",
                    "tags": ["ink", "sketchbook"]}
    again = logged_in(sim, clock)  # a second run finds the folder by name (any case), makes none
    assert again.folder_id == "F1" and len(sim.folders) == 2


def test_a_configured_folder_is_found_by_name_in_any_case(sim, clock):
    sim.folders.append({"folderid": "F9", "parent": None, "name": "instagram ARCHIVE"})
    adapter = logged_in(sim, clock, folder="Instagram Archive")
    assert adapter.folder_id == "F9" and len(sim.folders) == 2


def test_a_carousel_becomes_deviations_in_order_each_linking_the_one_before(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    caption = "A very long first line that goes on well past fifty characters of title\n\n📷 Instagram, 2 March 2019"
    refs: list[RemoteRef] = []
    for i, marker in enumerate(("", "(2/3)", "(3/3)")):
        media = adapter.upload_media(picture(tmp_path, f"{i}.png"), f"p1#{i}/m0")
        text = caption.replace("\n\n", " (1/3)\n\n", 1) if i == 0 else marker
        refs.append(adapter.create_post(request_for(media, text, index=i, count=3, parent=refs[-1] if refs else None,
                                                    root=refs[0] if refs else None)))
    titles = [sim.deviations[r.id]["title"] for r in refs]
    assert len(titles[0]) == 50 and titles[0].endswith("…")
    assert titles[1].endswith(" (2/3)") and titles[2].endswith(" (3/3)") and all(len(t) <= 50 for t in titles)
    assert f'<a href="{refs[0].url}">' in sim.deviations[refs[1].id]["description"]
    assert f'<a href="{refs[1].url}">' in sim.deviations[refs[2].id]["description"]
    assert adapter.read_post(refs[2])["text"] == "(3/3)"


def test_an_expired_token_is_renewed_before_the_call_and_a_401_renews_it_once(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    first = SecretStore("deviantart", mode="file").load(BASE)
    clock.now += 3600  # the hour is over: renewed before the upload, not after a refusal
    media = adapter.upload_media(picture(tmp_path), "p1#0/m0")
    assert sim.log.count("POST /oauth2/token") == 1
    second = SecretStore("deviantart", mode="file").load(BASE)
    assert second["refresh_token"] != first["refresh_token"] and second["refresh_token"] in sim.refresh
    sim.access.clear()  # revoked on the server's side: the next call gets a 401
    adapter.create_post(request_for(media, "Harbour"))
    assert sim.log.count("POST /oauth2/token") == 2 and len(sim.deviations) == 1


def test_a_refused_renewal_stops_the_run_saying_to_log_in_again(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    sim.access.clear()
    sim.refresh.clear()  # revoked by the artist on DeviantArt
    with pytest.raises(RunStopped) as stopped:
        adapter.upload_media(picture(tmp_path), "p1#0/m0")
    said = stopped.value.one_line()
    assert "pindah login deviantart" in said and not any(s in said for s in sim.issued)


@pytest.mark.parametrize("reply, retry_after, expected", [
    ((429, {"error": "user_api_threshold", "error_description": "User request limit reached.", "status": "error"}),
     30.0, 30.0),
    ((429, {"error": "user_api_threshold", "error_description": "User request limit reached.", "status": "error"}),
     None, 60.0),
    ((403, "<html>Forbidden</html>"), None, 60.0),
], ids=["429-retry-after", "429-silent", "403-load-balancer"])
def test_a_rate_refusal_is_a_retry_after_the_wait_the_server_asked_or_a_minute(sim, clock, tmp_path, reply,
                                                                                retry_after, expected):
    adapter = logged_in(sim, clock)
    media = adapter.upload_media(picture(tmp_path), "p1#0/m0")
    sim.retry_after = retry_after
    sim.faults.append(Fault("POST", "/api/v1/oauth2/stash/publish", reply))
    with pytest.raises(TransientError) as slow:
        adapter.create_post(request_for(media, "Harbour"))
    assert slow.value.retry_after == expected and "slow down" in slow.value.one_line()
    assert sim.deviations == {}


def test_a_read_refused_for_the_rate_waits_once_then_reads(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    ref = adapter.create_post(request_for(adapter.upload_media(picture(tmp_path), "p1#0/m0"), "Harbour"))
    sim.retry_after = 5.0
    sim.faults.append(Fault("GET", r"/api/v1/oauth2/deviation/.*", (429, {"error": "user_api_threshold",
                                                                         "status": "error"})))
    assert adapter.read_post(ref)["text"] == "Harbour" and clock.slept == [5.0]


@pytest.mark.parametrize("status, expected", [(500, TransientError), (503, TransientError), (400, PostFailed)])
def test_server_errors_on_publish_reach_the_engine_as_the_right_class(sim, clock, tmp_path, status, expected):
    adapter = logged_in(sim, clock)
    media = adapter.upload_media(picture(tmp_path), "p1#0/m0")
    sim.faults.append(Fault("POST", "/api/v1/oauth2/stash/publish",
                            (status, {"error": "invalid_request", "error_description": "nope", "status": "error"})))
    with pytest.raises(expected):
        adapter.create_post(request_for(media, "Harbour"))


def test_a_publish_whose_answer_was_lost_is_found_and_an_older_twin_is_not_taken_for_it(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    twin = adapter.create_post(request_for(adapter.upload_media(picture(tmp_path, "t.png"), "p0#0/m0"),
                                           "📷 Instagram, 2 March 2019", post="p0"))
    clock.now += 60
    media = adapter.upload_media(picture(tmp_path), "p1#0/m0")
    same = request_for(media, "📷 Instagram, 2 March 2019")  # no caption: the same text as the twin
    assert adapter.find_post(same) is None  # the twin was published before this upload: not this part
    sim.faults.append(Fault("POST", "/api/v1/oauth2/stash/publish", (502, {"error": "bad gateway"}), after=True))
    with pytest.raises(TransientError):
        adapter.create_post(same)
    found = adapter.find_post(same)
    assert found is not None and found.id != twin.id and len(sim.deviations) == 2
    assert found.extra["title"] == sim.deviations[found.id]["title"]


def test_a_published_deviation_is_never_reported_deleted(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    ref = adapter.create_post(request_for(adapter.upload_media(picture(tmp_path), "p1#0/m0"), "Harbour"))
    with pytest.raises(PostFailed) as kept:
        adapter.delete_post(ref)
    assert "still on DeviantArt" in kept.value.one_line() and ref.url in kept.value.one_line()
    assert adapter.read_post(ref) is not None
    del sim.deviations[ref.id]  # the artist deleted it on the site
    adapter.delete_post(ref)  # a read says it is gone: only now is it "deleted"
    assert adapter.read_post(ref) is None


def test_a_dry_run_without_a_login_plans_offline_and_asks_nothing(sim, clock):
    adapter = DeviantArtAdapter(None, {"token_store": "file"}, clock=clock)
    adapter.prepare(interactive=False, dry_run=True)
    assert "not logged in" in adapter.offline_note and sim.log == []


def test_a_dry_run_with_a_login_reads_but_creates_no_folder(sim, clock):
    logged_in(sim, clock).finish()
    sim.folders.pop()  # as if the folder were missing
    before = list(sim.log)
    adapter = DeviantArtAdapter(None, {"token_store": "file"}, clock=clock)
    adapter.prepare(interactive=False, dry_run=True)
    assert [line for line in sim.log[len(before):] if line.startswith("POST")] == []
    assert adapter.folder_id is None and [f["name"] for f in sim.folders] == ["Featured"]


def test_a_real_run_without_a_login_or_client_says_what_to_set(sim, clock):
    with pytest.raises(PindahError) as missing:
        DeviantArtAdapter(None, {"token_store": "file"}, clock=clock).prepare(interactive=False)
    assert "client_id" in missing.value.one_line() and "deviantart.com/developers" in missing.value.one_line()


def test_only_https_or_this_computer_and_no_location(sim):
    with pytest.raises(PindahError, match="plain http"):
        DeviantArtAdapter(None, {"api": "http://deviantart.example"})
    with pytest.raises(PindahError, match="no location"):
        DeviantArtAdapter("someone", {})
    assert DeviantArtAdapter.sign_in == "oauth" and DeviantArtAdapter.location_prompt is None
    assert replace(DeviantArtAdapter.capabilities).supports_video is False


def test_the_stored_login_is_the_token_store_not_a_message(sim, clock, tmp_path):
    adapter = logged_in(sim, clock)
    tokens = TokenSet.from_record(SecretStore("deviantart", mode="file").load(BASE))
    assert tokens is not None and tokens.access_token not in repr(tokens) + adapter.account()
    assert adapter.account() == f"{USERNAME}@www.deviantart.com"
    assert adapter.where() == f"{BASE}/{USERNAME}/gallery/F1"


def test_login_through_the_browser_keeps_the_client_and_tokens_privately_and_logout_revokes(sim, clock, tmp_path):
    from tests.targets.deviantart import AllowingBrowser

    browser = AllowingBrowser()
    said: list[str] = []
    port = free_port()  # the fixed port of the registered redirect address (8913 unless set)
    adapter = DeviantArtAdapter(None, {"token_store": "file", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                       "redirect_port": port},
                                clock=clock, io=LoginIO(say=said.append, open_browser=browser.open, wait_seconds=10))
    line = adapter.login()
    for thread in browser.threads:
        thread.join()
    asked = browser.opened[0]
    assert asked["redirect_uri"] == f"http://127.0.0.1:{port}/callback" and asked["code_challenge_method"] == "S256"
    assert set(asked["scope"].split()) == {"user", "browse", "stash", "publish", "gallery"}
    assert f"as {USERNAME}" in line and "NoAI" in line and "Studio" in line
    saved = SecretStore("deviantart", mode="file").load(BASE)
    assert saved["client_secret"] == CLIENT_SECRET and saved["refresh_token"] in sim.refresh
    shown = line + " ".join(said)
    assert not [secret for secret in sim.issued if secret in shown]
    stored = SecretStore("deviantart", mode="file").path(BASE)
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert adapter.logout() == ["Logged out of DeviantArt."]
    assert saved["refresh_token"] in sim.revoked and not stored.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_registered_redirect_port_is_8913_and_a_busy_one_is_named(sim, clock):
    assert DeviantArtAdapter(None, {}).setting("redirect_port") == 8913
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        adapter = DeviantArtAdapter(None, {"token_store": "file", "client_id": CLIENT_ID,
                                           "client_secret": CLIENT_SECRET, "redirect_port": port}, clock=clock,
                                    io=LoginIO(say=lambda text: None, open_browser=lambda url: True, wait_seconds=1))
        with pytest.raises(PindahError) as taken:
            adapter.login()
    assert f"port {port}" in taken.value.one_line() and f"127.0.0.1:{port}/callback" in taken.value.one_line()


def test_a_public_client_logs_in_with_its_id_alone_and_renews_without_a_secret(sim, clock, tmp_path):
    from tests.targets.deviantart import AllowingBrowser

    browser = AllowingBrowser()
    adapter = DeviantArtAdapter(None, {"token_store": "file", "client_id": PUBLIC_CLIENT_ID, "redirect_port": 0},
                                clock=clock, sleep=clock.sleep,
                                io=LoginIO(say=lambda text: None, open_browser=browser.open, wait_seconds=10))
    assert f"as {USERNAME}" in adapter.login()
    for thread in browser.threads:
        thread.join()
    assert all("client_secret" not in dict(form) for path, form in sim.forms if path == "/oauth2/token")
    run = DeviantArtAdapter(None, {"token_store": "file"}, clock=clock, sleep=clock.sleep)  # the id comes saved
    run.prepare(interactive=False)
    clock.now += 3600
    run.upload_media(picture(tmp_path), "p1#0/m0")  # renewed with the refresh token and PKCE's client id only
    assert sim.log.count("POST /oauth2/token") == 2 and len(sim.stash) == 1

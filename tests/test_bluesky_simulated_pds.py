"""The Bluesky adapter against a simulated PDS (`responses`): server limits and the session file,
429s, 500s checked with getRecord, the error classes, token refresh, the main password refused,
and media embeds.
"""

from __future__ import annotations

import json
import stat
import time
from datetime import UTC, datetime

import pytest
import responses
from PIL import Image

from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from pindah.adapters.bluesky import BlueskyAdapter
from pindah.adapters.bluesky_record import derive_rkey, iso_time
from pindah.adapters.bluesky_xrpc import XrpcError, to_target_error
from pindah.migrator.errors import PostFailed, RunStopped, TransientError
from tests.bluesky_support import DID, HANDLE, PDS, VIDEO, _session_json

pytestmark = pytest.mark.bluesky


@pytest.fixture
def sim(monkeypatch, tmp_path):
    """An adapter logged in to a simulated PDS (the `responses` library)."""
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    for name in ("PDS", "APP_PASSWORD", "LANGS", "HANDLE_RESOLVER", "PLC_DIRECTORY"):
        monkeypatch.delenv(f"PINDAH_BLUESKY_{name}", raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle", json={"did": DID})
        mock.get(f"{PDS}/xrpc/com.atproto.server.describeServer", json={"blobUploadLimit": 900_000})
        mock.post(f"{PDS}/xrpc/com.atproto.server.createSession", json=_session_json())
        adapter = BlueskyAdapter(HANDLE, {"pds": PDS, "app_password": "abcd-efgh-ijkl-mnop"})
        adapter.prepare(interactive=False)
        yield adapter, mock


def _request(key: str = "p1#0", text: str = "hello", media: tuple[RemoteRef, ...] = ()) -> PostRequest:
    return PostRequest(key=key, text=text, media=media, media_alt=tuple("" for _ in media),
                       created_at=datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), reply_to=None, root=None,
                       post_id=key.split("#")[0], part_index=0, part_count=1)


def test_server_limits_and_the_session_file(sim, tmp_path):
    adapter, _ = sim
    assert adapter.caps.image_max_bytes == 900_000  # describeServer's blob limit wins over 1 MB
    assert adapter.account() == DID
    saved = list((tmp_path / "state" / "sessions" / "bluesky").glob("*.json"))
    assert len(saved) == 1 and stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    assert "abcd-efgh-ijkl-mnop" not in saved[0].read_text()
    assert "abcd-efgh" not in repr(adapter.client.session) and "abcd-efgh" not in repr(vars(adapter.client))


def test_429_becomes_a_transient_error_with_the_reset_time(sim):
    adapter, mock = sim
    reset = int(time.time()) + 42
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=429,
              json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
              headers={"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
                       "ratelimit-policy": "5000;w=3600"})
    with pytest.raises(TransientError) as caught:
        adapter.create_post(_request())
    assert 40 <= caught.value.retry_after <= 44
    # The next call isn't even sent before the reset: the server already said no.
    calls = len(mock.calls)
    with pytest.raises(TransientError) as again:
        adapter.create_post(_request())
    assert len(mock.calls) == calls and again.value.retry_after > 30


def test_a_500_on_create_is_checked_with_get_record(sim):
    adapter, mock = sim
    request = _request()
    rkey = derive_rkey(request.key, request.created_at)
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=500,
              json={"error": "InternalServerError", "message": "Internal Server Error"})
    mock.get(f"{PDS}/xrpc/com.atproto.repo.getRecord", json={
        "uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafyexisting",
        "value": {"text": "hello", "createdAt": iso_time(request.created_at)}})
    ref = adapter.create_post(request)  # it was there already: adopted, not duplicated
    assert ref.id.endswith(rkey) and ref.extra["cid"] == "bafyexisting"
    sent = json.loads(next(c.request.body for c in mock.calls if c.request.url.endswith("createRecord")))
    assert sent["rkey"] == rkey and sent["validate"] is True
    assert sent["record"]["createdAt"] == "2020-01-02T03:04:05.000Z" and "langs" not in sent["record"]


def test_a_500_with_nothing_there_is_transient_and_a_foreign_record_is_refused(sim):
    adapter, mock = sim
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=502, body="bad gateway")
    mock.get(f"{PDS}/xrpc/com.atproto.repo.getRecord", status=400,
              json={"error": "RecordNotFound", "message": "Could not locate record"})
    with pytest.raises(TransientError):
        adapter.create_post(_request())
    assert adapter.find_post(_request()) is None
    mock.replace(responses.GET, f"{PDS}/xrpc/com.atproto.repo.getRecord",
                 json={"uri": "at://x/app.bsky.feed.post/y", "cid": "c", "value": {"createdAt": "2001-01-01T00:00:00.000Z"}})
    with pytest.raises(PostFailed):
        adapter.find_post(_request())


@pytest.mark.parametrize("status, error, expected", [
    (400, "InvalidRequest", PostFailed), (413, "PayloadTooLarge", PostFailed), (503, "Unavailable", TransientError),
    (401, "AccountTakedown", RunStopped), (0, "Timeout", TransientError), (429, "RateLimitExceeded", TransientError)])
def test_error_classes(status, error, expected):
    assert isinstance(to_target_error(XrpcError(status, error, "m"), "publish a post"), expected)


def test_a_daily_limit_stops_the_run_saying_which_and_until_when():
    spent = to_target_error(XrpcError(429, "RateLimitExceeded", "m", retry_after=5 * 3600, policy="1000;w=86400"),
                            "upload a file")
    assert isinstance(spent, RunStopped) and 4.9 * 3600 < spent.resume_at.timestamp() - time.time() < 5.1 * 3600
    assert "limit of 1000 calls per 24 h is used up until" in spent.one_line()


def test_a_permanent_refusal_names_the_reason(sim):
    adapter, mock = sim
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=400, json={
        "error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301)"})
    with pytest.raises(PostFailed, match="grapheme too big"):
        adapter.create_post(_request())


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(sim):
    adapter, mock = sim
    mock.post(f"{PDS}/xrpc/com.atproto.repo.deleteRecord", status=400,
              json={"error": "ExpiredToken", "message": "Token has expired"})
    mock.post(f"{PDS}/xrpc/com.atproto.repo.deleteRecord", json={})
    mock.post(f"{PDS}/xrpc/com.atproto.server.refreshSession", json=_session_json())
    old_refresh = adapter.client.session.refresh_jwt
    adapter.delete_post(RemoteRef(f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"))
    names = [c.request.url.split("/xrpc/")[1].split("?")[0] for c in mock.calls][-3:]
    assert names == ["com.atproto.repo.deleteRecord", "com.atproto.server.refreshSession", "com.atproto.repo.deleteRecord"]
    refresh = next(c for c in mock.calls if "refreshSession" in c.request.url)
    assert refresh.request.headers["Authorization"] == f"Bearer {old_refresh}"  # the refresh token, not the access one


def test_a_refresh_that_fails_without_a_password_stops_the_run(sim, monkeypatch):
    adapter, mock = sim
    adapter._password = None
    mock.post(f"{PDS}/xrpc/com.atproto.repo.deleteRecord", status=400, json={"error": "ExpiredToken", "message": "expired"})
    mock.post(f"{PDS}/xrpc/com.atproto.server.refreshSession", status=400, json={"error": "ExpiredToken", "message": "x"})
    with pytest.raises(RunStopped, match="login"):
        adapter.delete_post(RemoteRef(f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"))


def test_the_main_password_is_refused_and_its_session_revoked(monkeypatch, tmp_path):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle", json={"did": DID})
        mock.get(f"{PDS}/xrpc/com.atproto.server.describeServer", json={})
        mock.post(f"{PDS}/xrpc/com.atproto.server.createSession", json=_session_json(scope="com.atproto.access"))
        revoke = mock.post(f"{PDS}/xrpc/com.atproto.server.deleteSession", json={})
        adapter = BlueskyAdapter(HANDLE, {"pds": PDS, "app_password": "the-main-one"})
        with pytest.raises(RunStopped, match="main Bluesky password") as caught:
            adapter.prepare(interactive=False)
        assert revoke.call_count == 1
        assert "the-main-one" not in caught.value.one_line()
    assert not list(tmp_path.rglob("*.json"))


def test_media_become_image_and_video_embeds_with_aspect_ratio_and_alt(sim, tmp_path):
    adapter, mock = sim
    picture = tmp_path / "p.jpg"
    Image.new("RGB", (40, 30)).save(picture, "JPEG")
    import hashlib

    prepared = PreparedMedia(picture, "image/jpeg", 40, 30, "alt", hashlib.sha256(picture.read_bytes()).hexdigest(), "a.jpg")
    mock.post(f"{PDS}/xrpc/com.atproto.repo.uploadBlob", json={
        "blob": {"$type": "blob", "ref": {"$link": "bafkimage"}, "mimeType": "image/jpeg", "size": picture.stat().st_size}})
    ref = adapter.upload_media(prepared, "p1#0/m0")
    assert ref.id == "bafkimage" and ref.extra["width"] == "40"
    record = adapter._record(PostRequest(
        key="p1#1", text="", media=(ref,), media_alt=("An alt text",), created_at=datetime(2020, 1, 1, tzinfo=UTC),
        reply_to=RemoteRef("at://d/app.bsky.feed.post/a", extra={"cid": "c1"}), root=None, post_id="p1",
        part_index=1, part_count=2))
    assert record["embed"] == {"$type": "app.bsky.embed.images", "images": [{
        "image": {"$type": "blob", "ref": {"$link": "bafkimage"}, "mimeType": "image/jpeg", "size": picture.stat().st_size},
        "alt": "An alt text", "aspectRatio": {"width": 40, "height": 30}}]}
    # A parent without a root (the first part had nothing to post) still makes a valid reply.
    assert record["reply"] == {"root": {"uri": "at://d/app.bsky.feed.post/a", "cid": "c1"},
                               "parent": {"uri": "at://d/app.bsky.feed.post/a", "cid": "c1"}}
    video = tmp_path / "v.mp4"
    video.write_bytes(VIDEO.read_bytes())
    adapter.caps = adapter.caps.refined(video_max_seconds=1.0)
    with pytest.raises(PostFailed, match="2 s long"):
        adapter.upload_media(PreparedMedia(video, "video/mp4", None, None, None,
                                           hashlib.sha256(video.read_bytes()).hexdigest(), "v.mp4"), "p2#0/m0")

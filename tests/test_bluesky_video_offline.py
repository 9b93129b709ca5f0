"""The video service road without any server: tokens asked for, answers read, failures worded.

The PDS and the video service are small fakes that answer in the shapes of the lexicons (and of
the live service where it differs, atproto issues #3026 / #3097); the integration tests in
tests/test_bluesky_video.py run the same code against the real PDS and a simulated service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pindah.adapters.bluesky_video import (
    POLL_LIMIT,
    POLL_MAX,
    UPLOAD_TOKEN_SECONDS,
    VideoRoute,
    job_status,
    parse_limits,
    service_did,
)
from pindah.adapters.bluesky_xrpc import XrpcError
from pindah.adapters.contract import PindahError, PostFailed, RunStopped, TransientError

NOW = 1_800_000_000.0
DID = "did:plc:abcdefghijklmnopqrstuvwx"
BLOB = {"$type": "blob", "ref": {"$link": "bafkreivideo"}, "mimeType": "video/mp4", "size": 4242}
LIMITS = {"canUpload": True, "remainingDailyVideos": 25, "remainingDailyBytes": 10_000_000_000}


class FakePds:
    """getServiceAuth: a token per request, and what was asked."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def query(self, nsid: str, params: dict[str, Any], *, auth: bool = False, bearer: str | None = None) -> dict[str, Any]:
        assert nsid == "com.atproto.server.getServiceAuth" and auth
        self.asked.append(params)
        return {"token": f"svc-token-{len(self.asked)}"}


class FakeService:
    """Answers (or errors) queued per method, and what was sent."""

    def __init__(self, **answers: list[Any]) -> None:
        self.answers = {name.replace("_", "."): list(queue) for name, queue in answers.items()}
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []

    def _next(self, nsid: str, params: dict[str, Any], bearer: str | None) -> dict[str, Any]:
        self.sent.append((nsid, params, bearer))
        queue = self.answers[nsid.rsplit(".", 1)[1]]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def query(self, nsid: str, params: dict[str, Any], *, auth: bool = False, bearer: str | None = None) -> dict[str, Any]:
        return self._next(nsid, params, bearer)

    def send_bytes(self, nsid: str, data: bytes, mime: str, *, params: dict[str, Any], bearer: str) -> dict[str, Any]:
        assert mime == ("application/octet-stream" if nsid.endswith("uploadPart") else "video/mp4")
        return self._next(nsid, params | {"bytes": len(data)} if nsid.endswith("uploadPart") else params, bearer)

    def procedure(self, nsid: str, body: dict[str, Any] | None = None, *, auth: bool = True,
                  bearer: str | None = None) -> dict[str, Any]:
        return self._next(nsid, body or {}, bearer)


def _route(service: FakeService, *, setting: str = "https://video.example", pds: FakePds | None = None,
           pds_url: str = "https://pds.example") -> tuple[VideoRoute, list[str], list[float]]:
    said: list[str] = []
    sleeps: list[float] = []
    route = VideoRoute(setting, None, pds_client=lambda: pds or FakePds(), did=lambda: DID, say=said.append,
                       clock=lambda: NOW, sleep=sleeps.append)
    route._client = service  # type: ignore[assignment]
    route.plan(pds_url, "did:web:pds.example")
    return route, said, sleeps


def _error(status: int, error: str, body: dict[str, Any] | None = None) -> XrpcError:
    exc = XrpcError(status, error, error)
    exc.body = body or {}
    return exc


def _direct(data: bytes, mime: str) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": "bafkreidirect"}, "mimeType": mime, "size": len(data)}


def test_service_dids_and_both_job_shapes_are_read() -> None:
    assert service_did("https://video.bsky.app") == "did:web:video.bsky.app"
    assert service_did("http://localhost:8123") == "did:web:localhost%3A8123"
    bare = {"jobId": "j1", "did": DID, "state": "JOB_STATE_CREATED"}
    assert job_status(bare) == bare and job_status({"jobStatus": bare}) == bare
    limits = parse_limits({"canUpload": False, "remainingDailyVideos": 0, "message": "Daily limit", "error": ""})
    assert (limits.can_upload, limits.remaining_videos, limits.remaining_bytes, limits.said) == (False, 0, None, "Daily limit")


def test_off_and_a_pds_on_this_computer_take_the_direct_road_and_say_why() -> None:
    off, _, _ = _route(FakeService(), setting="off")
    assert not off.active and 'video_service is "off"' in (off.note or "")
    local, _, _ = _route(FakeService(), pds_url="http://localhost:2583")
    assert not local.active and "cannot reach a server on this computer" in (local.note or "")
    both_local, _, _ = _route(FakeService(), setting="http://127.0.0.1:9000", pds_url="http://localhost:2583")
    assert both_local.active
    with pytest.raises(PindahError, match="plain http"):
        VideoRoute("http://video.example", None, pds_client=FakePds, did=lambda: DID, say=print)


def test_tokens_name_the_right_audience_and_method_and_expire_soon() -> None:
    pds = FakePds()
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[{"jobId": "j1", "did": DID, "state": "JOB_STATE_CREATED"}],
                          getJobStatus=[{"jobStatus": {"jobId": "j1", "did": DID, "state": "JOB_STATE_COMPLETED", "blob": BLOB}}])
    route, said, _ = _route(service, pds=pds)
    blob, via_service = route.store(b"\0\0\0\x18ftypmp42", "media/reels/my holiday.mp4", _direct)
    assert blob == BLOB and via_service and said == []
    limits_token, upload_token = pds.asked
    assert limits_token == {"aud": "did:web:video.example", "lxm": "app.bsky.video.getUploadLimits", "exp": int(NOW) + 60}
    assert upload_token == {"aud": "did:web:pds.example", "lxm": "com.atproto.repo.uploadBlob",
                            "exp": int(NOW) + UPLOAD_TOKEN_SECONDS}
    upload = next(s for s in service.sent if s[0] == "app.bsky.video.uploadVideo")
    assert upload[1]["did"] == DID and upload[1]["name"].endswith(".mp4") and "holiday" not in upload[1]["name"]
    assert upload[2] == "svc-token-2"  # the service token, never the session's
    assert route.limits is not None and route.limits.remaining_videos == 24  # counted down locally


def test_a_video_sent_before_is_answered_with_its_earlier_job_and_blob() -> None:
    earlier = {"did": DID, "error": "already_exists", "jobId": "j7", "message": "Video already processed",
               "state": "JOB_STATE_COMPLETED"}  # bare, with 409, as the live service answers
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[_error(409, "already_exists", earlier)],
                          getJobStatus=[{"jobStatus": earlier | {"blob": BLOB}}])
    route, _, _ = _route(service)
    assert route.store(b"mp4", "clip.mp4", _direct) == (BLOB, True)
    assert ("app.bsky.video.getJobStatus", {"jobId": "j7"}, None) in service.sent


def test_a_failed_job_fails_that_post_in_the_services_words() -> None:
    failed = {"jobId": "j1", "did": DID, "state": "JOB_STATE_FAILED", "error": "video processing error for job: j1",
              "message": "Failed to process video"}
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[{"jobId": "j1", "did": DID, "state": "JOB_STATE_CREATED"}],
                          getJobStatus=[{"jobStatus": failed}])
    route, _, _ = _route(service)
    with pytest.raises(PostFailed, match="could not process clip.mp4 \\(Failed to process video; video processing error"):
        route.store(b"mp4", "clip.mp4", _direct)


def test_an_unreachable_service_is_tried_three_times_then_videos_go_direct_said_once() -> None:
    service = FakeService(getUploadLimits=[_error(0, "NetworkError")], uploadVideo=[_error(0, "NetworkError")])
    route, said, sleeps = _route(service)
    first = route.store(b"one", "a.mp4", _direct)
    second = route.store(b"two", "b.mp4", _direct)
    assert first[1] is False and second[1] is False and first[0]["ref"]["$link"] == "bafkreidirect"
    assert sleeps == [1.0, 2.0] and len(service.sent) == 3
    (note,) = said
    assert "video.example could not be reached" in note and "published all the same" in note


def test_a_server_error_on_upload_after_retries_also_turns_the_road_direct() -> None:
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[_error(503, "ServiceUnavailable")])
    route, said, _ = _route(service)
    assert route.store(b"one", "a.mp4", _direct)[1] is False
    assert "kept failing: 503 ServiceUnavailable" in said[0]


def test_a_service_that_refuses_the_token_turns_the_road_direct_with_its_reason() -> None:
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[_error(401, "BadJwtAudience")])
    route, said, _ = _route(service)
    assert route.store(b"one", "a.mp4", _direct)[1] is False
    assert "did not accept the service token: BadJwtAudience" in said[0]


def test_a_job_that_never_finishes_is_left_for_a_retry_not_waited_on_forever() -> None:
    running = {"jobStatus": {"jobId": "j1", "did": DID, "state": "JOB_STATE_ENCODING", "progress": 40}}
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[{"jobId": "j1", "did": DID, "state": "JOB_STATE_CREATED"}],
                          getJobStatus=[running])
    route, _, sleeps = _route(service)
    with pytest.raises(TransientError, match="still processing clip.mp4"):
        route.store(b"mp4", "clip.mp4", _direct)
    assert POLL_LIMIT <= sum(sleeps) < POLL_LIMIT + POLL_MAX and max(sleeps) == POLL_MAX


def test_a_daily_limit_refusal_stops_the_run_until_a_day_later() -> None:
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[_error(400, "DailyLimitExceeded")])
    route, _, _ = _route(service)
    with pytest.raises(RunStopped, match="no more videos from this account today") as stop:
        route.store(b"mp4", "clip.mp4", _direct)
    assert stop.value.resume_at == datetime.fromtimestamp(NOW + 86400, UTC)


def test_too_few_bytes_left_today_stops_with_both_sizes() -> None:
    service = FakeService(getUploadLimits=[LIMITS | {"remainingDailyBytes": 10}])
    route, _, _ = _route(service)
    with pytest.raises(RunStopped, match="only 10 more bytes of video today, and the next video is 3,000"):
        route.store(b"x" * 3000, "clip.mp4", _direct)
    assert not any(s[0] == "app.bsky.video.uploadVideo" for s in service.sent)


def test_an_unconfirmed_email_fails_the_post_with_how_to_fix_it_and_no_token_in_words() -> None:
    wrapped = {"jobStatus": {"did": "", "error": "unconfirmed_email", "jobId": "", "state": ""}}
    service = FakeService(getUploadLimits=[LIMITS], uploadVideo=[_error(400, "HTTP400", wrapped)])
    route, _, _ = _route(service)
    with pytest.raises(PostFailed) as failed:
        route.store(b"mp4", "clip.mp4", _direct)
    assert "confirmed email" in failed.value.one_line() and "svc-token" not in failed.value.one_line()


def _parts_route(**answers: list[Any]) -> tuple[VideoRoute, FakeService, list[float], FakePds]:
    pds = FakePds()
    service = FakeService(getUploadLimits=[LIMITS], startUpload=[{"jobId": "up1", "partSizeBytes": 4, "partCount": 3}],
                          getJobStatus=[{"jobStatus": {"jobId": "j9", "did": DID, "state": "JOB_STATE_COMPLETED",
                                                       "blob": BLOB}}], **answers)
    route, _, sleeps = _route(service, pds=pds)
    route.multipart_from = 8
    return route, service, sleeps, pds


def test_a_big_video_goes_in_parts_a_dropped_part_is_sent_again_and_one_token_serves_all() -> None:
    route, service, sleeps, pds = _parts_route(
        uploadPart=[{"partNumber": 1}, _error(0, "NetworkError"), {"partNumber": 2}, {"partNumber": 3}],
        finishUpload=[{"completedJobId": "j9", "jobStatus": {"jobId": "up1", "did": DID, "state": "JOB_STATE_CREATED"}}])
    assert route.store(b"0123456789", "long.mp4", _direct) == (BLOB, True)
    parts = [(s[1]["partNumber"], s[1]["bytes"]) for s in service.sent if s[0].endswith("uploadPart")]
    assert parts == [(1, 4), (2, 4), (2, 4), (3, 2)] and sleeps[0] == 1.0
    assert ("app.bsky.video.getJobStatus", {"jobId": "j9"}, None) in service.sent  # the completed job is polled
    assert len(pds.asked) == 3  # limits; one upload token for start and parts; a fresh one for finish


def test_a_refused_part_aborts_the_upload_and_fails_the_post_in_the_services_words() -> None:
    route, service, _, _ = _parts_route(uploadPart=[_error(400, "UploadExpired")], abortUpload=[{"state": "aborted"}])
    with pytest.raises(PostFailed, match="refused long.mp4 \\(UploadExpired"):
        route.store(b"0123456789", "long.mp4", _direct)
    assert any(s[0] == "app.bsky.video.abortUpload" and s[1] == {"jobId": "up1"} for s in service.sent)

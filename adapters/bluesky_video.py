"""Bluesky videos through Bluesky's video service, the way the Bluesky app sends them.

Room: the road a video takes to the artist's PDS. The recommended road (bsky-docs
`tutorials/video`, lexicons `app.bsky.video.*` as the reference PDS 0.5.35 ships them):

1. a short-lived *service token* from the artist's own PDS (`com.atproto.server.getServiceAuth`,
   `aud` = the PDS's own DID from describeServer, `lxm` = `com.atproto.repo.uploadBlob`): it lets
   the video service store the processed video in the artist's repository, and nothing else;
2. the daily allowance (`app.bsky.video.getUploadLimits`, with a token for the service's own
   `did:web`): how many videos and bytes are left today, or why none may be uploaded;
3. the upload (`app.bsky.video.uploadVideo?did=&name=`, the mp4 as the body), which starts a job;
   a video the service has seen before answers `already_exists` with the earlier job; a big one
   goes in parts (startUpload / uploadPart / finishUpload, `adapters.bluesky_video_parts`);
4. polling `app.bsky.video.getJobStatus` (bounded, with growing pauses) until the job hands back
   the blob, already in the repository; a failed job fails that one post.

The post is then published as before (`app.bsky.embed.video` with that blob), so a video is
ready to play the moment the post appears. Exactly once still holds: the engine journals the
upload before and after it, a repeated upload is answered `already_exists` (no second job, no
second day's allowance), and the post's record key is derived, so it is never created twice.

The direct road (`com.atproto.repo.uploadBlob` of the mp4, Bluesky processes it after posting)
is taken when `video_service = "off"`, when the PDS is on this computer (the service could not
reach it), or when the service cannot be reached (no connection, or 5xx after retries) or does
not accept the token. That is said once per run (`VideoRoute.note`), never per post.

Secrets: service tokens are kept in memory only (an upload token for at most its half hour, so
the parts of one video share it); never logged, written to disk or put in a message.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from pindah.adapters.contract import PostFailed, PreparedMedia, RunStopped, TargetError, TransientError
from pindah.adapters.toolkit.mp4 import mp4_info

from .bluesky_video_parts import send_in_parts
from .bluesky_xrpc import XrpcClient, XrpcError, check_url, is_loopback, to_target_error

DEFAULT_SERVICE = "https://video.bsky.app"
OFF_WORDS = frozenset({"off", "no", "false", "none", "0", "direct"})
UPLOAD_LXM = "com.atproto.repo.uploadBlob"  # what the service does with the token: store the blob
LIMITS_LXM = "app.bsky.video.getUploadLimits"
UPLOAD_TOKEN_SECONDS = 30 * 60  # as the Bluesky app asks; the PDS refuses more than an hour
TOKEN_MARGIN = 5 * 60  # a kept upload token is asked for anew this long before it runs out
MULTIPART_FROM = 16_000_000  # bytes: from here a video goes in parts (adapters.bluesky_video_parts)
LIMITS_TOKEN_SECONDS = 60
# Documented in March 2025 (3 min / 100 MB); the service says VideoTooLarge if it takes less.
SERVICE_VIDEO_BYTES = 100_000_000
ATTEMPTS = 3  # tries before the service counts as unreachable for this run
POLL_FIRST, POLL_FACTOR, POLL_MAX = 1.0, 1.5, 10.0  # seconds between getJobStatus calls
POLL_LIMIT = 15 * 60.0  # a job still running after this is retried by the engine (already_exists)
DAY = 86400.0
# Refusals about the account, not the token: they stop the run or fail the post, never fall back.
ACCOUNT_REFUSALS = frozenset({"dailylimitexceeded", "unconfirmedemail", "uploadforbidden"})
COMPLETED, FAILED = "JOB_STATE_COMPLETED", "JOB_STATE_FAILED"


@dataclass(frozen=True)
class UploadLimits:
    """`app.bsky.video.getUploadLimits`: may the account upload, and how much is left today."""

    can_upload: bool
    remaining_videos: int | None = None
    remaining_bytes: int | None = None
    said: str = ""  # the service's own words (message / error), for the artist


def service_did(base_url: str) -> str:
    """A service's did:web from its address (the port percent-encoded, as did:web writes it)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    return f"did:web:{host}" + (quote(f":{parts.port}") if parts.port else "")


def fallback_note(reason: str) -> str:
    return (f"Videos go straight to your Bluesky server, not through Bluesky's video service ({reason}). "
            "They are published all the same; Bluesky prepares each one after it is posted, "
            "so a new video may show as loading for a few minutes.")


def job_status(answer: dict[str, Any]) -> dict[str, Any]:
    """The job in an answer: the lexicon wraps it in `jobStatus`, the live service often doesn't
    (atproto issue #3097: success and `already_exists` come bare, `unconfirmed_email` wrapped)."""
    inner = answer.get("jobStatus")
    return inner if isinstance(inner, dict) else answer


def parse_limits(answer: dict[str, Any]) -> UploadLimits:
    def whole(key: str) -> int | None:
        value = answer.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    said = " ".join(str(answer.get(k) or "") for k in ("message", "error")).strip()
    return UploadLimits(answer.get("canUpload") is True, whole("remainingDailyVideos"), whole("remainingDailyBytes"), said)


class VideoRoute:
    """Which road this run's videos take, and the video service's side of the service road.

    `pds_client()` gives the logged-in PDS client (service tokens come from there), `did()` the
    account's DID; `say` tells the artist something once (the adapter prints it)."""

    def __init__(self, setting: Any, http: Any, *, pds_client: Callable[[], XrpcClient], did: Callable[[], str],
                 say: Callable[[str], None], clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        text = str(setting if setting is not None else DEFAULT_SERVICE).strip()
        self.off = text.lower() in OFF_WORDS or not text
        self.base = "" if self.off else text.rstrip("/")
        if not self.off:
            check_url(self.base)  # https only; plain http to this computer (tests)
        self._http, self._pds_client, self._did, self._say = http, pds_client, did, say
        self.clock, self.sleep = clock, sleep
        self.pds_did = ""  # the PDS's own DID (describeServer), the audience of upload tokens
        self.note: str | None = None  # why videos take the direct road, once decided
        self.limits: UploadLimits | None = None
        self._noted = False
        self._client: XrpcClient | None = None
        self._upload_token: tuple[str, float] | None = None  # (token, expiry): parts share one
        self.multipart_from = MULTIPART_FROM

    # -- the road ---------------------------------------------------------------------------
    def plan(self, pds_url: str, pds_did: str | None) -> None:
        """Decide the road from the settings alone (no call): off, or a PDS the service can't reach."""
        self.pds_did = pds_did or service_did(pds_url)
        if self.off:
            self.note = self.note or fallback_note('the setting video_service is "off"')
        elif is_loopback(urlsplit(pds_url).hostname or "") and not is_loopback(urlsplit(self.base).hostname or ""):
            self.note = self.note or fallback_note(f"{self.host} cannot reach a server on this computer")

    @property
    def active(self) -> bool:
        return not self.off and self.note is None

    @property
    def told(self) -> str | None:
        """The note said in this run (None: every video went through the service, or none went)."""
        return self.note if self._noted else None

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc or "the video service"

    def store(self, data: bytes, source: str, direct: Callable[[bytes, str], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        """The video's blob, and whether the service made it (else `direct`, uploadBlob, did)."""
        blob = self.upload(data, source) if self.active else None
        if blob is not None:
            return blob, True
        self.tell_once()  # why the direct road, once per run
        return direct(data, "video/mp4"), False

    def look_ahead(self) -> int | None:
        """Before the run: videos left today (None: not said). A service that can't be reached
        turns the road direct now, and says so; a refusal is left for the first video to meet."""
        try:
            limits = self.check_limits()
        except TargetError:
            return None
        if limits is None:
            self.tell_once()
            return None
        return limits.remaining_videos

    def tell_once(self) -> None:
        """Say why videos take the direct road, the first time it matters in this run."""
        if self.note and not self._noted:
            self._noted = True
            self._say(self.note)

    def _give_up(self, exc: XrpcError) -> None:
        self.note = fallback_note(f"{self.host} could not be reached" if exc.status == 0
                                  else f"{self.host} kept failing: {exc.status} {exc.error}")

    # -- calls to the video service --------------------------------------------------------------
    def service(self) -> XrpcClient:
        if self._client is None:
            self._client = XrpcClient(self.base, http=self._http, clock=self.clock, service="Bluesky's video service")
        return self._client

    def _token(self, aud: str, lxm: str, seconds: int) -> str:
        try:
            answer = self._pds_client().query("com.atproto.server.getServiceAuth",
                                              {"aud": aud, "lxm": lxm, "exp": int(self.clock()) + seconds}, auth=True)
        except XrpcError as exc:
            raise to_target_error(exc, "get a token for Bluesky's video service") from None
        token = answer.get("token")
        if not isinstance(token, str) or not token:
            raise TransientError("Bluesky's answer to a service-token request had no token")
        return token

    def upload_token(self, fresh: bool = False) -> str:
        """A service token for storing videos in the repository, kept while it has time left.
        `fresh`: a new one, for the call that hands it to the service to keep (the service
        stores the finished video with it, possibly minutes later)."""
        if fresh or self._upload_token is None or self._upload_token[1] - self.clock() < TOKEN_MARGIN:
            expiry = int(self.clock()) + UPLOAD_TOKEN_SECONDS
            self._upload_token = (self._token(self.pds_did, UPLOAD_LXM, UPLOAD_TOKEN_SECONDS), expiry)
        return self._upload_token[0]

    def _reach(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """`call` with retries; None when the service can't be reached or won't take pindah's
        service tokens (a PDS it doesn't know): the road turns direct for the rest of the run."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return call()
            except XrpcError as exc:
                if exc.status in (401, 403) and _error_key(exc) not in ACCOUNT_REFUSALS:
                    self.note = fallback_note(f"{self.host} did not accept the service token: {exc.error}")
                    return None
                if exc.status != 0 and exc.status < 500:
                    raise
                if attempt == ATTEMPTS:
                    self._give_up(exc)
                    return None
                self.sleep(float(2 ** (attempt - 1)))
        return None  # pragma: no cover

    def check_limits(self) -> UploadLimits | None:
        """Ask the service what is left today (None: not reachable, the road is now direct)."""
        def ask() -> dict[str, Any]:
            token = self._token(service_did(self.base), LIMITS_LXM, LIMITS_TOKEN_SECONDS)
            return self.service().query(LIMITS_LXM, {}, bearer=token)

        try:
            answer = self._reach(ask)
        except XrpcError as exc:
            raise to_target_error(exc, "read Bluesky's video limits") from None
        if answer is None:
            return None
        self.limits = parse_limits(answer)
        return self.limits

    def upload(self, data: bytes, source: str) -> dict[str, Any] | None:
        """The processed video's blob, already in the artist's repository; None when the service
        turned out unreachable just now (the caller takes the direct road, said once)."""
        limits = self.limits if self.limits is not None else self.check_limits()
        if limits is None:
            return None
        if not limits.can_upload or limits.remaining_videos == 0 or (
                limits.remaining_bytes is not None and limits.remaining_bytes < len(data)):
            limits = self.check_limits()  # a day may have passed since the last look
            if limits is None:
                return None
            self._stop_if_spent(limits, len(data))
        name = hashlib.sha256(data).hexdigest()[:24] + ".mp4"  # never the artist's own file name

        def send() -> dict[str, Any]:
            if len(data) >= self.multipart_from:
                job = send_in_parts(self.service(), data, name, self.upload_token, sleep=self.sleep)
                if job is not None:
                    return job
            try:
                return job_status(self.service().send_bytes("app.bsky.video.uploadVideo", data, "video/mp4",
                                                            params={"did": self._did(), "name": name},
                                                            bearer=self.upload_token(fresh=True)))
            except XrpcError as exc:
                earlier = job_status(exc.body)
                if str(earlier.get("error", exc.error)).lower() == "already_exists" and earlier.get("jobId"):
                    return earlier  # the same video was sent before (a crash, a retry): its job
                raise

        try:
            job = self._reach(send)
        except XrpcError as exc:
            raise self._refusal(exc, source) from None
        if job is None:
            return None
        blob = self._wait(job, source)
        self.limits = UploadLimits(True, _less(limits.remaining_videos, 1), _less(limits.remaining_bytes, len(data)),
                                   limits.said)
        return blob

    def _wait(self, job: dict[str, Any], source: str) -> dict[str, Any]:
        """Poll the job until it hands back the blob; a failed job fails this post."""
        waited, pause, misses = 0.0, POLL_FIRST, 0
        while True:
            blob = job.get("blob")
            # `already_exists` may come as an error *with* the earlier blob: the blob decides.
            if isinstance(blob, dict) and _cid(blob):
                if not str(blob.get("mimeType", "video/")).startswith("video/"):
                    raise PostFailed(f"Bluesky's video service made {blob.get('mimeType')} of {source}, not a video")
                return blob
            state, error = str(job.get("state") or ""), str(job.get("error") or "")
            seen_before = error.lower() == "already_exists"  # not a failure: its blob is asked for below
            if state == FAILED or (error and not seen_before and state in ("", COMPLETED)):
                said = "; ".join(dict.fromkeys(str(job.get(k)) for k in ("message", "error") if job.get(k)))
                raise PostFailed(f"Bluesky's video service could not process {source} ({said or 'no reason given'})",
                                 "check that the video plays on this computer; `pindah retry-failed` tries again")
            if state == COMPLETED and not seen_before:
                raise TransientError("Bluesky's video service finished a video but sent no blob")
            if not job.get("jobId"):
                raise TransientError("Bluesky's video service answered an upload without a job to follow")
            if waited >= POLL_LIMIT:
                raise TransientError(f"Bluesky's video service is still processing {source} after "
                                     f"{int(POLL_LIMIT // 60)} min")
            self.sleep(pause)
            waited, pause = waited + pause, min(POLL_MAX, pause * POLL_FACTOR)
            try:
                job = job_status(self.service().query("app.bsky.video.getJobStatus", {"jobId": str(job.get("jobId"))}))
                misses = 0
            except XrpcError as exc:
                if exc.status != 0 and exc.status < 500:
                    raise to_target_error(exc, "ask Bluesky's video service about a video") from None
                misses += 1  # the job goes on without us: ask again, a few times
                if misses >= ATTEMPTS:
                    raise TransientError(f"Bluesky's video service stopped answering while it processed {source}") from None

    def _stop_if_spent(self, limits: UploadLimits, size: int) -> None:
        """Stop the run, with the time to come back, when today's video allowance can't take `size` bytes."""
        if limits.can_upload and limits.remaining_videos != 0 and (
                limits.remaining_bytes is None or limits.remaining_bytes >= size):
            return
        resume = datetime.fromtimestamp(self.clock(), tz=UTC) + timedelta(seconds=DAY)
        said = f" ({limits.said})" if limits.said else ""
        if limits.remaining_videos == 0 or limits.remaining_bytes == 0:
            what = "no more videos from this account today"
        elif limits.remaining_bytes is not None and limits.remaining_bytes < size:
            what = f"only {limits.remaining_bytes:,} more bytes of video today, and the next video is {size:,}"
        else:
            what = "no videos from this account for now"
        raise RunStopped(f"Bluesky's video service takes {what}{said}",
                         "its allowance is counted per day: run the same command again after "
                         f"{resume.astimezone().strftime('%Y-%m-%d %H:%M')}; everything done so far is kept",
                         resume_at=resume)

    def _refusal(self, exc: XrpcError, source: str) -> Exception:
        """The service's refusal of one upload, in the artist's words."""
        inner = job_status(exc.body)
        name, key = str(inner.get("error") or exc.error), _error_key(exc)
        if key == "dailylimitexceeded":
            self.limits = UploadLimits(True, 0, None, str(inner.get("message") or exc.message))
            try:
                self._stop_if_spent(self.limits, 0)
            except RunStopped as stop:  # built there, with the time to come back
                return stop
        if key == "unconfirmedemail":
            return PostFailed("Bluesky takes videos only from accounts with a confirmed email address",
                              "confirm it in the Bluesky app (Settings → Account), then run `pindah retry-failed`")
        if exc.status == 429:  # waited out by the engine, or a stop with the time to come back
            return to_target_error(exc, "upload a video to Bluesky's video service")
        said = str(inner.get("message") or exc.message or "")
        return PostFailed(f"Bluesky's video service refused {source} ({name}{': ' + said if said and said != name else ''})")


def checked_video_size(media: PreparedMedia, max_seconds: float | None) -> tuple[int | None, int | None]:
    """The video's picture size (for the embed's aspect ratio); a video over the length limit fails."""
    info = mp4_info(media.path)
    if info.seconds is not None and max_seconds is not None and info.seconds > max_seconds + 0.5:
        raise PostFailed(f"the video {media.source_path} is {_duration(info.seconds)} long; "
                         f"Bluesky takes videos up to {_duration(max_seconds)}")
    return media.width or info.width, media.height or info.height


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes and rest else f"{minutes} min" if minutes else f"{rest} s"


def _error_key(exc: XrpcError) -> str:
    """The error's name, wherever the service put it, as one comparable word."""
    return str(job_status(exc.body).get("error") or exc.error).lower().replace("_", "")


def _less(value: int | None, by: int) -> int | None:
    return None if value is None else max(0, value - by)


def _cid(blob: dict[str, Any]) -> str:
    ref = blob.get("ref")
    return str(ref.get("$link", "")) if isinstance(ref, dict) else ""

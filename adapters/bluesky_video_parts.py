"""A big video sent to Bluesky's video service in parts (`app.bsky.video.startUpload`,
`uploadPart`, `finishUpload`, `abortUpload`), as the Bluesky app sends videos since 2026.

Room: the multipart conversation only; `adapters.bluesky_video` decides when to use it and
waits for the job it hands back. Shapes are those of the lexicons in @atproto/pds 0.5.35; the
token is the same service token as for `uploadVideo` (`aud` = the PDS, `lxm` =
`com.atproto.repo.uploadBlob`: the service stores the finished video with it), as the Bluesky
app's own multipart upload does.

Why parts: a dropped connection costs one part (each is idempotent and re-sent as is), not the
whole file. A service without multipart uploads (404 / MethodNotImplemented at `startUpload`)
gets the single `uploadVideo` instead; a failure after the start aborts the upload first, so
its reservation of the daily allowance is released at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .bluesky_xrpc import XrpcClient, XrpcError
from .contract import PindahError

PART_ATTEMPTS = 3
_NOT_OFFERED = frozenset({"MethodNotImplemented", "XRPCNotSupported", "NotFound"})


def send_in_parts(service: XrpcClient, data: bytes, name: str, token: Callable[..., str], *,
                  sleep: Callable[[float], None] = time.sleep) -> dict[str, Any] | None:
    """The finished upload's job status (its `jobId` the one to poll); None when the service
    offers no multipart uploads. Refusals and lost connections raise `XrpcError`."""
    try:
        plan = service.procedure("app.bsky.video.startUpload",
                                 {"sizeBytes": len(data), "mimeType": "video/mp4", "name": name},
                                 auth=False, bearer=token())
    except XrpcError as exc:
        if exc.status in (404, 501) or exc.error in _NOT_OFFERED:
            return None
        raise
    job_id, part_size = str(plan.get("jobId") or ""), plan.get("partSizeBytes")
    if not job_id or not isinstance(part_size, int) or part_size <= 0 \
            or plan.get("partCount") != -(-len(data) // part_size):
        _abort(service, job_id, token)
        raise XrpcError(502, "BadResponse", "the video service planned the parts of an upload wrongly")
    try:
        for number, start in enumerate(range(0, len(data), part_size), start=1):
            _send_part(service, job_id, number, data[start:start + part_size], token, sleep)
        # finishUpload hands the token over for storing the video later: a fresh one, as the app does.
        done = service.procedure("app.bsky.video.finishUpload", {"jobId": job_id}, auth=False, bearer=token(True))
    except XrpcError:
        _abort(service, job_id, token)
        raise
    status = done.get("jobStatus") if isinstance(done.get("jobStatus"), dict) else {}
    # On deduplication the finished job is another (an earlier upload of the same video).
    return dict(status) | {"jobId": str(done.get("completedJobId") or status.get("jobId") or job_id)}


def _send_part(service: XrpcClient, job_id: str, number: int, chunk: bytes, token: Callable[..., str],
               sleep: Callable[[float], None]) -> None:
    for attempt in range(1, PART_ATTEMPTS + 1):
        try:
            service.send_bytes("app.bsky.video.uploadPart", chunk, "application/octet-stream",
                               params={"jobId": job_id, "partNumber": number}, bearer=token())
            return
        except XrpcError as exc:
            overloaded = exc.status == 0 or exc.status >= 500 or exc.error == "ServiceOverloaded"
            if not overloaded or attempt == PART_ATTEMPTS:
                raise
            sleep(float(2 ** (attempt - 1)))


def _abort(service: XrpcClient, job_id: str, token: Callable[..., str]) -> None:
    """Release the upload's reservation (best effort: it expires on its own anyway)."""
    if not job_id:
        return
    try:
        service.procedure("app.bsky.video.abortUpload", {"jobId": job_id}, auth=False, bearer=token())
    except (XrpcError, PindahError):
        pass  # the failure that brought us here is the one worth telling

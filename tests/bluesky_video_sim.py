"""A simulated Bluesky video service (video.bsky.app) on 127.0.0.1, in front of the real local PDS.

Room: the three calls pindah makes to the video service, with the request and answer shapes of
the `app.bsky.video.*` lexicons shipped in @atproto/pds 0.5.35 and of the live service where it
differs from them (atproto issues #3026 / #3097: `uploadVideo` answers a bare job status, a video
seen before answers 409 `already_exists` with its job; `getJobStatus` answers `{jobStatus}`).

What makes it a real check rather than an echo:
* every service token is *verified*: its ES256K signature against the signing key in the
  account's DID document (read from the test PLC directory), then `aud`, `lxm`, `iss`, `exp`;
* a job's blob is stored the way the real service does it: `com.atproto.repo.uploadBlob` on the
  account's PDS with the *service token pindah got*, so the PDS checks that token too, and the
  blob handed back really is in the repository.

Multipart uploads (startUpload / uploadPart / finishUpload / abortUpload) check each part's
exact length, as the lexicon says, and assemble the parts into one job like `uploadVideo`'s.

Knobs for tests: `limits` (the getUploadLimits answer), `fail_jobs`, `refuse_upload`
(an XRPC error name and message for uploadVideo / startUpload), `polls_before_done`,
`multipart` (False: startUpload is not offered), `part_size`. Records: `tokens` (every token
seen, so tests can check none leaked), `jobs`, `parts` (part numbers received), `refusals`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.bluesky_pds import LocalPds

UPLOAD_LXM = "com.atproto.repo.uploadBlob"
LIMITS_LXM = "app.bsky.video.getUploadLimits"
JSON_CALLS = {"app.bsky.video.startUpload": "start_upload", "app.bsky.video.finishUpload": "finish_upload",
              "app.bsky.video.abortUpload": "abort_upload"}
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class TokenRefused(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error, self.message = error, message


@dataclass
class Job:
    job_id: str
    did: str
    token: str = field(repr=False)
    data: bytes = field(repr=False)
    polls: int = 0
    state: str = "JOB_STATE_CREATED"
    blob: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jobId": self.job_id, "did": self.did, "state": self.state}
        if self.state not in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED"):
            out["progress"] = min(90, 30 * self.polls)
        return out | {k: v for k, v in (("blob", self.blob), ("error", self.error), ("message", self.message)) if v}


class VideoServiceSim:
    """The service on http://localhost:PORT (a did:web name the PDS accepts as a token audience)."""

    def __init__(self, pds: LocalPds) -> None:
        self.pds = pds
        self.pds_did = pds.xrpc("GET", "com.atproto.server.describeServer").json()["did"]
        self.limits: dict[str, Any] = {"canUpload": True, "remainingDailyVideos": 25,
                                       "remainingDailyBytes": 10_000_000_000}
        self.fail_jobs = False
        self.refuse_upload: tuple[str, str] | None = None
        self.polls_before_done = 2
        self.multipart = True
        self.part_size = 5_000_000
        self.parts: list[int] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        self.tokens: list[str] = []
        self.refusals: list[str] = []
        self.jobs: dict[str, Job] = {}
        self.calls: list[str] = []
        self._by_video: dict[tuple[str, str], str] = {}
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://localhost:{self._server.server_address[1]}"

    @property
    def did(self) -> str:
        return f"did:web:localhost{quote(':' + str(self._server.server_address[1]))}"

    def __enter__(self) -> VideoServiceSim:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- service tokens ------------------------------------------------------------------------
    def verify(self, header: str | None, *, aud: str, lxm: str, did: str | None = None) -> str:
        """The token's issuer, when the Authorization header holds a valid service token for `aud`/`lxm`."""
        if not header or not header.startswith("Bearer "):
            raise TokenRefused("AuthMissing", "Authentication Required")
        token = header[7:]
        self.tokens.append(token)
        try:
            head_b64, body_b64, sig_b64 = token.split(".")
            head, claims = _json_part(head_b64), _json_part(body_b64)
            signature = _b64(sig_b64)
        except ValueError:
            raise TokenRefused("BadJwt", "poorly formatted jwt") from None
        if head.get("alg") != "ES256K" or len(signature) != 64:
            raise TokenRefused("BadJwt", f"unexpected jwt algorithm {head.get('alg')}")
        iss = str(claims.get("iss", ""))
        try:
            self._key(iss).verify(encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                                       int.from_bytes(signature[32:], "big")),
                                  f"{head_b64}.{body_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, KeyError, ValueError):
            raise TokenRefused("BadJwtSignature", "jwt signature does not match jwt issuer") from None
        if claims.get("aud") != aud:
            raise TokenRefused("BadJwtAudience", f"jwt audience does not match service did ({claims.get('aud')})")
        if claims.get("lxm") != lxm:
            raise TokenRefused("BadJwtLexiconMethod", f"bad jwt lexicon method (\"lxm\"). must match: {lxm}")
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            raise TokenRefused("JwtExpired", "jwt expired")
        if did is not None and iss != did:
            raise TokenRefused("BadJwtIssuer", "the token was issued for another account")
        return iss

    def _key(self, did: str) -> ec.EllipticCurvePublicKey:
        if did not in self._keys:
            doc = requests.get(f"{self.pds.plc_url}/{did}", timeout=10).json()
            method = next(m for m in doc["verificationMethod"] if str(m["id"]).endswith("#atproto"))
            raw = _base58(method["publicKeyMultibase"].removeprefix("z"))
            if raw[:2] == b"\xe7\x01":  # a Multikey: the secp256k1-pub multicodec, then the compressed point
                raw = raw[2:]
            self._keys[did] = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw)
        return self._keys[did]

    # -- the calls -----------------------------------------------------------------------------
    def get_upload_limits(self, auth: str | None) -> tuple[int, dict[str, Any]]:
        self.verify(auth, aud=self.did, lxm=LIMITS_LXM)
        return 200, dict(self.limits)

    def upload_video(self, auth: str | None, params: dict[str, str], data: bytes, mime: str) -> tuple[int, dict[str, Any]]:
        did = params.get("did", "")
        self.verify(auth, aud=self.pds_did, lxm=UPLOAD_LXM, did=did)
        if not params.get("name", "").endswith(".mp4") or mime != "video/mp4" or not data:
            return 400, {"error": "InvalidRequest", "message": "an mp4 body, a did and a name are needed"}
        if self.refuse_upload:
            return 400, {"error": self.refuse_upload[0], "message": self.refuse_upload[1]}
        job, new = self._job(did, auth[7:] if auth else "", data)
        if not new:
            return 409, {"did": did, "error": "already_exists", "jobId": job.job_id,
                         "message": "Video already processed", "state": "JOB_STATE_COMPLETED"}
        return 200, {"did": did, "jobId": job.job_id, "state": job.state}  # bare, as the live service

    def _job(self, did: str, token: str, data: bytes) -> tuple[Job, bool]:
        """The job of this video: an earlier one for the same bytes, or a new one."""
        key = (did, hashlib.sha256(data).hexdigest())
        with self._lock:
            if key in self._by_video:
                return self.jobs[self._by_video[key]], False
            job = Job(f"job{len(self.jobs) + 1:04d}", did, token, data)
            self.jobs[job.job_id] = job
            self._by_video[key] = job.job_id
        return job, True

    # -- multipart -----------------------------------------------------------------------------
    def start_upload(self, auth: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not self.multipart:
            return 404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}
        did = self.verify(auth, aud=self.pds_did, lxm=UPLOAD_LXM)
        size = body.get("sizeBytes")
        if not isinstance(size, int) or size < 1 or body.get("mimeType") != "video/mp4":
            return 400, {"error": "InvalidRequest", "message": "sizeBytes and mimeType video/mp4 are needed"}
        if self.refuse_upload:
            return 400, {"error": self.refuse_upload[0], "message": self.refuse_upload[1]}
        upload_id = f"up{len(self.uploads) + 1:04d}"
        self.uploads[upload_id] = {"did": did, "size": size, "parts": {}, "state": "created"}
        return 200, {"jobId": upload_id, "partSizeBytes": self.part_size, "partCount": -(-size // self.part_size),
                     "expiresAt": "2099-01-01T00:00:00.000Z"}

    def upload_part(self, auth: str | None, params: dict[str, str], data: bytes) -> tuple[int, dict[str, Any]]:
        upload = self.uploads.get(params.get("jobId", ""))
        if upload is None:
            return 400, {"error": "UploadNotFound", "message": "no such upload"}
        self.verify(auth, aud=self.pds_did, lxm=UPLOAD_LXM, did=upload["did"])
        number = int(params.get("partNumber", "0"))
        expected = min(self.part_size, upload["size"] - (number - 1) * self.part_size)
        if number < 1 or expected <= 0:
            return 400, {"error": "InvalidPartNumber", "message": f"no part {number}"}
        if len(data) != expected:
            return 400, {"error": "PartSizeMismatch", "message": f"part {number} must be {expected} bytes"}
        upload["parts"][number] = data
        self.parts.append(number)
        return 200, {"partNumber": number, "sizeBytes": len(data)}

    def finish_upload(self, auth: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        upload = self.uploads.get(str(body.get("jobId", "")))
        if upload is None:
            return 400, {"error": "UploadNotFound", "message": "no such upload"}
        self.verify(auth, aud=self.pds_did, lxm=UPLOAD_LXM, did=upload["did"])
        count = -(-upload["size"] // self.part_size)
        if sorted(upload["parts"]) != list(range(1, count + 1)):
            return 400, {"error": "MissingParts", "message": "parts are missing"}
        data = b"".join(upload["parts"][n] for n in range(1, count + 1))
        job, _ = self._job(upload["did"], auth[7:] if auth else "", data)
        upload["state"] = "completed"
        return 200, {"completedJobId": job.job_id, "jobStatus": job.status()}

    def abort_upload(self, auth: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        upload = self.uploads.get(str(body.get("jobId", "")))
        if upload is None:
            return 400, {"error": "UploadNotFound", "message": "no such upload"}
        self.verify(auth, aud=self.pds_did, lxm=UPLOAD_LXM, did=upload["did"])
        upload["state"] = "aborted" if upload["state"] == "created" else upload["state"]
        return 200, {"state": upload["state"]}

    def get_job_status(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        job = self.jobs.get(params.get("jobId", ""))
        if job is None:
            return 400, {"error": "InvalidRequest", "message": "job not found"}
        with self._lock:
            job.polls += 1
            if job.state in ("JOB_STATE_CREATED", "JOB_STATE_ENCODING"):
                job.state = "JOB_STATE_ENCODING"
                if job.polls >= self.polls_before_done:
                    self._finish(job)
        return 200, {"jobStatus": job.status()}

    def _finish(self, job: Job) -> None:
        if self.fail_jobs:
            job.state, job.error = "JOB_STATE_FAILED", f"video processing error for job: {job.job_id}"
            job.message = "Failed to process video"
            return
        # What the live service does with the token: store the video in the account's repository.
        stored = requests.post(f"{self.pds.url}/xrpc/{UPLOAD_LXM}", data=job.data, timeout=60,
                               headers={"Content-Type": "video/mp4", "Authorization": f"Bearer {job.token}"})
        if stored.status_code != 200:
            self.refusals.append(f"PDS uploadBlob {stored.status_code} {stored.text[:200]}")
            job.state, job.error, job.message = "JOB_STATE_FAILED", "upload_failed", "the PDS refused the video"
            return
        job.state, job.blob = "JOB_STATE_COMPLETED", stored.json()["blob"]

    # -- HTTP ----------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                nsid = url.path.removeprefix("/xrpc/")
                sim.calls.append(nsid)
                auth = self.headers.get("Authorization")
                try:
                    if method == "GET" and nsid == LIMITS_LXM:
                        self._answer(*sim.get_upload_limits(auth))
                    elif method == "POST" and nsid == "app.bsky.video.uploadVideo":
                        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                        self._answer(*sim.upload_video(auth, params, data, self.headers.get("Content-Type", "")))
                    elif method == "GET" and nsid == "app.bsky.video.getJobStatus":
                        self._answer(*sim.get_job_status(params))
                    elif method == "POST" and nsid == "app.bsky.video.uploadPart":
                        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                        self._answer(*sim.upload_part(auth, params, data))
                    elif method == "POST" and nsid in JSON_CALLS:
                        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                        self._answer(*getattr(sim, JSON_CALLS[nsid])(auth, body))
                    else:
                        self._answer(404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
                except TokenRefused as refused:
                    sim.refusals.append(f"{nsid}: {refused.error}")
                    self._answer(401, {"error": refused.error, "message": refused.message})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

        return Handler


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json_part(part: str) -> dict[str, Any]:
    value = json.loads(_b64(part))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _base58(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _B58.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw

"""The simulated Mastodon server (tests/mastodon_sim.py) served over real HTTP on 127.0.0.1.

`mastodon_sim.SimServer` answers through `responses` inside one process; crash tests run pindah
in child processes that are SIGKILLed, so the server must live outside them and keep its state
across runs. `MastodonHttp` puts the same SimServer behind a ThreadingHTTPServer (plain http is
allowed to loopback hosts), and records what it received:

    received   every request: (method, path, headers, body bytes)
    uploads    media id -> the uploaded file's bytes (parsed from the multipart body)

so a test can read the server back (`sim.statuses`, `sim.media`) and grep every byte pindah sent.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.mastodon_sim import TOKEN, SimServer
from tests.sim_http import SimHttp

UPLOAD_PATHS = ("/api/v1/media", "/api/v2/media")


class MastodonHttp(SimHttp):
    def __init__(self, flavour: str = "mastodon", **sim_kw: Any) -> None:
        super().__init__(self._answer)
        sim_kw.setdefault("video_polls", 0)
        self.sim = SimServer(flavour=flavour, base=self.url, clock=time.time, **sim_kw)
        self.uploads: dict[str, bytes] = {}

    @property
    def token(self) -> str:
        return self.sim.token

    def _answer(self, prepared: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        """The SimServer's answer; an accepted upload's file is kept for `upload_of`."""
        status, out_headers, out = self.sim._handle(prepared)
        if status in (200, 202) and urlsplit(prepared.url or "").path in UPLOAD_PATHS:
            media_id = json.loads(out).get("id") if isinstance(out, str) else None
            if media_id:
                body = prepared.body if isinstance(prepared.body, bytes) else b""
                self.uploads[str(media_id)] = _file_of(prepared.headers.get("Content-Type", ""), body)
        return status, out_headers, out

    # -- reading the server back ----------------------------------------------------------------
    def statuses(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(s) for s in self.sim.statuses.values()]

    def upload_of(self, media_id: str) -> bytes:
        with self.lock:
            return self.uploads[media_id]


def _file_of(content_type: str, body: bytes) -> bytes:
    """The `file` part of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in message.iter_parts():
        if part.get_filename() is not None or part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True) or b""
    return b""


__all__ = ["MastodonHttp", "TOKEN"]

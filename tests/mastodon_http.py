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
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import requests

from tests.faultproxy import LoopbackService
from tests.mastodon_sim import TOKEN, SimServer


class MastodonHttp(LoopbackService):
    def __init__(self, flavour: str = "mastodon", **sim_kw: Any) -> None:
        super().__init__()
        sim_kw.setdefault("video_polls", 0)
        self.sim = SimServer(flavour=flavour, base=self.url, clock=time.time, **sim_kw)
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []
        self.uploads: dict[str, bytes] = {}

    @property
    def token(self) -> str:
        return self.sim.token

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k: v for k, v in h.headers.items()}
        prepared = requests.Request(h.command, self.url + h.path, headers=headers, data=body or None).prepare()
        if body:
            prepared.body = body
        with self.lock:
            self.received.append((h.command, h.path.split("?", 1)[0], headers, body))
            status, out_headers, out = self.sim._handle(prepared)
            if status in (200, 202) and h.path.split("?", 1)[0] in ("/api/v1/media", "/api/v2/media"):
                media_id = json.loads(out).get("id") if isinstance(out, str) else None
                if media_id:
                    self.uploads[str(media_id)] = _file_of(headers.get("Content-Type", ""), body)
        if isinstance(out, Exception):
            h.close_connection = True
            h.connection.close()
            return
        data = out.encode() if isinstance(out, str) else (out or b"")
        h.send_response_only(status)
        for name, value in out_headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

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

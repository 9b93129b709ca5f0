"""Any responses-style simulation served over real HTTP on 127.0.0.1.

A simulation written for `responses` answers a `requests.PreparedRequest` with
`(status, headers, body)`. Crash tests run pindah in child processes that are SIGKILLed, so the
server must live outside them and keep its state across runs: `SimHttp(handle)` puts such a
handler behind a threaded HTTP/1.1 server (plain http is allowed to loopback hosts), one request
at a time (the simulation's state needs no locks of its own), and keeps every request it got:

    received   (method, path, headers, body bytes), in order

A handler may answer an Exception as its body: the connection is then dropped without an answer
(the change happened, the client never heard). Redirects are passed on as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import requests

from tests.faultproxy import LoopbackService

Handler = Callable[[requests.PreparedRequest], tuple[int, dict[str, str], Any]]


class SimHttp(LoopbackService):
    def __init__(self, handle: Handler) -> None:
        super().__init__()
        self.handle = handle
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k: v for k, v in h.headers.items()}
        prepared = requests.Request(h.command, self.url + h.path, headers=headers).prepare()
        prepared.body = body or None
        for name, value in headers.items():  # as sent, not as requests would have made them
            prepared.headers[name] = value
        with self.lock:
            self.received.append((h.command, h.path.split("?", 1)[0], headers, body))
            status, out_headers, out = self.handle(prepared)
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


__all__ = ["SimHttp"]

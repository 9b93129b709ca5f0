"""A loopback HTTP proxy that injects the failures real networks and servers produce.

    with FaultProxy(upstream_port, rate=0.2, seed=7) as proxy:
        ... point the client at proxy.url ...
    proxy.injected  # Counter: fault kind -> how many were injected
    proxy.attempts  # Counter: "METHOD /path" -> how many requests arrived

Faults, drawn with a seeded RNG for every request that `match` selects:

    500 / 502 / 503   an error answer; half of them *after* the upstream handled the request
                      (the change happened, the answer says it did not)
    429               "slow down" with `ratelimit-*` (epoch reset, Bluesky) and `X-RateLimit-*`
                      (ISO reset, Mastodon) headers and Retry-After; the upstream never sees it
    reset             TCP reset: before the upstream saw it (half the request body read: the
                      network dropped mid-upload) or after it handled the request
    slow              the answer comes `slow` seconds late (well under the clients' timeouts)
    truncated         the upstream's answer cut in half: full Content-Length, half the body

`rule(method, path, body, count)` can force an answer for chosen requests (a permanent 400,
401 or 413, say): it returns (status, json body) or None. Forced answers are counted in
`forced`. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

KINDS = ("500", "502", "503", "429", "reset", "slow", "truncated")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "trailer",
        "upgrade", "date", "server"}


class QuietServer(ThreadingHTTPServer):
    """Clients that drop connections (a SIGKILLed pindah, a reset we injected) are normal here."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class LoopbackService:
    """An HTTP/1.1 server on a free port of 127.0.0.1 that hands every request to `_handle`,
    served from a daemon thread while used as a context manager."""

    def __init__(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                service._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError


@dataclass
class Seen:
    at: float
    method: str
    path: str  # without the query
    query: str
    fault: str | None  # the kind injected, "forced" for a rule's answer, None when passed through
    status: int | None  # what the client got (None: no answer)
    body: bytes = field(repr=False, default=b"")


class FaultProxy(LoopbackService):
    def __init__(self, upstream_port: int, *, rate: float = 0.2, seed: int = 0, kinds: tuple[str, ...] = KINDS,
                 match: Callable[[str, str], bool] | None = None,
                 rule: Callable[[str, str, bytes, int], tuple[int, dict[str, Any]] | None] | None = None,
                 slow: tuple[float, float] = (0.3, 1.2), reset_in: float = 1.0, keep_bodies: bool = False) -> None:
        self.upstream_port = upstream_port
        self.rate = rate
        self.rng = random.Random(seed)
        self.kinds = kinds
        self.match = match or (lambda method, path: True)
        self.rule = rule
        self.slow = slow
        self.reset_in = reset_in
        self.keep_bodies = keep_bodies
        self.injected: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.forced: Counter[str] = Counter()
        self.log: list[Seen] = []
        self.lock = threading.Lock()
        self.enabled = True
        super().__init__()

    def faults_total(self) -> int:
        return sum(self.injected.values())

    # -- one request ----------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path, _, query = h.path.partition("?")
        length = int(h.headers.get("Content-Length") or 0)
        key = f"{h.command} {path}"
        with self.lock:
            self.attempts[key] += 1
            count = self.attempts[key]
            kind = None
            if self.enabled and self.match(h.command, path) and self.rng.random() < self.rate:
                kind = self.rng.choice(self.kinds)
            after = self.rng.random() < 0.5
            slow = self.rng.uniform(*self.slow)
        if kind == "reset" and not after and length > 1:
            h.rfile.read(length // 2)  # the connection drops halfway through the upload
            self._record(h.command, path, query, "reset", None, b"")
            self._reset(h)
            return
        body = h.rfile.read(length) if length else b""
        forced = self.rule(h.command, path, body, count) if self.rule else None
        if forced is not None:
            status, payload = forced
            with self.lock:
                self.forced[f"{status} {path}"] += 1
            self._record(h.command, path, query, "forced", status, body)
            self._answer(h, status, json.dumps(payload).encode(), {"Content-Type": "application/json"})
            return
        if kind in ("500", "502", "503", "429", "reset") and not (after and kind != "429"):
            if kind == "reset":
                self._record(h.command, path, query, kind, None, body)
                self._reset(h)
            else:
                self._record(h.command, path, query, kind, int(kind), body)
                self._error(h, int(kind))
            return
        if kind == "slow":
            time.sleep(slow)
        try:
            status, headers, data = self._forward(h, body)
        except OSError:
            self._record(h.command, path, query, "upstream-down", None, body)
            self._reset(h)
            return
        if kind in ("500", "502", "503"):  # the upstream acted; the answer is lost
            self._record(h.command, path, query, kind, int(kind), body)
            self._error(h, int(kind))
        elif kind == "reset":
            self._record(h.command, path, query, kind, None, body)
            self._reset(h)
        elif kind == "truncated" and len(data) > 1:
            self._record(h.command, path, query, kind, status, body)
            h.send_response_only(status)
            for name, value in headers:
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.close_connection = True
        else:
            self._record(h.command, path, query, kind, status, body)
            h.send_response_only(status)
            for name, value in headers:
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

    def _record(self, method: str, path: str, query: str, fault: str | None, status: int | None, body: bytes) -> None:
        with self.lock:
            if fault is not None and fault != "forced":
                self.injected[fault] += 1
            self.log.append(Seen(time.time(), method, path, query, fault, status, body if self.keep_bodies else b""))

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
            headers["Host"] = h.headers.get("Host", f"127.0.0.1:{self.upstream_port}")
            upstream.request(h.command, h.path, body=body if body else None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            return answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP], data
        finally:
            upstream.close()

    def _error(self, h: BaseHTTPRequestHandler, status: int) -> None:
        headers = {"Content-Type": "application/json"}
        if status == 429:
            reset = time.time() + self.reset_in
            payload = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
            headers |= {"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                        "ratelimit-reset": str(int(reset) + 1), "ratelimit-policy": "3000;w=300",
                        "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": datetime.fromtimestamp(reset + 1, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "Retry-After": str(int(self.reset_in) + 1)}
        else:
            payload = {"error": "InternalServerError" if status == 500 else "UpstreamFailure",
                       "message": f"injected {status}"}
        self._answer(h, status, json.dumps(payload).encode(), headers)

    @staticmethod
    def _answer(h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]) -> None:
        h.send_response_only(status)
        h.send_header("Date", formatdate(usegmt=True))
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _reset(h: BaseHTTPRequestHandler) -> None:
        """Close with RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        except OSError:
            pass

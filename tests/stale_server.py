"""A Mastodon-API test server that closes every connection after its answer, without saying so.

snac (and many proxies) answer over HTTP/1.1 without `Connection: close` and then close the
socket. A client that keeps the connection in its pool sends its next request on a dead socket
and gets "connection dropped" although the server never saw the request.

`StaleMastodon` is the simulated server of tests/mastodon_http.py with that flaw made
deterministic: after each answer it waits until the client sends more on the same connection
(or a second passes) and then closes it unread. Every request a client sends on a reused
connection is lost; a client that opens a new connection is served normally.
"""

from __future__ import annotations

import select
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.mastodon_http import MastodonHttp

LINGER = 1.0  # how long a connection stays open, unused, after its answer


class StaleMastodon(MastodonHttp):
    def __init__(self, flavour: str = "mastodon", **sim_kw: Any) -> None:
        super().__init__(flavour, **sim_kw)
        self.dropped = 0  # requests that arrived on a connection already answered once

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        super()._handle(h)
        h.wfile.flush()
        readable, _, _ = select.select([h.connection], [], [], LINGER)
        if readable and h.connection.recv(1, 0x2):  # MSG_PEEK: a new request, not the client's close
            with self.lock:
                self.dropped += 1
        h.close_connection = True  # no `Connection: close` was sent: the client is not told

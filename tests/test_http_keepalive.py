"""POSTs reuse a connection only while the server's own Keep-Alive promise holds.

A new connection per call cost ~4 ms against the reference PDS (a fifth of an upload), so the
HTTP layer keeps POSTs on the pooled connection when the server said `Keep-Alive: timeout=N`
less than N/2 seconds ago; a server that promises nothing (snac, tests/stale_server.py) still
gets a new connection for every POST. The server here counts the connections it was sent on.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pindah.adapters.toolkit.http import HttpClient


class CountingServer(ThreadingHTTPServer):
    """Answers every request with 200 over HTTP/1.1 and remembers which connection brought it."""

    daemon_threads = True

    def __init__(self, keep_alive: str | None) -> None:
        self.keep_alive = keep_alive
        self.connections: list[tuple[str, int]] = []  # the client address of each request
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        server: CountingServer = self.server  # type: ignore[assignment]
        server.connections.append(self.client_address)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if server.keep_alive:
            self.send_header("Keep-Alive", server.keep_alive)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve():
    started: list[CountingServer] = []

    def start(keep_alive: str | None) -> CountingServer:
        server = CountingServer(keep_alive)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _post(wire: HttpClient, times: int) -> None:
    for i in range(times):
        assert wire.send("POST", "/xrpc/com.atproto.repo.createRecord", json={"n": i}).status_code == 200


def test_posts_share_one_connection_while_the_server_promises_to_keep_it(serve):
    server = serve("timeout=90")
    wire = HttpClient(server.url)
    _post(wire, 6)
    assert len(server.connections) == 6 and len(set(server.connections)) == 1
    wire.close()


def test_posts_open_a_new_connection_each_when_the_server_promises_nothing(serve):
    server = serve(None)
    wire = HttpClient(server.url)
    assert wire.send("GET", "/xrpc/_health").status_code == 200
    _post(wire, 4)
    assert len(server.connections) == 5 and len(set(server.connections)) == 5
    wire.close()


def test_a_post_after_the_promised_time_ran_out_opens_a_new_connection(serve):
    server = serve("timeout=1")  # trusted for half of it
    wire = HttpClient(server.url)
    _post(wire, 2)
    time.sleep(0.7)
    _post(wire, 1)
    first, second, third = server.connections
    assert first == second and third != second
    wire.close()

"""OAuth 2 for a desktop program: PKCE, a loopback redirect, and a pasted code where that fails.

Room: getting an authorization code from the artist's browser, for any target that logs in
with OAuth 2 (Mastodon-API servers now; DeviantArt, Tumblr next). The target says how to
register pindah as an app, how its authorize address looks and how a code becomes a token
(`OAuthSteps`); `browser_login` does the rest:

1. A one-shot web server on 127.0.0.1 (`LoopbackReceiver`) is the redirect address, what
   desktop apps do (RFC 8252). The browser is opened at the authorize address with a PKCE
   (S256) challenge and a random `state`, so a code caught on the way is useless.
2. When no browser opens or none answers in time, and the target has an out-of-band redirect
   (`urn:ietf:wg:oauth:2.0:oob`), the server shows a code for the artist to paste instead.

`LoginIO` is how the login talks to the artist; tests replace every part. Codes and tokens
are never printed or logged (the receiver does not log its requests: the query holds the code).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

import click

from pindah.adapters.contract import PindahError

LOOPBACK_WAIT = 300.0
OOB = "urn:ietf:wg:oauth:2.0:oob"
T = TypeVar("T")


@dataclass
class LoginIO:
    """How the login talks to the artist; tests replace every part."""

    say: Callable[[str], None] = field(default=lambda text: click.echo(text, err=True))
    open_browser: Callable[[str], bool] = field(default=webbrowser.open)
    ask_code: Callable[[], str] = field(
        default=lambda: click.prompt("Paste the code the server showed you", hide_input=True).strip())
    ask_token: Callable[[], str] = field(
        default=lambda: click.prompt("Personal access token (not shown)", hide_input=True).strip())
    wait_seconds: float = LOOPBACK_WAIT


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 wants them: 43-128 unreserved characters."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class LoopbackReceiver:
    """A one-shot web server on 127.0.0.1 that catches the browser's redirect with the code."""

    def __init__(self, port: int = 0) -> None:  # 0: any free port
        receiver = self
        self.result: dict[str, str] | None = None

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                receiver.result = {k: v[0] for k, v in parse_qs(parts.query).items()}
                ok = "code" in receiver.result
                body = ("<!doctype html><meta charset=utf-8><title>pindah</title><p>"
                        + ("pindah is logged in. You can close this tab." if ok
                           else "The login was not completed. You can close this tab.") + "</p>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # the query holds the code: never logged
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        self.server.timeout = 0.5
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def wait(self, seconds: float) -> dict[str, str] | None:
        deadline = time.monotonic() + seconds
        while self.result is None and time.monotonic() < deadline:
            self.server.handle_request()
        return self.result

    def close(self) -> None:
        self.server.server_close()


@dataclass(frozen=True)
class OAuthSteps(Generic[T]):
    """What one target's server needs, as three calls. `client` is whatever `register` returns
    (client id and secret); `exchange` turns a code into the target's own login record."""

    host: str  # for messages: "example.social"
    register: Callable[[str], Any]  # redirect_uri -> client
    authorize_url: Callable[[Any, str, str, str], str]  # (client, redirect_uri, challenge, state) -> URL
    exchange: Callable[[Any, str, str, str], T]  # (client, redirect_uri, code, verifier) -> login
    oob_redirect: str | None = OOB  # None: the server has no out-of-band redirect
    retry_hint: str = "run `pindah login` again"
    redirect_port: int = 0  # a fixed port, for servers that match a registered redirect address exactly


def browser_login(steps: OAuthSteps[T], io: LoginIO, *, browser: bool = True) -> T:
    """Log in through the artist's browser (loopback redirect), else with a pasted code."""
    receiver = None
    if browser:
        try:
            receiver = LoopbackReceiver(steps.redirect_port)
        except OSError:
            receiver = None  # no local port: the pasted code still works
    try:
        if receiver is not None:
            client = steps.register(receiver.redirect_uri)
            verifier, challenge = pkce_pair()
            state = secrets.token_urlsafe(24)
            url = steps.authorize_url(client, receiver.redirect_uri, challenge, state)
            io.say(f"Opening your browser to log in to {steps.host}. If it does not open, visit:\n  {url}")
            if io.open_browser(url):
                answer = receiver.wait(io.wait_seconds)
                if answer is not None:
                    if answer.get("state") != state:
                        raise PindahError("the login answer did not match this login (state differs)",
                                          steps.retry_hint)
                    if "code" not in answer:
                        raise PindahError(f"the login was not allowed on {steps.host} "
                                          f"({answer.get('error_description') or answer.get('error') or 'no code'})")
                    return steps.exchange(client, receiver.redirect_uri, answer["code"], verifier)
                io.say("No answer from the browser; using a code to paste instead.")
    finally:
        if receiver is not None:
            receiver.close()
    if steps.oob_redirect is None:
        raise PindahError(f"the browser login to {steps.host} did not finish", steps.retry_hint)
    client = steps.register(steps.oob_redirect)
    verifier, challenge = pkce_pair()
    url = steps.authorize_url(client, steps.oob_redirect, challenge, secrets.token_urlsafe(24))
    io.say(f"Open this address in a browser, log in, allow pindah, then paste the code shown:\n  {url}")
    code = io.ask_code()
    if not code:
        raise PindahError("no code was given", steps.retry_hint)
    return steps.exchange(client, steps.oob_redirect, code, verifier)

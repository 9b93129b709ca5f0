"""The app's locks: who may talk to it, and how a page may change anything.

* Loopback only (the server binds 127.0.0.1; see command.py).
* A per-launch token: the printed address carries it once (`?token=`); the app answers with a
  cookie (HttpOnly, SameSite=Strict, Path=/, named after the port because cookies ignore
  ports) and a redirect that drops the token from the address bar. No token: 403.
* The Host header must name the loopback address and the app's port: a web page that rebinds
  its own DNS name to 127.0.0.1 is refused (DNS rebinding).
* Changing anything is a POST that must come from the app's own pages: its Origin (or, without
  one, its Referer) is the app's, and it carries the launch's CSRF token (a form field `csrf`
  or the header `X-CSRF-Token`). Anything else: 403.
* Every answer says: no caching, no framing, no scripts or styles but the app's own.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
]


@dataclass
class Keys:
    """The launch's secrets: the token in the printed address, and the CSRF token in pages."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def cookie(self) -> str:
        return f"pindah_app_{self.port}"

    @property
    def origins(self) -> tuple[str, ...]:
        return (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}")

    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"


def _same(given: str | None, wanted: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), wanted.encode())


class Guard:
    """ASGI middleware enforcing the module's rules before any route runs."""

    def __init__(self, app: Any, keys: Keys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Awaitable[Any]],
                       send: Callable[..., Awaitable[Any]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        if host not in (o.split("//", 1)[1] for o in self.keys.origins):
            await PlainTextResponse("This address is not pindah's.", 400)(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query and _same(query["token"], self.keys.token):
            rest = {k: v for k, v in query.items() if k != "token"}
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, 303)
            response.set_cookie(self.keys.cookie, self.keys.token, httponly=True, samesite="strict", path="/")
            await response(scope, receive, _with_headers(send))
            return
        if not _same(request.cookies.get(self.keys.cookie), self.keys.token):
            await PlainTextResponse("Open pindah from the address it printed when it started "
                                    "(the one with ?token=).", 403)(scope, receive, _with_headers(send))
            return
        if request.method not in ("GET", "HEAD"):
            if request.method != "POST" or not self._from_app(request):
                await PlainTextResponse("Refused: this request did not come from pindah's own page.", 403)(
                    scope, receive, _with_headers(send))
                return
        await self.app(scope, receive, _with_headers(send))

    def _from_app(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is not None:
            return origin in self.keys.origins
        referer = request.headers.get("referer", "")
        return any(referer == o or referer.startswith(o + "/") for o in self.keys.origins)


def _with_headers(send: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            own = message.get("headers", [])
            named = {name.lower() for name, _ in own}
            message = {**message, "headers": [*own, *(h for h in SECURITY_HEADERS if h[0] not in named)]}
        await send(message)
    return sending


class CsrfRefused(Exception):
    """A POST without the launch's CSRF token."""


async def checked_form(request: Request) -> FormData:
    """The POSTed form, after checking its CSRF token (field `csrf` or header `X-CSRF-Token`)."""
    keys: Keys = request.app.state.keys
    form = await request.form()
    given = request.headers.get("x-csrf-token") or form.get("csrf")
    if not isinstance(given, str) or not _same(given, keys.csrf):
        raise CsrfRefused()
    return form


def check_csrf_header(request: Request) -> None:
    """For POSTs whose body is not a form (a streamed upload): the header must carry the token."""
    if not _same(request.headers.get("x-csrf-token"), request.app.state.keys.csrf):
        raise CsrfRefused()

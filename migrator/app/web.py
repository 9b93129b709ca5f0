"""What every route shares: the page renderer (language, CSRF token, notices) and redirects."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from .i18n import gettext, pick_language, render
from .workspace import Workspace

LANG_COOKIE = "pindah_lang"


def lang_of(request: Request) -> str:
    return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def ws(request: Request) -> Workspace:
    return request.app.state.workspace


def say(request: Request, message: str, kind: str = "ok", **values: Any) -> None:
    """A one-line notice shown on the next page (translated now, in the artist's language).
    Never give it a secret: notices are shown in a page."""
    request.app.state.notices.append((kind, gettext(lang_of(request), message, **values)))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    notices, request.app.state.notices = request.app.state.notices, []
    html = render(lang_of(request), template, csrf=request.app.state.keys.csrf, notices=notices,
                  path=request.url.path, **context)
    return HTMLResponse(html, status)


def back(to: str) -> RedirectResponse:
    return RedirectResponse(to, 303)


def t(request: Request, message: str, **values: Any) -> str:
    return gettext(lang_of(request), message, **values)

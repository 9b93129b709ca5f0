"""The app itself: the routes of every screen behind the `Guard` (security.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import PindahError
from . import routes_after, routes_export, routes_oauth, routes_places, routes_plan, routes_run
from .i18n import LANGUAGES
from .runs import RunManager
from .security import CsrfRefused, Guard, Keys, checked_form
from .web import LANG_COOKIE, back, say
from .workspace import Workspace

STATIC = Path(__file__).parent / "static"


async def set_language(request: Request) -> Response:
    form = await checked_form(request)
    lang = str(form.get("lang") or "")
    where = str(form.get("back") or "/")
    response = back(where if where.startswith("/") and not where.startswith("//") else "/")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="strict", path="/", max_age=365 * 86400)
    return response


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("Refused: this request did not come from pindah's own page.", 403)


async def _pindah_error(request: Request, exc: Exception) -> Response:
    """An error an artist can act on, raised by a screen: said on the page, never a traceback."""
    say(request, "Something could not be done: %(why)s", "error", why=exc.one_line())  # type: ignore[attr-defined]
    return back("/")


async def _bug(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"Unexpected error: {type(exc).__name__}. This is a bug in pindah: nothing was lost; "
                             "go back and try again, and please report what you did.", 500)


def build_app(config: dict[str, Any], *, port: int, config_path: Path | None = None,
              keys: Keys | None = None, resume: bool = True) -> tuple[Guard, Starlette]:
    """The app for one launch, behind its guard (and the bare app, for its state).
    `resume`: continue a run the last launch left going."""
    keys = keys or Keys(port)
    workspace = Workspace(config, config_path)
    routes = [*routes_export.routes, *routes_places.routes, *routes_plan.routes, *routes_run.routes,
              *routes_after.routes, *routes_oauth.routes, Route("/lang", set_language, methods=["POST"]),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes, exception_handlers={CsrfRefused: _csrf_refused, PindahError: _pindah_error,
                                                       Exception: _bug})
    app.state.keys = keys
    app.state.workspace = workspace
    app.state.runs = RunManager(workspace)
    app.state.notices = []
    app.state.thumbs = {}
    app.state.results = {}
    app.state.closing = False
    app.state.oauth = None
    if resume and workspace.session.running and workspace.session.targets and workspace.session.export:
        app.state.runs.start()  # the app was stopped mid-run: the journal knows where
    return Guard(app, keys), app

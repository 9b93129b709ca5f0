"""Mastodon, Pixelfed, GoToSocial: the server's address, then its OAuth login in the same browser.

The login is the adapter's own hook (`Adapter.login`, the same as `pindah login`), run in a
background thread with a `LoginIO` (toolkit.oauth) whose "open the browser" hands the
authorize address to this page instead: the artist opens it in a new tab, allows pindah, the
server redirects to the toolkit's one-shot loopback receiver (PKCE + state), and this page,
which looks again every two seconds, says "logged in" and goes back to the places.
The token goes to the adapter's token store; the app never sees or shows it.

An adapter that does not take a `LoginIO` (`adapter.io`) cannot log in from the app; the page
says to use `pindah login` instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pindah.adapters.toolkit.oauth import LoginIO

from ..errors import PindahError
from ..targets import make_target
from .security import checked_form
from .web import back, page, say, ws

URL_WAIT = 30.0  # seconds for the server to register pindah and give its authorize address
LOGIN_WAIT = 600.0  # seconds the artist has to allow pindah in the other tab


@dataclass
class PendingLogin:
    spec: str
    url: str | None = None
    done: bool = False
    error: str | None = None
    line: str = ""
    ready: threading.Event = field(default_factory=threading.Event)


def _no_paste() -> str:
    raise PindahError("the login in the browser did not finish", "try again, or use `pindah login` in a terminal")


async def start(request: Request) -> Response:
    form = await checked_form(request)
    server = str(form.get("server") or "").strip().rstrip("/")
    if server and "://" not in server:
        server = "https://" + server
    spec = f"mastodon:{server}"
    try:
        adapter = make_target(spec, ws(request).config)
    except PindahError as exc:
        say(request, "That place cannot be used: %(why)s", "error", why=exc.one_line())
        return back("/places")
    if not server or not isinstance(getattr(adapter, "io", None), LoginIO):
        say(request, "Logging in to these from the app is not ready yet. In a terminal: pindah login mastodon:https://your.server", "error")
        return back("/places")
    pending = PendingLogin(spec)

    def handed_url(url: str) -> bool:
        pending.url = url
        pending.ready.set()
        return True  # "opened": the artist opens it from the page

    adapter.io = LoginIO(say=lambda text: None, open_browser=handed_url, ask_code=_no_paste, ask_token=_no_paste,
                         wait_seconds=LOGIN_WAIT)

    def log_in() -> None:
        try:
            pending.line = adapter.login(browser=True)
        except PindahError as exc:
            pending.error = exc.one_line()
        except Exception as exc:  # noqa: BLE001 - shown on the page, never a dead thread
            pending.error = f"unexpected error: {type(exc).__name__} (this is a bug in pindah)"
        finally:
            pending.done = True
            pending.ready.set()
            adapter.finish()

    request.app.state.oauth = pending
    threading.Thread(target=log_in, name="pindah-app-login", daemon=True).start()
    await run_in_threadpool(pending.ready.wait, URL_WAIT)
    return back("/places/mastodon/wait")


async def wait(request: Request) -> Response:
    pending: PendingLogin | None = getattr(request.app.state, "oauth", None)
    if pending is None:
        return back("/places")
    if pending.done:
        request.app.state.oauth = None
        if pending.error:
            say(request, "The server did not accept the login: %(why)s", "error", why=pending.error)
        else:
            ws(request).session.add_target(pending.spec)
            ws(request).session.save()
            say(request, "Logged in. pindah keeps the login in your token store, never in a page.")
        return back("/places")
    return page(request, "oauth_wait.html", url=pending.url, server=pending.spec.split(":", 1)[1])


routes = [
    Route("/places/mastodon", start, methods=["POST"]),
    Route("/places/mastodon/wait", wait),
]

"""Every OAuth target (`sign_in = "oauth"`): its location if it has one (a Mastodon server's
address, a Tumblr blog's name), then its OAuth login in the same browser, at
`/places/oauth/<name>` and `/places/oauth/<name>/wait`. No target is named here.

The login is the adapter's own hook (`Adapter.login`, the same as `pindah login`), run in a
background thread with a `LoginIO` (toolkit.oauth) whose "open the browser" hands the
authorize address to this page instead: the artist opens it in a new tab, allows pindah, the
server redirects to the toolkit's one-shot loopback receiver (PKCE + state), and this page,
which looks again every two seconds, says "logged in" and goes back to the places.
The token goes to the adapter's token store; the app never sees or shows it.

The adapter gets that `LoginIO` as its constructor's `io=` keyword (Mastodon, DeviantArt and
Tumblr take one); an adapter without it cannot log in from the app, and the page says to use
`pindah login` instead.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field
from urllib.parse import quote

from pindah.adapters.toolkit.oauth import LoginIO
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import PindahError
from ..targets import make_target
from .offers import title_of
from .routes_places import posted_place, spec_of
from .web import back, lang_of, page, say, ws

URL_WAIT = 30.0  # seconds for the server to register pindah and give its authorize address
LOGIN_WAIT = 600.0  # seconds the artist has to allow pindah in the other tab


@dataclass
class PendingLogin:
    """The one login in the browser under way: the target's place, and what its thread found."""

    name: str
    spec: str
    url: str | None = None
    done: bool = False
    error: str | None = None
    line: str = ""
    ready: threading.Event = field(default_factory=threading.Event)


def takes_login_io(cls: type) -> bool:
    """Does the target's constructor take the `io=` keyword the app hands its LoginIO through?"""
    try:
        return "io" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _no_paste() -> str:
    raise PindahError("the login in the browser did not finish", "try again, or use `pindah login` in a terminal")


async def start(request: Request) -> Response:
    posted = await posted_place(request, "oauth")
    if posted is None:
        return back("/places")
    form, name, cls = posted
    location = str(form.get("location") or "").strip().rstrip("/")
    if cls.location_prompt is not None and not location:
        say(request, "Fill in every field to log in to %(title)s.", "error", title=title_of(name, lang_of(request)))
        return back("/places")
    spec = spec_of(name, location if cls.location_prompt is not None else None)
    if not takes_login_io(cls):
        say(request, "Logging in to this place from the app is not ready yet. In a terminal: pindah login %(target)s",
            "error", target=spec)
        return back("/places")
    pending = PendingLogin(name, spec)

    def handed_url(url: str) -> bool:
        pending.url = url
        pending.ready.set()
        return True  # "opened": the artist opens it from the page

    io = LoginIO(say=lambda text: None, open_browser=handed_url, ask_code=_no_paste, ask_token=_no_paste,
                 wait_seconds=LOGIN_WAIT)
    try:
        adapter = make_target(spec, ws(request).config, io=io)
    except PindahError as exc:
        say(request, "That place cannot be used: %(why)s", "error", why=exc.one_line())
        return back("/places")

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
    return back(f"/places/oauth/{quote(name, safe='')}/wait")


async def wait(request: Request) -> Response:
    pending: PendingLogin | None = getattr(request.app.state, "oauth", None)
    if pending is None or pending.name != request.path_params["name"]:
        return back("/places")
    title = title_of(pending.name, lang_of(request))
    if pending.done:
        request.app.state.oauth = None
        if pending.error:
            say(request, "Could not log in to %(title)s: %(why)s", "error", title=title, why=pending.error)
        else:
            ws(request).session.add_target(pending.spec)
            ws(request).session.save()
            say(request, "Logged in. pindah keeps the login in your token store, never in a page.")
        return back("/places")
    return page(request, "oauth_wait.html", url=pending.url, place=title, name=pending.name)


routes = [
    Route("/places/oauth/{name}", start, methods=["POST"]),
    Route("/places/oauth/{name}/wait", wait),
]

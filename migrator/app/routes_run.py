"""Screen 4: the run. Live progress per place (Server-Sent Events from `runs.RunManager`),
Stop (a clean stop), the posts that failed with their reason and "Try again".

What the page shows first comes from the journals (the true state, also after the app was
killed); the live figures then come from the run."""

from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import PindahError
from .. import journal as J
from ..journal import Journal
from .security import checked_form
from .web import back, page, say, ws

EVENT_POLL = 0.4  # seconds between looks at the run's state (an event is sent only on change)


def runs(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.runs


async def run_page(request: Request) -> Response:
    if ws(request).export() is None:
        return back("/choose")
    states = [ws(request).target_state(spec) for spec in ws(request).session.targets]
    edits = ws(request).edits()
    chosen = sum(1 for p in ws(request).export().posts if p.id not in edits.excluded)  # type: ignore[union-attr]
    return page(request, "run.html", states=states, running=runs(request).running, chosen=chosen,
                snapshot=json.dumps(runs(request).snapshot()))


async def start(request: Request) -> Response:
    await checked_form(request)
    try:
        runs(request).start()
    except PindahError as exc:
        say(request, "The move could not start: %(why)s", "error", why=exc.one_line())
    return back("/run")


async def stop(request: Request) -> Response:
    await checked_form(request)
    runs(request).stop()
    say(request, "Stopping after the post being sent now. Everything done so far is kept.")
    return back("/run")


async def retry(request: Request) -> Response:
    form = await checked_form(request)
    spec = str(form.get("spec") or "")
    if runs(request).running:
        say(request, "Wait for the move to finish (or stop it) first.", "error")
        return back("/run")
    state = ws(request).target_state(spec)
    post_id = str(form.get("post_id") or "")
    if state.journal is not None:
        try:
            with Journal.open(state.journal) as journal:
                if post_id in state.failed:  # one post: back to planned; its unsent parts go again
                    journal.post_state(post_id, J.PLANNED)
                else:
                    journal.reset_failed()
        except PindahError as exc:
            say(request, "The move could not start: %(why)s", "error", why=exc.one_line())
            return back("/run")
    return await start(request)


async def state(request: Request) -> Response:
    return JSONResponse(runs(request).snapshot())


async def events(request: Request) -> Response:
    async def stream() -> AsyncIterator[str]:
        last = -1
        yield "retry: 2000\n\n"
        while not request.app.state.closing:
            snapshot = runs(request).snapshot()
            if snapshot["version"] != last:
                last = snapshot["version"]
                yield f"data: {json.dumps(snapshot)}\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_POLL)
    return StreamingResponse(stream(), media_type="text/event-stream", headers={"x-accel-buffering": "no"})


routes = [
    Route("/run", run_page),
    Route("/run/start", start, methods=["POST"]),
    Route("/run/stop", stop, methods=["POST"]),
    Route("/run/retry", retry, methods=["POST"]),
    Route("/run/state", state),
    Route("/events", events),
]

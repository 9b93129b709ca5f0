"""Screen 5: after the move. Verify (read everything back), open the result, the Cara kit
inside the app (Mark posted with an optional link, Skip, Undo: `marks.HandTarget`, the same
functions as `pindah mark-posted`) and rollback behind a typed confirmation
(`aftercare.rollback`, which counts only deletions read back as gone).

A place on this computer (a target with `sign_in = "none"`: the folder site, the Cara kit) is
shown through the app (`/files/<n>/...`, its index.html first), confined to that folder."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import click
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import aftercare
from .. import journal as J
from ..errors import PindahError
from ..journal import Journal
from ..kitjournal import refresh
from ..marks import HandTarget
from ..targets import available, parse_target
from .security import checked_form
from .web import back, page, say, ws


def _on_this_computer(name: str) -> bool:
    """Is it a place on this computer (a folder), shown through the app?"""
    cls = available().get(name)
    return cls is not None and cls.sign_in == "none"


def _spec(request: Request) -> str | None:
    n = request.path_params.get("n", 0)
    targets = ws(request).session.targets
    return targets[n] if 0 <= n < len(targets) else None


def _places(request: Request) -> list[dict[str, Any]]:
    rows = []
    for n, spec in enumerate(ws(request).session.targets):
        name, location = parse_target(spec)
        state = ws(request).target_state(spec)
        try:
            adapter = ws(request).adapter(spec)
            by_hand, where = adapter.caps.published_by_hand, adapter.where()
        except PindahError:
            by_hand, where = False, None
        if _on_this_computer(name) and location:
            where = f"/files/{n}/"  # the folder's index.html
        rows.append({"n": n, "spec": spec, "name": name, "counts": state.counts, "by_hand": by_hand,
                     "where": where, "started": state.journal is not None})
    return rows


async def after_page(request: Request) -> Response:
    if ws(request).export() is None:
        return back("/choose")
    return page(request, "after.html", places=_places(request), results=request.app.state.results)


def _with_journal(request: Request, spec: str, work: Any) -> Any:
    state = ws(request).target_state(spec)
    if state.journal is None:
        raise PindahError("nothing was moved there yet")
    adapter = ws(request).adapter(spec)
    adapter.prepare(interactive=False)
    try:
        with Journal.open(state.journal) as journal:
            return work(adapter, journal)
    finally:
        adapter.finish()


async def _journal_work_or_say(request: Request, failure: str, spec: str, work: Any) -> Any:
    """`work` on the place's journal in a worker thread (it talks to the server); a PindahError
    becomes the one-line notice `failure` (with %(why)s) and None, so the caller goes back.
    `failure` is the second argument, as in `say`, so that pybabel extracts it (see babel.cfg)."""
    try:
        return await run_in_threadpool(_with_journal, request, spec, work)
    except PindahError as exc:
        say(request, failure, "error", why=exc.one_line())
        return None


async def verify(request: Request) -> Response:
    await checked_form(request)
    spec = _spec(request)
    if spec is None:
        return back("/after")
    result = await _journal_work_or_say(request, "Could not check: %(why)s", spec, aftercare.verify)
    if result is None:
        return back("/after")
    request.app.state.results[spec] = {"checked": result.checked,
                                       "differences": [d.as_dict() for d in result.differences]}
    return back("/after")


async def rollback(request: Request) -> Response:
    form = await checked_form(request)
    spec = _spec(request)
    if spec is None:
        return back("/after")
    name = parse_target(spec)[0]
    if str(form.get("confirm") or "").strip().lower() != name:
        say(request, "Nothing was deleted: type %(word)s in the box to confirm.", "error", word=name)
        return back("/after")
    if request.app.state.runs.running:
        say(request, "Wait for the move to finish (or stop it) first.", "error")
        return back("/after")
    result = await _journal_work_or_say(request, "Nothing was deleted: %(why)s", spec, aftercare.rollback)
    if result is None:
        return back("/after")
    say(request, "%(n)s post(s) deleted and checked gone.", n=len(result.deleted))
    if result.still_there or result.stopped:
        say(request, "%(n)s post(s) are still there; press Undo the move again later.", "error",
            n=len(result.still_there) or 1)
    return back("/after")


async def files(request: Request) -> Response:
    """A file of a folder site or kit, only from inside that folder."""
    spec = _spec(request)
    if spec is None or not _on_this_computer(parse_target(spec)[0]):
        return Response(status_code=404)
    root = Path(parse_target(spec)[1] or ".").expanduser().resolve()
    wanted = (root / request.path_params["path"]).resolve()
    if wanted.is_dir():
        wanted = wanted / "index.html"
    try:
        wanted.relative_to(root)
    except ValueError:
        return Response(status_code=404)
    if not wanted.is_file():
        return Response(status_code=404)
    kind = mimetypes.guess_type(wanted.name)[0] or "application/octet-stream"
    # The site's own pages keep their inline styles: only they, never scripts, are allowed.
    csp = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; " \
          "frame-ancestors 'none'; sandbox allow-same-origin allow-popups"
    return FileResponse(wanted, media_type=kind, headers={"content-security-policy": csp})


def _kit(request: Request) -> HandTarget:
    spec = _spec(request)
    if spec is None:
        raise PindahError("no such place")
    return HandTarget(spec, ws(request).config)


async def kit_page(request: Request) -> Response:
    try:
        place = _kit(request)
    except (PindahError, click.BadParameter) as exc:  # BadParameter: a place not published by hand
        say(request, "No kit to show: %(why)s", "error", why=getattr(exc, "message", None) or str(exc))
        return back("/after")
    n = request.path_params["n"]
    root = Path(parse_target(ws(request).session.targets[n])[1] or ".").expanduser().resolve()
    parts = []
    for path in place.journals:
        for post_id in sorted(J.peek_post_states(path)):
            try:
                found = place.find(post_id)
            except PindahError:
                continue
            for part in found:
                folder = root / "posts" / part.label
                images = sorted(p.name for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
                caption = _read(folder / "caption.txt")
                parts.append({"label": part.label, "state": part.state, "url": part.url, "images": images,
                              "caption": caption, "title": _read(folder / "title.txt"), "alt": _read(folder / "alt.txt")})
    parts.sort(key=lambda p: p["label"], reverse=True)
    which = request.query_params.get("show", "todo")
    shown = [p for p in parts if which == "all" or (which == "todo") == (p["state"] not in (J.POSTED, J.SKIPPED))]
    done = sum(p["state"] in (J.POSTED, J.SKIPPED) for p in parts)
    return page(request, "kit.html", n=n, parts=shown, total=len(parts), done=done, show=which)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


async def mark(request: Request) -> Response:
    form = await checked_form(request)
    n = request.path_params["n"]
    action, label = str(form.get("action") or ""), str(form.get("label") or "")
    url = str(form.get("url") or "").strip() or None
    if action not in ("posted", "skipped", "pending"):
        return back(f"/kit/{n}")
    if url and (action != "posted" or not url.lower().startswith(("https://", "http://"))):
        say(request, "A link must be a full web address (copy it from your browser's address bar).", "error")
        return back(f"/kit/{n}")

    def apply() -> None:
        place = _kit(request)
        place.apply([(part, action, url) for part in place.find(label)])
        refresh(place.adapter)

    try:
        await run_in_threadpool(apply)
    except PindahError as exc:
        say(request, "Not marked: %(why)s", "error", why=exc.one_line())
        return back(f"/kit/{n}")
    word = {"posted": "Marked as posted: %(label)s", "skipped": "Skipped: %(label)s",
            "pending": "Back to do: %(label)s"}[action]
    say(request, word, label=label)
    return back(f"/kit/{n}?show={form.get('show') or 'todo'}")


routes = [
    Route("/after", after_page),
    Route("/after/{n:int}/verify", verify, methods=["POST"]),
    Route("/after/{n:int}/rollback", rollback, methods=["POST"]),
    Route("/files/{n:int}/{path:path}", files),
    Route("/kit/{n:int}", kit_page),
    Route("/kit/{n:int}/mark", mark, methods=["POST"]),
]

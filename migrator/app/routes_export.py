"""Screen 1: find the export (usual places, a chooser inside the home folder, a typed path, a
dropped ZIP) and show what is in it, with the same summary as `pindah inspect`."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import PindahError
from ..model import MediaType
from . import finder
from .security import check_csrf_header, checked_form
from .thumbs import preview
from .web import back, page, say, t, ws

SUMMARY_THUMBS = 12


async def home(request: Request) -> Response:
    if ws(request).session.export:
        return back("/export")
    return await choose_page(request)


async def choose_page(request: Request) -> Response:
    found = finder.usual_places()
    return page(request, "choose.html", found=found, home=str(finder.home()), chosen=ws(request).session.export)


async def browse(request: Request) -> Response:
    view = finder.listing(request.query_params.get("folder"))
    return page(request, "browse.html", view=view)


async def choose(request: Request) -> Response:
    form = await checked_form(request)
    paths = [str(p) for p in form.getlist("path") if str(p).strip()]
    typed = str(form.get("typed") or "").strip()
    if typed:
        full = finder.typed_path(typed)
        if full is None:
            say(request, "Type the full path of the file or folder, starting with / or ~ (it must exist).", "error")
            return back("/choose")
        paths = [str(full)]
    return _use(request, paths)


def _use(request: Request, paths: list[str]) -> Response:
    if not paths:
        say(request, "Choose an export first.", "error")
        return back("/choose")
    try:
        ws(request).choose_export(paths)
    except PindahError as exc:
        say(request, "This is not an Instagram export pindah can read: %(why)s", "error", why=exc.one_line())
        return back("/choose")
    return back("/export")


async def upload(request: Request) -> Response:
    check_csrf_header(request)
    name = unquote(request.headers.get("x-file-name") or "export.zip")
    try:
        path = await finder.receive_upload(name, request.stream())
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, 413)
    try:
        ws(request).choose_export([str(path)])
    except PindahError as exc:
        return JSONResponse({"error": t(request, "This is not an Instagram export pindah can read: %(why)s",
                                        why=exc.one_line())}, 400)
    return JSONResponse({"next": "/export"})


async def summary(request: Request) -> Response:
    try:
        s = ws(request).summary()
    except PindahError as exc:
        say(request, "This is not an Instagram export pindah can read: %(why)s", "error", why=exc.one_line())
        return back("/choose")
    if s is None:
        return back("/choose")
    exp = ws(request).export()
    assert exp is not None
    shown = [p for p in exp.posts if p.media and not p.media[0].missing
             and p.media[0].type is MediaType.IMAGE][-SUMMARY_THUMBS:]
    return page(request, "summary.html", s=s, thumbs=[p.id for p in reversed(shown)])


async def thumb(request: Request) -> Response:
    exp = ws(request).export()
    post_id, index = request.path_params["post_id"], request.path_params["index"]
    post = next((p for p in exp.posts if p.id == post_id), None) if exp else None
    if post is None or index >= len(post.media) or post.media[index].missing:
        return Response(status_code=404)
    media = post.media[index]
    if media.type is not MediaType.IMAGE:
        return Response(status_code=404)
    cache = request.app.state.thumbs
    key = (post_id, str(index))
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        with media.tree.open(media.path) as fh:  # type: ignore[union-attr]
            cache[key] = preview(fh.read(64 << 20), 240)
    data = cache[key]
    if data is None:
        return Response(status_code=404)
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})


routes = [
    Route("/", home),
    Route("/choose", choose_page),
    Route("/browse", browse),
    Route("/export/choose", choose, methods=["POST"]),
    Route("/export/upload", upload, methods=["POST"]),
    Route("/export", summary),
    Route("/thumb/{post_id}/{index:int}", thumb),
]

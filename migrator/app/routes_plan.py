"""Screen 3: the dry run as a list to work on.

Tick or untick posts; filter by year, kind or "needs a look" (a post the planner had to change:
a caption split or shortened, a file left out, or a picture without a description); edit the
caption as it will be published and write alt texts (stored by pindah in `edits.py`, never in
the export; used by every target and by `pindah migrate`). The plan shown for each place is
`engine.make_plans`, the very function a run uses.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..commands import _plan_options
from ..engine import Selection, make_plans
from ..errors import PindahError
from ..model import MediaType, Post
from ..planner import PostPlan
from .edits import Edits, media_key
from .security import checked_form
from .web import back, page, say, ws

PAGE_SIZE = 60
ROUTINE = ("date added as a line",)  # planner notes on every post of a platform: nothing to look at


def _plans(request: Request) -> dict[str, dict[str, PostPlan]]:
    """spec -> post id -> plan, with the places' declared limits (no login needed)."""
    exp = ws(request).export()
    out: dict[str, dict[str, PostPlan]] = {}
    for spec in ws(request).session.targets:
        try:
            adapter = ws(request).adapter(spec)
        except PindahError:
            continue
        plans = make_plans(exp, adapter, Selection(), _plan_options(ws(request).config))
        out[spec] = {p.post.id: p for p in plans}
    return out


def _without_alt(post: Post, edits: Edits) -> list[int]:
    return [i for i, m in enumerate(post.media) if m.type is MediaType.IMAGE and not m.missing
            and not (edits.alt.get(media_key(post.id, i)) or _own_alt(m.alt_text, m.alt_origin))]


def _own_alt(text: str | None, origin: Any) -> str:
    """The artist's own alt text from the export (Instagram's automatic one does not count)."""
    return "" if origin is not None and origin.value == "instagram" else (text or "").strip()


def _row(post: Post, edits: Edits, plans: dict[str, dict[str, PostPlan]]) -> dict[str, Any]:
    notes = sorted({note for by_post in plans.values() if (plan := by_post.get(post.id))
                    for note in (*plan.notes, *([plan.skipped] if plan.skipped else []))})
    missing_alt = _without_alt(post, edits)
    return {"id": post.id, "date": post.taken_at, "kind": post.kind.value, "caption": edits.captions.get(post.id, post.caption),
            "edited": post.id in edits.captions, "included": post.id not in edits.excluded,
            "media": len(post.media), "image": bool(post.media) and post.media[0].type is MediaType.IMAGE
            and not post.media[0].missing, "missing_alt": len(missing_alt), "notes": notes,
            "look": bool([n for n in notes if not n.startswith(ROUTINE)] or any(m.missing for m in post.media))}


async def plan_page(request: Request) -> Response:
    exp = ws(request).export()
    if exp is None:
        return back("/choose")
    edits = ws(request).edits()
    plans = _plans(request)
    year, kind, look = (request.query_params.get(k, "") for k in ("year", "kind", "look"))
    rows = [_row(p, edits, plans) for p in reversed(exp.posts)]
    years = sorted({r["date"].year for r in rows}, reverse=True)
    kinds = sorted({r["kind"] for r in rows})
    shown = [r for r in rows if (not year or str(r["date"].year) == year) and (not kind or r["kind"] == kind)
             and (not look or r["look"])]
    try:
        number = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        number = 1
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    number = min(number, pages)
    counts = {"posts": len(rows), "included": sum(r["included"] for r in rows),
              "without_alt": sum(r["missing_alt"] for r in rows if r["included"]),
              "look": sum(r["look"] for r in rows if r["included"])}
    return page(request, "plan.html", rows=shown[(number - 1) * PAGE_SIZE: number * PAGE_SIZE], counts=counts,
                years=years, kinds=kinds, year=year, kind=kind, look=look, number=number, pages=pages,
                matching=len(shown), has_targets=bool(ws(request).session.targets))


async def select(request: Request) -> Response:
    form = await checked_form(request)
    shown = {str(i) for i in form.getlist("shown")}
    kept = {str(i) for i in form.getlist("keep")} & shown
    edits = ws(request).edits()
    edits.excluded = (edits.excluded - shown) | (shown - kept)
    ws(request).save_edits(edits)
    say(request, "Your choice is saved.")
    return back(str(form.get("back") or "/plan") if str(form.get("back") or "").startswith("/plan") else "/plan")


def _post(request: Request) -> Post | None:
    exp = ws(request).export()
    return next((p for p in exp.posts if p.id == request.path_params["post_id"]), None) if exp else None


async def post_page(request: Request) -> Response:
    post = _post(request)
    if post is None:
        return back("/plan")
    edits = ws(request).edits()
    plans = {spec: by_post.get(post.id) for spec, by_post in _plans(request).items()}
    images = [{"index": i, "path": m.path, "alt": edits.alt.get(media_key(post.id, i), _own_alt(m.alt_text, m.alt_origin)),
               "image": m.type is MediaType.IMAGE and not m.missing, "missing": m.missing}
              for i, m in enumerate(post.media)]
    limits = {spec: ws(request).adapter(spec).caps for spec in plans}
    return page(request, "post.html", post=post, caption=edits.captions.get(post.id, post.caption),
                edited=post.id in edits.captions, included=post.id not in edits.excluded, images=images,
                plans=plans, limits=limits)


async def save_post(request: Request) -> Response:
    post = _post(request)
    if post is None:
        return back("/plan")
    form = await checked_form(request)
    edits = ws(request).edits()
    try:
        if form.get("original"):
            edits.captions.pop(post.id, None)
        else:
            edits.set_caption(post, str(form.get("caption", post.caption)))
        for i in range(len(post.media)):
            if f"alt_{i}" in form:
                text = str(form.get(f"alt_{i}") or "")
                if text.strip() != _own_alt(post.media[i].alt_text, post.media[i].alt_origin):
                    edits.set_alt(post.id, i, text)
                else:
                    edits.alt.pop(media_key(post.id, i), None)
        if form.get("included") is not None:
            (edits.excluded.discard if form.get("included") == "yes" else edits.excluded.add)(post.id)
    except PindahError as exc:
        say(request, "Not saved: %(why)s", "error", why=exc.one_line())
        return back(f"/post/{post.id}")
    ws(request).save_edits(edits)
    say(request, "Saved. The export itself is never changed.")
    return back(f"/post/{post.id}")


routes = [
    Route("/plan", plan_page),
    Route("/plan/select", select, methods=["POST"]),
    Route("/post/{post_id}", post_page),
    Route("/post/{post_id}", save_post, methods=["POST"]),
]

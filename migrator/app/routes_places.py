"""Screen 2: where the posts go, and the artist's rights.

Every registered target is offered (offers.py), grouped by how the artist signs in, with its
limits (`Capabilities.describe()`); the screen names none. A place on this computer
(`sign_in = "none"`) takes a folder; an app-password target takes its location (a handle) and an
app password, which goes straight to the adapter's login hook as its `app_password` setting:
the adapter keeps a session in its own token store, never the password. The password is not
written anywhere by the app, never put into a page, a notice, an event or a log: a failed login
says why with the password taken out of the message. OAuth targets log in in routes_oauth.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pindah.adapters.contract import Adapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import PindahError
from ..rights import DEFAULT_DATA_MINING, SECTION, has_rights_settings, load_rights
from ..rights_setup import config_file_in_use, save_rights
from ..targets import make_target, parse_target
from .offers import in_home, offers, target_class, title_of
from .security import checked_form
from .web import back, lang_of, page, say, ws


def _place_rows(request: Request) -> list[dict[str, Any]]:
    rows = []
    for spec in ws(request).session.targets:
        name, location = parse_target(spec)
        title = title_of(name, lang_of(request))
        try:
            adapter = make_target(spec, ws(request).config)
            rows.append({"spec": spec, "name": name, "title": title, "location": location or "",
                         "limits": adapter.caps.describe(), "by_hand": adapter.caps.published_by_hand, "problem": None})
        except PindahError as exc:
            rows.append({"spec": spec, "name": name, "title": title, "location": location or "", "limits": [],
                         "by_hand": False, "problem": exc.one_line()})
    return rows


async def places(request: Request) -> Response:
    config = ws(request).config
    rights = config.get(SECTION, {}) if has_rights_settings(config) else {}
    return page(request, "places.html", places=_place_rows(request), offers=offers(lang_of(request)),
                rights=rights, rights_saved=has_rights_settings(config))


def _folder(text: str) -> Path | None:
    return in_home(text) if text.strip() else None


def spec_of(name: str, location: str | None) -> str:
    return f"{name}:{location}" if location else name


async def posted_place(request: Request, sign_in: str) -> tuple[Any, str, type[Adapter]] | None:
    """A form posted to add a place that signs in by `sign_in`: the form, the place's name and
    its adapter class; None, and the page says why, when pindah offers no such place."""
    form = await checked_form(request)
    name = str(request.path_params.get("name") or form.get("kind") or "")
    cls = target_class(name, sign_in)
    if cls is None:
        say(request, "pindah has no such place to add.", "error")
        return None
    return form, name, cls


async def add_local(request: Request) -> Response:
    """A place on this computer (`sign_in = "none"`): its folder, checked, then added.
    `/places/folder` (the name in the form's `kind`, the folder in `path`) is the older address."""
    posted = await posted_place(request, "none")
    if posted is None:
        return back("/places")
    form, name, cls = posted
    spec = name
    if cls.location_prompt is not None:
        folder = _folder(str(form.get("location") or form.get("path") or ""))
        if folder is None:
            example = in_home(parse_target(str(getattr(cls, "example", "")))[1] or name)
            say(request, "Type a folder, for example %(example)s", "error", example=str(example))
            return back("/places")
        spec = spec_of(name, str(folder))
    try:
        await run_in_threadpool(lambda: make_target(spec, ws(request).config).prepare(interactive=False))
    except PindahError as exc:
        say(request, "That place cannot be used: %(why)s", "error", why=exc.one_line())
        return back("/places")
    ws(request).session.add_target(spec)
    ws(request).session.save()
    say(request, "Added: %(place)s", place=spec)
    return back("/places")


async def add_with_password(request: Request) -> Response:
    """An app-password target: its location (a handle) and the password, to its login hook."""
    posted = await posted_place(request, "app_password")
    if posted is None:
        return back("/places")
    form, name, cls = posted
    title = title_of(name, lang_of(request))
    location = str(form.get("location") or "").strip()
    password = str(form.get("password") or "").strip()
    if not password or (cls.location_prompt is not None and not location):
        say(request, "Fill in every field to log in to %(title)s.", "error", title=title)
        return back("/places")
    spec = spec_of(name, location if cls.location_prompt is not None else None)
    targets = ws(request).config.get("targets", {})
    config = {**ws(request).config, "targets": {**targets, name: {**targets.get(name, {}), "app_password": password}}}

    def log_in(settings: dict[str, Any]) -> None:
        adapter = make_target(spec, settings)
        try:
            adapter.login()
        finally:
            adapter.finish()

    try:
        await run_in_threadpool(log_in, config)
    except PindahError as exc:
        why = exc.one_line().replace(password, "•••")  # never echo the password, even in an error
        say(request, "Could not log in to %(title)s: %(why)s", "error", title=title, why=why)
        return back("/places")
    finally:
        del config, password
    ws(request).session.add_target(spec)
    ws(request).session.save()
    if location:
        say(request, "Logged in to %(title)s as %(who)s. pindah keeps the session, never the password.",
            title=title, who=location)
    else:
        say(request, "Logged in to %(title)s. pindah keeps the session, never the password.", title=title)
    return back("/places")


async def remove(request: Request) -> Response:
    form = await checked_form(request)
    ws(request).session.remove_target(str(form.get("spec") or ""))
    ws(request).session.save()
    return back("/places")


async def save_rights_form(request: Request) -> Response:
    form = await checked_form(request)
    web = str(form.get("web_statement") or "").strip()
    if web and not web.lower().startswith(("https://", "http://")):
        say(request, "The web page must be a full address starting with https://", "error")
        return back("/places#rights")
    answers: dict[str, Any] = {
        "creator": str(form.get("creator") or "").strip(),
        "copyright": str(form.get("copyright") or "").strip(),
        "web_statement": web,
        "data_mining": DEFAULT_DATA_MINING if form.get("ai_optout") else "off",
        "protected": [p.strip() for p in str(form.get("protected") or "").split(",") if p.strip()],
    }
    config = ws(request).config
    trial = {**config, SECTION: answers}
    try:
        load_rights(trial)  # the same checks a written config gets
        if SECTION in config:
            say(request, "Your rights are already in %(path)s: change them there.", "error",
                path=str(ws(request).config_path or config_file_in_use()))
            return back("/places#rights")
        save_rights(ws(request).config_path or config_file_in_use(), answers)
    except PindahError as exc:
        say(request, "Your answers could not be saved: %(why)s", "error", why=exc.one_line())
        return back("/places#rights")
    config[SECTION] = answers
    say(request, "Saved. Every picture pindah publishes will carry these rights.")
    return back("/places")


routes = [
    Route("/places", places),
    Route("/places/folder", add_local, methods=["POST"]),
    Route("/places/local/{name}", add_local, methods=["POST"]),
    Route("/places/password/{name}", add_with_password, methods=["POST"]),
    Route("/places/remove", remove, methods=["POST"]),
    Route("/rights", save_rights_form, methods=["POST"]),
]

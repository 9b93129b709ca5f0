"""Screen 2: where the posts go (a folder site, a Cara kit, Bluesky) and the artist's rights.

Each place shows its limits (`Capabilities.describe()`). Bluesky asks for the handle and an
app password; the password goes straight to the adapter's login hook, which keeps a session
in its own token store, never the password. The password is not written anywhere by the app,
never put into a page, a notice, an event or a log: a failed login says why with the password
taken out of the message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import PindahError
from ..rights import DEFAULT_DATA_MINING, SECTION, has_rights_settings, load_rights
from ..rights_setup import config_file_in_use, save_rights
from ..targets import make_target, parse_target
from .finder import home
from .security import checked_form
from .web import back, page, say, ws

APP_PASSWORDS_URL = "https://bsky.app/settings/app-passwords"


def _place_rows(request: Request) -> list[dict[str, Any]]:
    rows = []
    for spec in ws(request).session.targets:
        name, location = parse_target(spec)
        try:
            adapter = make_target(spec, ws(request).config)
            rows.append({"spec": spec, "name": name, "location": location or "", "limits": adapter.caps.describe(),
                         "by_hand": adapter.caps.published_by_hand, "description": adapter.description})
        except PindahError as exc:
            rows.append({"spec": spec, "name": name, "location": location or "", "limits": [],
                         "by_hand": False, "description": exc.one_line()})
    return rows


async def places(request: Request) -> Response:
    config = ws(request).config
    rights = config.get(SECTION, {}) if has_rights_settings(config) else {}
    return page(request, "places.html", places=_place_rows(request), rights=rights,
                rights_saved=has_rights_settings(config), home=str(home()), app_passwords_url=APP_PASSWORDS_URL)


def _folder(text: str) -> Path | None:
    raw = text.strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    return (path if path.is_absolute() else home() / path).resolve()


async def add_folder(request: Request) -> Response:
    form = await checked_form(request)
    kind = str(form.get("kind") or "")
    folder = _folder(str(form.get("path") or ""))
    if kind not in ("folder", "cara") or folder is None:
        say(request, "Type a folder, for example %(example)s", "error", example=str(home() / "pindah-site"))
        return back("/places")
    spec = f"{kind}:{folder}"
    try:
        await run_in_threadpool(lambda: make_target(spec, ws(request).config).prepare(interactive=False))
    except PindahError as exc:
        say(request, "That place cannot be used: %(why)s", "error", why=exc.one_line())
        return back("/places")
    ws(request).session.add_target(spec)
    ws(request).session.save()
    say(request, "Added: %(place)s", place=spec)
    return back("/places")


async def add_bluesky(request: Request) -> Response:
    form = await checked_form(request)
    handle = str(form.get("handle") or "").strip().lstrip("@")
    password = str(form.get("app_password") or "").strip()
    if not handle or not password:
        say(request, "Give your Bluesky handle and an app password.", "error")
        return back("/places")
    spec = f"bluesky:{handle}"
    config = {**ws(request).config, "targets": {**ws(request).config.get("targets", {}),
                                                "bluesky": {**ws(request).config.get("targets", {}).get("bluesky", {}),
                                                            "app_password": password}}}

    def log_in() -> None:
        adapter = make_target(spec, config)
        try:
            adapter.login()
        finally:
            adapter.finish()

    try:
        await run_in_threadpool(log_in)
    except PindahError as exc:
        why = exc.one_line().replace(password, "•••")  # never echo the password, even in an error
        say(request, "Bluesky did not accept the login: %(why)s", "error", why=why)
        return back("/places")
    finally:
        del config, password
    ws(request).session.add_target(spec)
    ws(request).session.save()
    say(request, "Logged in to Bluesky as @%(handle)s. pindah keeps the session, never the password.",
        handle=handle)
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
    Route("/places/folder", add_folder, methods=["POST"]),
    Route("/places/bluesky", add_bluesky, methods=["POST"]),
    Route("/places/remove", remove, methods=["POST"]),
    Route("/rights", save_rights_form, methods=["POST"]),
]

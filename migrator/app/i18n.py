"""The app's languages (English, Bahasa Indonesia) and its Jinja2 environment.

Texts are gettext messages. After changing a text, from the repository root:

    pybabel extract -F migrator/app/babel.cfg -k say:2 -k t:2 -k gettext:2 -k ngettext:1,2 \
        --no-location -o /tmp/pindah_app.pot migrator/app
    pybabel update -N --ignore-obsolete -i /tmp/pindah_app.pot -d migrator/app/locale -D pindah_app
    (translate the new entries in locale/id/LC_MESSAGES/pindah_app.po)
    pybabel compile -d migrator/app/locale -D pindah_app

Every registered target's title, description and location label are extracted too (babel.cfg
maps the marker file `targets.texts` to `offers.target_texts`), so a new target's texts are
translated like the app's own.

The compiled `.mo` files are committed beside the `.po` files, and rebuilt from the `.po` at
start-up when older (so an edited translation shows at once). tests/test_app_screens.py fails
while any message is untranslated.

The language comes from the artist's choice (a cookie, switchable on every page), else from
the browser's Accept-Language, else English.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.support import NullTranslations, Translations

from pindah.adapters.toolkit.html import human_date, plural, rich_text, short

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pindah_app"
LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}
DEFAULT = "en"


def pick_language(chosen: str | None, accept: str | None) -> str:
    """The artist's choice if it is one we have, else the first of the browser's we have."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    weighted = []
    for n, item in enumerate((accept or "").split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, n, tag.strip().lower().split("-")[0]))
    for _, _, base in sorted(weighted):
        if base == "in":  # the old code of Indonesian, still sent by some systems
            base = "id"
        if base in LANGUAGES:
            return base
    return DEFAULT


def _compile_if_stale(lang: str) -> None:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not po.exists() or (mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime):
        return
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    try:
        with mo.open("wb") as fh:
            write_mo(fh, catalog)
    except OSError:
        pass  # an installed, read-only package: its committed .mo is used


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    _compile_if_stale(lang)
    return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)


@lru_cache(maxsize=None)
def environment(lang: str) -> jinja2.Environment:
    """One environment per language (the translations are installed once, not per request)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pindah.migrator.app", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(rich_text=rich_text, short=short, human_date=human_date, plural=plural)
    env.globals.update(languages=LANGUAGES)
    return env


def render(lang: str, template: str, **context: Any) -> str:
    return environment(lang).get_template(template).render(lang=lang, **context)


def gettext(lang: str, message: str, **values: Any) -> str:
    """A message said from Python (a flash line, an event), translated, then filled in."""
    text = translations(lang).gettext(message)
    return text % values if values else text

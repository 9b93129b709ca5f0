"""What the "where to" screen offers: every registered target, from the registry, never by name.

A target says how the app offers it through three class attributes of the contract's
`Adapter`: `title` (its human name), `sign_in` ("none": a place on this computer, "app_password":
a handle and an app password, "oauth": a login in the browser) and `location_prompt` (the label
of its location field, None for none). The screen groups the offers by `sign_in`, in the order
of `SIGN_INS`; a target with a way of signing in the app does not know is still listed, with
the `--to` it takes in a terminal.

The texts a target shows (title, description, location label) are translated from the app's
catalog: `target_texts` is the Babel extractor that puts every registered target's texts into it
(babel.cfg maps the marker file `targets.texts` to it), so a new target's texts are extracted
like the app's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pindah.adapters.contract import Adapter

from ..targets import available, parse_target, slug
from .finder import home
from .i18n import translations

SIGN_INS = ("none", "app_password", "oauth")  # the order of the groups on the screen
OTHER = "other"  # the group of targets whose `sign_in` the app cannot do


@dataclass(frozen=True)
class Offer:
    """One target as the "where to" screen shows it, in the artist's language."""

    name: str  # the registry's name: what goes before ':' in --to
    anchor: str  # safe in an HTML id and a URL path
    title: str
    description: str
    sign_in: str  # one of SIGN_INS, or OTHER
    location_prompt: str | None
    example: str  # the target's example --to (also the location field's default or hint)
    example_location: str  # what comes after ':' in the example
    default_folder: str  # a place on this computer: the example's folder in the artist's home
    limits: list[tuple[str, str]]


def in_home(folder: str) -> Path:
    """A folder as the artist typed it: `~` expanded, a relative one inside their home."""
    path = Path(folder.strip()).expanduser()
    return (path if path.is_absolute() else home() / path).resolve()


def _translated(lang: str, text: str) -> str:
    return translations(lang).gettext(text) if text else text  # gettext("") is the catalog's header


def offer_of(name: str, cls: type[Adapter], lang: str) -> Offer:
    """`name`: the registry's (an entry point's name may differ from the class's own)."""
    sign_in = cls.sign_in if cls.sign_in in SIGN_INS else OTHER
    example = str(getattr(cls, "example", "") or name)
    description = str(getattr(cls, "description", "") or "")
    return Offer(
        name=name, anchor=slug(name), title=_translated(lang, cls.title) or name.capitalize(),
        description=_translated(lang, description), sign_in=sign_in,
        location_prompt=_translated(lang, cls.location_prompt) if cls.location_prompt else None,
        example=example, example_location=parse_target(example)[1] or "",
        default_folder=str(in_home(parse_target(example)[1] or name)) if sign_in == "none" else "",
        limits=_limits(cls))


def _limits(cls: type[Adapter]) -> list[tuple[str, str]]:
    try:
        return list(cls.capabilities.describe())
    except Exception:  # noqa: BLE001 - a third party's broken limits must not hide the screen
        return []


def offers(lang: str) -> dict[str, list[Offer]]:
    """Every registered target, grouped by how the artist signs in (empty groups left out)."""
    grouped: dict[str, list[Offer]] = {group: [] for group in (*SIGN_INS, OTHER)}
    for name, cls in available().items():
        offer = offer_of(name, cls, lang)
        grouped[offer.sign_in].append(offer)
    return {group: found for group, found in grouped.items() if found}


def target_class(name: str, sign_in: str) -> type[Adapter] | None:
    """The registered target of that name, if the app signs in to it that way."""
    cls = available().get(name)
    return cls if cls is not None and cls.sign_in == sign_in else None


def title_of(name: str, lang: str) -> str:
    cls = available().get(name)
    return offer_of(name, cls, lang).title if cls is not None else name


def texts_of(cls: type[Adapter]) -> list[str]:
    """The texts a target shows on the screen, to translate."""
    texts = [cls.title, str(getattr(cls, "description", "") or ""), cls.location_prompt or ""]
    return [text for text in texts if text]


def target_texts(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor: every registered target's texts (the file itself is only a marker)."""
    for name, cls in available().items():
        for text in texts_of(cls):
            yield 1, "_", text, [f"target {name}"]

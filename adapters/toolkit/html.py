"""The one way pindah writes HTML: Jinja2 templates with autoescaping, shipped as package data.

The folder site, the run report and the Cara kit page extend one base template
(`templates/base.html`: the document frame, the AI-training opt-out meta tags, the inline
stylesheet) and each has one stylesheet of its own (`site.css`, `report.css`, `kit.css`).
Every value that reaches a template is escaped unless it is `Markup` made here, by a filter
that escapes first (`rich_text`): captions, alt texts and file names are user input.

Shared filters: `rich_text` (links, #tags, @mentions), `short` (one line, cut on a
user-perceived character), `human_date` ("2 May 2021"), `plural` ("1 post", "2 posts").
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import regex
from markupsafe import Markup, escape

if TYPE_CHECKING:
    import jinja2


@lru_cache(maxsize=1)
def _token() -> regex.Pattern[str]:
    """Links, #tags and @mentions; compiled on first use, not at import (start-up time: a run
    that writes no page never needs it)."""
    return regex.compile(
        r"(?P<url>\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+\.[^\s<>\"']+)"
        r"|(?P<tag>(?<![\p{L}\p{M}\p{N}_&#/])#[\p{L}\p{M}\p{N}_]*[\p{L}\p{M}][\p{L}\p{M}\p{N}_]*)"
        r"|(?P<mention>(?<![\w.@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)"
    )


def rich_text(text: str) -> Markup:
    """Escaped caption with clickable http(s) links and marked #hashtags/@mentions.

    Only http and https become links (never `javascript:`); everything else is escaped text.
    Line breaks are kept by CSS (`white-space: pre-wrap`), so no <br> juggling.
    """
    out: list[str] = []  # escaped pieces: plain str + escape() is several times faster than Markup.format
    last = 0
    for m in _token().finditer(text):
        out.append(escape(text[last:m.start()]))
        last = m.end()
        if m.group("url"):
            url = _trim_url(m.group("url"))
            href = url if url.lower().startswith("http") else "https://" + url
            out.append(f'<a href="{escape(href)}" rel="noopener">{escape(url)}</a>')
            last = m.start() + len(url)  # trailing punctuation goes back into the text
        elif m.group("tag"):
            out.append(f'<span class="tag">{escape(m.group("tag"))}</span>')
        else:
            out.append(f'<span class="mention">{escape(m.group("mention"))}</span>')
    out.append(escape(text[last:]))
    return Markup("".join(out))


def _trim_url(url: str) -> str:
    while url and url[-1] in ".,;:!?'\")]}»”’":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # wikipedia.org/wiki/Foo_(bar) keeps its parenthesis
        url = url[:-1]
    return url


def short(text: str, limit: int) -> str:
    """One line of at most `limit` user-perceived characters (an emoji is never cut in half)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat  # never more graphemes than code points: no need to segment
    head = _graphemes(limit).match(flat).group()  # walks only the first `limit` graphemes
    if head == flat:
        return flat
    return _graphemes(limit - 1).match(head).group().rstrip() + "…"


@lru_cache(maxsize=64)
def _graphemes(count: int) -> regex.Pattern[str]:
    """At most `count` user-perceived characters (extended grapheme clusters)."""
    return regex.compile(r"\X{0,%d}" % count)


def human_date(moment: datetime, *, year: bool = True) -> str:
    return f"{moment.day} {moment:%B}" + (f" {moment.year}" if year else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@lru_cache(maxsize=None)
def stylesheet(name: str) -> Markup:
    """A product's stylesheet (`site`, `report`, `kit`), inlined by the base template.

    Read as text, not rendered: CSS is trusted package data, and `>` in a selector must stay `>`."""
    source, _, _ = environment().loader.get_source(environment(), f"{name}.css")  # type: ignore[union-attr]
    return Markup(source)


@lru_cache(maxsize=None)
def script(name: str) -> Markup:
    """A page's inline script (package data, trusted, like the stylesheets)."""
    source, _, _ = environment().loader.get_source(environment(), f"{name}.js")  # type: ignore[union-attr]
    return Markup(source)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    import jinja2  # start-up time: only a run that renders a page pays for Jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pindah.adapters.toolkit", "templates"),
        autoescape=True,  # every template, whatever its name: all of them are HTML
        undefined=jinja2.StrictUndefined,  # a misspelt name is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(rich_text=rich_text, short=short, human_date=human_date, plural=plural)
    env.globals.update(stylesheet=stylesheet, script=script)
    return env


def render(template: str, **context: Any) -> str:
    """Render one of the templates in `templates/` with `context`."""
    return environment().get_template(template).render(**context)

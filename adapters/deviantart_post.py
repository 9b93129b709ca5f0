"""A part of a post as a deviation: its title, tags and HTML description, and reading them back.

Room: pure functions, no network. Used before publishing, by `read_post` (verify) and by
`find_post` (recognising a deviation pindah published when the answer was lost).

* Title: the first line of the part's text (the caption's first line; a part that carries no
  caption, the 2nd image of a carousel, takes its first part's title and its marker " (2/3)"),
  cut to DeviantArt's 50 characters at a grapheme boundary with "…".
* Tags: the caption's hashtags, as DeviantArt keeps tags (letters, digits and "_"; no "#"),
  each once, at most 30.
* Description: the exact text, HTML-escaped with line breaks as `<br />` (DeviantArt's
  descriptions are HTML), then the artist's alt text as "Image description: …" (the API has no
  alt-text field). A later part of a carousel ends with a line linking the part before it
  ("Continued from …"), so the deviations read as one post in order, and a reader (pindah's
  verify, or the conformance tests) finds each part's parent from the deviation itself.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import regex

TITLE_MAX = 50  # DeviantArt's title limit, in characters
TAGS_MAX = 30  # the most tags one deviation takes
_HASHTAG = re.compile(r"(?<![\w&/])#(\w+)")
_MARKER = re.compile(r"\s*\((\d+)/(\d+)\)\s*$")
_CONTINUED = re.compile(r'<br />\s*<br />\s*<small>Continued from <a href="([^"]+)">[^<]*</a></small>\s*$')
_ALT = re.compile(r"<br />\s*<br />\s*<small>Image description: (?:(?!</small>).)*</small>\s*$", re.DOTALL)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARA = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Deviation:
    """What one part becomes: `description` is HTML; `parent_url` is the part it continues."""

    title: str
    description: str
    tags: tuple[str, ...]
    parent_url: str | None = None


def fit_title(text: str) -> str:
    """At most TITLE_MAX characters, cut between graphemes (an emoji is never split) with "…"."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= TITLE_MAX:
        return text
    kept = ""
    for cluster in regex.findall(r"\X", text):
        if len(kept) + len(cluster) > TITLE_MAX - 1:
            break
        kept += cluster
    return kept.rstrip() + "…"


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def title_for(text: str, root_title: str | None, part_index: int) -> str:
    """The deviation's title. A part after the first whose text is only its marker ("(2/3)")
    takes the first part's title with that marker; a part with its own words takes them."""
    line = first_line(text)
    marker = _MARKER.search(text)
    if part_index and root_title and (not line or _MARKER.fullmatch(line)):
        suffix = f" ({marker.group(1)}/{marker.group(2)})" if marker else f" ({part_index + 1})"
        return fit_title(fit_title(root_title)[: TITLE_MAX - len(suffix)].rstrip() + suffix)
    return fit_title(line) or "Untitled"


def tags_of(text: str) -> tuple[str, ...]:
    """The hashtags of `text` as DeviantArt tags: without "#", lower case, once each, at most 30."""
    seen: list[str] = []
    for match in _HASHTAG.finditer(text):
        tag = match.group(1).lower()
        if tag not in seen:
            seen.append(tag)
    return tuple(seen[:TAGS_MAX])


def description_html(text: str, parent_url: str | None = None, parent_title: str | None = None,
                     alt: str | None = None) -> str:
    """The exact `text` as DeviantArt HTML; then the artist's image description (DeviantArt has
    no alt-text field), and for a later part the link to the part before it."""
    body = _lines(text)
    if alt and alt.strip():
        body += f"<br /><br /><small>Image description: {_lines(alt.strip())}</small>"
    if parent_url:
        body += (f'<br /><br /><small>Continued from <a href="{html.escape(parent_url)}">'
                 f"{html.escape(parent_title or parent_url, quote=False)}</a></small>")
    return body


def _lines(text: str) -> str:
    return "<br />".join(html.escape(line, quote=False) for line in text.split("\n"))


def deviation_for(text: str, part_index: int, root_title: str | None, parent_url: str | None,
                  parent_title: str | None, alt: str | None = None) -> Deviation:
    title = title_for(text, root_title, part_index)
    return Deviation(title, description_html(text, parent_url, parent_title, alt), tags_of(text), parent_url)


def read_description(description: str) -> tuple[str, str | None]:
    """(the part's text, the URL of the part it continues) from a deviation's HTML description."""
    parent = None
    found = _CONTINUED.search(description)
    if found:
        parent = html.unescape(found.group(1))
        description = description[:found.start()]
    alt = _ALT.search(description)
    if alt:
        description = description[:alt.start()]
    text = _PARA.sub("\n\n", description)
    text = _BR.sub("\n", text)
    return html.unescape(_TAG.sub("", text)), parent


def same_text(a: str, b: str) -> bool:
    """Equal once whitespace is folded (a server may re-wrap lines or trim them)."""
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


def published_at(deviation: dict[str, Any]) -> float | None:
    """A deviation's `published_time` (epoch seconds, sent as a string), or None."""
    try:
        return float(deviation.get("published_time"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None

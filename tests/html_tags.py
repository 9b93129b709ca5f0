"""The start tags of an HTML page with their attributes, for tests that check what a page links or embeds."""

from __future__ import annotations

from html.parser import HTMLParser

Tag = tuple[str, dict[str, str | None]]


class _StartTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def start_tags(page: str) -> list[Tag]:
    """Every start tag of `page`, in order, as (name, attributes)."""
    parser = _StartTags()
    parser.feed(page)
    return parser.tags

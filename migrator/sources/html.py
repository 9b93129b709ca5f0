"""Meta's HTML export ("Download your information" with Format: HTML).

Artists pick HTML by mistake often enough that refusing it would strand them, so this reader
parses the same pages a browser shows: `content/*.html` (2022 markup, entry page `index.html`)
or `your_instagram_activity/media/*.html` (2025 markup, entry page `start_here.html`). The
media tree is the JSON export's (`media/posts/YYYYMM/...`), and the links in the pages are
export-root-relative.

Meta's class names are obfuscated and change between exports, so posts are found by
*structure* first: a post box is the element around a date line ("Aug 17, 2025 11:23 am",
"5 авг 2014 г., 05:32" ...: the page is in the account's language, see `html_dates`) that also
holds that post's media. The known class names are only hints that confirm a box. Times have
minute precision and no zone: they are read in `[source] html_timezone` (UTC by default) and the
export gets one note saying so. A post whose date line cannot be read stays in, dated from the
`YYYYMM` folder of its media, with a problem saying so.

Subtitle links (`.srt`, `.vtt`, "Subtitles for video") are not media: they are attached to the
video they sit beside.

This module finds the pages (all layout detection needs); `html_page` parses them with
BeautifulSoup and is imported only when an HTML export is read.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Iterator

from ..exportfs import ExportTree
from ..model import Post, PostKind
from .base import Problem, ReadContext, Reader

if TYPE_CHECKING:
    from .html_dates import DateLines

# Folders holding the metadata pages, newest first. The 2024 `your_instagram_activity/content/`
# folder is known from JSON exports only; an HTML export of that year is assumed to match it.
_PAGE_FOLDERS = ("your_instagram_activity/media", "your_instagram_activity/content", "content")
# Page name -> kind, in the order pages are read (IGTV became reels on Instagram in 2022).
_KIND_PAGES: dict[str, PostKind] = {
    "reels": PostKind.REEL,
    "igtv_videos": PostKind.REEL,
    "stories": PostKind.STORY,
    "archived_posts": PostKind.ARCHIVED,
    "profile_photos": PostKind.PROFILE_PHOTO,
    "other_content": PostKind.OTHER,
}
_PAGE = re.compile(
    r"^(?P<folder>" + "|".join(re.escape(f) for f in _PAGE_FOLDERS) + r")/"
    r"(?P<name>posts_(?P<n>\d+)|" + "|".join(_KIND_PAGES) + r")\.html$"
)


def times_note(zone: tzinfo, language: str | None = None) -> str:
    """The one export-wide note on where post times come from."""
    name = getattr(zone, "key", None) or str(zone)
    said = f" (dates written in '{language}')" if language and language != "en" else ""
    how = ("as UTC, so they may be off by your time-zone offset: set [source] html_timezone to your "
           "zone" if name == "UTC" else f"as {name} time, as [source] html_timezone says")
    return (f"post times come from the HTML pages{said}: Instagram gives them only to the minute and "
            f"without a time zone; pindah reads them {how} (the JSON export has exact times)")


UTC_NOTE = times_note(timezone.utc)


def parse_time(text: str) -> datetime | None:
    """One date line on its own, in any language, as an aware UTC datetime (or None)."""
    from .html_dates import parse_date_line  # start-up time: Babel loads only for HTML dates

    moment = parse_date_line(text)
    return moment.replace(tzinfo=timezone.utc) if moment else None


class HtmlReader(Reader):
    layout = "html"
    label = "Meta HTML export"
    looked_for = ("your_instagram_activity/media/posts_1.html", "content/posts_1.html")

    def detect(self, tree: ExportTree) -> bool:
        return bool(_pages(tree))

    def read(self, tree: ExportTree, ctx: ReadContext) -> Iterator[Post]:
        # Start-up time: BeautifulSoup and Babel load only when an HTML export is read, never
        # for detecting the layout or for the JSON exports most artists have.
        from .html_dates import DateLines
        from .html_page import read_page

        noted = False
        dates = DateLines()  # one per export: learns the export's language once
        for page, kind in _pages(tree):
            if not ctx.wants(kind, page):
                continue
            ctx.files_read.append(page)
            for post in read_page(tree, page, kind, ctx, dates):
                if not noted:
                    # One note for the whole export: the same caveat on every post is noise.
                    ctx.problems.insert(0, _export_note(ctx, dates))
                    noted = True
                yield post


def _export_note(ctx: ReadContext, dates: DateLines) -> Problem:
    return Problem("export", times_note(ctx.html_timezone, dates.language))


def _pages(tree: ExportTree) -> list[tuple[str, PostKind]]:
    """The export's metadata pages with their kind, posts_N first by N, then the other kinds."""
    found: list[tuple[tuple[int, int, int], str, PostKind]] = []
    kind_order = list(_KIND_PAGES)
    for path in tree.paths():
        m = _PAGE.match(path)
        if not m:
            continue
        folder = _PAGE_FOLDERS.index(m["folder"])
        if m["n"] is not None:
            found.append(((folder, 0, int(m["n"])), path, PostKind.POST))
        else:
            found.append(((folder, 1, kind_order.index(m["name"])), path, _KIND_PAGES[m["name"]]))
    return [(path, kind) for _, path, kind in sorted(found)]

"""Parsing one page of Meta's HTML export into posts (BeautifulSoup): the post boxes found by
structure, their media, date line, caption and table fields. `HtmlReader` (`sources/html.py`)
finds the pages and imports this module only when it reads one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterator
from urllib.parse import unquote

from bs4 import BeautifulSoup, Tag
from bs4.element import (
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
)

from ..errors import InputError
from ..exportfs import ExportTree
from ..model import Location, Media, MediaType, Post, PostKind, file_stem, make_post_id, make_subtitle
from pindah.adapters.toolkit.textparse import clean_text
from .base import ReadContext
from .html import HtmlReader
from .html_dates import DateLines, looks_like_date_line

# Class tokens Meta has used for one post box; a hint only, the structure decides.
_BOX_HINTS = frozenset({"uiBoxWhite", "_a6-g"})
_CAPTION_HINTS = frozenset({"_a6-h", "_2pim"})
_TIME_HINTS = frozenset({"_a6-o", "_3-94"})
_MEDIA_PREFIXES = ("media/", "public-media/")  # public-media/: 2025 duplicate tree
_REF_ATTRS = {"img": "src", "video": "src", "source": "src", "track": "src", "a": "href"}
_HINT_RANK: dict[MediaType | None, int] = {None: 0, MediaType.IMAGE: 1, MediaType.VIDEO: 2}

EARLIEST = datetime(2010, 1, 1, tzinfo=timezone.utc)  # Instagram launched in October 2010
_MONTH_FOLDER = re.compile(r"(?:^|/)((?:20|19)\d{2})(0[1-9]|1[0-2])/")  # media/posts/YYYYMM/...


@dataclass
class _Box:
    """One post box found on a page, before it becomes a `Post`."""

    element: Tag
    time_leaves: list[Tag] = field(default_factory=list)


def _load_page(tree: ExportTree, page: str, ctx: ReadContext) -> BeautifulSoup:
    raw = tree.read_metadata(page)
    hint = "the export looks damaged; download it again from Instagram"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{page} is not a readable HTML page (it is not UTF-8 text)", hint) from None
    # html.parser accepts any bytes as "text", so garbage must be refused here, by its looks.
    if "\x00" in text or not re.search(r"<(html|body|div)\b", text, re.IGNORECASE):
        raise InputError(f"{page} is not a readable HTML page", hint)
    if not re.search(r"</html\s*>", text, re.IGNORECASE):
        ctx.problem(page, "the page looks cut off (it does not end like an HTML page); "
                          "posts at its end may be missing: download the export again")
    return BeautifulSoup(text, "html.parser")


def read_page(tree: ExportTree, page: str, kind: PostKind, ctx: ReadContext,
               dates: DateLines) -> Iterator[Post]:
    soup = _load_page(tree, page, ctx)
    boxes = _find_boxes(soup)
    if dates.language is None:
        dates.learn(box.time_leaves[-1].get_text() for box in boxes if box.time_leaves)
    for number, box in enumerate(boxes, start=1):
        where = f"{page} post {number}"
        post = _make_post(box, tree, page, where, kind, ctx, dates)
        if post is not None:
            yield post
    # Media outside every box means posts we could not even find (say, dates in a language we
    # do not read): say so rather than lose them silently.
    box_ids = {id(box.element) for box in boxes}
    stray = {path for t in soup.find_all(list(_REF_ATTRS))
             if (path := _media_ref(t)) and not any(id(p) in box_ids for p in t.parents)}
    if stray:
        ctx.problem(page, f"{len(stray)} media file(s) on this page belong to no post with a "
                          "date pindah can read; they are left out")


# -- finding the post boxes ---------------------------------------------------------------
def _media_ref(tag: Tag) -> str | None:
    """The export path an element points at, if it points into the media tree."""
    attr = _REF_ATTRS.get(tag.name)
    return _media_path(tag.get(attr)) if attr else None


def _media_path(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    path = unquote(value.strip().split("#", 1)[0].split("?", 1)[0])
    # Links are export-root-relative; tolerate page-relative spellings of the same target.
    path = re.sub(r"^(?:\./|\.\./|/)+", "", path.replace("\\", "/"))
    if ".." in path.split("/") or not path.startswith(_MEDIA_PREFIXES):
        return None
    return path


def _ancestors_counts(tags: list[Tag]) -> dict[int, int]:
    """id(element) -> how many of `tags` sit inside it (itself included)."""
    counts: dict[int, int] = {}
    for tag in tags:
        node: Tag | None = tag
        while node is not None:
            counts[id(node)] = counts.get(id(node), 0) + 1
            node = node.parent
    return counts


def _is_box_hint(tag: Tag) -> bool:
    return bool(_BOX_HINTS.intersection(tag.get("class") or ()))


def _find_boxes(soup: BeautifulSoup) -> list[_Box]:
    """Post boxes in page order, each with the date lines inside it."""
    # One walk over the page (find_all's filters cost more than the page's own parse).
    elements: list[Tag] = []
    texts: list[NavigableString] = []
    for node in soup.descendants:
        if isinstance(node, Tag):
            elements.append(node)
        elif type(node) is NavigableString and _looks_like_time(node):
            texts.append(node)
    leaves = [s.parent for s in texts
              if isinstance(s.parent, Tag) and s.parent.find(True) is None
              and s.parent.name not in ("title", "script", "style")]
    time_count = _ancestors_counts(leaves)
    media_count = _ancestors_counts([t for t in elements if _media_ref(t)])
    order = {id(t): i for i, t in enumerate(elements)}

    boxes: dict[int, _Box] = {}
    for leaf in leaves:
        box = _box_of(leaf, time_count, media_count)
        boxes.setdefault(id(box), _Box(box)).time_leaves.append(leaf)
    # A hinted box holding media but no date line is still a post (we report it, not lose it).
    for tag in filter(_is_box_hint, elements):
        if id(tag) not in boxes and not time_count.get(id(tag)) and media_count.get(id(tag)):
            if not any(id(p) in boxes and not time_count.get(id(p)) for p in tag.parents):
                boxes[id(tag)] = _Box(tag)
    return sorted(boxes.values(), key=lambda b: order[id(b.element)])


def _looks_like_time(text: NavigableString) -> bool:
    return looks_like_date_line(text.strip())


def _box_of(leaf: Tag, time_count: dict[int, int], media_count: dict[int, int]) -> Tag:
    """The post box around a date line: climb while no other post's date line is included;
    a hinted box ends the climb, else the lowest element that also holds media wins."""
    start: Tag = leaf.parent or leaf  # a date line always sits inside some element
    current = start
    best = current if media_count.get(id(current)) else None
    while (current.parent is not None and current.parent.name not in ("body", "html", "[document]")
           and time_count[id(current.parent)] == time_count[id(current)]):
        current = current.parent
        if _is_box_hint(current):
            return current
        if best is None and media_count.get(id(current)):
            best = current
    return best or start


# -- reading one box -----------------------------------------------------------------------
def _make_post(box: _Box, tree: ExportTree, page: str, where: str, kind: PostKind,
               ctx: ReadContext, dates: DateLines) -> Post | None:
    media = _media(box.element, tree, where, ctx)
    if not media:
        ctx.skip(where, "has no photo or video")
        return None
    # The date line closes the box; an earlier one is a caption that happens to read like a date.
    time_leaf = box.time_leaves[-1] if box.time_leaves else None
    taken_at, unread = _taken_at(box, time_leaf, dates, ctx.html_timezone)
    precision = "minute"
    if taken_at is None:
        taken_at = _month_of(media)
        if taken_at is None:
            ctx.skip(where, f"{unread}, and no YYYYMM media folder to date it by")
            return None
        ctx.problem(where, f"{unread}; dated {taken_at:%Y-%m} (first of the month) from its media folder")
        precision = "month"
    fields = _table_fields(box.element)
    return Post(
        id=make_post_id([file_stem(m.path) for m in media]),
        kind=kind,
        taken_at=taken_at,
        caption=_caption(box.element, time_leaf),
        media=media,
        layout=HtmlReader.layout,
        location=_location(fields, where, ctx),
        tagged_users=_tagged_users(fields),
        source_file=page,
        time_precision=precision,
    )


def _taken_at(box: _Box, time_leaf: Tag | None, dates: DateLines,
              zone: tzinfo) -> tuple[datetime | None, str]:
    """The post's time, or None and the reason it could not be read."""
    if time_leaf is None:
        shown = box.element.find(lambda t: bool(_TIME_HINTS.intersection(t.get("class") or ())))
        text = shown.get_text().strip() if shown is not None else ""
        return None, (f"has a date pindah cannot read ({text!r})" if text else "has no date")
    shown_text = time_leaf.get_text().strip()
    wall = dates.parse(shown_text)
    if wall is None:
        return None, f"has a date pindah cannot read ({shown_text!r})"
    taken_at = wall.replace(tzinfo=zone)
    if not EARLIEST <= taken_at <= datetime.now(timezone.utc) + timedelta(days=2):
        return None, f"has an impossible date ({shown_text!r})"
    return taken_at, ""


def _month_of(media: list[Media]) -> datetime | None:
    """The upload month Meta files media under (`media/posts/201408/...`), as its first day."""
    for item in media:
        m = _MONTH_FOLDER.search(item.path)
        if m:
            return datetime(int(m[1]), int(m[2]), 1, tzinfo=timezone.utc)
    return None


def _media(box: Tag, tree: ExportTree, where: str, ctx: ReadContext) -> list[Media]:
    """Each media file once, in page order; a file shown in <video> is a video; subtitle
    links are attached to their video, never listed as media."""
    tags = [t for t in box.descendants if isinstance(t, Tag) and t.name in _REF_ATTRS]  # find_all costs more
    posters = {p for v in tags if v.name == "video" and (p := _media_path(v.get("poster")))}
    hints: dict[str, MediaType | None] = {}
    first_tag: dict[str, Tag] = {}
    subtitle_tags: list[tuple[Tag, str]] = []
    for tag in tags:
        path = _media_ref(tag)
        if path is None or (tag.name == "img" and path in posters):
            continue  # a video's poster frame is part of the video, not a slide of its own
        if make_subtitle(path) is not None:
            subtitle_tags.append((tag, path))
            continue
        hint = _type_hint(tag)
        first_tag.setdefault(path, tag)
        # Insertion order keeps the first appearance; the strongest hint wins (a link wrapping
        # a <video> says nothing, the <video> says "video").
        if _HINT_RANK[hint] >= _HINT_RANK[hints.get(path)]:
            hints[path] = hint
    # A bare link gives no type; Media then judges by the bytes, or the name when missing.
    media = [Media(path=path, tree=tree, type_hint=hint) for path, hint in hints.items()]
    if subtitle_tags:
        _attach_subtitles(box, media, first_tag, subtitle_tags, where, ctx)
    return media


def _attach_subtitles(box: Tag, media: list[Media], first_tag: dict[str, Tag],
                      subtitle_tags: list[tuple[Tag, str]], where: str, ctx: ReadContext) -> None:
    """Each subtitle goes to the nearest video: the one sharing its closest enclosing element,
    the last such video before the link if there is one (Meta puts the link after its video)."""
    order = {id(t): i for i, t in enumerate(box.find_all(True))}
    videos = [(first_tag[m.path], m) for m in media if m.type is MediaType.VIDEO]
    for tag, path in subtitle_tags:
        target = _nearest_video(tag, box, order, videos)
        subtitle = make_subtitle(path)
        if target is None or subtitle is None:
            ctx.problem(where, f"links the subtitle file {path} but holds no video; it is left out")
        elif subtitle not in target.subtitles:
            target.subtitles += (subtitle,)


def _nearest_video(tag: Tag, box: Tag, order: dict[int, int], videos: list[tuple[Tag, Media]]) -> Media | None:
    here = order.get(id(tag), 0)
    for ancestor in _ancestors_within(tag, box):
        near = [(order.get(id(vtag), 0), m) for vtag, m in videos
                if vtag is ancestor or any(p is ancestor for p in vtag.parents)]
        if near:
            before = [m for pos, m in near if pos < here]
            return before[-1] if before else near[0][1]
    return None


def _ancestors_within(tag: Tag, box: Tag) -> Iterator[Tag]:
    """`tag`'s enclosing elements, innermost first, up to and including `box`."""
    node = tag.parent
    while node is not None:
        yield node
        if node is box:
            return
        node = node.parent


def _tags(element: Tag) -> Iterator[Tag]:
    """`element` and every element inside it, in page order."""
    yield element
    for node in element.descendants:
        if isinstance(node, Tag):
            yield node


def _type_hint(tag: Tag) -> MediaType | None:
    if tag.name == "video" or (tag.name == "source" and tag.find_parent("video")):
        return MediaType.VIDEO
    return MediaType.IMAGE if tag.name == "img" else None


def _caption(box: Tag, time_leaf: Tag) -> str:
    """The box's text block that is neither the media block nor the date line."""
    candidates: list[Tag] = []
    holds_time = {id(p) for p in time_leaf.parents} if time_leaf is not None else set()
    for child in box.children:
        if not isinstance(child, Tag) or child is time_leaf or id(child) in holds_time:
            continue
        if _media_ref(child) or any(t.name in ("img", "video", "table") or (t.name == "a" and _media_ref(t))
                                    for t in _tags(child)):
            continue
        if _TIME_HINTS.intersection(child.get("class") or ()) and child.get_text().strip():
            continue  # the date line itself, when it could not be read as a date
        if _text(child).strip():
            candidates.append(child)
    if not candidates:
        return ""
    hinted = [c for c in candidates if _CAPTION_HINTS.intersection(c.get("class") or ())]
    headed = [c for c in candidates if re.fullmatch(r"h[1-6]", c.name)]
    chosen = (hinted or headed or candidates)[0]
    return clean_text(_text(chosen))


_BREAK = "\x00"  # stands for <br> while layout whitespace is trimmed (pages never hold NUL)
_LAYOUT_EDGES = (re.compile(r"^\s*"), re.compile(r"\s*$"))


def _text(tag: Tag) -> str:
    """Text as the artist typed it: entities already decoded by the parser, <br> as a newline.

    Whitespace the artist typed at either end stays, as the JSON export keeps it (Meta writes
    a typed line break as <br>). Only a run of raw whitespace that spans a source line break
    is the page's own indentation, and goes."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag):
            if node.name == "br":
                parts.append(_BREAK)
        elif isinstance(node, NavigableString) and not isinstance(
                node, (Comment, Declaration, Doctype, ProcessingInstruction)):
            parts.append(str(node))
    text = "".join(parts)
    for edge in _LAYOUT_EDGES:
        run = edge.search(text)
        if run is not None and "\n" in run.group():
            text = text[:run.start()] + text[run.end():]
    return text.replace(_BREAK, "\n")


def _table_fields(box: Tag) -> list[tuple[str, list[str]]]:
    """Label-value rows of the box's tables: the first text of a row is the label."""
    rows: list[tuple[str, list[str]]] = []
    for row in box.find_all("tr"):
        texts = [t.strip() for t in row.find_all(string=True) if t.strip()]
        if len(texts) >= 2:
            rows.append((texts[0].casefold(), texts[1:]))
    return rows


def _location(fields: list[tuple[str, list[str]]], where: str, ctx: ReadContext) -> Location | None:
    found: dict[str, float] = {}
    for label, values in fields:
        if label in ("latitude", "longitude") and label not in found:
            limit = 90 if label == "latitude" else 180
            try:
                value = float(values[0].replace("\u2212", "-"))  # U+2212: typographic minus
            except ValueError:
                value = None
            if value is None or not -limit <= value <= limit:
                ctx.problem(where, f"could not read the {label} {values[0]!r}; location left out")
            else:
                found[label] = value
    if "latitude" in found and "longitude" in found:
        return Location(latitude=found["latitude"], longitude=found["longitude"])
    return None


def _tagged_users(fields: list[tuple[str, list[str]]]) -> tuple[str, ...]:
    """Usernames from "Tagged users" rows, which read like `name (Tagged, 0.41, 0.52)`."""
    users: list[str] = []
    for label, values in fields:
        if label != "tagged users":
            continue
        for value in values:
            for token in re.split(r"[,\s]+", re.sub(r"\([^)]*\)", " ", value)):
                name = token.lstrip("@")
                if re.fullmatch(r"[A-Za-z0-9_.]{1,30}", name):
                    users.append(name)
    return tuple(dict.fromkeys(users))

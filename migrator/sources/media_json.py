"""Meta's 2018-2020 export: one `media.json` at the root (possibly split into `media-N.json`).

Real UTF-8 (no mojibake). Carousels were flattened into one entry per file, with photos and
videos in separate lists, so a carousel is regrouped by its identical (time, caption) pair;
its original slide order is lost, so images come first, then videos, each in file order.
Private messages (`direct`) are never read.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterator

from ..exportfs import ExportTree
from ..model import Location, Media, MediaType, Post, PostKind
from pindah.adapters.toolkit.textparse import clean_text
from .base import ReadContext, Reader, load_json, media_post
from .meta_json import EARLIEST, safe_uri

_MEDIA_FILE = re.compile(r"media(?:[-_ ]\(?\d+\)?)?\.json")

# list name -> (kind, media type of its files)
_LISTS: dict[str, tuple[PostKind, MediaType | None]] = {
    "photos": (PostKind.POST, MediaType.IMAGE),
    "videos": (PostKind.POST, MediaType.VIDEO),
    "stories": (PostKind.STORY, None),
    "profile": (PostKind.PROFILE_PHOTO, MediaType.IMAGE),
}


class MediaJsonReader(Reader):
    layout = "media_json"
    label = "Meta JSON export (2018-2020, media.json)"
    looked_for = ("media.json",)

    def _files(self, tree: ExportTree) -> list[str]:
        return sorted((p for p in tree.paths() if "/" not in p and _MEDIA_FILE.fullmatch(p)),
                      key=lambda p: (len(p), p))

    def detect(self, tree: ExportTree) -> bool:
        return bool(self._files(tree))

    def read(self, tree: ExportTree, ctx: ReadContext) -> Iterator[Post]:
        # (list, time, caption) -> entries, in first-seen order, across all split files
        groups: dict[tuple[PostKind, datetime, str], list[tuple[str, MediaType | None, dict[str, Any]]]] = {}
        sources: dict[tuple[PostKind, datetime, str], str] = {}
        for path in self._files(tree):
            ctx.files_read.append(path)
            data = load_json(tree, path)
            if not isinstance(data, dict):
                ctx.problem(path, "is not a media.json object; ignored")
                continue
            for list_name, (kind, type_hint) in _LISTS.items():
                entries = data.get(list_name)
                if not isinstance(entries, list) or not entries or not ctx.wants(kind, f"{path} ({list_name})"):
                    continue
                for number, entry in enumerate(entries, start=1):
                    where = f"{path} {list_name} entry {number}"
                    if not isinstance(entry, dict):
                        ctx.skip(where, "is not an object")
                        continue
                    taken_at = parse_iso(entry.get("taken_at"))
                    if taken_at is None:
                        ctx.skip(where, f"has no usable date ({entry.get('taken_at')!r})")
                        continue
                    caption = entry.get("caption") if isinstance(entry.get("caption"), str) else ""
                    # Stories and profile pictures are never carousels: keep each on its own.
                    key = (kind, taken_at, caption if kind is PostKind.POST else f"{caption}\x00{number}")
                    groups.setdefault(key, []).append((list_name, type_hint, entry))
                    sources.setdefault(key, path)
        for (kind, taken_at, _), entries in groups.items():
            entries.sort(key=lambda e: e[0] != "photos")  # stable: photos, then videos
            post = _post(kind, taken_at, entries, sources[(kind, taken_at, _)], tree, ctx)
            if post is not None:
                yield post


def _post(kind: PostKind, taken_at: datetime, entries: list[tuple[str, MediaType | None, dict[str, Any]]],
          source: str, tree: ExportTree, ctx: ReadContext) -> Post | None:
    media = []
    for _, type_hint, entry in entries:
        path = safe_uri(entry.get("path"))
        if path is None:
            ctx.problem(source, f"names a media file outside the export ({entry.get('path')!r}); item skipped")
            continue
        media.append(Media(path=path, tree=tree, type_hint=type_hint))
    if not media:
        return None
    first = entries[0][2]
    caption = first.get("caption") if isinstance(first.get("caption"), str) else ""
    place = first.get("location")
    return media_post(kind, taken_at, clean_text(caption), media, layout=MediaJsonReader.layout,
                      location=Location(name=place.strip()) if isinstance(place, str) and place.strip() else None,
                      source_file=source)


def parse_iso(value: Any) -> datetime | None:
    """`2018-09-20T03:40:04+00:00`, `2018-12-31T08:05:13` (naive = UTC), fractions allowed."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return moment if EARLIEST <= moment <= datetime.now(timezone.utc) else None

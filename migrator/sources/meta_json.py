"""Meta's JSON export, 2021 to today, in its three folder layouts.

    new       (Mar 2025 -)        your_instagram_activity/media/posts_N.json
    new2024   (Feb 2024 - 2025)   your_instagram_activity/content/posts_N.json
    old       (mid 2021 - 2023)   content/posts_N.json

The three differ only in where the files sit, so one class reads all three. Every string in
these files is mojibake (UTF-8 bytes written as \\u00XX) and is decoded exactly once, right
after parsing. Caption and time follow Meta's own rule: a carousel carries them on the post,
a single-media post only on its one media item.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from ..errors import InputError
from ..exportfs import ExportTree
from ..model import (
    Location,
    Media,
    MediaType,
    Post,
    PostKind,
    Subtitle,
    make_subtitle,
)
from pindah.adapters.toolkit.textparse import (
    clean_text,
    fix_strings_outside_objects,
    unmojibake_pairs,
    without_surrogates,
)
from .base import ReadContext, Reader, load_json, media_post

_POSTS_FILE = re.compile(r"posts_(\d+)\.json$")

# file name -> (kind, top-level key, True when entries are bare media items, not {"media": [...]})
_KIND_FILES: dict[str, tuple[PostKind, str, bool]] = {
    "reels.json": (PostKind.REEL, "ig_reels_media", False),
    "igtv_videos.json": (PostKind.REEL, "ig_igtv_media", False),
    "stories.json": (PostKind.STORY, "ig_stories", True),
    "archived_posts.json": (PostKind.ARCHIVED, "ig_archived_post_media", False),
    "profile_photos.json": (PostKind.PROFILE_PHOTO, "ig_profile_picture", True),
    "other_content.json": (PostKind.OTHER, "ig_other_media", False),
}

# Instagram opened in October 2010; anything earlier (0, negative) or in the future is damage.
EARLIEST = datetime(2010, 1, 1, tzinfo=timezone.utc)


class MetaJsonReader(Reader):
    looked_for: tuple[str, ...]

    def __init__(self, layout: str, label: str, folder: str) -> None:
        self.layout = layout  # type: ignore[misc]
        self.label = label  # type: ignore[misc]
        self.folder = folder
        self.looked_for = (f"{folder}/posts_1.json",)  # type: ignore[misc]

    def _files(self, tree: ExportTree) -> tuple[list[str], list[str]]:
        prefix = self.folder + "/"
        posts: list[tuple[int, str]] = []
        others: list[str] = []
        for path in tree.paths():
            if not path.startswith(prefix) or "/" in path[len(prefix):]:
                continue
            name = path[len(prefix):]
            match = _POSTS_FILE.fullmatch(name)
            if match:
                posts.append((int(match.group(1)), path))
            elif name in _KIND_FILES:
                others.append(path)
        return [p for _, p in sorted(posts)], sorted(others)

    def detect(self, tree: ExportTree) -> bool:
        posts, others = self._files(tree)
        return bool(posts or others)

    def read(self, tree: ExportTree, ctx: ReadContext) -> Iterator[Post]:
        posts_files, kind_files = self._files(tree)
        for path in posts_files:
            if not ctx.wants(PostKind.POST, path):
                continue
            data = self._load(tree, path, ctx)
            if isinstance(data, dict) and ("media" in data or "uri" in data):
                entries = [data]  # a page holding one post is a bare object
            elif isinstance(data, list):
                entries = data
            else:
                raise InputError(f"{path} does not look like an Instagram posts file",
                                 "the export may be damaged; download it again from Instagram")
            yield from self._posts(entries, PostKind.POST, path, False, tree, ctx)
        for path in kind_files:
            kind, key, flat = _KIND_FILES[path.rsplit("/", 1)[-1]]
            if not ctx.wants(kind, path):
                continue
            data = self._load(tree, path, ctx)
            entries = _unwrap(data, key)
            if entries is None:
                ctx.problem(path, f"has no '{key}' list; file ignored")
                continue
            yield from self._posts(entries, kind, path, flat, tree, ctx)

    def _load(self, tree: ExportTree, path: str, ctx: ReadContext) -> Any:
        ctx.files_read.append(path)
        data = load_json(tree, path, object_pairs_hook=unmojibake_pairs)
        # Objects were decoded while parsing; only strings outside any object are left.
        return fix_strings_outside_objects(data)

    def _posts(self, entries: list[Any], kind: PostKind, path: str, flat: bool,
               tree: ExportTree, ctx: ReadContext) -> Iterator[Post]:
        for number, entry in enumerate(entries, start=1):
            where = f"{path} entry {number}"
            if not isinstance(entry, dict):
                ctx.skip(where, "is not a post object")
                continue
            if flat or ("media" not in entry and "uri" in entry):
                entry = {"media": [entry]}
            post = _post_from_entry(entry, kind, self.layout, path, where, tree, ctx)
            if post is not None:
                yield post


def _unwrap(data: Any, key: str) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if isinstance(data.get(key), list):
            return data[key]
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:  # a renamed key: take the only list there is
            return lists[0]
    return None


def _post_from_entry(entry: dict[str, Any], kind: PostKind, layout: str, path: str, where: str,
                     tree: ExportTree, ctx: ReadContext) -> Post | None:
    items = [m for m in entry.get("media") or [] if isinstance(m, dict)]
    if not items:
        ctx.skip(where, "has no media")
        return None
    caption = entry["title"] if "title" in entry else items[0].get("title", "")
    if not isinstance(caption, str):
        caption = ""
    stamp = entry.get("creation_timestamp", items[0].get("creation_timestamp"))
    taken_at = parse_timestamp(stamp)
    if taken_at is None:
        ctx.skip(where, f"has no usable date ({stamp!r})")
        return None
    media: list[Media] = []
    for item in items:
        uri = safe_uri(item.get("uri"))
        if uri is None:
            ctx.problem(where, f"names a media file outside the export ({item.get('uri')!r}); that item is skipped")
            continue
        subtitle = make_subtitle(uri)
        if subtitle is not None:  # a subtitle listed as an item belongs to the video before it
            if media and media[-1].type_hint is not MediaType.IMAGE:
                media[-1].subtitles += (subtitle,)
            else:
                ctx.problem(where, f"lists the subtitle file {uri} without a video before it; it is left out")
            continue
        media.append(Media(path=uri, tree=tree, type_hint=_type_hint(item), subtitles=_subtitles(item)))
    if not media:
        ctx.skip(where, "has no usable media")
        return None
    return media_post(kind, taken_at, clean_text(caption), media, layout=layout, location=_location(items),
                      source_file=path)


def parse_timestamp(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric string) -> aware UTC datetime, if plausible."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if moment < EARLIEST or moment > datetime.now(timezone.utc) + timedelta(days=2):
        return None
    return moment.replace(microsecond=0)


def safe_uri(uri: Any) -> str | None:
    """An export-relative media path, or None when it is absent, remote or escapes the export."""
    if not isinstance(uri, str) or not uri.strip():
        return None
    uri = without_surrogates(uri.strip().replace("\\", "/"))
    while uri.startswith("./"):
        uri = uri[2:]
    if uri.startswith("/") or "://" in uri or re.match(r"^[A-Za-z]:", uri):
        return None
    if ".." in uri.split("/"):
        return None
    return uri


def _subtitles(item: dict[str, Any]) -> tuple[Subtitle, ...]:
    """`media_metadata.video_metadata.subtitles` (2025): one `{uri, creation_timestamp}` object,
    or a list of them."""
    meta = item.get("media_metadata")
    video = meta.get("video_metadata") if isinstance(meta, dict) else None
    found = video.get("subtitles") if isinstance(video, dict) else None
    entries = found if isinstance(found, list) else [found]
    subtitles: list[Subtitle] = []
    for entry in entries:
        uri = safe_uri(entry.get("uri")) if isinstance(entry, dict) else None
        subtitle = make_subtitle(uri) if uri else None
        if subtitle is not None and subtitle not in subtitles:
            subtitles.append(subtitle)
    return tuple(subtitles)


def _type_hint(item: dict[str, Any]) -> MediaType | None:
    meta = item.get("media_metadata")
    if isinstance(meta, dict):
        if "video_metadata" in meta:
            return MediaType.VIDEO
        if "photo_metadata" in meta:
            return MediaType.IMAGE
    if "dubbing_info" in item or "media_variants" in item:
        return MediaType.VIDEO
    return None


def _location(items: list[dict[str, Any]]) -> Location | None:
    """GPS from `media_metadata.*.exif_data[]` (the JSON's only location data)."""
    for item in items:
        meta = item.get("media_metadata")
        if not isinstance(meta, dict):
            continue
        for section in meta.values():
            exif = section.get("exif_data") if isinstance(section, dict) else None
            for row in exif if isinstance(exif, list) else []:
                if isinstance(row, dict):
                    lat, lng = _number(row.get("latitude")), _number(row.get("longitude"))
                    if lat is not None and lng is not None and -90 <= lat <= 90 and -180 <= lng <= 180:
                        return Location(latitude=lat, longitude=lng)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


META_JSON_READERS = (
    MetaJsonReader("new", "Meta JSON export (2025 and later)", "your_instagram_activity/media"),
    MetaJsonReader("new2024", "Meta JSON export (2024)", "your_instagram_activity/content"),
    MetaJsonReader("old", "Meta JSON export (2021-2023)", "content"),
)

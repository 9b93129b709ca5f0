"""instaloader profile folders: one `<date>_UTC` file group per post, story or profile picture.

instaloader (`instagram-formats.md` §5) names every file after the item's UTC time:

    2021-05-02_08-30-00_UTC.json.xz       metadata ({"node": ..., "instaloader": {...}}), or .json
    2021-05-02_08-30-00_UTC.txt           caption (stripped, UTF-8), only when non-empty
    2021-05-02_08-30-00_UTC_location.txt  --geotags: name, then a maps URL with the coordinates
    2021-05-02_08-30-00_UTC.jpg (+ .mp4)  single media; a video keeps its cover image beside it
    2021-05-02_08-30-00_UTC_1.jpg ... _N  carousel items, in order, each optionally + .mp4
    2025-09-20_00-00-36_UTC_profile_pic.jpg

This reader groups files by that stem and reads the JSON as plain data. It never uses
instaloader's own classes: their properties silently fall back to network requests for any
key a file lacks. The JSON comes in three node shapes, depending on the instaloader version
and on whether it was logged in, and one folder refreshed over the years mixes them:

    GraphQL era (<= 4.15.1)   edge_media_to_caption, taken_at_timestamp, edge_sidecar_to_children
    normalised (>= 4.15.5)    the raw web item (code, taken_at, caption{text}, carousel_media)
                              plus the GraphQL-era keys
    logged-in iPhone API      caption as a plain string, "date", raw item under "iphone_struct"

A broken metadata file only costs its own post: the post is still listed from its media and
caption files, and the damage is reported as a problem. instaloader writes proper JSON, so no
mojibake repair is applied.
"""

from __future__ import annotations

import json
import lzma
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

from .. import exportfs, sniff
from ..errors import InputError
from ..exportfs import ExportTree
from ..model import AltOrigin, Location, Media, MediaType, Post, PostKind, make_post_id
from pindah.adapters.toolkit.textparse import clean_text, is_generated_alt
from .base import ReadContext, Reader

_STEM = re.compile(r"(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})_UTC")
_META = re.compile(r"\.json(\.xz)?")
_ITEM = re.compile(r"(?:_(\d+))?\.([A-Za-z0-9]+)")  # "" or "_N", then the media extension
_PROFILE_PIC = re.compile(r"_profile_pic\.[A-Za-z0-9]+")
_MAPS_COORDS = re.compile(r"[?&]q=(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")
_NOT_MEDIA = {"txt", "json", "xz", "temp"}  # .temp: a download instaloader did not finish
_XZ_CHUNK = 1 << 20


@dataclass
class _Group:
    """The files of one `<date>_UTC` stem in the profile folder."""

    folder: str  # "" or "profile/" (export-relative, with the trailing slash)
    stem: str
    taken_at: datetime
    metadata: list[str] = field(default_factory=list)  # .json.xz first, then .json
    caption_file: str | None = None
    location_file: str | None = None
    items: dict[int, list[str]] = field(default_factory=dict)  # 0 = single media, N = carousel item N
    profile_pics: list[str] = field(default_factory=list)

    def name(self, suffix: str) -> str:
        return f"{self.folder}{self.stem}{suffix}"


class _Broken(Exception):
    """A metadata file that cannot be used; the message says why, in the artist's words."""


class InstaloaderReader(Reader):
    layout = "instaloader"
    label = "instaloader profile folder"
    looked_for = ("YYYY-MM-DD_HH-MM-SS_UTC.json.xz",)

    def detect(self, tree: ExportTree) -> bool:
        return any(_stem_of(path.rsplit("/", 1)[-1]) is not None for path in tree.paths())

    def read(self, tree: ExportTree, ctx: ReadContext) -> Iterator[Post]:
        folder = _profile_folder(tree)
        groups, undated = _groups(tree, folder)
        for path in undated:
            if ctx.wants(PostKind.PROFILE_PHOTO, path):
                ctx.skip(path, "profile picture without a date in its name (Instagram sent none)")
        for group in groups:
            for path in group.profile_pics:
                if ctx.wants(PostKind.PROFILE_PHOTO, path):
                    yield _profile_photo(tree, group, path)
            if group.metadata or group.items or group.caption_file:
                post = self._post(tree, ctx, group)
                if post is not None:
                    yield post

    def _post(self, tree: ExportTree, ctx: ReadContext, group: _Group) -> Post | None:
        # Name the metadata file in messages, else the first media file, else the caption file.
        files = [*group.metadata, *sorted(f for files in group.items.values() for f in files)]
        where = files[0] if files else group.caption_file or group.name("")
        node, node_type = _load_node(tree, ctx, group)
        if node is None and not group.items:
            if not group.metadata:
                ctx.skip(group.caption_file or where, "a caption file without any picture or video")
            else:
                ctx.skip(where, "no picture or video belongs to this unreadable metadata file")
            return None
        node = node or {}
        kind = _kind(node, node_type)
        if kind is None or not ctx.wants(kind, where):
            return None
        taken_at = _node_time(node) or group.taken_at
        caption = _node_caption(node)
        if caption is None:
            caption = _caption_file(tree, ctx, group)
        media = _media(tree, group, node)
        if not media:
            ctx.skip(where, "lists no picture or video and none is in the folder")
            return None
        shortcode = node.get("shortcode") or node.get("code")
        identity = [shortcode] if isinstance(shortcode, str) and shortcode else [group.stem]
        return Post(
            id=make_post_id(identity),
            kind=kind,
            taken_at=taken_at,
            caption=clean_text(caption),
            media=media,
            layout=self.layout,
            location=_node_location(node) or _location_file(tree, ctx, group),
            tagged_users=_tagged_users(node),
            source_file=where,
            shortcode=shortcode if isinstance(shortcode, str) and shortcode else None,
        )


# -- finding the files ----------------------------------------------------------------------
def _stem_of(name: str) -> datetime | None:
    """The UTC time in an instaloader file name, or None if it is not one."""
    match = _STEM.match(name)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y-%m-%d_%H-%M-%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _profile_folder(tree: ExportTree) -> str:
    """The folder holding the dated files: the tree root, or one (or more) folders down.

    Folders *inside* the profile folder are `--highlights` subfolders (their stories are
    copies the artist grouped by theme), and are not read. Two sibling folders would be two
    profiles, which must not be merged into one artist's history.
    """
    dated = {path.rpartition("/")[0] + "/" if "/" in path else ""
             for path in tree.paths() if _stem_of(path.rsplit("/", 1)[-1]) is not None}
    tops = sorted(d for d in dated if not any(o != d and d.startswith(o) for o in dated))
    if not tops:
        return ""
    if len(tops) > 1:
        names = ", ".join(t.rstrip("/") or "(top folder)" for t in tops[:4])
        raise InputError(
            f"{tree.describe()} holds instaloader folders of several profiles ({names})",
            "give pindah one profile folder at a time",
        )
    return tops[0]


def _groups(tree: ExportTree, folder: str) -> tuple[list[_Group], list[str]]:
    """The stem groups, oldest first, and the profile pictures instaloader could not date
    (`_UTC_profile_pic.jpg`: Instagram's CDN sent no Last-Modified header)."""
    groups: dict[str, _Group] = {}
    undated: list[str] = []
    for path in tree.paths():
        if not path.startswith(folder) or "/" in path[len(folder):]:
            continue
        name = path[len(folder):]
        taken_at = _stem_of(name)
        if taken_at is None:
            if name.startswith("_UTC") and _PROFILE_PIC.fullmatch(name[4:]):
                undated.append(path)
            continue  # id, <profile>_<id>.json.xz, iterator_*.json.xz, stray files
        stem = name[:len("YYYY-MM-DD_HH-MM-SS_UTC")]
        group = groups.setdefault(stem, _Group(folder, stem, taken_at))
        _classify(group, path, name[len(stem):])
    for group in groups.values():
        group.metadata.sort(key=lambda p: not p.endswith(".xz"))  # .json.xz is what instaloader writes by default
    return [groups[stem] for stem in sorted(groups)], sorted(undated)


def _classify(group: _Group, path: str, rest: str) -> None:
    """File the part of a name after the stem; `_comments.json`, `_old_NN.txt` and other
    instaloader extras match nothing here and are left out on purpose."""
    if _META.fullmatch(rest):
        group.metadata.append(path)
    elif rest == ".txt":
        group.caption_file = path
    elif rest == "_location.txt":
        group.location_file = path
    elif _PROFILE_PIC.fullmatch(rest):
        group.profile_pics.append(path)
    else:
        match = _ITEM.fullmatch(rest)
        if match and match.group(2).lower() not in _NOT_MEDIA:
            group.items.setdefault(int(match.group(1) or 0), []).append(path)


# -- reading the metadata file ----------------------------------------------------------------
def _load_node(tree: ExportTree, ctx: ReadContext, group: _Group) -> tuple[dict[str, Any] | None, str | None]:
    """The first usable metadata file's node and node type; each broken one is a problem."""
    for path in group.metadata:
        ctx.files_read.append(path)
        try:
            data = _parse(tree, path)
        except _Broken as exc:
            ctx.problem(path, f"{exc}; the post is listed from its files alone")
            continue
        if isinstance(data, dict) and isinstance(data.get("node"), dict):
            info = data.get("instaloader")
            node_type = info.get("node_type") if isinstance(info, dict) else None
            return data["node"], node_type if isinstance(node_type, str) else None
        if isinstance(data, dict) and "shortcode" in data:
            return data, "Post"  # instaloader 3 wrote the bare post node
        ctx.problem(path, "is not an instaloader metadata file; the post is listed from its files alone")
    return None, None


def _parse(tree: ExportTree, path: str) -> Any:
    try:
        raw = tree.read_metadata(path)
    except InputError as exc:
        raise _Broken(exc.message) from None
    if path.endswith(".xz"):
        raw = _unxz(raw)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Broken("is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _Broken(f"is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise _Broken("is nested too deeply to be an instaloader file") from None


def _unxz(raw: bytes) -> bytes:
    """Decompress a .json.xz in bounded chunks: a few KB that would expand to gigabytes (an
    "xz bomb") is refused as soon as it passes the metadata limit, so memory never holds more."""
    limit = exportfs.MAX_POST_METADATA_BYTES  # looked up at call time, so tests can lower it
    decompressor = lzma.LZMADecompressor()
    out = bytearray()
    data = raw
    try:
        while not decompressor.eof:
            out += decompressor.decompress(data, max_length=min(_XZ_CHUNK, limit + 1 - len(out)))
            data = b""
            if len(out) > limit:
                raise _Broken(f"would expand to more than {limit >> 20} MB, far more than any "
                              "instaloader file (damaged or hostile)")
            if not decompressor.eof and decompressor.needs_input:
                raise _Broken("is cut off (truncated)")
    except lzma.LZMAError as exc:
        raise _Broken(f"is not a readable .xz file ({exc})") from None
    return bytes(out)


# -- interpreting a node ------------------------------------------------------------------------
def _kind(node: dict[str, Any], node_type: str | None) -> PostKind | None:
    if node_type == "StoryItem":
        return PostKind.STORY
    if node_type not in (None, "Post"):
        return None  # Profile, Hashtag, FrozenNodeIterator: not something the artist posted
    raw = node.get("iphone_struct") if isinstance(node.get("iphone_struct"), dict) else {}
    product = node.get("product_type") or raw.get("product_type")
    # IGTV videos became reels on Instagram in 2022; pindah files them as reels too.
    return PostKind.REEL if product in ("clips", "igtv") else PostKind.POST


def _node_time(node: dict[str, Any]) -> datetime | None:
    for key in ("taken_at_timestamp", "date", "taken_at"):
        value = node.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            try:
                return datetime.fromtimestamp(int(value), tz=timezone.utc)
            except (OverflowError, OSError, ValueError):
                return None
    return None


def _node_caption(node: dict[str, Any]) -> str | None:
    """The caption as the JSON holds it (raw, not NFC-normalised like instaloader's API), ""
    when the JSON says there is none, None when the JSON does not say (use the .txt)."""
    edges = node.get("edge_media_to_caption")
    if isinstance(edges, dict) and isinstance(edges.get("edges"), list):
        first = edges["edges"][0] if edges["edges"] else None
        text = first.get("node", {}).get("text") if isinstance(first, dict) else None
        return text if isinstance(text, str) else ""
    for holder in (node, node.get("iphone_struct")):
        if isinstance(holder, dict) and "caption" in holder:
            caption = holder["caption"]
            if isinstance(caption, dict):
                caption = caption.get("text")
            return caption if isinstance(caption, str) else ""
    return None


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Carousel items in order, as dicts carrying at least `is_video` or `media_type`."""
    edges = node.get("edge_sidecar_to_children")
    children: list[dict[str, Any]] = []
    if isinstance(edges, dict) and isinstance(edges.get("edges"), list):
        children = [e.get("node") or {} for e in edges["edges"] if isinstance(e, dict)]
    raw = node.get("carousel_media")
    if not isinstance(raw, list) and isinstance(node.get("iphone_struct"), dict):
        raw = node["iphone_struct"].get("carousel_media")
    raw = [r if isinstance(r, dict) else {} for r in raw] if isinstance(raw, list) else []
    if not children:
        return raw
    # The logged-in shape keeps alt text only in the raw items: carry it over by position.
    for child, item in zip(children, raw):
        if "accessibility_caption" not in child and item.get("accessibility_caption"):
            child["accessibility_caption"] = item["accessibility_caption"]
    return children


def _is_video(item: dict[str, Any]) -> bool:
    if isinstance(item.get("is_video"), bool):
        return item["is_video"]
    return item.get("media_type") == 2 or str(item.get("__typename", "")).endswith("Video")


def _alt(item: dict[str, Any]) -> tuple[str | None, AltOrigin | None]:
    text = item.get("accessibility_caption")
    if not isinstance(text, str) or not text.strip():
        return None, None
    text = clean_text(text).strip()
    return text, AltOrigin.INSTAGRAM if is_generated_alt(text) else AltOrigin.USER


def _node_location(node: dict[str, Any]) -> Location | None:
    raw = node.get("iphone_struct") if isinstance(node.get("iphone_struct"), dict) else {}
    loc = node.get("location") or raw.get("location")
    if not isinstance(loc, dict):
        return None
    name = loc.get("name") if isinstance(loc.get("name"), str) and loc.get("name") else None
    lat, lng = _coordinate(loc.get("lat"), 90), _coordinate(loc.get("lng"), 180)
    if lat is None or lng is None:
        lat = lng = None
    return Location(name, lat, lng) if name or lat is not None else None


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if -bound <= number <= bound else None


def _tagged_users(node: dict[str, Any]) -> tuple[str, ...]:
    edges = node.get("edge_media_to_tagged_user")
    names: list[str] = []
    for edge in edges.get("edges", []) if isinstance(edges, dict) else []:
        user = (edge.get("node") or {}).get("user") if isinstance(edge, dict) else None
        if isinstance(user, dict) and isinstance(user.get("username"), str):
            names.append(user["username"])
    return tuple(dict.fromkeys(names))


# -- the media --------------------------------------------------------------------------------
def _media(tree: ExportTree, group: _Group, node: dict[str, Any]) -> list[Media]:
    """Media in carousel order: what the JSON lists (absent files become missing media under
    the name instaloader would have used), then any numbered file the JSON does not list."""
    children = _children(node)
    expected: dict[int, dict[str, Any]] = {}
    if children:
        expected = {number: child for number, child in enumerate(children, start=1)}
    elif node:
        expected = {0: node}
    media = []
    for index in sorted(set(expected) | set(group.items)):
        files = sorted(group.items.get(index, []))
        videos = [f for f in files if sniff.type_from_name(f) == "video"]
        images = [f for f in files if f not in videos]
        item = expected.get(index)
        is_video = _is_video(item) if item is not None else bool(videos)
        suffix = f"_{index}" if index else ""
        if is_video:
            path = videos[0] if videos else group.name(f"{suffix}.mp4")
            thumbnail = images[0] if images else None
        else:
            path = images[0] if images else (videos[0] if videos else group.name(f"{suffix}.jpg"))
            thumbnail = None
        alt_text, alt_origin = _alt(item) if item is not None else (None, None)
        media.append(Media(path=path, tree=tree, type_hint=MediaType.VIDEO if is_video else MediaType.IMAGE,
                           alt_text=alt_text, alt_origin=alt_origin, thumbnail_path=thumbnail))
    return media


def _profile_photo(tree: ExportTree, group: _Group, path: str) -> Post:
    return Post(
        id=make_post_id([f"{group.stem}_profile_pic"]),
        kind=PostKind.PROFILE_PHOTO,
        taken_at=group.taken_at,  # instaloader dates it by the picture's Last-Modified header
        caption="",
        media=[Media(path=path, tree=tree, type_hint=MediaType.IMAGE)],
        layout=InstaloaderReader.layout,
        source_file=path,
    )


# -- the side files ---------------------------------------------------------------------------
def _text_file(tree: ExportTree, ctx: ReadContext, path: str) -> str | None:
    try:
        raw = tree.read_metadata(path)
    except InputError as exc:
        ctx.problem(path, exc.message)
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        ctx.problem(path, "is not UTF-8 text; unreadable characters were replaced")
        return raw.decode("utf-8", errors="replace")


def _caption_file(tree: ExportTree, ctx: ReadContext, group: _Group) -> str:
    """instaloader writes `caption.strip() + "\\n"`; the stripped caption is all there is."""
    if group.caption_file is None:
        return ""
    text = _text_file(tree, ctx, group.caption_file)
    return clean_text(text).removesuffix("\n") if text else ""


def _location_file(tree: ExportTree, ctx: ReadContext, group: _Group) -> Location | None:
    """`Name\\nhttps://maps.google.com/maps?q=LAT,LNG&ll=LAT,LNG\\n`, or just the name."""
    if group.location_file is None:
        return None
    text = _text_file(tree, ctx, group.location_file)
    lines = [line.strip() for line in clean_text(text).split("\n")] if text else []
    if not lines or not any(lines):
        return None
    coords = _MAPS_COORDS.search(lines[1]) if len(lines) > 1 else None
    lat = _coordinate(coords.group(1), 90) if coords else None
    lng = _coordinate(coords.group(2), 180) if coords else None
    if lat is None or lng is None:
        lat = lng = None
    return Location(lines[0] or None, lat, lng)

"""Writes Meta's JSON export layouts ("old" 2021-23, "2024", "new" 2025+) for tests and samples.

Follows `instagram-formats.md` §1-§2: `posts_N.json` (paged, a one-post page as a bare
object), one file per other kind (`reels.json`, `stories.json`, ...), media under
`media/<kind>/YYYYMM/<Instagram-like name>`, a localized `personal_information` file,
`no-data.txt` placeholders, and every string (keys too) mojibake-encoded the way Meta does.

Media file names are derived from each post's kind, time and slot (not from its position in
the list), so re-writing the same posts in another order, or with edited captions, yields the
same paths; that is what lets tests check that pindah's post ids are stable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable

from .media import media_bytes
from .spec import SRT_TEXT, SynthMedia, SynthPost, expected_row, subtitle_paths

VARIANT_DIRS = {
    "new": "your_instagram_activity/media",
    "2024": "your_instagram_activity/content",
    "old": "content",
}
PERSONAL_INFO_PATHS = {
    "new": "personal_information/personal_information/personal_information.json",
    "2024": "personal_information/personal_information/personal_information.json",
    "old": "account_information/personal_information.json",
}
# kind -> (metadata file, top-level key or None for a bare list, media folder, flat items?)
KIND_FILES: dict[str, tuple[str, str | None, str, bool]] = {
    "post": ("posts_{n}.json", None, "posts", False),
    "reel": ("reels.json", "ig_reels_media", "reels", False),
    "igtv": ("igtv_videos.json", "ig_igtv_media", "igtv", False),
    "story": ("stories.json", "ig_stories", "stories", True),
    "archived": ("archived_posts.json", "ig_archived_post_media", "archived_posts", False),
    "profile_photo": ("profile_photos.json", "ig_profile_picture", "profile", True),
    "other": ("other_content.json", "ig_other_media", "other", False),
}
# Localized `string_map_data` labels (§1.5): readers must not rely on the English ones.
LABELS = {
    "en": {"title": "User Information", "photo": "Profile Photo", "username": "Username",
           "name": "Name", "bio": "Bio", "gender": "Gender", "private": "Private Account"},
    "nl": {"title": "Gebruikersgegevens", "photo": "Profielfoto", "username": "Gebruikersnaam",
           "name": "Naam", "bio": "Biografie", "gender": "Geslacht", "private": "Privéaccount"},
}
# Folders real exports fill with placeholders; none of them holds posts.
NO_DATA_DIRS = {
    "new": ["ads_information/instagram_ads_and_businesses", "your_instagram_activity/shopping",
            "connections/contacts"],
    "2024": ["ads_information/instagram_ads_and_businesses", "your_instagram_activity/shopping",
             "your_instagram_activity/monetization"],
    "old": ["ads_and_businesses", "shopping", "monetization"],
}

MediaContent = Callable[[SynthPost, int, SynthMedia], bytes]


def map_strings(value: Any, convert: Callable[[str], str]) -> Any:
    """`value` with `convert` applied to every string in it, dict keys included, at any depth."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [map_strings(v, convert) for v in value]
    if isinstance(value, dict):
        return {map_strings(k, convert): map_strings(v, convert) for k, v in value.items()}
    return value


def mojibake(value: Any) -> Any:
    """Encode like Meta: each UTF-8 byte of every string (and key) becomes one U+00XX char."""
    return map_strings(value, lambda s: s.encode("utf-8").decode("latin-1"))


# Pages longer than this are written compact: json's pretty-printer is pure Python and would
# dominate benchmark-sized exports. Readers cannot tell the difference.
PRETTY_MAX_ITEMS = 2000
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def dump_json(data: Any, *, mojibake_text: bool) -> bytes:
    """Serialise as Meta does: pure-ASCII JSON where each UTF-8 byte of a non-ASCII character
    is one `\\u00XX` escape (the same as `json.dumps(mojibake(data))`, done on the text in
    one pass because it is much faster), indented by two spaces."""
    size = len(data) if isinstance(data, list) else max((len(v) for v in data.values()
                                                         if isinstance(v, list)), default=0)
    indent = 2 if size <= PRETTY_MAX_ITEMS else None
    text = json.dumps(data, ensure_ascii=False, indent=indent).encode("utf-8")
    if not mojibake_text:
        return text
    # Outside strings JSON is ASCII, so every high byte belongs to a string (value or key).
    return _HIGH_BYTE.sub(lambda m: b"\\u00%02x" % m.group()[0], text)


class NameMaker:
    """Instagram-like, unique, order-independent media file names."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._slots: dict[tuple[str, int], int] = {}

    def post_key(self, post: SynthPost) -> str:
        # Same-second posts of one kind get an occurrence number so their files differ.
        slot = (post.kind, post.taken_at)
        occurrence = self._slots.get(slot, 0)
        self._slots[slot] = occurrence + 1
        return f"{post.kind}:{post.taken_at}:{occurrence}"

    def stem(self, key: str, media: SynthMedia) -> str:
        if media.name is not None:
            return media.name
        salt = 0
        while True:
            digest = hashlib.sha256(f"{key}:{salt}".encode()).digest()
            number = int.from_bytes(digest[:16], "big")
            tail = 17900000000000000 + number % 99999999999999
            if media.is_video:
                # Videos: "AQ" + ~76 base64url chars + "_<17 digits>" (§1.3).
                body = base64.urlsafe_b64encode(digest + digest[::-1]).decode().rstrip("=")
                stem = f"AQ{body[:76]}_{tail}"
            else:
                stem = (f"{400000000 + number % 99999999}_{1000000000000000 + number % 8999999999999999}"
                        f"_{2000000000000000000 + number % 7999999999999999999}_n_{tail}")
            if stem not in self._used:
                self._used.add(stem)
                return stem
            salt += 1


def file_name(stem: str, media: SynthMedia) -> str:
    return f"{stem}.{media.extension}" if media.extension else stem


def _exif(post: SynthPost, with_gps: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if with_gps and post.latitude is not None and post.longitude is not None:
        entry.update(latitude=post.latitude, longitude=post.longitude)
    entry.update(device_id="android-0123456789abcdef",
                 date_time_original=post.taken_at_dt.strftime("%Y:%m:%d %H:%M:%S"),
                 source_type="library", software="Snapseed", scene_capture_type="standard")
    return entry


def media_item(post: SynthPost, media: SynthMedia, uri: str, *, title: str, timestamp: int,
               variant: str, slot: int) -> dict[str, Any]:
    """One media item, with the optional keys real exports carry for its era and type."""
    item: dict[str, Any] = {"uri": uri, "creation_timestamp": timestamp}
    # Coordinates only on the first item: a reader must look through every item to find them.
    gps = slot == 0
    has_gps = post.latitude is not None
    # 2022-era exports drop media_metadata on some items; keep it wherever GPS must be carried.
    if variant != "old" or has_gps or slot % 3 == 0:
        section = "video_metadata" if media.is_video else "photo_metadata"
        item["media_metadata"] = {section: {"exif_data": [_exif(post, gps)]},
                                  "camera_metadata": {"has_camera_metadata": False}}
    subtitles = [{"uri": sub, "creation_timestamp": timestamp} for sub in subtitle_paths(uri, media)]
    if subtitles:  # 2025: one {uri, creation_timestamp} object (a list when there are several)
        video = item.setdefault("media_metadata", {}).setdefault("video_metadata", {})
        video["subtitles"] = subtitles[0] if len(subtitles) == 1 else subtitles
    item["title"] = title
    item["cross_post_source"] = {"source_app": "FB"}
    if variant != "old":  # backup_uri and the video extras appear from ~2024 on
        name = uri.rsplit("/", 1)[-1]
        item["backup_uri"] = (f"https://scontent.example.invalid/v/t51.29350-15/{name}"
                              f"?stp=dst-jpg_e35&_nc_ht=scontent.example.invalid&oe=67AD72B9")
        if media.is_video:
            item["dubbing_info"] = []
            item["media_variants"] = []
    if post.kind == "profile_photo" and variant != "old":
        item["is_profile_picture"] = True
    return item


def post_object(post: SynthPost, uris: list[str], variant: str) -> dict[str, Any]:
    """A post entry: single media keep caption/time on the item, carousels on the post."""
    if len(post.media) == 1:
        item = media_item(post, post.media[0], uris[0], title=post.caption,
                          timestamp=post.taken_at, variant=variant, slot=0)
        return {"media": [item]}
    items = [media_item(post, m, uri, title="", timestamp=post.taken_at - 2, variant=variant, slot=i)
             for i, (m, uri) in enumerate(zip(post.media, uris))]
    return {"media": items, "title": post.caption, "creation_timestamp": post.taken_at}


class _Writer:
    """Keeps the per-export state: created folders (mkdir is costly at 50,000 files) and, when
    `link_duplicates`, the first path of each distinct content, so that repeated bytes become
    hard links (20x cheaper than writing a file on a busy disk; benchmarks only, since editing
    one linked file would edit them all)."""

    def __init__(self, root: Path, link_duplicates: bool = False) -> None:
        self.root = root
        self._dirs: set[str] = set()
        self._firsts: dict[bytes, str] | None = {} if link_duplicates else None

    def write(self, rel: str, data: bytes) -> None:
        parent, _, _ = rel.rpartition("/")
        if parent not in self._dirs:
            (self.root / parent).mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        target = f"{self.root}/{rel}"  # plain strings: pathlib's overhead shows at 50k files
        if self._firsts is not None:
            first = self._firsts.setdefault(data, target)
            if first != target:
                try:
                    os.link(first, target)
                    return
                except OSError:
                    pass  # no hard links on this filesystem: write a copy
        with open(target, "wb") as fh:
            fh.write(data)


def write_meta_json(root: Path, posts: list[SynthPost], variant: str = "new", *,
                    posts_per_file: int | None = None, bare_object_when_single: bool = True,
                    mojibake: bool = True, personal_info_labels: str = "en",
                    username: str = "rina.wulandari_", full_name: str = "Rina Wulandari ✨",
                    media_content: MediaContent | None = None,
                    link_duplicates: bool = False) -> list[dict]:
    """Write `posts` as a Meta JSON export under `root`; return their expected rows, in input
    order. `media_content(post, index, media)` supplies file bytes (default: tiny real files);
    `link_duplicates` hard-links identical media files (fast, for benchmark-sized exports)."""
    if variant not in VARIANT_DIRS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANT_DIRS)}")
    for post in posts:
        if KIND_FILES[post.kind][3] and len(post.media) != 1:
            raise ValueError(f"a {post.kind} is one media item in Meta's flat list, got {len(post.media)}")
    out = _Writer(Path(root), link_duplicates)
    names = NameMaker()
    meta_dir = VARIANT_DIRS[variant]
    rows: list[dict] = []
    entries: dict[str, list[Any]] = {kind: [] for kind in KIND_FILES}
    for post in posts:
        key = names.post_key(post)
        folder = f"media/{KIND_FILES[post.kind][2]}/{post.taken_at_dt:%Y%m}"
        uris = []
        for index, media in enumerate(post.media):
            uri = f"{folder}/{file_name(names.stem(f'{key}:{index}', media), media)}"
            uris.append(uri)
            if not media.missing:
                data = media_content(post, index, media) if media_content else \
                    media_bytes(media.fmt, media.width, media.height)
                out.write(uri, data)
            for sub in subtitle_paths(uri, media):
                out.write(sub, SRT_TEXT.encode())
        if KIND_FILES[post.kind][3]:
            entries[post.kind].append(media_item(post, post.media[0], uris[0], title=post.caption,
                                                 timestamp=post.taken_at, variant=variant, slot=0))
        else:
            entries[post.kind].append(post_object(post, uris, variant))
        rows.append(expected_row(post, uris))

    encode = mojibake  # the boolean flag; it shadows the module-level mojibake() in this body
    page = posts_per_file or max(len(entries["post"]), 1)
    for number, start in enumerate(range(0, len(entries["post"]), page), 1):
        chunk = entries["post"][start:start + page]
        body: Any = chunk[0] if len(chunk) == 1 and bare_object_when_single else chunk
        out.write(f"{meta_dir}/posts_{number}.json", dump_json(body, mojibake_text=encode))
    for kind, (fname, top_key, _, _) in KIND_FILES.items():
        if kind != "post" and entries[kind]:
            out.write(f"{meta_dir}/{fname}", dump_json({top_key: entries[kind]}, mojibake_text=encode))

    # The current profile picture is the newest one.
    profile = max(((post.taken_at, row["media"][0]["path"]) for post, row in zip(posts, rows)
                   if post.kind == "profile_photo"), default=None)
    info = personal_information(username, full_name, personal_info_labels, profile)
    out.write(PERSONAL_INFO_PATHS[variant], dump_json(info, mojibake_text=encode))
    for folder in NO_DATA_DIRS[variant]:
        out.write(f"{folder}/no-data.txt", b"No data\n")
    return rows


def personal_information(username: str, full_name: str, labels: str,
                         profile: tuple[int, str] | None) -> dict[str, Any]:
    """The `profile_user` file, with `string_map_data` labels in the account's language."""
    words = LABELS[labels]

    def field(value: str) -> dict[str, Any]:
        return {"href": "", "value": value, "timestamp": 0}

    entry: dict[str, Any] = {"title": words["title"]}
    if profile:
        entry["media_map_data"] = {words["photo"]: {
            "uri": profile[1], "creation_timestamp": profile[0], "title": "",
            "cross_post_source": {"source_app": "FB"}}}
    entry["string_map_data"] = {
        words["username"]: field(username),
        words["name"]: field(full_name),
        words["bio"]: field("Illustrator · ilustrator 🎨"),
        words["gender"]: field(""),
        words["private"]: field("False"),
    }
    return {"profile_user": [entry]}

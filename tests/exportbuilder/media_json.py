"""Writes the 2018-2020 `media.json` export layout (`instagram-formats.md` §3).

One root `media.json` with `photos`, `videos`, `stories` and `profile` lists, one entry per
*file*: a carousel is flattened into entries that share `caption` and `taken_at`, and its
photos and videos land in different lists. Media sit under `photos/YYYYMM/<32 hex>.jpg`,
`videos/YYYYMM/<32 hex>.mp4`, `stories/...`, `profile/...`. Text is real UTF-8 (this era
predates the mojibake bug), `location` is a place name, `taken_at` an ISO string with
`+00:00` (or naive, which readers must take as UTC).

Because photos and videos are separate lists, a carousel's slide order is lost. The expected
rows therefore list a post's media as **its images in their original order, then its videos
in their original order**; pindah's reader regroups entries by `(taken_at, caption)` and
restores exactly this order. The same regrouping means two posts of one kind sharing both
second and caption are indistinguishable in this layout: corpora must not contain them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .media import media_bytes
from .spec import SynthMedia, SynthPost, expected_row

# Kinds this era's export holds (no reels, IGTV, archive or "other content" lists yet).
SUPPORTED_KINDS = frozenset({"post", "story", "profile_photo"})


def _stem(key: str, media: SynthMedia, used: set[str]) -> str:
    """32 hex digits like the real files, derived from the post (not its list position)."""
    if media.name is not None:
        return media.name
    salt = 0
    while True:
        stem = hashlib.md5(f"{key}:{salt}".encode()).hexdigest()
        if stem not in used:
            used.add(stem)
            return stem
        salt += 1


def _folder(post: SynthPost, media: SynthMedia) -> tuple[str, str]:
    """(media.json list, media folder) for one file of `post`."""
    if post.kind == "story":
        return "stories", "stories"
    if post.kind == "profile_photo":
        return "profile", "profile"
    return ("videos", "videos") if media.is_video else ("photos", "photos")


def _taken_at(post: SynthPost, naive: bool) -> str:
    moment = post.taken_at_dt
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if naive else moment.isoformat()


def _entry(post: SynthPost, list_name: str, path: str, taken_at: str) -> dict[str, Any]:
    # Key sets per list as §3 lists them.
    if list_name in ("photos", "videos"):
        return {"caption": post.caption, "taken_at": taken_at,
                "location": post.location_name or "", "path": path}
    entry: dict[str, Any] = {"caption": post.caption, "taken_at": taken_at}
    if list_name == "profile":
        entry["is_active_profile"] = False
    entry["path"] = path
    return entry


def write_media_json(root: Path, posts: list[SynthPost], *, naive_times: bool = False,
                     username: str = "rina.wulandari_") -> list[dict]:
    """Write `posts` as a 2018-2020 export under `root`; return expected rows in input order."""
    root = Path(root)
    unsupported = {p.kind for p in posts} - SUPPORTED_KINDS
    if unsupported:
        raise ValueError(f"media.json exports hold no {sorted(unsupported)}; filter them out first")
    lists: dict[str, list[dict[str, Any]]] = {"photos": [], "videos": [], "stories": [], "profile": []}
    used: set[str] = set()
    occurrences: dict[tuple[str, int], int] = {}
    rows: list[dict] = []
    made_dirs: set[Path] = set()
    for post in posts:
        slot = (post.kind, post.taken_at)
        key = f"{post.kind}:{post.taken_at}:{occurrences.get(slot, 0)}"
        occurrences[slot] = occurrences.get(slot, 0) + 1
        taken_at = _taken_at(post, naive_times)
        placed: list[tuple[SynthMedia, str, dict[str, Any]]] = []
        for index, media in enumerate(post.media):
            list_name, folder = _folder(post, media)
            name = _stem(f"{key}:{index}", media, used)
            if media.extension:
                name += f".{media.extension}"
            path = f"{folder}/{post.taken_at_dt:%Y%m}/{name}"
            placed.append((media, path, _entry(post, list_name, path, taken_at)))
            lists[list_name].append(placed[-1][2])
            if not media.missing:
                target = root / path
                if target.parent not in made_dirs:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made_dirs.add(target.parent)
                target.write_bytes(media_bytes(media.fmt, media.width, media.height))
        # Images first, then videos, each in original order (see the module docstring).
        ordered = sorted(placed, key=lambda p: p[0].is_video)
        rows.append(expected_row(post, [p[1] for p in ordered], media=[p[0] for p in ordered]))
    # The newest profile picture is the active one.
    if lists["profile"]:
        max(lists["profile"], key=lambda e: e["taken_at"])["is_active_profile"] = True
    # Real exports list newest first; readers must not rely on either order.
    for entries in lists.values():
        entries.sort(key=lambda e: e["taken_at"], reverse=True)
    (root / "media.json").write_text(json.dumps(lists, ensure_ascii=False, indent=1), encoding="utf-8")
    (root / "profile.json").write_text(json.dumps({
        "biography": "Illustrator 🎨", "date_joined": "2014-03-02T10:11:12+00:00",
        "email": "rina@example.invalid", "gender": "female", "name": "Rina Wulandari",
        "private_account": False, "username": username}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    return rows

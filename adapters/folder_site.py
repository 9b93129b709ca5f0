"""The folder site's state: posts.json, the single source of truth the pages are drawn from.

posts.json holds every published post, keyed by the engine's idempotency keys (one per thread
part), with the site-relative paths of its page and its media. It is written after every
create, durably, and is a published file like the pages (its mode follows the umask).
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pindah.adapters.contract import RunStopped
from pindah.adapters.toolkit.files import safe_name, write_atomic

STATE_FORMAT = "pindah-site/1"
# What a media path and a page path may look like: checked on everything that comes from the
# engine or from posts.json, because these paths are later written to and deleted.
MEDIA_ID = re.compile(r"^media/[0-9a-f]{16}\.(?:jpg|png|webp|gif|mp4|webm|mov)$")
TRACK_ID = re.compile(r"^media/[0-9a-f]{16}\.vtt$")  # a video's subtitles, WebVTT
PAGE_PATH = re.compile(r"^posts/[A-Za-z0-9_-]{1,100}\.html$")


# -- state ------------------------------------------------------------------------------------
@dataclass
class SiteMedia:
    path: str  # site-relative, "media/<hash>.<ext>"
    mime: str
    alt: str | None
    width: int | None
    height: int | None
    # A video's subtitles: [{"src": "media/<hash>.vtt", "lang": "id" or ""}], for <track>.
    tracks: list[dict[str, str]] = field(default_factory=list)

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


@dataclass
class SitePart:
    index: int
    key: str
    text: str
    media: list[SiteMedia]


@dataclass(eq=False)  # identity: list.index() and dict keys must not compare field by field
class SitePost:
    post_id: str
    created_at: str  # ISO 8601 UTC with "Z"
    page: str  # site-relative, "posts/<id>.html"
    parts: list[SitePart] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parts]

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    @property
    def media(self) -> list[SiteMedia]:
        return [m for p in self.parts for m in p.media]

    def to_dict(self) -> dict[str, Any]:
        # Written by hand: dataclasses.asdict deep-copies, and this runs for every post on save.
        return {"post_id": self.post_id, "created_at": self.created_at, "page": self.page, "keys": self.keys,
                "parts": [{"index": p.index, "key": p.key, "text": p.text,
                           "media": [{"path": m.path, "mime": m.mime, "alt": m.alt, "width": m.width,
                                      "height": m.height, **({"tracks": m.tracks} if m.tracks else {})}
                                     for m in p.media]} for p in self.parts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SitePost":
        parts = [SitePart(index=int(p["index"]), key=str(p["key"]), text=str(p.get("text", "")),
                          media=[SiteMedia(**m) for m in p.get("media", [])]) for p in data.get("parts", [])]
        return cls(post_id=str(data["post_id"]), created_at=str(data["created_at"]), page=str(data["page"]),
                   parts=sorted(parts, key=lambda p: (p.index, p.key)))


def _order(post: SitePost) -> tuple[str, str]:
    return (post.created_at, post.post_id)


class SiteState:
    """posts.json in memory: posts oldest first, plus a key -> post index for O(1) lookups.

    posts.json is rewritten after every create, so each post's JSON is kept encoded and only
    re-encoded when that post changes (`changed()`): a save costs a string join, not a
    re-serialisation of the whole history (which made a 3,000-post run quadratic).
    """

    def __init__(self, posts: list[SitePost]) -> None:
        self.posts = sorted(posts, key=_order)
        self.by_id = {p.post_id: p for p in self.posts}
        self.by_key = {k: p for p in self.posts for k in p.keys}
        self._encoded: dict[str, str] = {}

    @classmethod
    def load(cls, path: Path) -> "SiteState":
        if not path.exists():
            return cls([])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            posts = [SitePost.from_dict(d) for d in data["posts"]]
            for post in posts:
                bad = [x for x in [post.page] if not PAGE_PATH.match(x)] + [
                    m.path for m in post.media if not MEDIA_ID.match(m.path)]
                if bad:
                    raise ValueError(f"unexpected path {bad[0]!r}")
            return cls(posts)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Never overwrite a state we cannot read: that would forget every published post.
            raise RunStopped(f"the site's state file {path} cannot be read ({exc})",
                             "restore it from a backup, or move the site folder away to start a new site") from None

    def changed(self, post: SitePost) -> None:
        self._encoded.pop(post.post_id, None)

    def save(self, path: Path) -> None:
        parts = []
        for post in self.posts:
            text = self._encoded.get(post.post_id)
            if text is None:
                text = self._encoded[post.post_id] = json.dumps(post.to_dict(), ensure_ascii=False)
            parts.append(text)
        # One post per line: compact, yet diffable and readable by a curious artist.
        body = f'{{"format": "{STATE_FORMAT}", "posts": [\n' + ",\n".join(parts) + "\n]}\n"
        write_atomic(path, body.encode("utf-8"), durable=True)

    def add(self, post: SitePost) -> None:
        bisect.insort(self.posts, post, key=_order)  # usually an append: runs go oldest first
        self.by_id[post.post_id] = post

    def remove(self, post: SitePost) -> None:
        self.posts.remove(post)
        del self.by_id[post.post_id]
        self.changed(post)

    def neighbours(self, post: SitePost) -> tuple[SitePost | None, SitePost | None]:
        """(older, newer) around `post`."""
        i = self.posts.index(post)
        return (self.posts[i - 1] if i > 0 else None,
                self.posts[i + 1] if i + 1 < len(self.posts) else None)


def page_path(post_id: str) -> str:
    """The site-relative page of a post: `posts/<safe id>.html`."""
    return f"posts/{safe_name(post_id)}.html"


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # the contract says UTC; be lenient
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

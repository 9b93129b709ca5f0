"""Tumblr's Neue Post Format (NPF): a part of a post as content blocks and tags, and back.

Room: the pure translation between the engine's `PostRequest` and what Tumblr stores, with no
network (tumblr/docs npf-spec.md and api.md "Create/Reblog a Post (Neue Post Format)"):

* Media first, in the carousel's order: an `image` block per picture (its alt text in
  `alt_text`, at most 4,096 characters) and a `video` block per video; each names its file by
  an `identifier`, which is also the name of the file's part in the multipart request.
* Then the caption, one `text` block per line (a text block is one paragraph). Empty lines are
  empty blocks, which Tumblr keeps between paragraphs and trims only at the ends, so joining the
  blocks with newlines gives the caption back exactly (what `verify` compares). Web addresses
  get a `link` formatting range (offsets in code points, as NPF counts them).
* Tags from the caption's hashtags, by Tumblr's rules: no '#', no commas (the `tags`
  parameter is comma-separated), at most 140 characters, no repeats ignoring case. The
  hashtags also stay in the caption, as the artist wrote it. One more tag, `pindah-<hash of
  the part's key>`, finds the post again after a crash (`key_tag`): Tumblr has no idempotency
  key, but it lists a blog's posts by tag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pindah.adapters.toolkit.textcount import link_spans
from pindah.adapters.toolkit.textparse import hashtags

__all__ = [
    "MAX_ALT",
    "MAX_TAG",
    "MAX_TAGS",
    "MediaFile",
    "content_blocks",
    "key_tag",
    "media_count",
    "post_text",
    "tags_for",
]

MAX_ALT = 4096  # npf-spec.md: image block alt_text, 4096 characters
MAX_TEXT_BLOCK = 4096  # npf-spec.md: a text block is at most 4,096 code points
MAX_TAG = 140  # a longer tag is cut by Tumblr; pindah cuts it first so the lookup matches
MAX_TAGS = 30  # tags pindah sends per post (the key tag always among them)
KEY_TAG_PREFIX = "pindah-"


@dataclass(frozen=True)
class MediaFile:
    """One prepared file as a post's block will carry it (from the adapter's upload ref)."""

    identifier: str  # the multipart part's name
    mime: str
    width: int | None
    height: int | None
    alt: str | None

    @property
    def is_video(self) -> bool:
        return self.mime.startswith("video/")


def key_tag(part_key: str) -> str:
    """The tag that finds one part again: stable across runs, unlike any Tumblr id."""
    return KEY_TAG_PREFIX + hashlib.sha256(part_key.encode()).hexdigest()[:16]


def tags_for(text: str, part_key: str | None) -> list[str]:
    """The post's tags: the caption's hashtags as Tumblr takes them, then the key tag."""
    found: list[str] = []
    seen: set[str] = set()
    for tag in hashtags(text):
        clean = " ".join(tag.replace(",", " ").split())[:MAX_TAG].strip()
        if clean and clean.casefold() not in seen:
            seen.add(clean.casefold())
            found.append(clean)
    room = MAX_TAGS - (1 if part_key else 0)
    return found[:room] + ([key_tag(part_key)] if part_key else [])


def text_blocks(text: str) -> list[dict[str, Any]]:
    """One text block per line, links marked; a line longer than a block holds is cut into
    several blocks (no Instagram caption is that long: 2,200 characters)."""
    blocks: list[dict[str, Any]] = []
    for line in text.strip("\n").split("\n"):
        for start in range(0, max(len(line), 1), MAX_TEXT_BLOCK):
            piece = line[start:start + MAX_TEXT_BLOCK]
            block: dict[str, Any] = {"type": "text", "text": piece}
            links = [{"start": a, "end": b, "type": "link", "url": _absolute(piece[a:b])}
                     for a, b in link_spans(piece) if b > a]
            if links:
                block["formatting"] = links
            blocks.append(block)
    return blocks


def media_block(item: MediaFile) -> dict[str, Any]:
    media: dict[str, Any] = {"type": item.mime, "identifier": item.identifier}
    if item.width and item.height:
        media |= {"width": item.width, "height": item.height}
    if item.is_video:
        return {"type": "video", "provider": "tumblr", "media": media}
    block: dict[str, Any] = {"type": "image", "media": [media]}
    if item.alt:
        block["alt_text"] = item.alt[:MAX_ALT]
    return block


def content_blocks(text: str, media: list[MediaFile]) -> list[dict[str, Any]]:
    """The post's content: its files in carousel order, then its caption."""
    return [media_block(m) for m in media] + (text_blocks(text) if text.strip() else [])


def post_text(post: dict[str, Any]) -> str:
    """The caption of a post as Tumblr returns it in NPF (`content`), lines joined back."""
    return "\n".join(str(b.get("text") or "") for b in post.get("content") or []
                     if isinstance(b, dict) and b.get("type") == "text").strip("\n")


def media_count(post: dict[str, Any]) -> int:
    return sum(1 for b in post.get("content") or [] if isinstance(b, dict) and b.get("type") in ("image", "video"))


def _absolute(url: str) -> str:
    return url if "://" in url else "https://" + url

"""Export readers: one per layout, chosen by detection, never by the artist guessing.

`read_export(paths, kinds)` opens whatever the artist gave (folder, ZIP, ZIP parts), finds the
layout, and returns an `Export`: the posts of the requested kinds, oldest first, plus the
problems met on the way. Readers are tried in `READERS` order; the first whose files are present
wins (a JSON export beats an HTML copy of the same data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Iterable

from ..errors import InputError, NoPostsError
from ..exportfs import ExportTree
from ..model import Post, PostKind, make_post_id
from .base import Problem, ReadContext, Reader
from .html import HtmlReader
from .instaloader import InstaloaderReader
from .media_json import MediaJsonReader
from .meta_json import META_JSON_READERS

READERS: tuple[Reader, ...] = (*META_JSON_READERS, MediaJsonReader(), HtmlReader(), InstaloaderReader())

DEFAULT_KINDS = frozenset({PostKind.POST})


@dataclass
class Export:
    """An opened, read export. Keep it open while media are probed; close it when done."""

    tree: ExportTree
    reader: Reader
    posts: list[Post]
    problems: list[Problem] = field(default_factory=list)
    files_read: list[str] = field(default_factory=list)
    not_included: dict[PostKind, list[str]] = field(default_factory=dict)

    @property
    def layout(self) -> str:
        return self.reader.layout

    def close(self) -> None:
        self.tree.close()

    def __enter__(self) -> "Export":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def detect(tree: ExportTree) -> Reader:
    for reader in READERS:
        if reader.detect(tree):
            return reader
    looked = sorted({f for r in READERS for f in r.looked_for})
    if len(tree) and all(p.rsplit("/", 1)[-1] == "no-data.txt" for p in tree.paths()):
        raise NoPostsError(
            f"{tree.describe()} holds only 'no-data.txt' placeholders: Instagram put no posts in this download",
            "request a new download with 'All time' as the date range and 'Posts' (or all information) selected, in JSON format",
        )
    raise InputError(
        f"{tree.describe()} is not an Instagram export pindah knows (looked for {', '.join(looked)})",
        "give pindah the ZIP file(s) from Instagram's 'Download your information', the folder you extracted, or an instaloader profile folder",
    )


def read_export(paths: Iterable[Path | str], kinds: Iterable[PostKind] = DEFAULT_KINDS, *,
                html_timezone: tzinfo = timezone.utc) -> Export:
    """Open and read an export. Raises InputError/NoPostsError with an artist-facing message.

    `html_timezone` is the zone the wall-clock times of an HTML export are read in
    (`[source] html_timezone`); the other layouts carry real UTC times and ignore it."""
    tree = ExportTree.from_paths(list(paths))
    try:
        reader = detect(tree)
        ctx = ReadContext(kinds=frozenset(kinds), html_timezone=html_timezone)
        posts = list(reader.read(tree, ctx))
        posts = _dedupe(posts, ctx)
        posts.sort(key=lambda p: (p.taken_at, p.id))
        if not posts and not ctx.not_included:
            _explain_no_posts(tree, reader, ctx)
        problems = [Problem("export", note) for note in tree.notes] + ctx.problems
        return Export(tree, reader, posts, problems, ctx.files_read, ctx.not_included)
    except BaseException:
        tree.close()
        raise


def _explain_no_posts(tree: ExportTree, reader: Reader, ctx: ReadContext) -> None:
    """No post came out: say whether the export holds none, or holds posts pindah could not read."""
    unread = ctx.skipped or [p for p in ctx.problems if p.where != "export"]
    if unread:
        more = f" (and {len(unread) - 1} more like it)" if len(unread) > 1 else ""
        found = f"{len(ctx.skipped)} post(s)" if ctx.skipped else "posts"
        raise InputError(
            f"{tree.describe()} is an Instagram export ({reader.label}) with {found}, but pindah could "
            f"read none of them: {unread[0]}{more}",
            "download the export again from Instagram, choosing the JSON format; if that fails "
            "too, please report this message",
        )
    raise NoPostsError(
        f"{tree.describe()} is an Instagram export ({reader.label}) but holds no posts "
        f"(read {', '.join(ctx.files_read) or 'nothing'})",
        "request a new download with 'All time' as the date range and 'Posts' selected",
    )


def _dedupe(posts: list[Post], ctx: ReadContext) -> list[Post]:
    """Merge true repeats (same media, time and caption: the same post listed twice, e.g.
    across pages or ZIP parts). Posts that share a media file but differ in time or caption
    stay apart: the earliest keeps the media-based id, each other one gets its own id, made
    from that id, its minute and its caption, so it is the same in every run and layout."""
    groups: dict[str, list[Post]] = {}
    for post in posts:
        groups.setdefault(post.id, []).append(post)
    kept_all: list[Post] = []
    for post_id, group in groups.items():
        kept: list[Post] = []
        for post in group:
            if any(post.taken_at == k.taken_at and post.caption == k.caption for k in kept):
                ctx.problem(post.source_file or post.id, f"post {post.id} is listed twice; kept once")
            else:
                kept.append(post)
        kept.sort(key=lambda p: (p.taken_at, p.caption))
        used = {post_id}
        for other in kept[1:]:
            other.id = _distinct_id(other, used)
            used.add(other.id)
        kept_all.extend(kept)
    return kept_all


def _distinct_id(post: Post, used: set[str]) -> str:
    identity = [post.id, f"minute:{post.taken_at:%Y-%m-%dT%H:%M}", f"caption:{post.caption}"]
    candidate, n = make_post_id(identity), 2
    while candidate in used:  # same minute and caption, different seconds: still two posts
        candidate, n = make_post_id([*identity, f"#{n}"]), n + 1
    return candidate

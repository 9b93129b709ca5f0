"""Export readers: one per layout, chosen by detection, never by the artist guessing.

`read_export(paths, kinds)` opens whatever the artist gave (folder, ZIP, ZIP parts), finds the
layout, and returns an `Export`: the posts of the requested kinds, oldest first, plus the
problems met on the way. Readers are tried in `READERS` order; the first whose files are present
wins (a JSON export beats an HTML copy of the same data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import InputError, NoPostsError
from ..exportfs import ExportTree
from ..model import Post, PostKind
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


def read_export(paths: Iterable[Path | str], kinds: Iterable[PostKind] = DEFAULT_KINDS) -> Export:
    """Open and read an export. Raises InputError/NoPostsError with an artist-facing message."""
    tree = ExportTree.from_paths(list(paths))
    try:
        reader = detect(tree)
        ctx = ReadContext(kinds=frozenset(kinds))
        posts = list(reader.read(tree, ctx))
        posts = _dedupe(posts, ctx)
        posts.sort(key=lambda p: (p.taken_at, p.id))
        if not posts and not ctx.not_included:
            raise NoPostsError(
                f"{tree.describe()} is an Instagram export ({reader.label}) but holds no posts "
                f"(read {', '.join(ctx.files_read) or 'nothing'})",
                "request a new download with 'All time' as the date range and 'Posts' selected",
            )
        problems = [Problem("export", note) for note in tree.notes] + ctx.problems
        return Export(tree, reader, posts, problems, ctx.files_read, ctx.not_included)
    except BaseException:
        tree.close()
        raise


def _dedupe(posts: list[Post], ctx: ReadContext) -> list[Post]:
    """Drop exact repeats (the same post listed twice, e.g. across pages or ZIP parts)."""
    seen: dict[str, Post] = {}
    for post in posts:
        if post.id in seen:
            ctx.problem(post.source_file or post.id, f"post {post.id} is listed twice; kept once")
            continue
        seen[post.id] = post
    return list(seen.values())

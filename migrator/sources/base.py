"""What every export reader provides, and what it hands back.

A reader knows one layout. `detect()` says whether a tree holds that layout (by its files,
never by asking the artist); `read()` yields normalised `Post`s for the requested kinds and
records per-post problems instead of raising, so one bad entry never hides the rest. Fatal
problems with the export as a whole (truncated posts file, ...) raise `InputError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, Callable, ClassVar, Iterator

from ..errors import InputError
from ..exportfs import ExportTree
from ..model import Media, Post, PostKind, file_stem, make_post_id


@dataclass(frozen=True)
class Problem:
    """Something a reader could not take as given; shown in `inspect` and reports."""

    where: str  # export-relative file (and entry), or a post id
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class ReadContext:
    """Mutable bits a reader fills while it reads."""

    kinds: frozenset[PostKind]
    problems: list[Problem] = field(default_factory=list)
    files_read: list[str] = field(default_factory=list)
    # kinds present in the export but not asked for -> where they are (for the summary hint)
    not_included: dict[PostKind, list[str]] = field(default_factory=dict)
    html_timezone: tzinfo = timezone.utc  # HTML pages give wall-clock times without a zone
    skipped: list[Problem] = field(default_factory=list)  # posts left out, and why

    def problem(self, where: str, what: str) -> None:
        self.problems.append(Problem(where, what))

    def skip(self, where: str, why: str) -> None:
        """A post found in the export but left out: a problem, and counted as skipped."""
        self.problem(where, f"{why}; skipped")
        self.skipped.append(self.problems[-1])

    def wants(self, kind: PostKind, where: str) -> bool:
        if kind in self.kinds:
            return True
        self.not_included.setdefault(kind, []).append(where)
        return False


class Reader:
    """Base for one export layout. Subclasses set `layout`, `label`, `looked_for`."""

    layout: ClassVar[str]  # short, stable name (recorded on every Post)
    label: ClassVar[str]  # what `inspect` shows the artist
    looked_for: ClassVar[tuple[str, ...]]  # files that would identify it, for "no posts" messages

    def detect(self, tree: ExportTree) -> bool:
        raise NotImplementedError

    def read(self, tree: ExportTree, ctx: ReadContext) -> Iterator[Post]:
        raise NotImplementedError


def media_post(kind: PostKind, taken_at: datetime, caption: str, media: list[Media], **details: Any) -> Post:
    """A `Post` whose id is made from its media files' names (`make_post_id`), as every export
    layout that names the files makes it: the same post read from another layout keeps its id."""
    return Post(id=make_post_id([file_stem(m.path) for m in media]), kind=kind, taken_at=taken_at,
                caption=caption, media=media, **details)


def load_json(tree: ExportTree, path: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Parse a JSON metadata file; broken JSON is fatal and names the file."""
    raw = tree.read_metadata(path)
    try:
        return json.loads(raw.decode("utf-8-sig"), object_pairs_hook=object_pairs_hook)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text", "the export looks damaged; download it again from Instagram") from None
    except json.JSONDecodeError as exc:
        what = "is cut off (truncated)" if exc.pos >= len(raw.rstrip()) - 1 else f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        raise InputError(
            f"{path} {what}",
            "the download is damaged or incomplete; download it again from Instagram",
        ) from None
    except RecursionError:
        raise InputError(f"{path} is nested too deeply to be an Instagram file", "download it again from Instagram") from None

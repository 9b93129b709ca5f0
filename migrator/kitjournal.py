"""The journal of a target the artist publishes by hand (`Capabilities.published_by_hand`).

Such a target (the Cara kit) publishes nothing: it prepares each post (a kit folder), the
artist posts it on the platform and says so (`pindah mark-posted`). The journal keeps the same
meaning as for every other target, so `pindah status`, `retry-failed` and resuming work
unchanged:

    post/part "planned"  prepared (or to be prepared): pending on the platform
    part "posted"        the artist marked it posted (remote id = its name, URL = the post)
    part "skipped"       the artist chose not to post it
    post                 "posted" once every part is posted or skipped (at least one posted),
                         "skipped" if all were skipped, otherwise "planned"

`run_view` is what the runner writes through: for such a target preparing is not publishing,
so the runner's "uploading", "uploaded", "posting" and "posted" writes leave parts and media
planned. A re-run therefore rewrites every pending post (new settings, new rights metadata)
and, since a pending post has never "started", its plan may still change; marked parts are
never touched. The marks themselves are journal writes (`Journal.mark_posted`, ...).

`hand_marks` reads the marks of every journal that writes into one place, read-only and
without the run lock, so the kit can be redrawn during a run (`Adapter.refresh(marks)`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pindah.adapters.contract import Adapter, Mark, RemoteRef

from . import journal as J
from .journal import Journal

PENDING = "pending"  # what a planned part is called on a kit's page and checklist


def by_hand(adapter: Adapter) -> str:
    """The reason a part the artist skipped carries."""
    return f"skipped on {platform(adapter)} by you"


def platform(adapter: Adapter) -> str:
    return adapter.name.capitalize()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class HandRunView(Journal):
    """The runner's view of a hand-published target's journal (see the module docstring)."""

    def __init__(self, journal: Journal, skipped_reason: str) -> None:
        super().__init__(journal.path, journal._db, journal._lock)  # same database and lock
        self._by_hand = skipped_reason

    def media_uploading(self, post_id: str, idx: int, prepared_sha: str) -> None:
        pass

    def media_uploaded(self, post_id: str, idx: int, ref: RemoteRef, *, at: float | None = None) -> None:
        pass

    def part_posting(self, post_id: str, idx: int) -> None:
        pass  # preparing twice is harmless: no need to record an attempt

    def part_posted(self, post_id: str, idx: int, ref: RemoteRef) -> None:
        pass  # prepared; the part stays pending until the artist marks it

    def post_state(self, post_id: str, state: str, reason: str | None = None) -> None:
        if state == J.POSTED:
            self.settle(post_id, by_hand=self._by_hand)  # "all parts prepared" is not "posted"
        else:
            Journal.post_state(self, post_id, state, reason)


def run_view(adapter: Adapter, journal: Journal) -> Journal:
    """What the runner writes through: the journal itself, or for a target published by hand
    the view in which nothing is posted until the artist marks it."""
    return HandRunView(journal, by_hand(adapter)) if adapter.caps.published_by_hand else journal


# -- finding a place's journals and reading its marks ----------------------------------------------
def hand_journals(adapter: Adapter) -> list[Path]:
    """Journals of migrations into the adapter's place (one per export)."""
    return [path for path in J.journals_for(adapter.name) if J.peek_meta(path).get("account") == adapter.account()]


def hand_marks(adapter: Adapter) -> dict[str, Mark]:
    """Part key ("<post id>#<index>") -> Mark, over every journal of the adapter's place."""
    marks: dict[str, Mark] = {}
    for path in hand_journals(adapter):
        for row in J.peek_parts(path):
            word = {J.PLANNED: PENDING, J.POSTING: PENDING, J.FAILED: "failed"}.get(row.state, row.state)
            marks[row.key] = Mark(word, row.url, row.extra.get("marked_at"), row.reason)
    return marks


def refresh(adapter: Adapter) -> None:
    """Redraw what the artist works from with the current marks (after a run or a mark)."""
    if adapter.caps.published_by_hand:
        adapter.refresh(hand_marks(adapter))

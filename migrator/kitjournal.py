"""The journal of a target the artist publishes by hand: the Cara upload kit.

For Cara, pindah cannot publish anything: it writes a kit folder per post, and the artist posts
it on cara.app and says so (`pindah mark-posted`). The journal keeps the same meaning as for
every other target, so `pindah status`, `retry-failed` and resuming work unchanged:

    post/part "planned"  the kit folder is (or will be) ready: pending on Cara
    part "posted"        the artist marked it posted (remote id = kit folder, URL = the Cara post)
    part "skipped"       the artist chose not to post it
    post                 "posted" once every part is posted or skipped (at least one posted),
                         "skipped" if all were skipped, otherwise "planned"

Two views of one journal database:
- `KitRunView`, what the runner sees during `pindah migrate` (installed through the adapter's
  `journal_view`): writing a kit folder is not publishing, so the runner's "uploading",
  "uploaded", "posting" and "posted" writes leave parts and media planned. A re-run therefore
  rewrites every pending post's folder (new settings, new rights metadata) and, since a
  pending post has never "started", its plan may still change; marked parts are never touched.
- `KitJournal`, what the mark commands use: `mark_posted`, `mark_skipped`, `mark_pending`.

`kit_marks` reads the marks of every journal that writes into one kit folder, read-only and
without the run lock, so the kit's page can be drawn during a run.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pindah.adapters.contract import RemoteRef

from . import journal as J
from .engine import journals_for
from .journal import Journal

TARGET = "cara"
PENDING = "pending"  # what a planned part is called on the kit's page and checklist
BY_HAND = "skipped on Cara by you"


@dataclass(frozen=True)
class Mark:
    """A part's state as the artist sees it: pending | posted | skipped | failed."""

    state: str
    url: str | None = None
    marked_at: str | None = None
    reason: str | None = None


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class KitJournal(Journal):
    """The journal with the artist's marks. Each mark is one committed write, then the post's
    own state is derived from its parts (`settle`)."""

    @classmethod
    def over(cls, journal: Journal) -> "KitJournal":
        """This view of an open journal: same database and lock, nothing reopened."""
        return cls(journal.path, journal._db, journal._lock)

    def mark_posted(self, post_id: str, idx: int, folder: str, url: str | None) -> None:
        Journal.part_posted(self, post_id, idx, RemoteRef(folder, url, {"marked_at": now_iso()}))
        self.settle(post_id)

    def mark_skipped(self, post_id: str, idx: int) -> None:
        self._write("UPDATE parts SET state=?, reason=?, remote_id=NULL, remote_url=NULL, remote_extra=?, "
                    "updated_at=? WHERE post_id=? AND idx=?",
                    (J.SKIPPED, BY_HAND, json.dumps({"marked_at": now_iso()}), now_iso(), post_id, idx))
        self.settle(post_id)

    def mark_pending(self, post_id: str, idx: int) -> None:
        """Undo a mark (or a failure): the part is pending again and the next run rewrites it."""
        self._write("UPDATE parts SET state=?, reason=NULL, remote_id=NULL, remote_url=NULL, remote_extra=NULL, "
                    "updated_at=? WHERE post_id=? AND idx=?", (J.PLANNED, now_iso(), post_id, idx))
        self.settle(post_id)

    def settle(self, post_id: str) -> None:
        states = [p.state for p in self.parts(post_id)]
        if states and all(s in (J.POSTED, J.SKIPPED) for s in states):
            done = J.POSTED if J.POSTED in states else J.SKIPPED
            Journal.post_state(self, post_id, done, None if done == J.POSTED else BY_HAND)
        elif J.FAILED not in states:
            Journal.post_state(self, post_id, J.PLANNED)


class KitRunView(KitJournal):
    """The runner's view (see the module docstring): writing the kit publishes nothing."""

    def media_uploading(self, post_id: str, idx: int, prepared_sha: str) -> None:
        pass

    def media_uploaded(self, post_id: str, idx: int, ref: RemoteRef, *, at: float | None = None) -> None:
        pass

    def part_posting(self, post_id: str, idx: int) -> None:
        pass  # writing a folder twice is harmless: no need to record an attempt

    def part_posted(self, post_id: str, idx: int, ref: RemoteRef) -> None:
        pass  # the folder is ready; the part stays pending until the artist marks it

    def post_state(self, post_id: str, state: str, reason: str | None = None) -> None:
        if state == J.POSTED:
            self.settle(post_id)  # "all parts written" is not "posted": keep what the marks say
        else:
            Journal.post_state(self, post_id, state, reason)


# -- finding a kit's journals and reading its marks ------------------------------------------------
def kit_journals(account: str) -> list[Path]:
    """Journals of migrations into the kit folder `account` (one per export)."""
    return [path for path in journals_for(TARGET) if _read_only(path, "SELECT value FROM meta WHERE key='account'")
            == [(account,)]]


def kit_marks(account: str) -> dict[str, Mark]:
    """Part key ("<post id>#<index>") -> Mark, over every journal of the kit."""
    marks: dict[str, Mark] = {}
    for path in kit_journals(account):
        rows = _read_only(path, "SELECT key, state, remote_url, remote_extra, reason FROM parts")
        for key, state, url, extra, reason in rows or []:
            marked_at = json.loads(extra).get("marked_at") if extra else None
            word = {J.PLANNED: PENDING, J.POSTING: PENDING, J.FAILED: "failed"}.get(state, state)
            marks[key] = Mark(word, url, marked_at, reason)
    return marks


def _read_only(path: Path, sql: str) -> list[tuple[Any, ...]] | None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None

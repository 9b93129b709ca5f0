"""After a migration: verify (read everything back) and rollback (delete what pindah published).

Both go through the same pacer and retries as a run (`Pacer`, `call_with_retries`), so a
rollback of 2,000 posts keeps to the target's limits and a passing 503 is tried again. Both
say only what they saw: a post counts as deleted when the target, asked again afterwards,
no longer has it. When a delete fails or the post is still there (some servers answer 404 to
a delete and keep the post; the adapter then raises `PostFailed` saying so), the journal keeps
the post as published, the result lists it, and the command exits non-zero.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pindah.adapters.contract import Adapter

from . import journal as J
from .errors import RunStopped, TargetError
from .journal import Journal, PartRow
from .ratelimit import Pacer
from .runner import call_with_retries


@dataclass(frozen=True)
class Difference:
    """A published part that is not on the target as the journal says."""

    post_id: str
    part: int
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"post": self.post_id, "part": str(self.part), "problem": self.problem}


@dataclass
class VerifyResult:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)


@dataclass
class RollbackResult:
    deleted: list[str] = field(default_factory=list)  # post ids: every part read back as gone
    still_there: list[Difference] = field(default_factory=list)  # parts the target still has (or may have)
    stopped: RunStopped | None = None  # the target stopped the rollback (a limit, a login): run it again


class _Calls:
    """One remote call at a time, paced by the target's budgets and retried when transient."""

    def __init__(self, adapter: Adapter, journal: Journal, sleep: Callable[[float], None],
                 clock: Callable[[], float]) -> None:
        self.pacer = Pacer(adapter.caps.rate_budgets, journal, clock=clock, sleep=sleep)
        self.sleep = sleep

    def __call__(self, operation: str, call: Callable[[], Any]) -> Any:
        self.pacer.acquire(operation)
        return call_with_retries(call, self.pacer, sleep=self.sleep)


def verify(adapter: Adapter, journal: Journal, *, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.time) -> VerifyResult:
    """Read back every part the journal says is published, and list what differs."""
    calls = _Calls(adapter, journal, sleep, clock)
    result = VerifyResult()
    for part in journal.all_parts(J.POSTED):
        result.checked += 1
        problem = _check(adapter, journal, part, calls)
        if problem:
            result.differences.append(Difference(part.post_id, part.idx, problem))
    return result


def _check(adapter: Adapter, journal: Journal, part: PartRow, calls: _Calls) -> str | None:
    if part.remote is None:
        return "missing on the target"
    ref = part.remote
    try:
        seen = calls("reads", lambda: adapter.read_post(ref))
    except RunStopped:
        raise
    except TargetError as exc:
        return f"could not be read back ({exc.one_line().rstrip('.')})"
    if seen is None:
        return "missing on the target"
    if seen.get("text", part.text).strip() != part.text.strip():
        return "text differs"
    if "media" in seen:
        sent = sum(1 for m in journal.media(part.post_id) if m.idx in part.media and m.state == J.UPLOADED)
        if seen["media"] != sent:
            return f"{seen['media']} of its {sent} pictures/videos are there"
    return None


def published_posts(journal: Journal) -> tuple[list[PartRow], list[str]]:
    """The published parts (oldest first) and the ids of their posts: what a rollback deletes."""
    parts = list(journal.all_parts(J.POSTED))
    return parts, sorted({p.post_id for p in parts})


def rollback(adapter: Adapter, journal: Journal, *, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.time) -> RollbackResult:
    """Delete every published part, replies before the posts they answer, and read each back.

    A part read back as gone is recorded as deleted; a post whose parts are all gone goes back
    to planned with nothing remote kept. Anything else stays published in the journal. A target
    that cannot delete at all (the Cara kit, published by hand) raises its own PindahError."""
    calls = _Calls(adapter, journal, sleep, clock)
    result = RollbackResult()
    parts, posts = published_posts(journal)
    kept: set[str] = set()
    for part in reversed(parts):
        if result.stopped is not None:
            kept.add(part.post_id)
            continue
        problem = _delete(adapter, part, calls, result)
        if problem is None:
            journal.part_deleted(part.post_id, part.idx)
        else:
            kept.add(part.post_id)
            if result.stopped is None:
                result.still_there.append(Difference(part.post_id, part.idx, problem))
    for post_id in posts:
        if post_id not in kept:
            journal.forget_remote(post_id)
            result.deleted.append(post_id)
    return result


def _delete(adapter: Adapter, part: PartRow, calls: _Calls, result: RollbackResult) -> str | None:
    """None when the part is gone from the target (read back), else why it is kept."""
    ref = part.remote
    if ref is None:
        return None  # nothing remote was ever recorded for it
    try:
        calls("deletes", lambda: adapter.delete_post(ref))
    except RunStopped as stop:
        result.stopped = stop
        return stop.one_line()
    except TargetError as exc:  # PostFailed says why (e.g. "the post is still on the server")
        return f"not deleted: {exc.one_line()}"
    try:
        seen = calls("reads", lambda: adapter.read_post(ref))
    except RunStopped as stop:
        result.stopped = stop
        return stop.one_line()
    except TargetError as exc:
        return (f"asked to delete it, but the target could not be asked whether it is gone "
                f"({exc.one_line().rstrip('.')}); run rollback again to check")
    if seen is not None:
        return "the post is still on the target: it was asked to delete it, and still shows it"
    return None

"""One model of a target's rate budgets, used both to pace a run and to estimate its duration.

A `RateBudget` says "at most N calls of this class in any W seconds". Remote operations are
classed as "media" (uploads), "posts" (creates) and "deletes"; a budget named "requests"
covers every call. Calls are logged in the journal, so a daily budget spent yesterday evening
still counts this morning, across runs.

When the next call would have to wait longer than `max_wait`, the run stops cleanly with the
time at which `pindah migrate` can continue, instead of sleeping for hours in silence.
"""

from __future__ import annotations

import math
import time
from collections import deque
from datetime import datetime, timezone
from typing import Callable, Iterable, Protocol

from pindah.adapters.contract import RateBudget

from .errors import RunStopped

OPERATIONS = ("media", "posts", "deletes")
ALL_CALLS = "requests"


class CallLog(Protocol):
    def record_call(self, budget: str, at: float) -> None: ...
    def calls_since(self, budget: str, since: float) -> list[float]: ...


def applies(budget: RateBudget, operation: str) -> bool:
    return budget.name == operation or budget.name == ALL_CALLS


class Pacer:
    """Waits before a call when a budget is spent; stops the run when the wait is too long."""

    def __init__(self, budgets: Iterable[RateBudget], log: CallLog | None = None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = 3600.0, on_wait: Callable[[float, str], None] | None = None) -> None:
        self.budgets = tuple(budgets)
        self.log = log
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.on_wait = on_wait
        now = clock()
        # One history per budget: an hourly and a daily budget of the same name each count.
        self._history: dict[RateBudget, deque[float]] = {
            b: deque(log.calls_since(b.name, now - b.window) if log else []) for b in self.budgets}

    def acquire(self, operation: str) -> None:
        """Block until `operation` may run under every budget that covers it, then count it."""
        while True:
            wait, budget = self._wait_needed(operation)
            if wait <= 0:
                break
            if wait > self.max_wait:
                resume = datetime.fromtimestamp(self.clock() + wait, tz=timezone.utc)
                raise RunStopped(
                    f"the target's limit of {budget.describe()} is used up until "
                    f"{resume.astimezone().strftime('%Y-%m-%d %H:%M')}",
                    "run the same command again after that time; everything done so far is kept",
                    resume_at=resume)
            if self.on_wait:
                self.on_wait(wait, budget.describe())
            self.sleep(wait)
        now = self.clock()
        logged: set[str] = set()
        for b in self.budgets:
            if applies(b, operation):
                self._history[b].append(now)
                if self.log and b.name not in logged:  # the log is per name: one row per call
                    self.log.record_call(b.name, now)
                    logged.add(b.name)

    def wait_until(self, moment: float, reason: str) -> None:
        """The server said "not before `moment`" (429, reset header): wait or stop."""
        wait = moment - self.clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            resume = datetime.fromtimestamp(moment, tz=timezone.utc)
            raise RunStopped(f"the target asks pindah to wait until "
                             f"{resume.astimezone().strftime('%Y-%m-%d %H:%M')} ({reason})",
                             "run the same command again after that time; everything done so far is kept",
                             resume_at=resume)
        if self.on_wait:
            self.on_wait(wait, reason)
        self.sleep(wait)

    def _wait_needed(self, operation: str) -> tuple[float, RateBudget]:
        now = self.clock()
        worst: tuple[float, RateBudget | None] = (0.0, None)
        for b in self.budgets:
            if not applies(b, operation):
                continue
            history = self._history[b]
            while history and history[0] <= now - b.window:
                history.popleft()
            if len(history) >= b.limit:
                wait = history[len(history) - b.limit] + b.window - now
                if wait > worst[0]:
                    worst = (wait, b)
        return worst[0], worst[1]  # type: ignore[return-value]


def estimate_seconds(budgets: Iterable[RateBudget], counts: dict[str, int], *,
                     call_seconds: float = 0.0, used: dict[str, int] | None = None) -> float:
    """How long `counts` calls per operation take under the budgets (ignoring failures).

    A budget of L calls per W seconds with n calls to make, `u` already used in the current
    window, needs ceil((n + u) / L) - 1 full windows of waiting; the slowest budget decides.
    """
    used = used or {}
    total = sum(counts.values())
    seconds = total * call_seconds
    for b in budgets:
        n = total if b.name == ALL_CALLS else counts.get(b.name, 0)
        if n == 0:
            continue
        windows = math.ceil((n + used.get(b.name, 0)) / b.limit) - 1
        seconds = max(seconds, windows * b.window + min(n, b.limit) * call_seconds)
    return seconds


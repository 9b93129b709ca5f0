"""One model of a target's rate budgets, used both to pace a run and to estimate its duration.

A `RateBudget` says "at most N calls of this class in any W seconds". Remote operations are
classed as "media" (uploads), "posts" (creates) and "deletes"; a budget named "requests"
covers every call. A video upload is "videos": "media" budgets count it too (Tumblr's 150
pictures and videos a day), "videos" budgets count videos alone (its 10 videos a day). Calls are logged in the journal, so a daily budget spent yesterday evening
still counts this morning, across runs.

When the next call would have to wait longer than `max_wait`, the run stops cleanly with the
time at which `pindah migrate` can continue, instead of sleeping for hours in silence.

The budgets an adapter declares are its platform's defaults; a server may be configured
otherwise. Its answers say so (`X-RateLimit-Limit` / `-Remaining` / `-Reset`): the HTTP layer
reports each answer's figures, `Pacer.observe` paces by them (a spent budget waits for its
reset *before* the call, not after a 429), and `ServerLimits` keeps them for estimates, so a
dry run's own requests give the time a run will really take.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Protocol

from pindah.adapters.contract import RateBudget

from .errors import RunStopped

OPERATIONS = ("media", "videos", "posts", "deletes")
ALL_CALLS = "requests"


class CallLog(Protocol):
    def record_call(self, budget: str, at: float) -> None: ...
    def calls_since(self, budget: str, since: float) -> list[float]: ...


def applies(budget: RateBudget, operation: str) -> bool:
    return _covers(budget.name, operation)


@dataclass
class Observed:
    """What the server last said about one budget: `reset_at` is on the pacer's clock (epoch
    seconds); `spent` counts the calls paced since, which the server has not yet reported."""

    limit: int | None
    remaining: int | None
    reset_at: float | None
    spent: int = 0

    def left(self, now: float) -> int | None:
        """Calls still allowed before the reset, or None when the figures no longer hold."""
        if self.remaining is None or self.reset_at is None or now >= self.reset_at:
            return None  # past the reset the window is new: the declared budgets decide
        return self.remaining - self.spent


class ServerLimits:
    """The latest rate-limit figures a server gave, per budget name; an HTTP layer observer.

    `report` takes anything with `family`, `limit`, `remaining` and `reset_at` (the toolkit's
    `RateReport`); `observe` takes the figures themselves."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.latest: dict[str, Observed] = {}

    def observe(self, budget: str, limit: int | None, remaining: int | None, reset_at: float | None) -> None:
        self.latest[budget] = Observed(limit, remaining, reset_at)

    def report(self, report: Any) -> None:
        self.observe(report.family, report.limit, report.remaining, report.reset_at)

    def budgets(self, declared: Iterable[RateBudget]) -> tuple[RateBudget, ...]:
        """The declared budgets, with the server's own limit where it stated one (the window is
        the declared one: headers don't say how long a window is, only when this one ends)."""
        out = []
        for b in declared:
            seen = self.latest.get(b.name)
            out.append(replace(b, limit=seen.limit) if seen and seen.limit and seen.limit > 0 else b)
        return tuple(out)

    def used(self) -> dict[str, int]:
        """Calls already counted in each budget's current window, by the server's own count."""
        now = self.clock()
        return {name: max(0, o.limit - o.remaining) for name, o in self.latest.items()
                if o.limit is not None and o.remaining is not None and o.reset_at is not None and now < o.reset_at}

    def resets_in(self) -> dict[str, float]:
        now = self.clock()
        return {name: o.reset_at - now for name, o in self.latest.items() if o.reset_at is not None and now < o.reset_at}


class Pacer:
    """Waits before a call when a budget is spent; stops the run when the wait is too long.

    Two sources say a budget is spent: the calls logged against the declared budgets, and the
    server's own figures (`observe`), whichever asks for the longer wait."""

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
        self.server = ServerLimits(clock)

    def observe(self, budget: str, limit: int | None, remaining: int | None, reset_at: float | None) -> None:
        """The server's figures for `budget` ("requests", "posts", "media", "deletes"), from
        an answer's X-RateLimit-Limit / -Remaining / -Reset; `reset_at` in epoch seconds on
        this pacer's clock. Later calls wait for the reset once `remaining` is used up."""
        self.server.observe(budget, limit, remaining, reset_at)

    def report(self, report: Any) -> None:
        """`observe` for an HTTP layer observer (anything with family/limit/remaining/reset_at)."""
        self.server.report(report)

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
        for name, seen in self.server.latest.items():
            if _covers(name, operation):
                seen.spent += 1  # the server counts it too; its next answer says so exactly
        logged: set[str] = set()
        for b in self.budgets:
            if applies(b, operation):
                self._history[b].append(now)
                if self.log and b.name not in logged:  # the log is per name: one row per call
                    self.log.record_call(b.name, now)
                    logged.add(b.name)

    def ready(self, operation: str) -> bool:
        """Could `operation` run now without waiting (nothing counted: `acquire` counts)?"""
        return self._wait_needed(operation)[0] <= 0

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
            if b.limit <= 0:  # nothing allowed now (a service's "0 videos left today"): a window on
                wait = b.window
            elif len(history) >= b.limit:
                wait = history[len(history) - b.limit] + b.window - now
            else:
                continue
            if wait > worst[0]:
                worst = (wait, b)
        for name, seen in self.server.latest.items():
            left = seen.left(now)
            if _covers(name, operation) and left is not None and left <= 0 and seen.reset_at is not None:
                wait = seen.reset_at - now
                if wait > worst[0]:
                    # Named with the server's limit and the declared window ("15 requests per 5 min").
                    window = next((b.window for b in self.budgets if b.name == name), wait)
                    worst = (wait, RateBudget(name, seen.limit or 0, window))
        return worst[0], worst[1]  # type: ignore[return-value]


def watch_rates(adapter: Any, observer: Callable[[Any], None]) -> bool:
    """Have `observer` told the rate figures of every answer the adapter gets. Adapters list
    their HTTP layer's observers in `rate_observers`; one without it gives no figures (False)."""
    observers = getattr(adapter, "rate_observers", None)
    if not isinstance(observers, list):
        return False
    observers.append(observer)
    return True


def _covers(name: str, operation: str) -> bool:
    return name == operation or name == ALL_CALLS or (operation == "videos" and name == "media")


def estimate_seconds(budgets: Iterable[RateBudget], counts: dict[str, int], *,
                     call_seconds: float = 0.0, used: dict[str, int] | None = None,
                     resets_in: dict[str, float] | None = None) -> float:
    """How long `counts` calls per operation take under the budgets (ignoring failures).

    A budget of L calls per W seconds with n calls to make, `u` already used in the current
    window, needs ceil((n + u) / L) - 1 windows of waiting; the first of them ends when the
    server said it resets (`resets_in`), when it said so. The slowest budget decides.
    """
    used = used or {}
    resets_in = resets_in or {}
    # counts["media"] holds every upload, videos included; counts["videos"] the videos among them.
    total = sum(n for name, n in counts.items() if name != "videos")
    seconds = total * call_seconds
    for b in budgets:
        n = total if b.name == ALL_CALLS else counts.get(b.name, 0)
        if n == 0:
            continue
        limit = max(1, b.limit)  # a budget spent for now ("0 left today") still lets one through a window
        windows = math.ceil((n + used.get(b.name, 0)) / limit) - 1 + (b.limit <= 0)
        waiting = 0.0 if windows <= 0 else min(resets_in.get(b.name, b.window), b.window) + (windows - 1) * b.window
        seconds = max(seconds, waiting + min(n, limit) * call_seconds)
    return seconds


def estimate_with(limits: ServerLimits | None, budgets: Iterable[RateBudget], counts: dict[str, int], *,
                  call_seconds: float = 0.0) -> tuple[float, tuple[RateBudget, ...]]:
    """The estimate under the server's own figures where it gave them (else the declared
    budgets), and the budgets it was made with (what the report names as the limits)."""
    if limits is None or not limits.latest:
        budgets = tuple(budgets)
        return estimate_seconds(budgets, counts, call_seconds=call_seconds), budgets
    effective = limits.budgets(budgets)
    return estimate_seconds(effective, counts, call_seconds=call_seconds, used=limits.used(),
                            resets_in=limits.resets_in()), effective


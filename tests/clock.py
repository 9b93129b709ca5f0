"""A fake clock for pacing and token-expiry tests: `sleep` moves time on and is recorded."""

from __future__ import annotations


class Clock:
    """Callable like `time.time`; `sleep(s)` adds `s` to `now` and to `slept`."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

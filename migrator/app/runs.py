"""Runs started from the app: the same engine as `pindah migrate`, in a background thread.

One run goes through the chosen targets one after the other, exactly as the CLI does:
`make_plans` (with the artist's choices), `engine.migrate` (journal, lock, pacer, retries).
Closing the browser does not stop it; the page follows it through `snapshot()` (sent as
Server-Sent Events). "Stop" is a clean stop: the post being sent is finished, then the
runner stops (`RunStopped`, as a daily limit would) with the journal consistent. When a target's
daily budget is spent, the run waits until the time the target gave and goes on by itself.

The session remembers that a run is going; an app killed mid-run continues it when started
again, and the journal makes sure nothing is published twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from pindah.adapters.contract import Capabilities

from ..commands import _plan_options
from ..engine import Selection, make_plans, migrate, target_label
from ..errors import PindahError, RunStopped
from ..planner import PostPlan
from ..ratelimit import estimate_seconds
from ..rights_setup import rights_for_run
from .workspace import Workspace


class StoppedByYou(RunStopped):
    """The artist pressed Stop."""


@dataclass
class TargetProgress:
    spec: str
    label: str = ""
    state: str = "waiting"  # waiting | preparing | running | limit | done | stopped | error
    total: int = 0
    done: int = 0
    current: str | None = None  # the post being published
    current_media: int = 0  # how many pictures it has (its thumbnail is /thumb/<id>/0)
    eta_seconds: float | None = None
    published: int = 0
    found: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    message: str = ""
    resume_at: str | None = None


class _AppProgress:
    """The runner's Progress protocol, written into a TargetProgress the page reads."""

    def __init__(self, tp: TargetProgress, plans: list[PostPlan], stop: threading.Event,
                 changed: Callable[[], None], caps: Capabilities | None = None) -> None:
        self.tp, self.plans, self.stop, self.changed = tp, plans, stop, changed
        self.caps = caps
        self.started = time.monotonic()

    def _under_limits(self, left: int) -> float:
        """How long the posts left take under the target's own budgets (what `plan` says)."""
        if self.caps is None or not left:
            return 0.0
        rest = self.plans[len(self.plans) - left:]
        counts = {"posts": sum(len(p.parts) for p in rest), "media": sum(len(part.media) for p in rest for part in p.parts)}
        return estimate_seconds(self.caps.rate_budgets, counts, call_seconds=self.caps.typical_call_seconds)

    def _show_current(self) -> None:
        plan = self.plans[self.tp.done] if self.tp.done < len(self.plans) else None
        self.tp.current = plan.post.id if plan else None
        self.tp.current_media = len(plan.post.media) if plan else 0

    def start(self, total_posts: int, total_media: int) -> None:
        self.tp.total, self.tp.done, self.tp.state = total_posts, 0, "running"
        self._show_current()
        self.changed()

    def post_done(self, media_count: int) -> None:
        self.tp.done += 1
        elapsed = time.monotonic() - self.started
        left = self.tp.total - self.tp.done
        # The pace so far, or the target's limits when they are slower (a daily budget).
        seen = elapsed / self.tp.done * left if self.tp.done else 0.0
        self.tp.eta_seconds = max(seen, self._under_limits(left)) or None
        self._show_current()
        self.changed()
        if self.stop.is_set() and left:
            raise StoppedByYou("stopped by you", "press Continue to carry on where it stopped")

    def note(self, text: str) -> None:
        self.tp.message = text
        self.changed()


class RunManager:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.targets: list[TargetProgress] = []
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()
        self.version = 0
        self.error: str | None = None

    def _changed(self) -> None:
        self.version += 1

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        specs, paths = list(self.ws.session.targets), list(self.ws.session.export)
        if not specs or not paths:
            raise PindahError("choose your export and at least one place first")
        self.stop_event.clear()
        self.error = None
        self.targets = [TargetProgress(spec) for spec in specs]
        self.ws.session.running = True
        self.ws.session.save()
        self.thread = threading.Thread(target=self._run, args=(paths,), name="pindah-app-run", daemon=True)
        self.thread.start()
        self._changed()

    def stop(self) -> None:
        self.stop_event.set()
        self._changed()

    def _run(self, paths: list[str]) -> None:
        stamp = rights_for_run(self.ws.config, interactive=False).stamp()
        options = _plan_options(self.ws.config)
        user_stopped = False
        try:
            with self.ws.open_export(paths) as exp:
                for tp in self.targets:
                    if self.stop_event.is_set():
                        tp.state = "stopped"
                        continue
                    self._one_target(exp, tp, options, stamp)
        except PindahError as exc:
            self.error = exc.one_line()
        except Exception as exc:  # noqa: BLE001 - shown on the page, never a dead thread
            self.error = f"unexpected error: {type(exc).__name__} (this is a bug in pindah)"
        finally:
            user_stopped = self.stop_event.is_set()
            finished = not user_stopped and all(t.state == "done" for t in self.targets)
            # A run stopped by you or ended stays "not running"; a crash of the app itself never
            # reaches this line, so the next start continues.
            self.ws.session.running = False if (finished or user_stopped or self.error) else self.ws.session.running
            self.ws.session.save()
            self._changed()

    def _one_target(self, exp: Any, tp: TargetProgress, options: Any, stamp: Any) -> None:
        tp.state = "preparing"
        self._changed()
        try:
            adapter = self.ws.adapter(tp.spec)
            adapter.prepare(interactive=False)
            tp.label = target_label(adapter)
            while True:
                plans = make_plans(exp, adapter, Selection(), options)
                progress = _AppProgress(tp, plans, self.stop_event, self._changed, adapter.caps)
                outcome, _ = migrate(exp, adapter, plans, progress=progress, stamp=stamp)
                tp.published += len(outcome.posted)
                tp.found += len(outcome.found)
                tp.failed.update(outcome.failed)
                stopped = outcome.stopped
                if isinstance(stopped, StoppedByYou) or outcome.interrupted:
                    tp.state, tp.current = "stopped", None
                    return
                if stopped is not None and stopped.resume_at is not None and not self.stop_event.is_set():
                    tp.state, tp.resume_at = "limit", stopped.resume_at.isoformat()
                    self._changed()
                    wait = (stopped.resume_at - datetime.now(timezone.utc)).total_seconds()
                    if self.stop_event.wait(max(1.0, wait)):
                        tp.state = "stopped"
                        return
                    continue  # the target's limit is over: go on by itself
                if stopped is not None:
                    tp.state, tp.message = "error", stopped.one_line()
                    return
                tp.state, tp.current, tp.eta_seconds = "done", None, 0
                return
        except PindahError as exc:
            tp.state, tp.message = "error", exc.one_line()

    def snapshot(self) -> dict[str, Any]:
        return {"version": self.version, "running": self.running, "error": self.error,
                "targets": [asdict(t) for t in self.targets]}

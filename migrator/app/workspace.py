"""The app's working state: settings, the chosen export (opened once), targets and their journals.

Everything here is read from the same places the CLI reads: the config file, the journals
(read with the lock-free `peek_*` reads, so pages draw while a run holds the lock) and the
artist's stored choices (`edits.py`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pindah.adapters.contract import Adapter

from .. import journal as J
from ..cli_support import parse_include
from ..config import html_timezone, setting
from ..engine import export_fingerprint
from ..errors import PindahError
from ..sources import Export, read_export
from ..summary import Summary, summarise
from ..targets import make_target, parse_target
from .edits import Edits, load_edits, save_edits
from .session import Session


@dataclass
class TargetState:
    """What the journal says of one target for the chosen export."""

    spec: str
    journal: Path | None
    counts: dict[str, int]
    failed: dict[str, str]  # post id -> reason

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Workspace:
    def __init__(self, config: dict[str, Any], config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.session = Session.load()
        self._export: Export | None = None
        self._export_for: list[str] = []
        self._lock = threading.Lock()

    # -- the export ----------------------------------------------------------------------------
    def kinds(self) -> Any:
        return parse_include(setting(self.config, "source", "include", ""))

    def open_export(self, paths: list[str]) -> Export:
        return read_export([Path(p) for p in paths], self.kinds(), html_timezone=html_timezone(self.config))

    def export(self) -> Export | None:
        """The chosen export, read once and kept open (None before one is chosen)."""
        with self._lock:
            if not self.session.export:
                return None
            if self._export is None or self._export_for != self.session.export:
                if self._export is not None:
                    self._export.close()
                self._export = self.open_export(self.session.export)
                self._export_for = list(self.session.export)
            return self._export

    def choose_export(self, paths: list[str]) -> Export:
        """Read `paths` as an export (raising PindahError with the reason if it is not one)."""
        candidate = self.open_export(paths)
        with self._lock:
            if self._export is not None:
                self._export.close()
            self._export, self._export_for = candidate, list(paths)
            self.session.export = list(paths)
            self.session.save()
        return candidate

    def summary(self) -> Summary | None:
        exp = self.export()
        return summarise(exp, [k.value for k in self.kinds()]) if exp else None

    def fingerprint(self) -> str:
        exp = self.export()
        if exp is None:
            raise PindahError("no export chosen yet", "choose your Instagram download first")
        return export_fingerprint(exp)

    def edits(self) -> Edits:
        return load_edits(self.fingerprint())

    def save_edits(self, edits: Edits) -> None:
        save_edits(self.fingerprint(), edits)

    # -- targets -------------------------------------------------------------------------------
    def adapter(self, spec: str) -> Adapter:
        return make_target(spec, self.config)

    def target_state(self, spec: str) -> TargetState:
        name, location = parse_target(spec)
        fingerprint = self.fingerprint()
        for path in J.journals_for(name):
            if path.stem != fingerprint:
                continue
            meta = J.peek_meta(path)
            if location and meta.get("location") not in (location, location.lstrip("@")):
                continue
            counts: dict[str, int] = {}
            failed: dict[str, str] = {}
            for post_id, (state, reason) in J.peek_post_states(path).items():
                counts[state] = counts.get(state, 0) + 1
                if state == J.FAILED:
                    failed[post_id] = reason or ""
            return TargetState(spec, path, counts, failed)
        return TargetState(spec, None, {}, {})

    def close(self) -> None:
        with self._lock:
            if self._export is not None:
                self._export.close()
                self._export = None

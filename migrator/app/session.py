"""What the app remembers between launches: the export chosen and the targets set up.

A small JSON file in pindah's state folder (`app/session.json`, 0600). It holds paths and
target names (`folder:/home/rina/site`, `bluesky:rina.example`), never a password or token:
logins live in each adapter's own token store. Killing the app and starting it again brings
the artist back to the same export and targets; the state of each post comes from the journal.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pindah.adapters.toolkit.paths import state_dir


@dataclass
class Session:
    export: list[str] = field(default_factory=list)  # one path, or the parts of a split download
    targets: list[str] = field(default_factory=list)  # --to specs
    running: bool = False  # a run was going when the app last wrote this: continue it on start

    @staticmethod
    def path() -> Path:
        return state_dir() / "app" / "session.json"

    @classmethod
    def load(cls) -> "Session":
        try:
            raw = json.loads(cls.path().read_text(encoding="utf-8"))
            return cls([str(p) for p in raw.get("export", [])], [str(t) for t in raw.get("targets", [])],
                       bool(raw.get("running", False)))
        except (OSError, ValueError, AttributeError):
            return cls()

    def save(self) -> None:
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".session.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, ensure_ascii=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def add_target(self, spec: str) -> None:
        if spec not in self.targets:
            self.targets.append(spec)

    def remove_target(self, spec: str) -> None:
        self.targets = [t for t in self.targets if t != spec]

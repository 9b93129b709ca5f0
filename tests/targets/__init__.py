"""Target fixtures: how the tests reach every registered adapter's own server.

For each adapter name in `pindah.migrator.targets.available()` there is one module here,
`tests/targets/<name>.py`, holding `VARIANTS`: the servers that adapter is tried against (the
Mastodon-API adapter has three simulated flavours, and a real server where one is installed).
A variant opens a `TargetUnderTest`: the `--to` spec, the environment the CLI needs (credentials),
and a reader that reads back what the target holds.

Any test that takes the `target` fixture (tests/conftest.py) runs once per variant, with the
variant's marks: the conformance suite, the kill/resume runs and the secrets run. A new target
adds its module here and nothing else; an adapter without one gets a failing test
("no conformance fixture for target X"), so no target can be added without one.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pindah.adapters.contract import Capabilities
from pindah.migrator import targets
from tests.chaos_support import Published
from tests.faultproxy import FaultProxy


@dataclass
class TargetUnderTest:
    """One adapter on one server, ready for the CLI (`spec`, `env`) and read back (`read`)."""

    adapter: str  # the registry name
    spec: str  # the --to value
    env: dict[str, str]  # what the CLI needs besides the common test environment (credentials)
    read: Callable[[], list[Published]]  # every post/part the target holds, read from the target
    caps: Capabilities  # what pindah plans with for this server
    files: Callable[[], dict[str, bytes]] | None = None  # every file it keeps (default: read()'s media)
    secrets: list[str] = field(default_factory=list)  # credentials that must never leak
    keeps_bytes: bool = True  # serves the files as sent (so their metadata can be checked)
    deletes: bool = True  # False: the server cannot delete (snac answers 404 and keeps the post)
    wire: FaultProxy | None = None  # the proxy in front of a remote server: its log, and inject()
    create_path: str = ""  # the path of the create request, for inject()

    @property
    def manual(self) -> bool:
        """Published by hand from what pindah prepared (the Cara kit)."""
        return self.caps.published_by_hand

    def stored_files(self) -> dict[str, bytes]:
        if self.files is not None:
            return self.files()
        return {f"{item.id} file {n + 1}": data for item in self.read() for n, data in enumerate(item.media)}

    def snapshot(self) -> tuple[Any, ...]:
        """All the target holds, and the writes its server saw: equal before and after a no-op."""
        posts = sorted((p.id, p.text, p.parent) for p in self.read())
        files = sorted((name, hashlib.sha256(data).hexdigest()) for name, data in self.stored_files().items())
        return posts, files, self.writes()

    def writes(self) -> list[str]:
        """Every request that could change the remote side (anything but GET and logins)."""
        if self.wire is None:
            return []
        return [f"{s.method} {s.path}" for s in self.wire.log
                if s.method != "GET" and not s.path.endswith(("createSession", "refreshSession", "/oauth/token"))]

    @contextmanager
    def inject(self, status: int, body: dict[str, Any]) -> Iterator[None]:
        """While inside, the server's every create request is answered `status` (not forwarded)."""
        if self.wire is None:
            pytest.skip(f"{self.spec}: this fixture cannot make its target answer {status}")
        rule = self.wire.rule
        self.wire.rule = lambda method, path, data, count: (status, body) if path == self.create_path else None
        try:
            yield
        finally:
            self.wire.rule = rule


Opener = Callable[[pytest.FixtureRequest, Path], AbstractContextManager[TargetUnderTest]]


@dataclass(frozen=True)
class Variant:
    """One server an adapter is tried against, with the pytest marks its tests carry."""

    id: str  # the test id, e.g. "mastodon-pixelfed"
    adapter: str
    open: Opener | None  # None: the adapter has no fixture module (the test fails, saying so)
    marks: tuple[pytest.MarkDecorator, ...] = ()


def variants() -> list[Variant]:
    """Every registered adapter's variants; an adapter without a module gets one that fails."""
    found: list[Variant] = []
    for name in targets.available():
        try:
            module = importlib.import_module(f"tests.targets.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.targets.{name}":
                raise
            found.append(Variant(name, name, None))
            continue
        found += [v for v in module.VARIANTS if v.adapter == name]
    return found


def params() -> list[Any]:
    return [pytest.param(v, id=v.id, marks=v.marks) for v in variants()]


def open_variant(variant: Variant, request: pytest.FixtureRequest, tmp: Path) -> AbstractContextManager[TargetUnderTest]:
    if variant.open is None:
        pytest.fail(f"no conformance fixture for target {variant.adapter}: add tests/targets/{variant.adapter}.py "
                    "(see tests/targets/__init__.py)", pytrace=False)
    return variant.open(request, tmp)


def files_in(root: Path) -> dict[str, bytes]:
    """Every file under a folder target, by its path inside it."""
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()} \
        if root.exists() else {}


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """os.environ with `values` set, restored after (an adapter reads its settings from there)."""
    import os

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

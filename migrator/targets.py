"""The target registry: built-in adapters listed here, third-party ones from entry points.

`--to NAME[:LOCATION]` picks one (`folder:./site`, `bluesky:alice.example`,
`mastodon:https://example.social`). A plain `--to folder` uses the adapter's default location.

Built-ins are named by import path and loaded on first use, so the core never imports a
specific adapter (import-linter holds it to that). Third-party adapters register in the
versioned entry-point group `pindah.adapters.v1`. An adapter that fails to load is never
silently dropped: `broken()` keeps why, and `pindah targets` shows it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from pindah.adapters.contract import Adapter

from .errors import PindahError

GROUP = "pindah.adapters.v1"

BUILT_IN: dict[str, str] = {
    "folder": "pindah.adapters.folder:FolderAdapter",
    "cara": "pindah.adapters.cara:CaraAdapter",
    "bluesky": "pindah.adapters.bluesky:BlueskyAdapter",
    "mastodon": "pindah.adapters.mastodon:MastodonAdapter",
    "deviantart": "pindah.adapters.deviantart:DeviantArtAdapter",
    "tumblr": "pindah.adapters.tumblr:TumblrAdapter",
}

# The built-ins whose `Adapter.commands()` adds commands to `pindah` (none yet): only these are
# imported to list commands. tests/test_cli_startup.py holds it equal to what they offer.
BUILT_IN_WITH_COMMANDS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BrokenAdapter:
    """An adapter that is registered but could not be loaded, and why."""

    name: str
    origin: str  # "built-in" or the distribution that registered it
    reason: str


_loaded: dict[str, type[Adapter]] | None = None
_broken: list[BrokenAdapter] = []


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def _check(name: str, obj: Any) -> type[Adapter]:
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        raise TypeError(f"{obj!r} is not a pindah Adapter class")
    return obj


def _discover() -> tuple[dict[str, type[Adapter]], list[BrokenAdapter]]:
    found: dict[str, type[Adapter]] = {}
    broken: list[BrokenAdapter] = []
    for name, path in BUILT_IN.items():
        try:
            found[name] = _check(name, _load(path))
        except Exception as exc:  # noqa: BLE001 - reported, never fatal for the other targets
            broken.append(BrokenAdapter(name, "built-in", f"{type(exc).__name__}: {exc}"))
    third_party, failed = _third_party(set(found))
    return dict(sorted({**found, **third_party}.items())), broken + failed


def _third_party(built_in: set[str]) -> tuple[dict[str, type[Adapter]], list[BrokenAdapter]]:
    """The adapters other packages register (`GROUP`); one named like a built-in is refused."""
    from importlib.metadata import entry_points  # start-up time: only when third parties are asked for

    found: dict[str, type[Adapter]] = {}
    broken: list[BrokenAdapter] = []
    for ep in entry_points(group=GROUP):
        origin = ep.dist.name if ep.dist else "an installed package"
        if ep.name in built_in:
            broken.append(BrokenAdapter(ep.name, origin, "a target of that name is already built in"))
            continue
        try:
            found[ep.name] = _check(ep.name, ep.load())
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break pindah
            broken.append(BrokenAdapter(ep.name, origin, f"{type(exc).__name__}: {exc}"))
    return found, broken


def available() -> dict[str, type[Adapter]]:
    """Every adapter that loaded, by name (loaded once per process)."""
    global _loaded, _broken
    if _loaded is None:
        _loaded, _broken = _discover()
    return dict(_loaded)


def broken() -> list[BrokenAdapter]:
    """Adapters that are registered but failed to load, with the reason."""
    available()
    return list(_broken)


def command_adapters() -> dict[str, type[Adapter]]:
    """The adapters that may add commands (`Adapter.commands()`): the built-ins named in
    `BUILT_IN_WITH_COMMANDS` and every third-party one. Listing pindah's commands (`pindah
    --help`) so loads no other target (start-up time)."""
    if _loaded is not None:
        return available()
    found: dict[str, type[Adapter]] = {}
    for name in sorted(BUILT_IN_WITH_COMMANDS):
        found.update(_built_in(name))
    return dict(sorted({**found, **_third_party(set(BUILT_IN))[0]}.items()))


def _built_in(name: str) -> dict[str, type[Adapter]]:
    """Only the built-in adapter `name` (`{}` if it fails to load; `broken()` then says why): a
    run to one target imports no other target's code (start-up time)."""
    try:
        return {name: _check(name, _load(BUILT_IN[name]))}
    except Exception:  # noqa: BLE001 - make_target reports it through broken(), as for available()
        return {}


def parse_target(spec: str) -> tuple[str, str | None]:
    name, sep, location = spec.partition(":")
    return name.strip().lower(), (location.strip() or None) if sep else None


def make_target(spec: str, config: dict[str, Any], **extra: Any) -> Adapter:
    """The adapter `spec` names, with its `[targets.<name>]` settings. `extra`: keywords its
    constructor takes beyond the contract's (the app hands an OAuth target its `io=LoginIO`)."""
    name, location = parse_target(spec)
    adapters = available() if _loaded is not None or name not in BUILT_IN else _built_in(name)
    if name not in adapters:
        failed = next((b for b in broken() if b.name == name), None)
        if failed:
            raise PindahError(f"the {name} target could not be loaded ({failed.reason})",
                              "reinstall pindah, or the package that provides it")
        raise PindahError(f"unknown target {name!r}",
                          f"choose one of: {', '.join(adapters) or 'none installed'} (see `pindah targets`)")
    section = config.get("targets", {}).get(name, {}) if isinstance(config.get("targets"), dict) else {}
    return adapters[name](location, section if isinstance(section, dict) else {}, **extra)


def slug(text: str) -> str:
    """A file-name-safe form of a target/account name, for journal paths."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "target"

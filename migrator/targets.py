"""Finding targets: adapters registered in the `pindah.adapters` entry-point group.

`--to NAME[:LOCATION]` picks one (`folder:./site`, `bluesky:alice.example`,
`mastodon:https://example.social`). A plain `--to folder` uses the adapter's default location.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import Any

from adapters.base import Adapter

from .errors import PindahError

GROUP = "pindah.adapters"


def available() -> dict[str, type[Adapter]]:
    """Every installed adapter by name. A broken third-party adapter is left out, not fatal."""
    found: dict[str, type[Adapter]] = {}
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception:  # noqa: BLE001 - one broken plugin must not break pindah
            continue
        if isinstance(cls, type) and issubclass(cls, Adapter):
            found[getattr(cls, "name", ep.name)] = cls
    return dict(sorted(found.items()))


def parse_target(spec: str) -> tuple[str, str | None]:
    name, sep, location = spec.partition(":")
    return name.strip().lower(), (location.strip() or None) if sep else None


def make_target(spec: str, config: dict[str, Any]) -> Adapter:
    name, location = parse_target(spec)
    adapters = available()
    if name not in adapters:
        raise PindahError(f"unknown target {name!r}",
                          f"choose one of: {', '.join(adapters) or 'none installed'} (see `pindah targets`)")
    section = config.get("targets", {}).get(name, {}) if isinstance(config.get("targets"), dict) else {}
    return adapters[name](location, section if isinstance(section, dict) else {})


def slug(text: str) -> str:
    """A file-name-safe form of a target/account name, for journal paths."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "target"

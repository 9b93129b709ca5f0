"""Small helpers shared by the command modules."""

from __future__ import annotations

import click

from .model import INCLUDE_NAMES, PostKind


def parse_include(value: str | None) -> list[PostKind]:
    """`--include reels,stories` -> [POST, REEL, STORY]; feed posts are always included."""
    kinds = [PostKind.POST]
    for name in (value or "").replace(" ", "").split(","):
        if not name:
            continue
        if name == "all":
            return list(dict.fromkeys([PostKind.POST, *INCLUDE_NAMES.values()]))
        if name not in INCLUDE_NAMES:
            raise click.BadParameter(
                f"unknown kind {name!r}; choose from {', '.join(INCLUDE_NAMES)} or all", param_hint="--include")
        kinds.append(INCLUDE_NAMES[name])
    return list(dict.fromkeys(kinds))

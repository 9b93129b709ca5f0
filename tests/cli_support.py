"""What CLI tests share: a `pindah` group built from chosen command sets, and a test target
registered beside the built-in ones."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click
import pytest
from click.testing import CliRunner, Result

from pindah.adapters.contract import Adapter
from pindah.migrator import targets
from pindah.migrator.cli import _FriendlyGroup


def pindah_group(*registers: Callable[[click.Group], object]) -> click.Group:
    """A `pindah` command group with the real error handling and only the given command sets."""
    @click.group(cls=_FriendlyGroup)
    @click.pass_context
    def group(ctx: click.Context) -> None:
        ctx.obj = {}

    for register in registers:
        register(group)
    return group


def invoke(group: click.Group, *args: str) -> Result:
    return CliRunner().invoke(group, list(args))


def with_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cls: type[Adapter]) -> None:
    """Private state and cache folders, and `cls` registered under its name."""
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    original, original_commands = targets.available, targets.command_adapters
    monkeypatch.setattr(targets, "available", lambda: {**original(), cls.name: cls})
    monkeypatch.setattr(targets, "command_adapters", lambda: {**original_commands(), cls.name: cls})

"""`pindah login TARGET` and `pindah logout TARGET`, for every target, through the contract.

The CLI names no target: it makes the adapter from TARGET (as `--to` takes it) and calls
`Adapter.login` / `Adapter.logout`. A target that needs no login says so. Target-specific
commands come from each adapter's `Adapter.commands()` (see `add_adapter_commands`).
"""

from __future__ import annotations

from typing import Any, Iterable

import click

from . import targets
from .targets import make_target


@click.command()
@click.argument("target", metavar="TARGET")
@click.option("--token", "use_token", is_flag=True,
              help="Paste a personal access token (made in the server's settings) instead of using the browser.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser: show a code to paste instead.")
@click.pass_obj
def login_command(config: dict[str, Any] | None, target: str, use_token: bool, no_browser: bool) -> None:
    """Log in to a target and keep the login (e.g. mastodon:https://example.social)."""
    click.echo(make_target(target, config or {}).login(paste_token=use_token, browser=not no_browser))


@click.command()
@click.argument("target", metavar="TARGET")
@click.pass_obj
def logout_command(config: dict[str, Any] | None, target: str) -> None:
    """Forget pindah's login to a target, and revoke it where the target allows."""
    for line in make_target(target, config or {}).logout():
        click.echo(line)


PROBLEMS: list[str] = []  # commands adapters offered that were left out, and why (`pindah targets`)


def add_adapter_commands(group: click.Group, taken: Iterable[str] = ()) -> list[str]:
    """Add the commands adapters contribute (`Adapter.commands()`). One that pindah cannot use,
    or whose name is taken (by a command of `group`, or one of `taken`: pindah's own commands
    that are not loaded yet), is left out and said why (returned, and shown by `pindah targets`)
    rather than replacing a command or breaking every other one."""
    reserved = set(taken)
    problems: list[str] = []
    for name, cls in targets.command_adapters().items():
        try:
            offered = list(cls.commands())
        except Exception as exc:  # noqa: BLE001 - one adapter's bug must not break the CLI
            problems.append(f"the {name} target's commands could not be read ({type(exc).__name__}: {exc})")
            continue
        for command in offered:
            if not isinstance(command, click.Command) or not command.name:
                problems.append(f"the {name} target offers a command pindah cannot use ({command!r})")
            elif command.name in group.commands or command.name in reserved:
                problems.append(f"the {name} target's command `{command.name}` is left out: pindah has one of that name")
            else:
                group.add_command(command)
    PROBLEMS.extend(problems)
    return problems


def register(group: click.Group) -> None:
    group.add_command(login_command, "login")
    group.add_command(logout_command, "logout")

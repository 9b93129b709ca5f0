"""The `pindah` command line: thin click commands over the rooms that do the work.

Every error an artist can meet leaves as one line on stderr and a non-zero exit code (2 for
bad input); a traceback is only shown when PINDAH_DEBUG is set.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import default_config_path, load_config
from .errors import PindahError

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in pindah, not the artist's fault


class _FriendlyGroup(click.Group):
    """Turns pindah's errors (and, unless debugging, any crash) into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PindahError as exc:
            raise _LineError(exc.one_line(), exc.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise _LineError("interrupted; nothing is lost: run the same command again to continue", 130) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if os.environ.get("PINDAH_DEBUG"):
                raise
            raise _LineError(
                f"unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                "(this is a bug in pindah; run again with PINDAH_DEBUG=1 and report what it prints)",
                EXIT_INTERNAL,
            ) from None


class _LineError(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Each command's module is imported only when that command runs: `pindah migrate` must not pay
# for Jinja2, BeautifulSoup, Pillow or requests it does not use (start-up time, issue 15). The
# short help is kept here so `pindah --help` lists every command without importing any; a test
# (tests/test_cli_startup.py) holds it equal to each command's own docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("pindah.migrator.inspect_command:inspect_command",
                "Show what is in an Instagram export (ZIP, ZIP parts, folder or instaloader dump)."),
    "plan": ("pindah.migrator.commands:plan_command",
             "Show what a migration would do, without publishing anything (a dry run)."),
    "migrate": ("pindah.migrator.commands:migrate_command",
                "Move an Instagram export to one or more targets. Run it again to continue."),
    "retry-failed": ("pindah.migrator.commands:retry_failed_command",
                     "Try the posts that failed again, then go on with the rest."),
    "targets": ("pindah.migrator.aftercare_commands:targets_command",
                "List the targets pindah can publish to, with what each accepts."),
    "status": ("pindah.migrator.aftercare_commands:status_command",
               "Show, per target, how many posts are done, pending and failed."),
    "verify": ("pindah.migrator.aftercare_commands:verify_command",
               "Read back everything the journal says was published, and report any difference."),
    "rollback": ("pindah.migrator.aftercare_commands:rollback_command",
                 "Delete from the target exactly what pindah published there (asks first)."),
    "mark-posted": ("pindah.migrator.marks:mark_posted_command",
                    "Record what you posted by hand (or skipped), so the kit and `pindah status` know."),
    "login": ("pindah.migrator.account_commands:login_command",
              "Log in to a target and keep the login (e.g. mastodon:https://example.social)."),
    "logout": ("pindah.migrator.account_commands:logout_command",
               "Forget pindah's login to a target, and revoke it where the target allows."),
    "app": ("pindah.migrator.app.command:app_command",
            "Open pindah in your web browser: the whole move, without typing commands."),
    "select": ("pindah.migrator.app.edit_commands:select_command",
               "Choose which posts to publish and edit their captions (the same choices as in `pindah app`)."),
    "alt-text": ("pindah.migrator.app.edit_commands:alt_text_command",
                 "Write descriptions (alt text) for your images, as a CSV file (the same as in `pindah app`)."),
    "check-image": ("pindah.migrator.checkimage:check_image_command",
                    "Show what an image file carries: rights, AI-training opt-out, GPS and camera data."),
    "fetch-profile": ("pindah.migrator.fetch:fetch_profile_command",
                      "Download the Instagram profile USERNAME into DIR/USERNAME with instaloader."),
}
# Commands that show what adapters contributed (and what was left out), so they need the
# adapters' commands collected first.
_SHOWS_ADAPTER_COMMANDS = frozenset({"targets"})


class _LazyGroup(_FriendlyGroup):
    """pindah's own commands from `COMMANDS`, imported on first use (click's LazyGroup pattern),
    then the commands adapters contribute, which never replace one of pindah's own."""

    _adapter_commands_added = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_adapter_commands()
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, _, attr = COMMANDS[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        if cmd_name not in COMMANDS or cmd_name in _SHOWS_ADAPTER_COMMANDS:
            self._add_adapter_commands()  # an adapter's command, or `targets`, which lists them
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the help table, importing no command module."""
        listed = [(name, self.commands.get(name) or click.Command(name, help=COMMANDS[name][1]))
                  for name in self.list_commands(ctx)]
        listed = [(name, command) for name, command in listed if not command.hidden]
        if listed:
            limit = formatter.width - 6 - max(len(name) for name, _ in listed)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in listed])

    def _add_adapter_commands(self) -> None:
        if not self._adapter_commands_added:
            self._adapter_commands_added = True
            # Start-up time: the adapter registry (and its entry points) loads only here.
            from .account_commands import add_adapter_commands

            add_adapter_commands(self, taken=COMMANDS)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pindah")
@click.option("--config", "config_path", type=click.Path(path_type=Path), metavar="FILE",
              help=f"Settings file (default: {default_config_path()}).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """pindah moves your Instagram history to platforms that respect artists."""
    ctx.obj = load_config(config_path)


def main() -> None:
    cli(prog_name="pindah")


if __name__ == "__main__":
    main()

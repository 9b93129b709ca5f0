"""The commands around a migration: targets, status, verify, rollback.

Exit codes as for migrate: 0 done; 1 a difference found, or a post that could not be deleted
(it is still on the target and pindah still knows it); 2 bad input or settings; 3 stopped
early by the target (a limit, a login problem): run the same command again to continue.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import click
from rich.console import Console
from rich.table import Table

from pindah.adapters.contract import Adapter

from . import account_commands, aftercare
from . import journal as J
from .journal import Journal, journals_for
from .ratelimit import estimate_seconds
from .reports import describe_duration
from . import targets
from .targets import make_target, parse_target

EXIT_DIFFERENCES = 1
EXIT_STOPPED = 3


@click.command()
@click.option("--to", "target", metavar="TARGET", help="Only this target.")
def status_command(target: str | None) -> None:
    """Show, per target, how many posts are done, pending and failed."""
    name = parse_target(target)[0] if target else None
    paths = journals_for(name)
    if not paths:
        click.echo("No migrations yet. Start one with `pindah migrate EXPORT --to TARGET`.")
        return
    table = Table("target", "export", "published", "pending", "failed", "skipped", "time left")
    adapters = targets.available()
    for path in paths:
        with Journal.open(path) as journal:
            meta, counts = journal.meta(), journal.counts()
            pending_parts = sum(1 for _ in journal.all_parts(J.PLANNED)) + sum(1 for _ in journal.all_parts(J.POSTING))
        cls = adapters.get(meta.get("target", ""))
        eta = estimate_seconds(cls.capabilities.rate_budgets, {"posts": pending_parts},
                               call_seconds=cls.capabilities.typical_call_seconds) if cls else 0
        left = describe_duration(eta) if counts.get(J.PLANNED) else "done"
        resume = meta.get("resume_at")
        if counts.get(J.PLANNED) and resume and datetime.fromisoformat(resume) > datetime.now(timezone.utc):
            left = f"paused by the target's limit until {datetime.fromisoformat(resume).astimezone():%Y-%m-%d %H:%M}"
        table.add_row(f"{meta.get('target')}:{meta.get('location') or meta.get('account', '')}",
                      meta.get("export", "?"), str(counts.get(J.POSTED, 0)), str(counts.get(J.PLANNED, 0)),
                      str(counts.get(J.FAILED, 0)), str(counts.get(J.SKIPPED, 0)), left)
    Console().print(table)


def _same_place(recorded: str, given: str) -> bool:
    """`bluesky:@Rina.example` and `bluesky:rina.example` name the same account; folders compare
    as resolved paths."""
    def norm(text: str) -> str:
        text = text.strip().lstrip("@").rstrip("/").lower()
        return str(Path(text).expanduser().resolve()).lower() if text.startswith((".", "/", "~")) else text
    return norm(recorded) == norm(given)


def _journals_of(target: str) -> Iterator[tuple[Journal, dict[str, str]]]:
    """Each open journal of `--to TARGET` (a location narrows it to that place), with its meta."""
    name, location = parse_target(target)
    for path in journals_for(name):
        with Journal.open(path) as journal:
            meta = journal.meta()
            if location and meta.get("location") and not _same_place(meta["location"], location):
                continue
            yield journal, meta


def _adapter_for(meta: dict[str, str], config: dict[str, Any]) -> Adapter:
    spec = meta["target"] + (f":{meta['location']}" if meta.get("location") else "")
    adapter = make_target(spec, config)
    adapter.prepare(interactive=sys.stdin.isatty())
    return adapter


@click.command()
@click.option("--to", "target", required=True, metavar="TARGET", help="The target to check.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.pass_obj
def verify_command(config: dict[str, Any], target: str, as_json: bool) -> None:
    """Read back everything the journal says was published, and report any difference."""
    checked, differences = 0, []
    for journal, meta in _journals_of(target):
        adapter = _adapter_for(meta, config or {})
        try:
            result = aftercare.verify(adapter, journal)
        finally:
            adapter.finish()
        checked += result.checked
        differences += result.differences
    if as_json:
        click.echo(json.dumps({"checked": checked, "differences": [d.as_dict() for d in differences]},
                              ensure_ascii=False, indent=2))
    else:
        for d in differences:
            click.echo(f"{d.post_id} part {d.part}: {d.problem}")
        click.echo(f"Checked {checked} published part(s): "
                   + ("everything is there." if not differences else f"{len(differences)} difference(s)."))
    if differences:
        sys.exit(EXIT_DIFFERENCES)


@click.command()
@click.option("--to", "target", required=True, metavar="TARGET", help="The target to clean up.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def rollback_command(config: dict[str, Any], target: str, yes: bool) -> None:
    """Delete from the target exactly what pindah published there (asks first)."""
    code = 0
    for journal, meta in _journals_of(target):
        parts, posts = aftercare.published_posts(journal)
        if not parts:
            continue
        place = f"{meta['target']}:{meta.get('location') or meta.get('account')}"
        if not yes and not click.confirm(f"Delete {len(posts)} post(s) ({len(parts)} part(s)) that pindah "
                                         f"published on {place}?", default=False):
            raise click.exceptions.Abort()
        adapter = _adapter_for(meta, config or {})
        try:
            result = aftercare.rollback(adapter, journal)
        finally:
            adapter.finish()
        for d in result.still_there:
            click.echo(f"{d.post_id} part {d.part}: {d.problem}", err=True)
        click.echo(f"Deleted {len(result.deleted)} post(s) from {place} (each read back as gone).")
        kept = len(posts) - len(result.deleted)
        if result.stopped is not None:
            click.echo(f"Stopped: {result.stopped.one_line()} {kept} post(s) are still there and pindah still "
                       "knows them: run the same command again to continue.", err=True)
            code = max(code, EXIT_STOPPED)
        elif kept:
            click.echo(f"{kept} post(s) are still on {place}; pindah still knows them, so `pindah rollback` "
                       "can try again, and `pindah verify` shows them.", err=True)
            code = max(code, EXIT_DIFFERENCES)
    if code:
        sys.exit(code)


@click.command()
@click.option("--options", "show_options", is_flag=True,
              help="Also list every setting of each target: its config key, environment name, type and default.")
def targets_command(show_options: bool) -> None:
    """List the targets pindah can publish to, with what each accepts."""
    console = Console()
    for name, cls in targets.available().items():
        console.print(f"[bold]{name}[/]  {cls.description}   e.g. --to {cls.example}")
        for key, value in cls.capabilities.describe():
            console.print(f"    {key:<15} {value}", highlight=False, markup=False)
        if show_options:
            _print_options(console, name, cls)
    for failed in targets.broken():
        console.print(f"[bold red]{failed.name}[/]  could not be loaded ({failed.origin}): {failed.reason}",
                      highlight=False, markup=True)
    for problem in account_commands.PROBLEMS:
        console.print(f"[bold red]note[/]  {problem}", highlight=False)


def _print_options(console: Console, name: str, cls: type[Adapter]) -> None:
    if not cls.options:
        console.print(f"    [dim]no settings under [targets.{name}][/]", highlight=False)
        return
    console.print(f"    settings under \\[targets.{name}], or in the environment:", highlight=False)
    for option in cls.options:
        default = "none" if option.default in (None, "") else json.dumps(option.default)
        # Never wrapped: an environment name cut in two can't be copied.
        console.print(f"      {option.key:<22} {option.env_name(name)}  ({option.type.__name__}, default {default})",
                      highlight=False, markup=False, soft_wrap=True)
        console.print(f"      {'':<22} {option.help}", highlight=False, markup=False, soft_wrap=True)


def register(group: click.Group) -> None:
    group.add_command(targets_command, "targets")
    group.add_command(status_command, "status")
    group.add_command(verify_command, "verify")
    group.add_command(rollback_command, "rollback")

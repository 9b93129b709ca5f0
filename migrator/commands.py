"""The migration commands: targets, plan, migrate, status, retry-failed, verify, rollback.

Exit codes: 0 done; 1 some posts failed (listed, retry with `pindah retry-failed`); 2 bad input
or settings; 3 stopped early on purpose (a daily limit, a login problem, a full disk): run the
same command again to continue; 130 interrupted with Ctrl-C (also resumable).
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from .cli_support import parse_include
from .config import html_timezone, setting
from .engine import Selection, dry_run, journals_for, make_plans, migrate, target_label
from .errors import PindahError
from .journal import Journal
from .planner import PlanOptions
from .ratelimit import ServerLimits, watch_rates
from .reports import RunReport, combine, render_html, render_json, render_text
from .rights_setup import rights_for_run
from .sources import read_export
from .stamp import Stamp
from .targets import make_target, parse_target

if TYPE_CHECKING:
    from rich.progress import Progress

EXIT_FAILED_POSTS = 1
EXIT_STOPPED = 3
EXIT_INTERRUPTED = 130

err = Console(stderr=True)


class RichProgress:
    """A progress bar on stderr (posts, media, ETA); silent when stderr is not a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Progress | None = None

    def start(self, total_posts: int, total_media: int) -> None:
        if not err.is_terminal:
            return
        # Start-up time: the progress bar's code loads only when a terminal shows it.
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("posts"), TimeRemainingColumn(), console=err, transient=True)
        self.bar.start()
        self.task = self.bar.add_task(self.label, total=total_posts)

    def post_done(self, media_count: int) -> None:
        if self.bar:
            self.bar.advance(self.task)

    def note(self, text: str) -> None:
        (self.bar.console if self.bar else err).print(f"[dim]{text}[/]")

    def stop(self) -> None:
        if self.bar:
            self.bar.stop()


def _plan_options(config: dict[str, Any], *, text_without_media: bool = False) -> PlanOptions:
    """[plan] settings (config file or PINDAH_PLAN_* environment) -> PlanOptions; a flag given
    on the command line wins."""
    def flag(key: str, default: bool) -> bool:
        value = setting(config, "plan", key, default)
        return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")

    def text(key: str, default: str) -> str:
        return str(setting(config, "plan", key, default))

    try:
        return PlanOptions(
            date_line=flag("date_line", True), date_format=text("date_format", PlanOptions.date_format),
            mentions=text("mentions", "text"), mention_link=text("mention_link", PlanOptions.mention_link),
            footer=text("footer", "") or None, number_parts=flag("number_parts", True),
            include_alt_text=flag("include_alt_text", True), keep_generated_alt=flag("keep_generated_alt", False),
            text_without_media=text_without_media or flag("text_without_media", False))
    except ValueError as exc:
        raise PindahError(f"setting in [plan] is not valid: {exc}", "compare your config with config.example.toml")


def _write_reports(report: RunReport, json_out: Path | None, html_out: Path | None) -> None:
    for path, text in ((json_out, render_json), (html_out, render_html)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(report), encoding="utf-8")
            err.print(f"Report written to {path}")


selection_options = [
    click.option("--to", "targets", multiple=True, metavar="TARGET",
                 help="Where to publish, e.g. folder:./my-site (default: folder). Repeat for several."),
    click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only posts from this day on (YYYY-MM-DD)."),
    click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Only posts up to this day (YYYY-MM-DD)."),
    click.option("--limit", type=click.IntRange(min=1), help="Only the first N posts (a test batch)."),
    click.option("--only", multiple=True, metavar="ID", help="Only this post id (see `pindah inspect --posts`)."),
    click.option("--include", metavar="KINDS", help="Also move reels, stories, archived, profile, other, or all."),
    click.option("--json", "json_out", type=click.Path(path_type=Path), help="Also write the report as JSON."),
    click.option("--html", "html_out", type=click.Path(path_type=Path), help="Also write the report as a web page."),
    click.option("--text-without-media", is_flag=True, default=False,
                 help="Publish a post's text even when none of its pictures or videos can be used "
                      "(default: leave such a post out and say why)."),
]


def with_selection(func: Any) -> Any:
    for option in reversed(selection_options):
        func = option(func)
    return func


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command()
@click.argument("export", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_selection
@click.option("--dry-run", is_flag=True, help="Only show what would happen (same as `pindah plan`).")
@click.pass_obj
def migrate_command(config: dict[str, Any], export: tuple[Path, ...], targets: tuple[str, ...],
                    since: datetime | None, until: datetime | None, limit: int | None, only: tuple[str, ...],
                    include: str | None, json_out: Path | None, html_out: Path | None, text_without_media: bool,
                    dry_run: bool) -> None:
    """Move an Instagram export to one or more targets. Run it again to continue."""
    selection = Selection(_day(since), _day(until), limit, tuple(only))
    options = _plan_options(config, text_without_media=text_without_media)
    kinds = parse_include(include if include is not None else setting(config, "source", "include", ""))
    code = 0
    # The artist's rights go into every image, for every target: asked once (interactive runs
    # only, never in a dry run), before any target starts. See migrator/rights_setup.py.
    stamp = rights_for_run(config, interactive=sys.stdin.isatty() and not dry_run).stamp()
    reports: list[RunReport] = []
    try:
        with read_export(export, kinds, html_timezone=html_timezone(config)) as exp:
            for spec in targets or (str(setting(config, "migrate", "to", "folder")),):
                target_code, report = _one_target(config, exp, spec, selection, options, dry_run, stamp)
                code, reports = max(code, target_code), [*reports, report]
    finally:
        # One file holds every target's report (several --to never overwrite each other), and
        # what was done before a later target stopped with an error is written all the same.
        if reports:
            _write_reports(combine(reports), json_out, html_out)
    if code:
        sys.exit(code)


def _one_target(config: dict[str, Any], exp: Any, spec: str, selection: Selection, options: PlanOptions,
                is_dry: bool, stamp: Stamp) -> tuple[int, RunReport]:
    adapter = make_target(spec, config)
    limits = ServerLimits()
    watch_rates(adapter, limits.report)  # logging in already says what the server allows
    adapter.prepare(interactive=sys.stdin.isatty() and not is_dry, dry_run=is_dry)
    plans = make_plans(exp, adapter, selection, options)
    name = target_label(adapter)
    out = Console()
    if adapter.offline_note:
        err.print(Text(adapter.offline_note))
    progress = RichProgress(("Checking for " if is_dry else "Moving to ") + name)
    try:
        if is_dry:
            report = dry_run(exp, adapter, plans, progress=progress, stamp=stamp, limits=limits)
            outcome = None
        else:
            outcome, report = migrate(exp, adapter, plans, progress=progress, stamp=stamp, limits=limits)
    finally:
        progress.stop()
    render_text(report, out)
    return _say_outcome(adapter, name, outcome, report, out), report


def _say_outcome(adapter: Any, name: str, outcome: Any, report: RunReport, out: Console) -> int:
    """The closing lines for one target, and its exit code."""
    if outcome is None:
        out.print("This was a dry run: nothing was published. Run [bold]pindah migrate[/] to do it.")
        return 0
    if outcome.posted and adapter.caps.published_by_hand:
        out.print(f"[green]Prepared {len(outcome.posted)} post(s) in the kit at {name}[/]: publish them "
                  "by hand, then record each with [bold]pindah mark-posted[/].")
    elif outcome.found:
        # Reconciliation found these on the target (a lost journal): recorded, not published now.
        out.print(f"[green]{len(outcome.found)} post(s) already on {name}, found and recorded; "
                  f"{len(outcome.posted)} new.[/]")
    elif outcome.posted:
        out.print(f"[green]Published {len(outcome.posted)} post(s) to {name}.[/]")
    failed_before = sum(1 for p in report.posts if p.state == "failed" and p.post_id not in outcome.failed)
    if not outcome.posted and not outcome.found and not outcome.failed and not failed_before \
            and not outcome.stopped and not outcome.interrupted:
        out.print(f"Nothing new to migrate: all {outcome.already} post(s) are already on {name}.")
    if adapter.where():
        out.print(f"Open: {adapter.where()}")
    if outcome.failed or failed_before:
        out.print(f"[yellow]{len(outcome.failed) + failed_before} post(s) failed[/]"
                  + (f" ({failed_before} in an earlier run)" if failed_before else "")
                  + "; see the report, then run [bold]pindah retry-failed[/] with the same export and --to.")
    if outcome.interrupted:
        err.print("Stopped. Everything done so far is kept: run the same command again to continue.")
        return EXIT_INTERRUPTED
    if outcome.stopped:
        err.print(f"Error: {outcome.stopped.one_line()}", markup=False, highlight=False)
        return EXIT_STOPPED
    return EXIT_FAILED_POSTS if outcome.failed or failed_before else 0


@click.command()
@click.argument("export", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_selection
@click.pass_context
def plan_command(ctx: click.Context, **kwargs: Any) -> None:
    """Show what a migration would do, without publishing anything (a dry run)."""
    ctx.invoke(migrate_command, dry_run=True, **kwargs)


@click.command()
@click.argument("export", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_selection
@click.pass_context
def retry_failed_command(ctx: click.Context, **kwargs: Any) -> None:
    """Try the posts that failed again, then go on with the rest."""
    config = ctx.obj
    for spec in kwargs["targets"] or ("folder",):
        name, _ = parse_target(spec)
        for path in journals_for(name):
            with Journal.open(path) as journal:
                count = journal.reset_failed()
            if count:
                err.print(f"{count} failed post(s) will be tried again.")
    ctx.invoke(migrate_command, dry_run=False, **kwargs)
    del config


def register(group: click.Group) -> None:
    group.add_command(plan_command, "plan")
    group.add_command(migrate_command, "migrate")
    group.add_command(retry_failed_command, "retry-failed")
    from . import aftercare_commands  # start-up time: `pindah migrate` never needs these

    aftercare_commands.register(group)  # targets, status, verify, rollback


__all__ = ["register", "PindahError"]

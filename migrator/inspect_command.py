"""`pindah inspect EXPORT`: what is in an export, read only, nothing written."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .cli_support import parse_include
from .config import html_timezone, setting
from .model import INCLUDE_NAMES
from .sources import read_export
from .summary import Summary, summarise
from pindah.adapters.toolkit.textparse import printable


@click.command("inspect")
@click.argument("export", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--include", metavar="KINDS",
              help="Also read other kinds: reels, stories, archived, profile, other (comma-separated), or all.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--posts", "as_posts", is_flag=True, help="Print every post as JSON Lines, oldest first.")
@click.pass_obj
def inspect_command(config: dict[str, Any], export: tuple[Path, ...], include: str | None, as_json: bool,
                    as_posts: bool) -> None:
    """Show what is in an Instagram export (ZIP, ZIP parts, folder or instaloader dump).

    Nothing is changed or written: the export is only read.
    """
    kinds = parse_include(include if include is not None else setting(config, "source", "include", ""))
    err = Console(stderr=True)
    with err.status("Reading your export…") if err.is_terminal else nullcontext():
        with read_export(export, kinds, html_timezone=html_timezone(config)) as exp:
            if as_posts:
                out = sys.stdout
                for post in exp.posts:
                    out.write(json.dumps(post.as_dict(), ensure_ascii=False) + "\n")
                return
            summary = summarise(exp, [k.value for k in kinds])
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_summary(summary)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


_KIND_WORDS = {
    "post": ("feed post", "feed posts"), "reel": ("reel", "reels"), "story": ("story", "stories"),
    "archived": ("archived post", "archived posts"), "profile_photo": ("profile photo", "profile photos"),
    "other": ("other item", "other items"),
}


def _print_summary(s: Summary) -> None:
    console = Console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Export", escape(printable(", ".join(s.sources))))
    table.add_row("Layout", s.layout_label)
    kinds = ", ".join(f"{n} {_KIND_WORDS[k][n != 1]}" for k, n in s.by_kind.items()) or "none"
    table.add_row("Posts", f"{s.posts} ({kinds})")
    table.add_row("Carousels", str(s.carousels))
    subtitles = f" ({_count(s.subtitles, 'subtitle file')} with the videos)" if s.subtitles else ""
    table.add_row("Media", f"{_count(s.images, 'image')}, {_count(s.videos, 'video')}{subtitles}")
    if s.first_post:
        table.add_row("Dates", f"{s.first_post[:10]} to {s.last_post[:10]}")
    if s.dated_by_folder:
        table.add_row("Dates guessed", f"[yellow]{s.dated_by_folder}[/] (unreadable date line: dated by media folder)")
    missing = "[green]none[/]" if not s.missing_files else f"[yellow]{s.missing_files}[/]"
    table.add_row("Missing files", missing)
    table.add_row("Problems", "[green]none[/]" if not s.problems else f"[yellow]{s.problems}[/]")
    console.print(table)
    for path in s.missing_examples:
        console.print(f"  [yellow]missing[/] {escape(printable(path))}", highlight=False)
    if s.missing_files > len(s.missing_examples):
        console.print(f"  … and {s.missing_files - len(s.missing_examples)} more missing files")
    for problem in s.problem_examples:
        console.print(f"  [yellow]note[/] {escape(printable(problem))}", highlight=False)
    if s.problems > len(s.problem_examples):
        console.print(f"  … and {s.problems - len(s.problem_examples)} more (see --json)")
    if s.not_included:
        names = {v.value: k for k, v in INCLUDE_NAMES.items()}
        extra = ",".join(names[k] for k in s.not_included)
        console.print(f"Also in this export: {', '.join(names[k] for k in s.not_included)}. "
                      f"Add [bold]--include {extra}[/] to read them.")

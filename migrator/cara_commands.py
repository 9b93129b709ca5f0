"""`pindah mark-posted`: the artist tells pindah what is on Cara, through the journal.

    pindah mark-posted --to cara:DIR ID [URL]     posted (with the Cara post's link, if given)
    pindah mark-posted --to cara:DIR --skip ID    not going to post it
    pindah mark-posted --to cara:DIR --undo ID    back to "to do" (a mark made by mistake)
    pindah mark-posted --to cara:DIR --checklist  read back the edited DIR/checklist.csv

ID is what the kit shows: a folder name (`2021-05-02_<id>` or `..._2of5` for one part of a
split post; a pasted folder path works too), a post id (all its parts) or an engine key
(`<id>#<part index>`). Marks go into the same journal as every other target (see
`migrator.kitjournal`), so `pindah status` counts them and a re-run never touches them.
The kit's page and checklist are redrawn after every change.

The checklist only moves posts forward (to posted or skipped, or a new link): a checklist
saved days ago must not quietly undo marks made since. Going back is `--undo`, by name.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pindah.adapters.cara import CaraAdapter, refresh_kit
from pindah.adapters.cara_kit import (
    CHECKLIST,
    folder_name,
    parse_folder_name,
    read_checklist,
    read_post,
)

from . import journal as J
from .errors import PindahError
from .journal import Journal
from .kitjournal import TARGET, KitJournal, kit_journals
from .targets import parse_target

EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Part:
    """One Cara post, found in a journal of the kit."""

    path: Path  # the journal
    post_id: str
    idx: int
    count: int
    folder: str
    state: str
    url: str | None


class Kit:
    """The kit folder of `--to cara:DIR` and the journals that migrate into it."""

    def __init__(self, target: str, config: dict[str, Any]) -> None:
        name, location = parse_target(target)
        if name != TARGET:
            raise click.BadParameter(f"marks are for the Cara kit only, e.g. --to cara:{location or 'DIR'}",
                                     param_hint="--to")
        section = config.get("targets", {}).get(TARGET, {}) if isinstance(config.get("targets"), dict) else {}
        self.adapter = CaraAdapter(location, section if isinstance(section, dict) else {})
        self.dir = self.adapter.kit
        self.journals = kit_journals(self.adapter.account())
        self._index: dict[str, list[Part]] | None = None
        if not self.journals:
            raise PindahError(f"no migration into {self.dir} yet",
                              f"run `pindah migrate EXPORT --to cara:{self.dir}` first")

    def find(self, ident: str) -> list[Part]:
        """The parts `ident` names (see the module docstring); PindahError if none."""
        text = ident.strip().rstrip("/\\")
        name = text.replace("\\", "/").rsplit("/", 1)[-1]
        post_id, idx = name, None
        manifest = read_post(self.dir / "posts" / name) if name and not name.startswith(".") else None
        if manifest is not None:
            post_id, idx = manifest.post_id, manifest.part - 1
        elif "#" in name and name.rsplit("#", 1)[1].isdigit():
            post_id, idx = name.rsplit("#", 1)[0], int(name.rsplit("#", 1)[1])
        elif (parsed := parse_folder_name(name)) is not None:
            post_id, idx = parsed
        found = [part for part in self._parts().get(post_id, []) if idx is None or part.idx == idx]
        if not found:
            raise PindahError(f"{ident!r} is not a post of the kit in {self.dir}",
                              "use a folder name from the kit's page or checklist.csv")
        return found

    def _parts(self) -> dict[str, list[Part]]:
        """Every part of every journal of the kit, by post id (read once per command)."""
        if self._index is None:
            self._index = {}
            for path in self.journals:
                with Journal.open(path) as journal:
                    taken = {row.post_id: row.taken_at for row in journal.posts()}
                    rows = list(journal.all_parts())
                count = Counter(r.post_id for r in rows)
                for r in rows:
                    self._index.setdefault(r.post_id, []).append(Part(
                        path, r.post_id, r.idx, count[r.post_id], folder_name(r.post_id, taken[r.post_id], r.idx,
                                                                               count[r.post_id]),
                        r.state, r.remote.url if r.remote else None))
        return self._index

    def refresh(self) -> None:
        refresh_kit(self.dir, self.adapter.caps)


def _apply(changes: list[tuple[Part, str, str | None]]) -> None:
    """Write the marks, each journal opened once; say what was done."""
    for path in dict.fromkeys(part.path for part, _, _ in changes):
        with Journal.open(path) as opened:
            journal = KitJournal.over(opened)
            for part, action, url in changes:
                if part.path != path:
                    continue
                if action == "posted":
                    journal.mark_posted(part.post_id, part.idx, part.folder, url or part.url)
                elif action == "skipped":
                    journal.mark_skipped(part.post_id, part.idx)
                else:
                    journal.mark_pending(part.post_id, part.idx)
                word = {"posted": "posted on Cara", "skipped": "skipped", "pending": "to do again"}[action]
                click.echo(f"{part.folder}: {word}" + (f" ({url})" if url else ""))


@click.command("mark-posted")
@click.option("--to", "target", required=True, metavar="cara:DIR", help="The Cara kit, as given to migrate.")
@click.argument("ident", required=False, metavar="ID")
@click.argument("url", required=False)
@click.option("--skip", is_flag=True, help="You won't post it on Cara: count it as done.")
@click.option("--undo", is_flag=True, help="Make it 'to do' again (after a mark made by mistake).")
@click.option("--checklist", "use_checklist", is_flag=True, help="Apply the edited checklist.csv of the kit.")
@click.option("--file", "checklist_file", type=click.Path(path_type=Path), help="Another checklist file to apply.")
@click.pass_obj
def mark_posted_command(config: dict[str, Any], target: str, ident: str | None, url: str | None, skip: bool,
                        undo: bool, use_checklist: bool, checklist_file: Path | None) -> None:
    """Record what you posted on Cara (or skipped), so the kit and `pindah status` know.

    ID is a folder name from the kit (e.g. 2021-05-02_3f9a1c2b7d4e, or ..._2of3 for one
    part of a split post); URL is the post's link on Cara, if you want it kept.
    """
    kit = Kit(target, config or {})
    if use_checklist or checklist_file:
        if ident or skip or undo:
            raise click.UsageError("--checklist reads every mark from the file: give no ID, --skip or --undo")
        _from_checklist(kit, checklist_file or kit.dir / CHECKLIST)
    else:
        if not ident:
            raise click.UsageError("give the ID of the post (its folder name), or --checklist")
        if skip and undo:
            raise click.UsageError("--skip and --undo exclude each other")
        if url and (skip or undo):
            raise click.UsageError("a link goes only with a post marked as posted")
        if url and not url.lower().startswith(("https://", "http://")):
            raise click.BadParameter(f"{url!r} is not a web address (copy it from your browser's address bar)",
                                     param_hint="URL")
        parts = kit.find(ident)
        if url and len(parts) > 1:
            raise click.UsageError(f"this post is {len(parts)} posts on Cara, each with its own link: "
                                   f"mark each folder ({parts[0].folder}, ...) with its link")
        action = "skipped" if skip else "pending" if undo else "posted"
        _apply([(part, action, url) for part in parts])
    kit.refresh()
    click.echo(_progress(kit))


def _from_checklist(kit: Kit, path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PindahError(f"cannot read the checklist {path} ({getattr(exc, 'strerror', None) or exc})",
                          "save it as CSV (UTF-8) and try again") from None
    rows, problems = read_checklist(text)
    changes: list[tuple[Part, str, str | None]] = []
    notes: list[str] = []
    for row in rows:
        try:
            parts = kit.find(row.folder)
        except PindahError:
            problems.append(f"line {row.line}: no folder {row.folder!r} in the kit")
            continue
        for part in parts:
            wanted = row.status
            if wanted == "posted" and (part.state != J.POSTED or (row.url and row.url != part.url)):
                changes.append((part, "posted", row.url or None))
            elif wanted == "skipped" and part.state not in (J.POSTED, J.SKIPPED):
                changes.append((part, "skipped", None))
            elif (wanted != "posted" and part.state == J.POSTED) or (wanted == "pending" and part.state == J.SKIPPED):
                notes.append(f"{part.folder}: left as {part.state} (the checklist never undoes a mark; "
                             f"use --undo {part.folder})")
    if problems:  # nothing is applied until the whole file makes sense
        for problem in problems:
            click.echo(f"{path}: {problem}", err=True)
        click.echo("Nothing was marked: fix these lines, then run the command again.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    _apply(changes)
    for note in notes:
        click.echo(note)
    if not changes:
        click.echo(f"Nothing new in {path}.")


def _progress(kit: Kit) -> str:
    counts: dict[str, int] = {}
    for path in kit.journals:
        with Journal.open(path) as journal:
            for part in journal.all_parts():
                counts[part.state] = counts.get(part.state, 0) + 1
    total = sum(counts.values())
    done = counts.get(J.POSTED, 0) + counts.get(J.SKIPPED, 0)
    return (f"{done} of {total} Cara posts done ({counts.get(J.POSTED, 0)} posted, {counts.get(J.SKIPPED, 0)} "
            f"skipped). The kit's page is updated: {(kit.dir / 'index.html').as_uri()}")


def register(group: click.Group) -> None:
    group.add_command(mark_posted_command, "mark-posted")

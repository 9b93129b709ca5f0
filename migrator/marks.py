"""`pindah mark-posted`: the artist tells pindah what they published by hand, through the journal.

For any target whose capabilities say `published_by_hand` (the Cara kit):

    pindah mark-posted --to TARGET ID [URL]     posted (with the post's link, if given)
    pindah mark-posted --to TARGET --skip ID    not going to post it
    pindah mark-posted --to TARGET --undo ID    back to "to do" (a mark made by mistake)
    pindah mark-posted --to TARGET --checklist  read back the target's edited checklist

ID is what the target shows the artist (`Adapter.part_label`; for the Cara kit a folder name,
and a pasted folder path works too, through `Adapter.find_part`), a post id (all its parts) or
an engine key (`<id>#<part index>`). Marks go into the same journal as every other target (see
`migrator.kitjournal`), so `pindah status` counts them and a re-run never touches them. What
the artist works from is redrawn after every change (`Adapter.refresh(marks)`).

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

from pindah.adapters.contract import Adapter, RemoteRef

from . import journal as J
from .errors import PindahError
from .journal import Journal
from .kitjournal import by_hand, hand_journals, now_iso, platform, refresh
from .targets import make_target

EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Part:
    """One part of a post prepared for publishing by hand, found in a journal."""

    path: Path  # the journal
    post_id: str
    idx: int
    count: int
    label: str  # what the artist calls it (the Cara kit: the folder's name)
    state: str
    url: str | None


class HandTarget:
    """The place of `--to TARGET` and the journals that migrate into it."""

    def __init__(self, spec: str, config: dict[str, Any]) -> None:
        self.adapter: Adapter = make_target(spec, config)
        if not self.adapter.caps.published_by_hand:
            raise click.BadParameter(f"{self.adapter.name} publishes by itself: marks are only for targets you "
                                     "publish by hand (see `pindah targets`)", param_hint="--to")
        self.label = f"{self.adapter.name}:{self.adapter.account()}"
        self.journals = hand_journals(self.adapter)
        self._index: dict[str, list[Part]] | None = None
        if not self.journals:
            raise PindahError(f"no migration into {self.label} yet",
                              f"run `pindah migrate EXPORT --to {self.label}` first")

    def find(self, ident: str) -> list[Part]:
        """The parts `ident` names (see the module docstring); PindahError if none."""
        name = ident.strip().rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
        post_id, idx = name, None
        if (own := self.adapter.find_part(name) if name and not name.startswith(".") else None) is not None:
            post_id, idx = own
        elif "#" in name and name.rsplit("#", 1)[1].isdigit():
            post_id, idx = name.rsplit("#", 1)[0], int(name.rsplit("#", 1)[1])
        found = [part for part in self._parts().get(post_id, []) if idx is None or part.idx == idx]
        if not found:
            raise PindahError(f"{ident!r} is not a post pindah prepared in {self.label}",
                              "use a name from its page or checklist")
        return found

    def _parts(self) -> dict[str, list[Part]]:
        """Every part of every journal of the place, by post id (read once per command)."""
        if self._index is None:
            self._index = {}
            for path in self.journals:
                with Journal.open(path) as journal:
                    taken = {row.post_id: row.taken_at for row in journal.posts()}
                    rows = list(journal.all_parts())
                count = Counter(r.post_id for r in rows)
                for r in rows:
                    label = self.adapter.part_label(r.post_id, taken[r.post_id], r.idx, count[r.post_id])
                    self._index.setdefault(r.post_id, []).append(Part(
                        path, r.post_id, r.idx, count[r.post_id], label, r.state, r.remote.url if r.remote else None))
        return self._index

    def apply(self, changes: list[tuple[Part, str, str | None]]) -> None:
        """Write the marks, each journal opened once; say what was done."""
        reason = by_hand(self.adapter)
        for path in dict.fromkeys(part.path for part, _, _ in changes):
            with Journal.open(path) as journal:
                for part, action, url in changes:
                    if part.path != path:
                        continue
                    if action == "posted":
                        ref = RemoteRef(part.label, url or part.url, {"marked_at": now_iso()})
                        journal.mark_posted(part.post_id, part.idx, ref, by_hand=reason)
                    elif action == "skipped":
                        journal.mark_skipped(part.post_id, part.idx, marked_at=now_iso(), by_hand=reason)
                    else:
                        journal.mark_pending(part.post_id, part.idx, by_hand=reason)
                    word = {"posted": f"posted on {platform(self.adapter)}", "skipped": "skipped",
                            "pending": "to do again"}[action]
                    click.echo(f"{part.label}: {word}" + (f" ({url})" if url else ""))

    def progress(self) -> str:
        counts: dict[str, int] = {}
        for path in self.journals:
            with Journal.open(path) as journal:
                for part in journal.all_parts():
                    counts[part.state] = counts.get(part.state, 0) + 1
        total, posted, skipped = sum(counts.values()), counts.get(J.POSTED, 0), counts.get(J.SKIPPED, 0)
        where = self.adapter.where()
        return (f"{posted + skipped} of {total} {platform(self.adapter)} posts done ({posted} posted, "
                f"{skipped} skipped)." + (f" The kit's page is updated: {where}" if where else ""))


@click.command("mark-posted")
@click.option("--to", "target", required=True, metavar="TARGET", help="Where you publish by hand, as given to migrate.")
@click.argument("ident", required=False, metavar="ID")
@click.argument("url", required=False)
@click.option("--skip", is_flag=True, help="You won't post it: count it as done.")
@click.option("--undo", is_flag=True, help="Make it 'to do' again (after a mark made by mistake).")
@click.option("--checklist", "use_checklist", is_flag=True, help="Apply the target's edited checklist.")
@click.option("--file", "checklist_file", type=click.Path(path_type=Path), help="Another checklist file to apply.")
@click.pass_obj
def mark_posted_command(config: dict[str, Any], target: str, ident: str | None, url: str | None, skip: bool,
                        undo: bool, use_checklist: bool, checklist_file: Path | None) -> None:
    """Record what you posted by hand (or skipped), so the kit and `pindah status` know.

    ID is a name from the kit (for Cara a folder name, e.g. 2021-05-02_3f9a1c2b7d4e, or
    ..._2of3 for one part of a split post); URL is the post's link, if you want it kept.
    """
    place = HandTarget(target, config or {})
    if use_checklist or checklist_file:
        if ident or skip or undo:
            raise click.UsageError("--checklist reads every mark from the file: give no ID, --skip or --undo")
        path = checklist_file or place.adapter.checklist()
        if path is None:
            raise click.UsageError(f"{place.adapter.name} keeps no checklist: mark each post by its ID")
        _from_checklist(place, path)
    else:
        if not ident:
            raise click.UsageError("give the ID of the post (its name in the kit), or --checklist")
        if skip and undo:
            raise click.UsageError("--skip and --undo exclude each other")
        if url and (skip or undo):
            raise click.UsageError("a link goes only with a post marked as posted")
        if url and not url.lower().startswith(("https://", "http://")):
            raise click.BadParameter(f"{url!r} is not a web address (copy it from your browser's address bar)",
                                     param_hint="URL")
        parts = place.find(ident)
        if url and len(parts) > 1:
            raise click.UsageError(f"this post is {len(parts)} posts there, each with its own link: "
                                   f"mark each part ({parts[0].label}, ...) with its link")
        action = "skipped" if skip else "pending" if undo else "posted"
        place.apply([(part, action, url) for part in parts])
    refresh(place.adapter)
    click.echo(place.progress())


def _from_checklist(place: HandTarget, path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PindahError(f"cannot read the checklist {path} ({getattr(exc, 'strerror', None) or exc})",
                          "save it as CSV (UTF-8) and try again") from None
    lines, problems = place.adapter.read_checklist(text)
    changes: list[tuple[Part, str, str | None]] = []
    notes: list[str] = []
    for line in lines:
        try:
            parts = place.find(line.name)
        except PindahError:
            problems.append(f"line {line.line}: no {line.name!r} in the kit")
            continue
        for part in parts:
            wanted = line.status
            if wanted == "posted" and (part.state != J.POSTED or (line.url and line.url != part.url)):
                changes.append((part, "posted", line.url or None))
            elif wanted == "skipped" and part.state not in (J.POSTED, J.SKIPPED):
                changes.append((part, "skipped", None))
            elif (wanted != "posted" and part.state == J.POSTED) or (wanted == "pending" and part.state == J.SKIPPED):
                notes.append(f"{part.label}: left as {part.state} (the checklist never undoes a mark; "
                             f"use --undo {part.label})")
    if problems:  # nothing is applied until the whole file makes sense
        for problem in problems:
            click.echo(f"{path}: {problem}", err=True)
        click.echo("Nothing was marked: fix these lines, then run the command again.", err=True)
        sys.exit(EXIT_BAD_INPUT)
    place.apply(changes)
    for note in notes:
        click.echo(note)
    if not changes:
        click.echo(f"Nothing new in {path}.")


def register(group: click.Group) -> None:
    group.add_command(mark_posted_command, "mark-posted")

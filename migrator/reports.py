"""The run / dry-run report: what will be (or was) published where, and why not.

One `RunReport` (built by the engine from the planner and the journal) has three renderings:

* `render_text`  a short terminal summary: totals, what is left out and why, the time needed;
* `render_json`  everything, with stable keys (`report_from_json` reads it back);
* `render_html`  one self-contained page for the artist (drawn by `report_html.py` with the
                 toolkit's templates); its thumbnails are data: URIs of the prepared files
                 (`thumbnail_data_uri`, the toolkit's one safe thumbnail helper).

Conventions for the builder: `ReportMedia.actions` are short phrases starting with a verb
("converted HEIC to JPEG", "resized 8000×6000 to 4000×3000", "removed location data");
"converted…" and "resized…" are what the totals count. `ReportPart.media` are 0-based indexes
into `ReportPost.media`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text

from pindah.adapters.toolkit.textparse import printable
from pindah.adapters.toolkit.thumbnail import thumbnail_data_uri as _toolkit_thumbnail_data_uri

REPORT_FORMAT = "pindah-report/1"
TEXT_LISTED = 10  # problems listed by name in the terminal; the HTML report lists them all

# Friendly names for the states, and the order of the sections: what needs a look comes first.
STATE_LABELS = {
    "failed": "Didn't work",
    "skipped": "Left out",
    "pending": "Not published yet",
    "will publish": "Ready to publish",
    "published": "Published",
}


@dataclass
class ReportMedia:
    source_path: str
    mime: str | None
    width: int | None
    height: int | None
    actions: list[str]
    skipped: str | None
    thumbnail: str | None  # data: URI
    # Why the picture's pixels were re-encoded ("too large: 2.3 MB > 2 MB", "HEIC not accepted",
    # "rotated (EXIF orientation 6)"); None when they were sent as they were, or for a video.
    reencoded: str | None = None


@dataclass
class ReportPart:
    index: int
    text: str
    media: list[int]
    state: str
    url: str | None
    reason: str | None


@dataclass
class ReportPost:
    post_id: str
    kind: str
    taken_at: str
    caption: str
    state: str  # "will publish" | "published" | "pending" | "failed" | "skipped"
    reason: str | None
    notes: list[str]
    parts: list[ReportPart]
    media: list[ReportMedia]
    # Published, but not by this run: found already on the target and recorded (a lost journal).
    found: bool = False
    target: str | None = None  # set in a report holding several targets (`combine`)

    @property
    def changed(self) -> bool:
        """Something about it differs from Instagram: files changed, dropped, or text split."""
        return len(self.parts) > 1 or any(m.actions or m.skipped for m in self.media)


@dataclass(frozen=True)
class Totals:
    posts: int
    by_state: dict[str, int]
    parts: int
    media: int
    converted: int
    resized: int
    skipped: int  # images/videos left out; whole posts left out are by_state["skipped"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    target: str
    target_description: str
    dry_run: bool
    generated_at: str
    export: str
    layout: str
    posts: list[ReportPost]
    eta_seconds: float | None
    eta_text: str | None
    budgets: list[str]
    warnings: list[str]
    # What this run did (run reports only; None in a dry run): posts it created something
    # for, and posts it found already on the target and recorded without posting them again.
    new_posts: int | None = None
    found_posts: int | None = None
    targets: list[str] = field(default_factory=list)  # every target, in a report holding several

    @property
    def totals(self) -> Totals:
        media = [m for p in self.posts for m in p.media]
        return Totals(
            posts=len(self.posts),
            by_state=dict(Counter(p.state for p in self.posts)),
            parts=sum(len(p.parts) for p in self.posts),
            media=len(media),
            converted=sum(any(a.lower().startswith("convert") for a in m.actions) for m in media),
            resized=sum(any(a.lower().startswith("resiz") for a in m.actions) for m in media),
            skipped=sum(m.skipped is not None for m in media),
        )

    @property
    def eta(self) -> str | None:
        if self.eta_text:
            return self.eta_text
        return None if self.eta_seconds is None else describe_duration(self.eta_seconds)


def describe_duration(seconds: float) -> str:
    """2h 10 min -> "about 2 hours 10 minutes"; rounded the way a person would say it."""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {_plural(minutes, 'minute')}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"about {_plural(hours, 'hour')}" + (f" {_plural(minutes, 'minute')}" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"about {_plural(days, 'day')}" + (f" {_plural(hours, 'hour')}" if hours else "")


def _compact_duration(seconds: float) -> str:
    """For a summary card: "2 h 30 min", "3 d 2 h", "< 1 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return " ".join(x for x in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if x)
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- thumbnails ----------------------------------------------------------------------------------
# One safe helper for the site, the report and the kit: it previews PROCESSED files only, with
# the pipeline's decoders, bomb-safe, in a bounded cache keyed by path, size and mtime.
thumbnail_data_uri = _toolkit_thumbnail_data_uri


def combine(reports: list[RunReport]) -> RunReport:
    """One report holding every target's, for a run with several --to and one --json/--html:
    each post says which target it belongs to, limits say whose they are, and the time needed
    adds up (targets are done one after the other)."""
    if len(reports) == 1:
        return reports[0]
    etas = [r.eta_seconds for r in reports if r.eta_seconds is not None]
    runs = [r for r in reports if r.new_posts is not None]
    return RunReport(
        target=", ".join(r.target for r in reports),
        target_description="; ".join(dict.fromkeys(r.target_description for r in reports)),
        dry_run=all(r.dry_run for r in reports),
        generated_at=max(r.generated_at for r in reports),
        export=reports[0].export,
        layout=reports[0].layout,
        posts=[replace(p, target=r.target) for r in reports for p in r.posts],
        eta_seconds=sum(etas) if etas else None,
        eta_text=describe_duration(sum(etas)) if etas else None,
        budgets=[f"{r.target}: {b}" for r in reports for b in r.budgets],
        warnings=list(dict.fromkeys(w for r in reports for w in r.warnings)),
        new_posts=sum(r.new_posts or 0 for r in runs) if runs else None,
        found_posts=sum(r.found_posts or 0 for r in runs) if runs else None,
        targets=[r.target for r in reports],
    )


# -- JSON ----------------------------------------------------------------------------------------
def report_to_dict(report: RunReport) -> dict[str, Any]:
    data = asdict(report)
    data["format"] = REPORT_FORMAT
    data["totals"] = report.totals.as_dict()
    return data


def render_json(report: RunReport) -> str:
    return json.dumps(report_to_dict(report), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def report_from_json(text: str) -> RunReport:
    """Read `render_json` output back (derived keys such as totals are recomputed, not read)."""
    data = json.loads(text)

    def pick(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
        return {f.name: raw[f.name] for f in fields(cls) if f.name in raw}  # older reports lack new keys

    posts = []
    for raw in data["posts"]:
        post = pick(ReportPost, raw)
        post["parts"] = [ReportPart(**pick(ReportPart, p)) for p in raw["parts"]]
        post["media"] = [ReportMedia(**pick(ReportMedia, m)) for m in raw["media"]]
        posts.append(ReportPost(**post))
    top = pick(RunReport, data)
    top["posts"] = posts
    return RunReport(**top)


# -- terminal ------------------------------------------------------------------------------------
def render_text(report: RunReport, console: Console) -> None:
    """A few lines for the terminal. Built from Text objects, so captions can't inject markup."""
    t = report.totals
    head = Text()
    if report.dry_run:
        head.append("Dry run", style="bold")
        head.append(f" for {report.target}: nothing was published.")
    else:
        head.append(f"Run to {report.target}", style="bold")
    console.print(head)
    states = [f"{n} {s}" for s, n in _ordered_states(t.by_state)]
    console.print(Text(f"Posts: {t.posts}" + (f" ({', '.join(states)})" if states else "")))
    if report.found_posts:
        console.print(Text(f"This run: {report.found_posts} already on the target, found and recorded; "
                           f"{report.new_posts or 0} new"))
    changes = [f"{n} {w}" for n, w in ((t.converted, "converted"), (t.resized, "resized"), (t.skipped, "left out")) if n]
    files = "1 image or video" if t.media == 1 else f"{t.media} images and videos"
    console.print(Text(f"In {_plural(t.parts, 'part')} with {files}" + (f" ({', '.join(changes)})" if changes else "")))
    for state, title in (("failed", "Didn't work"), ("skipped", "Left out")):
        problems = _problems(report, state)
        if not problems:
            continue
        console.print(Text(f"{title}:", style="bold red" if state == "failed" else "bold yellow"))
        for problem in problems[:TEXT_LISTED]:
            console.print(Text(f"  • {printable(problem)}"))
        if len(problems) > TEXT_LISTED:
            console.print(Text(f"  … and {len(problems) - TEXT_LISTED} more (all of them are in the HTML report)"))
    reencoded = _reencoded(report)
    if reencoded:  # each is a generation of loss: the artist should know which and why
        console.print(Text("Re-encoded (the original could not be sent as it was):", style="bold"))
        for line in reencoded[:TEXT_LISTED]:
            console.print(Text(f"  • {printable(line)}"))
        if len(reencoded) > TEXT_LISTED:
            console.print(Text(f"  … and {len(reencoded) - TEXT_LISTED} more (all of them are in the HTML report)"))
    if report.eta:
        eta = Text("Time needed: ", style="bold")
        eta.append(report.eta + (f" (limits: {'; '.join(report.budgets)})" if report.budgets else ""))
        console.print(eta)
    for warning in report.warnings:
        console.print(Text(f"Note: {printable(warning)}", style="yellow"))


def _ordered_states(by_state: dict[str, int]) -> list[tuple[str, int]]:
    order = [s for s in ("will publish", "published", "pending", "failed", "skipped") if s in by_state]
    return [(s, by_state[s]) for s in order + sorted(set(by_state) - set(order))]


def _problems(report: RunReport, state: str) -> list[str]:
    """"<date> <post id>: <reason>" for posts in `state`; for "skipped" also left-out files."""
    lines = []
    for post in report.posts:
        if post.state == state:
            reason = post.reason or next((p.reason for p in post.parts if p.reason), None)
            lines.append(f"{_day(post.taken_at)} {post.post_id}: {reason or 'no reason given'}")
        elif state == "failed":  # a part can fail inside a post that is otherwise published
            lines += [f"{_day(post.taken_at)} {post.post_id} part {p.index + 1}: {p.reason or 'no reason given'}"
                      for p in post.parts if p.state == "failed"]
        if state == "skipped" and post.state != "skipped":
            lines += [f"{_day(post.taken_at)} {post.post_id} {m.source_path.rsplit('/', 1)[-1]}: {m.skipped}"
                      for m in post.media if m.skipped]
    return lines


def _reencoded(report: RunReport) -> list[str]:
    """"<date> <post id> <file>: <why>" for each picture sent as a new encoding of the original."""
    return [f"{_day(post.taken_at)} {post.post_id} {m.source_path.rsplit('/', 1)[-1]}: {m.reencoded}"
            for post in report.posts if post.state != "skipped" for m in post.media if m.reencoded and not m.skipped]


def _when(iso: str) -> datetime | None:
    """ISO 8601 ("2024-03-12T07:15:00Z") or the engine's "2025-11-25 13:30 UTC"; None otherwise."""
    try:
        return datetime.fromisoformat(iso.removesuffix(" UTC"))
    except ValueError:
        return None


def _day(iso: str) -> str:
    moment = _when(iso)
    return f"{moment.day} {moment:%b %Y}" if moment else iso


# -- HTML ----------------------------------------------------------------------------------------
def render_html(report: RunReport) -> str:
    """The whole report as one self-contained web page (drawn by report_html.py)."""
    from .report_html import render_html as draw  # imported here: report_html imports this module

    return draw(report)

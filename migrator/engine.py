"""The migration as one operation: select posts, plan them for a target, run or dry-run, report.

This is the glue between the rooms; the CLI calls it, tests call it. The dry run goes through
the same planning and media preparation as a real run and stops at the one choke point where
a real run would call the target.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

from pindah.adapters.contract import Adapter, PreparedMedia
from pindah.adapters.toolkit.files import write_atomic
from pindah.adapters.toolkit.paths import cache_dir, state_dir

from . import journal as J
from .app.edits import load_edits
from .journal import Journal, journals_for  # noqa: F401 - engine.journals_for is used by tests
from .kitjournal import refresh as refresh_by_hand
from .media import MediaResult
from .model import MediaType, Post, PostKind, iso_utc
from .planner import PlanOptions, PostPlan, plan_posts, without_its_media
from .prefetch import Prefetcher
from .ratelimit import ServerLimits, estimate_with
from .reports import (
    ReportMedia,
    ReportPart,
    ReportPost,
    RunReport,
    describe_duration,
    thumbnail_data_uri,
)
from .runner import NoProgress, Progress, Runner, RunOutcome
from .sources import Export
from .stamp import Stamp
from .targets import slug

MAX_THUMBNAILS = 400  # keeps the HTML report a few MB even for 20,000 posts
_PREVIEW_URI = re.compile(r"data:image/jpeg;base64,[A-Za-z0-9+/]+=*")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Selection:
    since: date | None = None
    until: date | None = None
    limit: int | None = None
    only: tuple[str, ...] = ()

    def apply(self, posts: Iterable[Post]) -> list[Post]:
        chosen = []
        for post in posts:
            day = post.taken_at.date()
            if self.only and post.id not in self.only:
                continue
            if (self.since and day < self.since) or (self.until and day > self.until):
                continue
            chosen.append(post)
        return chosen[: self.limit] if self.limit is not None else chosen


def export_fingerprint(export: Export) -> str:
    """Names the export in journal paths: the oldest feed post survives every re-download of
    the same account (new posts only add to the end), so a newer export resumes the old journal."""
    feed = [p for p in export.posts if p.kind is PostKind.POST] or export.posts
    anchor = feed[0].id if feed else "empty"
    return hashlib.sha256(anchor.encode()).hexdigest()[:16]


def journal_path(adapter: Adapter, export: Export) -> Path:
    account = adapter.account()
    folder = f"{slug(account)}-{hashlib.sha256(account.encode()).hexdigest()[:8]}"
    return state_dir() / "journals" / adapter.name / folder / f"{export_fingerprint(export)}.sqlite"


def target_label(adapter: Adapter) -> str:
    """`folder:/home/rina/pindah-site`, `bluesky:rina.example`: what the artist recognises."""
    return f"{adapter.name}:{adapter.location or adapter.account()}"


def instagram_url(post: Post) -> str | None:
    """The post's address on Instagram, where the export knows its shortcode."""
    return f"https://www.instagram.com/p/{post.shortcode}/" if post.shortcode else None


def make_plans(export: Export, adapter: Adapter, selection: Selection, options: PlanOptions) -> list[PostPlan]:
    # The artist's unticked posts and edited texts (`pindah app`, `pindah select`, `pindah alt-text`).
    posts = load_edits(export_fingerprint(export)).apply(selection.apply(export.posts))
    urls = {p.id: url for p in posts if (url := instagram_url(p))}  # the footer's {instagram_url}
    return plan_posts(posts, adapter.caps, options, instagram_urls=urls)


def migrate(export: Export, adapter: Adapter, plans: list[PostPlan], *, progress: Progress | None = None,
            max_attempts: int = 5, max_wait: float = 3600.0, stamp: Stamp | None = None,
            limits: ServerLimits | None = None) -> tuple[RunOutcome, RunReport]:
    """Run `plans` on the target. `limits`: the server's rate figures seen so far (its answers
    while logging in): the run paces by them from its first call, and reports by them."""
    path = journal_path(adapter, export)
    meta = {"target": adapter.name, "location": adapter.location or "", "account": adapter.account(),
            "export": export.tree.describe(), "layout": export.layout}
    with Journal.open(path, meta=meta) as journal, ReportPreviews() as previews:
        runner = Runner(adapter, journal, cache_dir() / "media", progress=progress,
                        max_attempts=max_attempts, max_wait=max_wait, stamp=stamp, on_prepared=previews.add)
        if limits is not None:
            runner.pacer.server.latest.update(limits.latest)
        outcome = runner.run(plans)
        previews.finish(cancel=outcome.interrupted)
        refresh_by_hand(adapter)  # a kit the artist publishes from shows the marks made so far
        resume = outcome.stopped.resume_at if outcome.stopped else None
        journal.set_meta("resume_at", resume.isoformat() if resume else "")  # shown by `pindah status`
        states = _journal_states(journal, plans)
    report = build_report(export, adapter, plans, outcome.media_results, states, dry_run=False,
                          limits=runner.pacer.server)
    found = set(outcome.found)
    for post in report.posts:
        post.found = post.post_id in found
    report.new_posts, report.found_posts = len(outcome.posted), len(outcome.found)
    return outcome, report


def dry_run(export: Export, adapter: Adapter, plans: list[PostPlan], *,
            progress: Progress | None = None, stamp: Stamp | None = None,
            limits: ServerLimits | None = None) -> RunReport:
    """Plan and prepare media exactly as a run would, without calling the target or writing
    the journal (an existing journal is only read, to show what is already published).
    `limits`: the rate figures the server gave while logging in, for the time estimate."""
    media_results: dict[tuple[str, int], MediaResult] = {}
    states = _read_states(journal_path(adapter, export))
    shown = progress or NoProgress()
    shown.start(len(plans), sum(len(p.post.media) for p in plans))
    def wanted(plan: PostPlan) -> list[int]:
        known = states.get(plan.post.id)
        done = known is not None and known.state in (J.POSTED, J.SKIPPED)
        return [] if plan.skipped or done else [mi for part in plan.parts for mi in part.media]

    # Prepared on every core, the next files rendering while this one is stored (migrator/prefetch.py).
    with Prefetcher(stamp or Stamp(), adapter.caps, cache_dir() / "media") as prefetcher:
        prefetcher.schedule(plan.post.media[mi] for plan in plans for mi in wanted(plan))
        for plan in plans:
            for mi in wanted(plan):
                media_results[(plan.post.id, mi)] = prefetcher.prepare(plan.post.media[mi])
            shown.post_done(len(plan.post.media))
    return build_report(export, adapter, plans, media_results, states, dry_run=True, limits=limits)


class ReportPreviews:
    """Draws the report's image previews during the run, as the runner prepares each file.

    A run mostly waits on the network, and a preview decodes a picture (Pillow lets other
    threads run meanwhile): one background thread draws them so that `build_report` finds them
    in the thumbnail helper's cache instead of drawing hundreds after the last post."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="pindah-previews")
        self._queued = 0

    def add(self, result: MediaResult) -> None:
        prepared = result.prepared
        if prepared is not None and prepared.mime.startswith("image/") and self._queued < MAX_THUMBNAILS:
            self._queued += 1
            self._pool.submit(report_preview, prepared)

    def finish(self, *, cancel: bool = False) -> None:
        """Wait for the previews queued (or drop those not started: a run stopped by Ctrl-C)."""
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> "ReportPreviews":
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish(cancel=True)


def report_preview(prepared: PreparedMedia) -> str | None:
    """The report's preview of one prepared image (a data: URI), or None.

    Drawn once per prepared file and kept beside the media cache, named by the file's SHA-256:
    the dry run draws them and the run after it reads them, instead of decoding every picture
    again (200 photos: ~2.4 s of CPU, which a local server would otherwise wait for)."""
    kept = cache_dir() / "previews" / f"{prepared.sha256}.txt" if _SHA256.fullmatch(prepared.sha256) else None
    if kept is not None:
        try:
            text = kept.read_text("ascii")
            if _PREVIEW_URI.fullmatch(text):
                return text
        except (OSError, UnicodeDecodeError):
            pass  # not drawn yet (or unreadable): draw it
    uri = thumbnail_data_uri(prepared.path)
    if uri is not None and kept is not None:
        try:
            kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(kept, uri.encode("ascii"), private=True)
        except OSError:
            pass  # a preview not kept is drawn again next time
    return uri


@dataclass
class Known:
    """What the journal knows of one post: its state, why, its parts, and the files left out
    while preparing them (kept, so a re-run reports the same files left out as the first run)."""

    state: str
    reason: str | None
    parts: list[J.PartRow]
    left_out: dict[int, str]


def _journal_states(journal: Journal, plans: list[PostPlan]) -> dict[str, Known]:
    out = {}
    for plan in plans:
        row = journal.post(plan.post.id)
        if row:
            left_out = {m.idx: m.reason or "could not be prepared"
                        for m in journal.media(plan.post.id) if m.state == J.SKIPPED}
            out[plan.post.id] = Known(row.state, row.reason, journal.parts(plan.post.id), left_out)
    return out


def _read_states(path: Path) -> dict[str, Known]:
    """What an existing journal knows, read without its lock (a dry run beside a run)."""
    out = {post_id: Known(state, reason, [], {}) for post_id, (state, reason) in J.peek_post_states(path).items()}
    for post_id, idx, reason in J.peek_skipped_media(path):
        if post_id in out:
            out[post_id].left_out[idx] = reason or "could not be prepared"
    return out


def _without_usable_media(plan: PostPlan, media_results: dict[tuple[str, int], MediaResult]) -> str | None:
    """The runner's reason for leaving out a post none of whose files can be prepared, or None."""
    wanted = [mi for part in plan.parts for mi in part.media]
    results = [media_results.get((plan.post.id, mi)) for mi in wanted]
    if not plan.media_required or not wanted or any(r is None or r.prepared is not None for r in results):
        return None
    dropped = dict(plan.dropped_media)
    prepared = dict(zip(wanted, results))
    return without_its_media([(m, dropped.get(mi) or getattr(prepared.get(mi), "skipped", None) or "could not be prepared")
                              for mi, m in enumerate(plan.post.media)])


_STATE_WORDS = {J.POSTED: "published", J.FAILED: "failed", J.SKIPPED: "skipped", J.PLANNED: "pending"}


def build_report(export: Export, adapter: Adapter, plans: list[PostPlan],
                 media_results: dict[tuple[str, int], MediaResult],
                 states: dict[str, Known], *, dry_run: bool, limits: ServerLimits | None = None) -> RunReport:
    posts: list[ReportPost] = []
    thumbs = 0
    counts = {"media": 0, "videos": 0, "posts": 0}  # "media" counts videos too (ratelimit.py)
    for plan in plans:
        post = plan.post
        known = states.get(post.id)
        state, reason = (known.state, known.reason) if known else (None, None)
        part_rows = known.parts if known else []
        left_out = known.left_out if known else {}
        if plan.skipped:
            word, reason = "skipped", plan.skipped
        elif dry_run and (state in (None, J.PLANNED) or (state == J.SKIPPED and not plan.media_required)):
            # (a post left out earlier for want of usable files goes out as text if now asked to)
            word, reason = "will publish", None
            unusable = _without_usable_media(plan, media_results)
            if unusable:  # what the run will find when it prepares the files: say it now
                word, reason = "skipped", unusable
        elif state is None:
            word = "pending"
        else:
            word = _STATE_WORDS.get(state, state)
        if word in ("will publish", "pending"):
            counts["posts"] += len(plan.parts)
            counts["media"] += sum(len(p.media) for p in plan.parts)
            counts["videos"] += sum(post.media[mi].type is MediaType.VIDEO for p in plan.parts for mi in p.media)
        rows_by_idx = {r.idx: r for r in part_rows}
        parts = []
        for part in plan.parts:
            row = rows_by_idx.get(part.index)
            parts.append(ReportPart(
                index=part.index, text=part.text, media=list(part.media),
                state=_STATE_WORDS.get(row.state, row.state) if row else ("will publish" if dry_run else "pending"),
                url=row.remote.url if row and row.remote else None, reason=row.reason if row else None))
        media = []
        dropped = dict(plan.dropped_media)
        for mi, item in enumerate(post.media):
            result = media_results.get((post.id, mi))
            thumb = None
            prepared = result.prepared if result else None
            if thumbs < MAX_THUMBNAILS and prepared is not None and prepared.mime.startswith("image/"):
                # The prepared file, never the raw export file: one safe decoder for what we wrote.
                thumb = report_preview(prepared)
                thumbs += thumb is not None
            media.append(ReportMedia(
                source_path=item.path, mime=item.mime, width=item.width, height=item.height,
                actions=list(result.actions) if result else [],
                skipped=dropped.get(mi) or (result.skipped if result else None) or left_out.get(mi),
                thumbnail=thumb, reencoded=result.reencoded if result else None))
        posts.append(ReportPost(post_id=post.id, kind=post.kind.value, taken_at=iso_utc(post.taken_at),
                                caption=post.caption, state=word, reason=reason, notes=list(plan.notes),
                                parts=parts, media=media))
    caps = adapter.caps
    # No time estimate when nothing is left to do.
    eta, budgets = estimate_with(limits, caps.rate_budgets, counts, call_seconds=caps.typical_call_seconds)
    if not counts["posts"]:
        eta = None
    return RunReport(
        target=target_label(adapter),
        target_description=adapter.description,
        dry_run=dry_run,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        export=export.tree.describe(),
        layout=export.reader.label,
        posts=posts,
        eta_seconds=eta,
        eta_text=describe_duration(eta) if eta is not None else None,
        budgets=[b.describe() + (" (the server's own figure)" if b not in caps.rate_budgets else "")
                 for b in budgets],
        # The target's own notes (an opt-out only its settings page can switch on, a fallback
        # taken) belong beside the export's problems: every report shows both.
        warnings=[str(p) for p in export.problems] + [n for n in adapter.notes() if n],
    )

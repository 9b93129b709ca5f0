"""The runner: carries out a plan on one target, oldest post first, journaling every step.

For each post: prepare its media (cached), upload each file, create each part (replying to
the previous one), with the journal written before and after every remote call: the writes
gather in one transaction that is committed right before each call (and each wait), so what
precedes a call is on disk before it goes out, at one fsync per call. Transient
failures are retried with exponential backoff and jitter (tenacity), honouring the server's
own "retry after"; a retried create first asks the target whether the earlier attempt landed.
A permanent failure fails that post only. A `RunStopped` (bad login, budget spent, journal
unwritable) or Ctrl-C ends the run with the journal consistent: run again to continue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator, Protocol, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from pindah.adapters.contract import Adapter, PostRequest, PreparedMedia, RemoteRef

from . import journal as J
from .errors import PostFailed, RunStopped, TransientError
from .journal import Journal
from .kitjournal import run_view
from .media import MediaResult
from .model import Media
from .planner import PostPlan, without_its_media
from .prefetch import Prefetcher
from .ratelimit import Pacer, watch_rates
from .stamp import Stamp
from .upload_ahead import UploadAhead

T = TypeVar("T")

# After this many posts in a row fail for transient reasons, the target is down: stop.
MAX_TRANSIENT_POSTS_IN_A_ROW = 3
# Posts the journal has never seen are first looked for on the target (a lost or deleted
# journal leaves them there): until this many parts in a row are not found. A first run pays this
# many lookups, a run after a lost journal finds and records what is there instead of
# claiming to publish it.
PROBE_MISSES_TO_STOP = 3


class Progress(Protocol):
    """What a run (or a dry run) tells the screen as it goes."""

    def start(self, total_posts: int, total_media: int) -> None: ...
    def post_done(self, media_count: int) -> None: ...
    def note(self, text: str) -> None: ...


class NoProgress:
    """The progress shown when none is asked for: nothing."""

    def start(self, total_posts: int, total_media: int) -> None: ...
    def post_done(self, media_count: int) -> None: ...
    def note(self, text: str) -> None: ...


@dataclass
class RunOutcome:
    posted: list[str] = field(default_factory=list)  # post ids this run created something for
    # Post ids already on the target that this run found and recorded, creating nothing
    # (a journal lost or deleted after an earlier run; a crash after the last part landed).
    found: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # post id -> reason (this run)
    skipped: dict[str, str] = field(default_factory=dict)
    already: int = 0  # posts done before this run
    stopped: RunStopped | None = None
    interrupted: bool = False
    media_results: dict[tuple[str, int], MediaResult] = field(default_factory=dict)


class Runner:
    def __init__(self, adapter: Adapter, journal: Journal, cache_dir: Path, *,
                 progress: Progress | None = None, max_attempts: int = 5, max_wait: float = 3600.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 stamp: Stamp | None = None, on_prepared: Callable[[MediaResult], None] | None = None) -> None:
        self.adapter = adapter
        # A target the artist publishes by hand (the Cara kit) sees the journal through its own
        # view, in which a post stays pending until the artist marks it (migrator/kitjournal.py).
        self.journal = run_view(adapter, journal)
        self.cache_dir = cache_dir
        self.stamp = stamp or Stamp()  # the rights metadata every image carries (migrator/rights.py)
        self.progress = progress or NoProgress()
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.clock = clock
        # Told each file's preparation as the run gets it (the engine draws the report's previews
        # meanwhile, on a core the network calls leave idle).
        self.on_prepared = on_prepared or (lambda result: None)
        self._probe_misses = 0  # posts new to the journal, not found on the target, in a row
        self._next_plan: PostPlan | None = None  # whose images may go out while this post is created
        self._ahead: UploadAhead | None = None
        self._going: list[tuple[str, int, PreparedMedia, str]] = []  # journaled, sent with the next create
        self._new_to_journal: set[str] = set()
        self.pacer = Pacer(adapter.caps.rate_budgets, self.journal, clock=clock, sleep=self._wait, max_wait=max_wait,
                           on_wait=lambda s, why: self.progress.note(f"waiting {s:.0f} s for the target's limit ({why})"))
        watch_rates(adapter, self.pacer.report)  # the server's own figures pace the run before any 429

    # -- the run ---------------------------------------------------------------------------
    def run(self, plans: list[PostPlan]) -> RunOutcome:
        outcome = RunOutcome()
        # Manual targets (the Cara kit) hold nothing pindah published: nothing to look for.
        if not self.adapter.caps.published_by_hand:
            self._new_to_journal = {p.post.id for p in plans if self.journal.post(p.post.id) is None}
        self.journal.record_plans(plans)
        self.progress.start(len(plans), sum(len(p.post.media) for p in plans))
        # The next posts' files are prepared on every core while this one's calls run.
        self._prefetcher = Prefetcher(self.stamp, self.adapter.caps, self.cache_dir)
        self._prefetcher.schedule(self._upcoming_media(plans))
        if type(self.adapter).uploads_alongside and not self.adapter.caps.published_by_hand:
            self._ahead = UploadAhead(self.adapter.upload_media)  # see _ready_ahead
        transient_in_a_row = 0
        try:
            with self.journal.grouped():  # committed before each call: see _media and _create
                for number, plan in enumerate(plans, 1):
                    self._next_plan = plans[number] if number < len(plans) else None
                    state = self._run_post(plan, outcome)
                    self._settle_ahead(plan.post.id)
                    transient_in_a_row = transient_in_a_row + 1 if state == "transient" else 0
                    self.progress.post_done(len(plan.post.media))
                    if transient_in_a_row >= MAX_TRANSIENT_POSTS_IN_A_ROW:
                        raise RunStopped("the target keeps failing (several posts in a row could not be sent)",
                                         "it may be down; run the same command again later to continue")
        except RunStopped as stop:
            outcome.stopped = stop
        except KeyboardInterrupt:
            outcome.interrupted = True
        finally:
            if self._ahead is not None:
                self._release_ahead(send=False)
                self._settle_ahead(None)  # no upload left in flight when the adapter closes
                self._ahead.close()
                self._ahead = None
            self._prefetcher.close()
            self.adapter.finish()
        return outcome

    def _run_post(self, plan: PostPlan, outcome: RunOutcome) -> str:
        post = plan.post
        row = self.journal.post(post.id)
        if row is not None and row.state == J.SKIPPED and not plan.skipped and not plan.media_required \
                and not self.adapter.caps.published_by_hand:
            # Left out in an earlier run because none of its files could be used; the artist
            # now wants the text alone (--text-without-media): publish it.
            self.journal.post_state(post.id, J.PLANNED)
            row = self.journal.post(post.id)
        if row is None or row.state in (J.POSTED, J.SKIPPED, J.FAILED):
            if row is not None and row.state == J.POSTED:
                outcome.already += 1
            elif row is not None and row.state == J.SKIPPED:
                outcome.skipped[post.id] = row.reason or "skipped"
            return row.state if row else "unknown"
        try:
            created = self._publish(plan, outcome)
        except _LeftOut as why:
            self.journal.post_state(post.id, J.SKIPPED, why.reason)
            outcome.skipped[post.id] = why.reason
            return J.SKIPPED
        except PostFailed as exc:
            self.journal.post_state(post.id, J.FAILED, exc.one_line())
            outcome.failed[post.id] = exc.one_line()
            return J.FAILED
        except TransientError as exc:
            reason = f"gave up after {self.max_attempts} tries: {exc.one_line()}"
            self.journal.post_state(post.id, J.FAILED, reason)
            outcome.failed[post.id] = reason
            return "transient"
        self.journal.post_state(post.id, J.POSTED)
        (outcome.posted if created else outcome.found).append(post.id)
        return J.POSTED

    def _publish(self, plan: PostPlan, outcome: RunOutcome) -> bool:
        """Publish what is left of one post; True if this run created anything on the target."""
        post = plan.post
        media_rows = {m.idx: m for m in self.journal.media(post.id)}
        refs: dict[int, RemoteRef] = {}
        parts = self.journal.parts(post.id)
        last: RemoteRef | None = None  # the latest part created: a reply's parent if its own was left out
        captions = {p.index: p.caption for p in plan.parts}  # each part's slice of the caption
        if plan.media_required and all(p.state == J.PLANNED for p in parts):
            self._check_some_media_usable(plan, [mi for p in parts for mi in p.media], media_rows, outcome)
        created = False
        try:
            for part in parts:
                if part.state == J.POSTED and part.remote is not None:
                    refs[part.idx] = last = part.remote
                    continue
                if part is parts[-1] and all((post.id, mi) in outcome.media_results or media_rows[mi].state == J.SKIPPED
                                             for mi in part.media):
                    # Its files went ahead, or need nothing more: the next post's are chosen now,
                    # while those uploads finish, not once they have (the server would wait on it).
                    self._ready_ahead(outcome)
                uploaded: list[RemoteRef] = []
                alts: list[str | None] = []
                for mi in part.media:
                    done = self._media(plan, mi, media_rows[mi], part.key, outcome)
                    if done is not None:
                        uploaded.append(done[0])
                        alts.append(done[1])
                if not uploaded and part.media and not captions.get(part.idx, part.text).strip():
                    continue  # every file of a media-only part was refused: a bare "(2/3)" says nothing
                if not uploaded and self.adapter.caps.requires_media and part.reply_to is None:
                    raise PostFailed("none of this post's images could be prepared for this platform, "
                                     "which only takes posts with images")
                first = next(iter(refs.values()), None)  # the thread's root: the first part created
                request = PostRequest(
                    key=part.key, text=part.text, media=tuple(uploaded), media_alt=tuple(alts),
                    created_at=post.taken_at + timedelta(seconds=part.idx),
                    reply_to=(refs.get(part.reply_to) or last) if part.reply_to is not None else None,
                    root=first if part.reply_to is not None else None,
                    post_id=post.id, part_index=part.idx, part_count=len(parts))
                look_first = part.state == J.POSTING or self._probing(post.id)
                if part is parts[-1]:
                    self._ready_ahead(outcome)  # if not done above: the next post's images travel while this one is created
                ref, found = self._create(request, look_first=look_first)
                if look_first and part.state != J.POSTING:
                    self._probe_misses = 0 if found else self._probe_misses + 1
                created = created or not found
                refs[part.idx] = last = ref
        finally:
            # Chosen for a create that never went out (a file refused, a part left out, a stop): not sent.
            self._release_ahead(send=False)
        return created

    def _ready_ahead(self, outcome: RunOutcome) -> None:
        """Choose the next post's first images for the upload-ahead thread (migrator/upload_ahead.py).

        Only what can go at once: files already prepared, budgets not spent, a post and files
        untouched so far (a resumed post goes the usual way). Each is paced and journaled
        "uploading" here, on the runner's thread; `_release_ahead` hands them over once that is
        on disk, with the create that follows (one commit for both)."""
        plan, self._next_plan = self._next_plan, None
        if self._ahead is None or plan is None or plan.skipped:
            return
        post = plan.post
        row = self.journal.post(post.id)
        part = next((p for p in self.journal.parts(post.id) if p.state == J.PLANNED), None)
        if row is None or row.state != J.PLANNED or part is None:
            return
        rows = {m.idx: m for m in self.journal.media(post.id)}
        for mi in part.media:
            if rows[mi].state != J.PLANNED or not self.pacer.ready("media") or not (
                    (post.id, mi) in outcome.media_results or self._prefetcher.ready(post.media[mi])):
                break
            result = self._prepare(plan, mi, outcome)
            if result.prepared is None or result.prepared.mime not in self.adapter.caps.image_mime_types:
                continue  # left out, or a video (its own budgets and a long job): the usual way
            prepared = _with_alt(result.prepared, plan, mi)
            self.pacer.acquire("media")
            self.journal.media_uploading(post.id, mi, prepared.sha256)
            self._going.append((post.id, mi, prepared, f"{part.key}/m{mi}"))

    def _release_ahead(self, *, send: bool) -> None:
        """Hand the chosen uploads over, their "uploading" on disk first; or, when the create
        they were to go with did not go out (a stop, a failure), record them as not sent."""
        going, self._going = self._going, []
        if not going or self._ahead is None:
            return
        if send:
            self.journal.durable()  # already done by a create that just went out: then a no-op
            for post_id, mi, prepared, key in going:
                self._ahead.send(post_id, mi, prepared, key)
            return
        try:
            for post_id, mi, _, _ in going:
                self.journal.media_not_sent(post_id, mi)
        except RunStopped:
            pass  # the journal can't be written: left "uploading", a resume sends them

    def _settle_ahead(self, post_id: str | None) -> None:
        """Journal what became of uploads sent ahead that their post never took (of `post_id`,
        or all when the run ends): a file uploaded, or one to send again, never "uploading"."""
        if self._ahead is None:
            return
        for pid, mi, sent in self._ahead.untaken(post_id):
            try:
                ref = sent.result()
            except Exception:  # noqa: BLE001 - its post never asked for it: nothing to report
                ref = None
            try:
                if ref is not None:
                    self.journal.media_uploaded(pid, mi, ref, at=self.clock())
                else:
                    self.journal.media_not_sent(pid, mi)
            except RunStopped:  # the journal can't be written: a resume sends the file again
                return

    def _upcoming_media(self, plans: list[PostPlan]) -> Iterator[Media]:
        """The files this run will ask for, in order (read lazily, as the prefetcher needs them)."""
        for plan in plans:
            row = self.journal.post(plan.post.id)
            if row is not None and row.state not in (J.POSTED, J.SKIPPED, J.FAILED):
                yield from (plan.post.media[mi] for part in plan.parts for mi in part.media)

    def _probing(self, post_id: str) -> bool:
        """Should a part of this post be looked for on the target before it is created?"""
        return post_id in self._new_to_journal and self._probe_misses < PROBE_MISSES_TO_STOP

    def _check_some_media_usable(self, plan: PostPlan, wanted: list[int], rows: dict[int, J.MediaRow],
                                 outcome: RunOutcome) -> None:
        """Before anything of a post is sent: if none of its files can be prepared, it is left
        out (raises `_LeftOut`) rather than published as a caption without its artwork."""
        if not wanted or any(rows[mi].state != J.SKIPPED and self._prepare(plan, mi, outcome).prepared is not None
                             for mi in wanted):
            return  # stops at the first usable file; the others are prepared as they are sent
        dropped = dict(plan.dropped_media)
        unusable = []
        for mi, media in enumerate(plan.post.media):
            result = outcome.media_results.get((plan.post.id, mi))
            why = dropped.get(mi) or (result.skipped if result else None) or rows[mi].reason or "could not be prepared"
            unusable.append((media, why))
        raise _LeftOut(without_its_media(unusable))

    def _prepare(self, plan: PostPlan, mi: int, outcome: RunOutcome) -> MediaResult:
        """Prepare one file (once per run), journaling it as skipped if it can't be used."""
        post = plan.post
        known = outcome.media_results.get((post.id, mi))
        if known is not None:
            return known
        try:
            result = self._prefetcher.prepare(post.media[mi])
        except OSError as exc:  # the cache can't be written: the machine's problem, not the post's
            raise RunStopped(f"cannot write prepared media to {self.cache_dir} ({exc.strerror or exc})",
                             "free some disk space, then run the same command again to continue") from None
        outcome.media_results[(post.id, mi)] = result
        self.on_prepared(result)
        if result.prepared is None:
            self.journal.media_skipped(post.id, mi, result.skipped or "could not be prepared")
        return result

    def _media(self, plan: PostPlan, mi: int, row: J.MediaRow, key: str,
               outcome: RunOutcome) -> tuple[RemoteRef, str | None] | None:
        post = plan.post
        if row.state == J.SKIPPED:
            return None
        result = self._prepare(plan, mi, outcome)
        if result.prepared is None:
            return None
        prepared = _with_alt(result.prepared, plan, mi)
        if row.state == J.UPLOADED and row.remote is not None and row.prepared_sha == prepared.sha256:
            # Servers delete media that stay unattached too long: reuse only a fresh upload.
            fresh = self.adapter.caps.media_reuse_seconds is None or (
                row.uploaded_at is not None and self.clock() - row.uploaded_at < self.adapter.caps.media_reuse_seconds)
            if fresh:
                return row.remote, prepared.alt_text
        # Sent while the post before was created (_ready_ahead): paced and journaled then, and
        # its answer or error is this call's first attempt.
        ahead = self._ahead.take(post.id, mi) if self._ahead is not None else None
        if ahead is None:
            # A video is paced as one: "videos" budgets (Tumblr's 10 a day) and "media" ones both count it.
            self.pacer.acquire("videos" if prepared.mime in self.adapter.caps.video_mime_types else "media")
            self.journal.media_uploading(post.id, mi, prepared.sha256)
            self.journal.durable()  # "uploading" (and all written before it) on disk before the upload

        def upload() -> RemoteRef:
            nonlocal ahead
            if ahead is not None:
                sent, ahead = ahead, None
                return sent.result()
            return self.adapter.upload_media(prepared, f"{key}/m{mi}")

        try:
            ref = self._call(upload)
        except PostFailed as exc:  # refused for good (e.g. 413): say so, not "uploading" forever
            self.journal.media_failed(post.id, mi, exc.one_line())
            raise
        self.journal.media_uploaded(post.id, mi, ref, at=self.clock())
        return ref, prepared.alt_text

    def _create(self, request: PostRequest, *, look_first: bool) -> tuple[RemoteRef, bool]:
        """Create one part exactly once, even across crashes and retried timeouts.

        Returns the part's reference and whether it was found already there (True) rather
        than created by this call (False): the artist is told which, never "published" for both."""
        first = [not look_first]
        found_there = [False]

        def attempt() -> RemoteRef:
            if not first[0]:
                found = self._find(request)  # an earlier attempt (or run) may have landed
                if found is not None:
                    found_there[0] = True
                    return found
            first[0] = False
            self.pacer.acquire("posts")
            self.journal.durable()  # "posting" on disk before the create, on every attempt
            self._release_ahead(send=True)  # the next post's images go out with it
            return self.adapter.create_post(request)

        self.journal.part_posting(request.post_id, request.part_index)
        try:
            ref = self._call(attempt)
        except PostFailed as exc:
            self._release_ahead(send=False)
            self.journal.part_failed(request.post_id, request.part_index, exc.one_line())
            raise
        except BaseException:
            self._release_ahead(send=False)  # stopped before the create went out: nothing else goes
            raise
        self._release_ahead(send=True)  # found already there: no create went out, the files still go
        self.journal.part_posted(request.post_id, request.part_index, ref)
        return ref, found_there[0]

    def _find(self, request: PostRequest) -> RemoteRef | None:
        try:
            return self.adapter.find_post(request)
        except NotImplementedError:  # a third-party target that cannot look: create, as before
            return None

    def _call(self, operation: Callable[[], T]) -> T:
        return call_with_retries(operation, self.pacer, sleep=self._wait, attempts=self.max_attempts)

    def _wait(self, seconds: float) -> None:
        """Every wait (a budget, a backoff) starts with what the journal gathered on disk: a
        run stopped while it waits has lost nothing."""
        self.journal.durable()
        self.sleep(seconds)


class _LeftOut(Exception):
    """This post is left out, for `reason` (in the artist's words); nothing of it was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def call_with_retries(operation: Callable[[], T], pacer: Pacer, *, sleep: Callable[[float], None] = time.sleep,
                      attempts: int = 5) -> T:
    """Run one remote call, retrying `TransientError`s with exponential backoff and jitter.

    A server's own "retry after" wins over the backoff; a wait longer than the pacer allows
    stops the run (`RunStopped`) with the time to continue. Other errors pass straight through."""
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            pacer.wait_until(pacer.clock() + exc.retry_after, exc.one_line().rstrip("."))
            return 0.0
        return wait_exponential_jitter(initial=1, max=120)(state)

    retrying = Retrying(retry=retry_if_exception_type(TransientError), wait=wait,
                        stop=stop_after_attempt(attempts), sleep=sleep, reraise=True)
    return retrying(operation)


def _with_alt(prepared: PreparedMedia, plan: PostPlan, mi: int) -> PreparedMedia:
    """The planner decides which alt text is published (and fits it to the target's limit)."""
    alt = next((part.alt[part.media.index(mi)] for part in plan.parts
                if mi in part.media and len(part.alt) == len(part.media)), None)
    return prepared if alt == prepared.alt_text else replace(prepared, alt_text=alt)

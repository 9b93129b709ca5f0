"""The journal: what has been planned, uploaded and posted, so nothing is lost or doubled.

One SQLite database per export and target (file mode 0600, folder 0700). Every remote call is
bracketed by two journal writes, each committed before the program goes on:

    part:  planned -> posting -> posted (remote id, URL)      or -> failed (reason)
    media: planned -> uploading -> uploaded (remote id, time)  or -> failed / skipped (reason)
    post:  planned -> posted | failed | skipped (reason)

A run gathers its writes (`Journal.grouped`) and commits them right before each remote call
(`Journal.durable`): one fsync per call instead of one per write, with the same order on disk.

A crash between "posting" and "posted" leaves the outcome unknown; the runner then asks the
target (`Adapter.find_post`) instead of posting again. A part already "posted" is never sent
again. Calls are also logged per rate budget (`calls`) so daily limits hold across runs.

An exclusive lock (`<journal>.lock`, flock) keeps two runs off the same journal at once.

All of pindah's SQL is here: the writes around remote calls, the artist's marks for a target
published by hand (`mark_posted`, `mark_skipped`, `mark_pending`; see migrator/kitjournal.py),
and the read-only `peek_*` reads that a dry run or a kit's page make beside a running run.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterator

from pindah.adapters.contract import RemoteRef
from pindah.adapters.toolkit.paths import state_dir

from .errors import RunStopped
from .planner import PostPlan

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    post_id TEXT PRIMARY KEY, kind TEXT NOT NULL, taken_at TEXT NOT NULL, caption TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, plan_hash TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
    post_id TEXT NOT NULL, idx INTEGER NOT NULL, key TEXT NOT NULL UNIQUE, text TEXT NOT NULL,
    media TEXT NOT NULL, reply_to INTEGER, state TEXT NOT NULL, remote_id TEXT, remote_url TEXT,
    remote_extra TEXT, reason TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
    PRIMARY KEY (post_id, idx));
CREATE TABLE IF NOT EXISTS media (
    post_id TEXT NOT NULL, idx INTEGER NOT NULL, source_path TEXT NOT NULL, state TEXT NOT NULL,
    prepared_sha TEXT, remote_id TEXT, remote_extra TEXT, uploaded_at REAL, reason TEXT,
    updated_at TEXT NOT NULL, PRIMARY KEY (post_id, idx));
CREATE TABLE IF NOT EXISTS calls (budget TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS calls_by_budget ON calls (budget, at);
"""

# Post states
PLANNED, POSTED, FAILED, SKIPPED = "planned", "posted", "failed", "skipped"
# Part/media transitional states
POSTING, UPLOADING, UPLOADED, DELETED = "posting", "uploading", "uploaded", "deleted"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class PartRow:
    post_id: str
    idx: int
    key: str
    text: str
    media: tuple[int, ...]
    reply_to: int | None
    state: str
    remote: RemoteRef | None
    reason: str | None
    attempts: int


@dataclass(frozen=True)
class MediaRow:
    post_id: str
    idx: int
    source_path: str
    state: str
    prepared_sha: str | None
    remote: RemoteRef | None
    uploaded_at: float | None
    reason: str | None


@dataclass(frozen=True)
class PostRow:
    post_id: str
    kind: str
    taken_at: str
    caption: str
    state: str
    reason: str | None


def plan_hash(plan: PostPlan) -> str:
    """What the plan of a post looks like; a changed plan of an untouched post is replaced."""
    import hashlib

    shape = [(p.index, p.text, list(p.media), p.reply_to) for p in plan.parts]
    return hashlib.sha256(json.dumps([plan.skipped, shape], ensure_ascii=False).encode()).hexdigest()[:16]


class Journal:
    """All reads and writes of one journal database. Each write is its own committed transaction."""

    def __init__(self, path: Path, db: sqlite3.Connection, lock: IO[str]) -> None:
        self.path = path
        self._db = db
        self._lock = lock
        self._grouping = False  # see `grouped`

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, meta: dict[str, str] | None = None) -> "Journal":
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        lock = _acquire_lock(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a committed step survives power loss too
            db.executescript(_SCHEMA)
            for side in ("-wal", "-shm"):
                if Path(str(path) + side).exists():
                    os.chmod(str(path) + side, 0o600)
        except sqlite3.DatabaseError as exc:
            lock.close()
            raise RunStopped(f"the journal {path} is damaged or unwritable ({exc})",
                             "free some disk space or move the file aside; nothing was posted") from None
        journal = cls(path, db, lock)
        try:
            with journal._tx():
                journal._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                for key, value in (meta or {}).items():
                    journal._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        except sqlite3.DatabaseError as exc:
            journal.close()
            raise RunStopped(f"cannot write the journal {path} ({exc})",
                             "free some disk space, then run the same command again; nothing was posted") from None
        return journal

    def close(self) -> None:
        try:
            self.durable()
        except RunStopped:
            pass  # what could not be written is looked up on the target by the next run
        self._db.close()
        self._lock.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _tx(self) -> "Journal._Tx":
        if self._grouping:
            self.durable()  # a transaction of its own, after what was gathered
        return Journal._Tx(self._db)

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        try:
            if self._grouping:
                if not self._db.in_transaction:
                    self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(sql, args)
            else:
                with self._tx():
                    self._db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            # Disk full, read-only media...: stop before any further remote call.
            self._keep_gathered()
            raise self._unwritable(exc) from None

    def _unwritable(self, exc: Exception) -> RunStopped:
        return RunStopped(f"cannot write the journal {self.path} ({exc})",
                          "free some disk space, then run the same command again to continue")

    # -- grouped commits (a run) -------------------------------------------------------------
    @contextmanager
    def grouped(self) -> Iterator[None]:
        """Within: writes gather in one open transaction instead of a commit (an fsync) each;
        `durable()` commits them, and leaving does.

        The runner calls `durable()` right before every remote call and every wait, so all it
        wrote before a call (this call's "about to", the previous call's "done") is on disk
        before the call goes out, as with a commit per write. What is on disk at any moment is
        a state a commit per write also passes through: a crash resumes the same way."""
        self._grouping = True
        try:
            yield
        finally:
            self._grouping = False
            self.durable()

    def durable(self) -> None:
        """Commit what was gathered (`grouped`); raises `RunStopped` if the disk refuses it."""
        if not self._db.in_transaction:
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._keep_gathered()
            raise self._unwritable(exc) from None

    def _keep_gathered(self) -> None:
        """After a refused write: keep the gathered writes before it if the disk takes them
        (they record calls that happened), else drop them (a resume then looks those up)."""
        if not self._db.in_transaction:
            return  # SQLite already rolled back, or nothing was gathered
        for sql in ("COMMIT", "ROLLBACK"):
            try:
                self._db.execute(sql)
                return
            except sqlite3.Error:
                continue

    # -- plan ------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def record_plans(self, plans: list[PostPlan]) -> None:
        """Insert plans of posts the journal does not know; replace plans of posts not started."""
        try:
            with self._tx():
                for plan in plans:
                    self._record_plan(plan)
        except sqlite3.OperationalError as exc:
            raise RunStopped(f"cannot write the journal {self.path} ({exc})",
                             "free some disk space, then run the same command again") from None

    def _record_plan(self, plan: PostPlan) -> None:
        post, digest = plan.post, plan_hash(plan)
        row = self._db.execute("SELECT state, plan_hash FROM posts WHERE post_id=?", (post.id,)).fetchone()
        if row is not None:
            started = self._db.execute(
                "SELECT 1 FROM parts WHERE post_id=? AND state!='planned' UNION ALL "
                "SELECT 1 FROM media WHERE post_id=? AND state NOT IN ('planned','skipped') LIMIT 1",
                (post.id, post.id)).fetchone()
            if started or row[1] == digest or row[0] in (POSTED, FAILED):
                return  # never re-plan something that has touched the target
            self._db.execute("DELETE FROM parts WHERE post_id=?", (post.id,))
            self._db.execute("DELETE FROM media WHERE post_id=?", (post.id,))
            self._db.execute("DELETE FROM posts WHERE post_id=?", (post.id,))
        now = _now()
        state, reason = (SKIPPED, plan.skipped) if plan.skipped else (PLANNED, None)
        self._db.execute("INSERT INTO posts VALUES (?,?,?,?,?,?,?,?)",
                         (post.id, post.kind.value, post.taken_at.isoformat(), post.caption[:200],
                          state, reason, digest, now))
        for part in plan.parts:
            self._db.execute(
                "INSERT INTO parts (post_id, idx, key, text, media, reply_to, state, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (post.id, part.index, part.key, part.text, json.dumps(list(part.media)), part.reply_to,
                 PLANNED, now))
        for idx, media in enumerate(post.media):
            dropped = dict(plan.dropped_media).get(idx)
            self._db.execute("INSERT INTO media (post_id, idx, source_path, state, reason, updated_at) "
                             "VALUES (?,?,?,?,?,?)",
                             (post.id, idx, media.path, SKIPPED if dropped else PLANNED, dropped, now))

    # -- reads -----------------------------------------------------------------------------
    def post(self, post_id: str) -> PostRow | None:
        row = self._db.execute("SELECT post_id, kind, taken_at, caption, state, reason FROM posts "
                               "WHERE post_id=?", (post_id,)).fetchone()
        return PostRow(*row) if row else None

    def posts(self, state: str | None = None) -> list[PostRow]:
        sql = "SELECT post_id, kind, taken_at, caption, state, reason FROM posts"
        rows = self._db.execute(sql + (" WHERE state=?" if state else "") + " ORDER BY taken_at, post_id",
                                (state,) if state else ()).fetchall()
        return [PostRow(*r) for r in rows]

    def parts(self, post_id: str) -> list[PartRow]:
        rows = self._db.execute(
            "SELECT post_id, idx, key, text, media, reply_to, state, remote_id, remote_url, remote_extra, "
            "reason, attempts FROM parts WHERE post_id=? ORDER BY idx", (post_id,)).fetchall()
        return [_part_row(r) for r in rows]

    def all_parts(self, state: str | None = None) -> Iterator[PartRow]:
        rows = self._db.execute(
            "SELECT p.post_id, idx, key, text, media, reply_to, p.state, remote_id, remote_url, remote_extra, "
            "p.reason, attempts FROM parts p JOIN posts USING (post_id)"
            + (" WHERE p.state=?" if state else "") + " ORDER BY taken_at, p.post_id, idx",
            (state,) if state else ()).fetchall()
        return (_part_row(r) for r in rows)

    def media(self, post_id: str) -> list[MediaRow]:
        rows = self._db.execute(
            "SELECT post_id, idx, source_path, state, prepared_sha, remote_id, remote_extra, uploaded_at, reason "
            "FROM media WHERE post_id=? ORDER BY idx", (post_id,)).fetchall()
        return [MediaRow(r[0], r[1], r[2], r[3], r[4], _ref(r[5], None, r[6]), r[7], r[8]) for r in rows]

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, count(*) FROM posts GROUP BY state").fetchall())

    # -- writes around remote calls ---------------------------------------------------------
    def _set_state(self, table: str, post_id: str, idx: int, state: str, *, also: str = "",
                   **columns: Any) -> None:
        """One media file's or part's new state, with the columns given (None writes NULL) and
        the SQL in `also`, stamped now."""
        sets = "".join(f"{name}=?, " for name in columns) + (f"{also}, " if also else "")
        # Table and column names are this class's own words; every value is a parameter.
        self._write(f"UPDATE {table} SET state=?, {sets}updated_at=? WHERE post_id=? AND idx=?",
                    (state, *columns.values(), _now(), post_id, idx))

    def media_uploading(self, post_id: str, idx: int, prepared_sha: str) -> None:
        self._set_state("media", post_id, idx, UPLOADING, prepared_sha=prepared_sha)

    def media_uploaded(self, post_id: str, idx: int, ref: RemoteRef, *, at: float | None = None) -> None:
        self._set_state("media", post_id, idx, UPLOADED, remote_id=ref.id, remote_extra=json.dumps(ref.extra),
                        uploaded_at=time.time() if at is None else at, reason=None)

    def media_not_sent(self, post_id: str, idx: int) -> None:
        """An upload sent ahead that did not land, for a post not published: planned again."""
        self._set_state("media", post_id, idx, PLANNED)

    def media_failed(self, post_id: str, idx: int, reason: str) -> None:
        self._set_state("media", post_id, idx, FAILED, reason=reason)

    def media_skipped(self, post_id: str, idx: int, reason: str) -> None:
        self._set_state("media", post_id, idx, SKIPPED, reason=reason)

    def part_posting(self, post_id: str, idx: int) -> None:
        self._set_state("parts", post_id, idx, POSTING, also="attempts=attempts+1")

    def part_posted(self, post_id: str, idx: int, ref: RemoteRef) -> None:
        self._set_state("parts", post_id, idx, POSTED, remote_id=ref.id, remote_url=ref.url,
                        remote_extra=json.dumps(ref.extra), reason=None)

    def part_failed(self, post_id: str, idx: int, reason: str) -> None:
        self._set_state("parts", post_id, idx, FAILED, reason=reason)

    def part_deleted(self, post_id: str, idx: int) -> None:
        self._set_state("parts", post_id, idx, DELETED)

    def post_state(self, post_id: str, state: str, reason: str | None = None) -> None:
        self._write("UPDATE posts SET state=?, reason=?, updated_at=? WHERE post_id=?",
                    (state, reason, _now(), post_id))

    def forget_remote(self, post_id: str) -> None:
        """After a rollback deleted a post on the target: back to planned, nothing remote kept."""
        with self._tx():
            self._db.execute("UPDATE parts SET state='planned', remote_id=NULL, remote_url=NULL, "
                             "remote_extra=NULL, reason=NULL WHERE post_id=?", (post_id,))
            self._db.execute("UPDATE media SET state='planned', remote_id=NULL, remote_extra=NULL, "
                             "uploaded_at=NULL WHERE post_id=? AND state!='skipped'", (post_id,))
            self._db.execute("UPDATE posts SET state='planned', reason='rolled back' WHERE post_id=?", (post_id,))

    def reset_failed(self) -> int:
        """Failed posts and parts go back to planned (for `pindah retry-failed`)."""
        with self._tx():
            self._db.execute("UPDATE parts SET state='planned', reason=NULL WHERE state='failed'")
            self._db.execute("UPDATE media SET state='planned', reason=NULL WHERE state='failed'")
            return self._db.execute("UPDATE posts SET state='planned', reason=NULL WHERE state='failed'").rowcount

    # -- marks of a target published by hand (the runner's view: migrator/kitjournal.py) ------
    def mark_posted(self, post_id: str, idx: int, ref: RemoteRef, *, by_hand: str) -> None:
        """The artist says this part is up (ref: its name in the kit, the post's URL)."""
        Journal.part_posted(self, post_id, idx, ref)
        self.settle(post_id, by_hand=by_hand)

    def mark_skipped(self, post_id: str, idx: int, *, marked_at: str, by_hand: str) -> None:
        self._write("UPDATE parts SET state=?, reason=?, remote_id=NULL, remote_url=NULL, remote_extra=?, "
                    "updated_at=? WHERE post_id=? AND idx=?",
                    (SKIPPED, by_hand, json.dumps({"marked_at": marked_at}), _now(), post_id, idx))
        self.settle(post_id, by_hand=by_hand)

    def mark_pending(self, post_id: str, idx: int, *, by_hand: str) -> None:
        """Undo a mark (or a failure): the part is pending again and the next run rewrites it."""
        self._write("UPDATE parts SET state=?, reason=NULL, remote_id=NULL, remote_url=NULL, remote_extra=NULL, "
                    "updated_at=? WHERE post_id=? AND idx=?", (PLANNED, _now(), post_id, idx))
        self.settle(post_id, by_hand=by_hand)

    def settle(self, post_id: str, *, by_hand: str) -> None:
        """A hand-published post's state follows its parts: posted once every part is posted or
        skipped (one at least posted), skipped if all were skipped, else planned."""
        states = [p.state for p in self.parts(post_id)]
        if states and all(s in (POSTED, SKIPPED) for s in states):
            done = POSTED if POSTED in states else SKIPPED
            Journal.post_state(self, post_id, done, None if done == POSTED else by_hand)
        elif FAILED not in states:
            Journal.post_state(self, post_id, PLANNED)

    # -- rate budgets ----------------------------------------------------------------------
    def record_call(self, budget: str, at: float) -> None:
        self._write("INSERT INTO calls VALUES (?, ?)", (budget, at))

    def calls_since(self, budget: str, since: float) -> list[float]:
        return [r[0] for r in self._db.execute(
            "SELECT at FROM calls WHERE budget=? AND at>=? ORDER BY at", (budget, since)).fetchall()]


def _ref(remote_id: str | None, url: str | None, extra: str | None) -> RemoteRef | None:
    if remote_id is None:
        return None
    return RemoteRef(remote_id, url, json.loads(extra) if extra else {})


def _part_row(r: tuple[Any, ...]) -> PartRow:
    return PartRow(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6], _ref(r[7], r[8], r[9]), r[10], r[11])


def _acquire_lock(path: Path) -> IO[str]:
    lock_path = Path(str(path) + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "r+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunStopped("another pindah run is already working on this export and target",
                         "wait for it to finish (or stop it), then run the command again") from None
    return handle


# -- reading a journal another run may hold (no lock, read-only) --------------------------------
@dataclass(frozen=True)
class MarkRow:
    """A part's state and remote fields, as `peek_parts` reads them."""

    key: str
    state: str
    url: str | None
    extra: dict[str, str]
    reason: str | None


def journals_for(target_name: str | None = None) -> list[Path]:
    """Every journal of one target (or of all), as `<state dir>/journals/<target>/<account>/*.sqlite`."""
    root = state_dir() / "journals"
    pattern = f"{target_name}/*/*.sqlite" if target_name else "*/*/*.sqlite"
    return sorted(root.glob(pattern)) if root.exists() else []


def peek_meta(path: Path) -> dict[str, str]:
    """A journal's meta table, read without the run lock; {} if it can't be read."""
    return dict(_read_only(path, "SELECT key, value FROM meta") or [])


def peek_post_states(path: Path) -> dict[str, tuple[str, str | None]]:
    """post id -> (state, reason), read without the run lock (a dry run during a run)."""
    return {r[0]: (r[1], r[2]) for r in _read_only(path, "SELECT post_id, state, reason FROM posts") or []}


def peek_skipped_media(path: Path) -> list[tuple[str, int, str | None]]:
    """(post id, media index, reason) of every file left out, read without the run lock."""
    rows = _read_only(path, "SELECT post_id, idx, reason FROM media WHERE state=?", (SKIPPED,)) or []
    return [(post_id, idx, reason) for post_id, idx, reason in rows]


def peek_parts(path: Path) -> list[MarkRow]:
    """Every part's key and state, read without the run lock (to draw a kit during a run)."""
    rows = _read_only(path, "SELECT key, state, remote_url, remote_extra, reason FROM parts") or []
    return [MarkRow(key, state, url, json.loads(extra) if extra else {}, reason)
            for key, state, url, extra, reason in rows]


def _read_only(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | None:
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None

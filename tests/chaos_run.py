"""Runs the real `pindah` CLI in a child process that can be made to die, to wait, or to run out
of disk at a chosen point of its progress (never at a chosen time).

The crash, conformance, secrets and concurrency tests start this file with
`python tests/chaos_run.py migrate ...`. Environment switches, all optional:

  KILL_AT_CALL=N          SIGKILL this process while its N-th remote call (upload or create) is
                          under way: KILL_DELAY_MS=d (default 0) ms after the call started, from
                          a thread, so the call may be sending, waiting or just answered
  CRASH_AFTER_CREATE=N    SIGKILL this process right after the N-th create returned, before
                          the runner could journal it (the worst moment)
  CRASH_AFTER_UPLOAD=N    the same after the N-th upload
  CHAOS_HOLD=N:FILE       as the N-th remote call starts, create FILE.waiting and wait (at most
                          120 s) until FILE exists: a run held mid-migration, its lock taken
  CHAOS_OPEN_GATE=FILE    the same just before the journal is opened (and its lock taken): a
                          run whose planning takes long (a big export), held at a known point
  JOURNAL_FULL_AFTER=N    the journal's write statements fail like a full disk
                          (sqlite3.OperationalError "database or disk is full") after N of them
  FSIZE_LIMIT=BYTES       RLIMIT_FSIZE: no file this process writes may grow past BYTES (a disk
                          that fills up, without root: SQLite's own "disk I/O error" path)
  CHAOS_UNLIMITED=1       Mastodon-API budgets x1000: real Mastodon takes 30 uploads per 30 min,
                          which the simulated server does not enforce and a test cannot wait for

The patches wrap upload_media/create_post of every registered adapter
(`pindah.migrator.targets.available()`), so a new target gets them without new test code.
"""

import os
import signal
import sys
import threading
import time

_kill_at = int(os.environ.get("KILL_AT_CALL", "0"))
_kill_delay = int(os.environ.get("KILL_DELAY_MS", "0")) / 1000
_crash_after = {"create": int(os.environ.get("CRASH_AFTER_CREATE", "0")),
                "upload": int(os.environ.get("CRASH_AFTER_UPLOAD", "0"))}
_hold_at, _, _hold_gate = os.environ.get("CHAOS_HOLD", "0:").partition(":")
_full_after = os.environ.get("JOURNAL_FULL_AFTER")
_fsize = os.environ.get("FSIZE_LIMIT")
_unlimited = os.environ.get("CHAOS_UNLIMITED") == "1"
_open_gate = os.environ.get("CHAOS_OPEN_GATE")
_counts = {"call": 0, "create": 0, "upload": 0}
_counting = threading.Lock()  # uploads may run on a second thread (Adapter.uploads_alongside)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _wait_at(gate: str) -> None:
    open(gate + ".waiting", "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)


def _call_starts() -> None:
    with _counting:
        _counts["call"] += 1
        number = _counts["call"]
    if number == int(_hold_at):
        _wait_at(_hold_gate)
    if number == _kill_at:
        if _kill_delay:
            threading.Thread(target=lambda: (time.sleep(_kill_delay), _die()), daemon=True).start()
        else:
            _die()


def _call_returned(kind: str) -> None:
    with _counting:
        _counts[kind] += 1
        number = _counts[kind]
    if number == _crash_after[kind]:
        _die()


def _wrap(cls: type) -> None:
    create, upload = cls.create_post, cls.upload_media

    def create_post(self, request):
        _call_starts()
        ref = create(self, request)
        _call_returned("create")
        return ref

    def upload_media(self, media, key):
        _call_starts()
        ref = upload(self, media, key)
        _call_returned("upload")
        return ref

    cls.create_post, cls.upload_media = create_post, upload_media


def _full_disk_journal(after: int) -> None:
    import sqlite3 as real
    import types

    import pindah.migrator.journal as journal

    writes = [0]

    class FullDisk:
        def __init__(self, db):
            self._db = db

        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
                writes[0] += 1
                if writes[0] > after:
                    raise real.OperationalError("database or disk is full")
            return self._db.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._db, name)

    shim = types.ModuleType("sqlite3")
    shim.__dict__.update(real.__dict__)
    shim.connect = lambda *a, **k: FullDisk(real.connect(*a, **k))
    journal.sqlite3 = shim


if _fsize:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), no signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(_fsize), resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

from pindah.migrator import targets  # noqa: E402

for _cls in targets.available().values():
    _wrap(_cls)
if _unlimited:
    from dataclasses import replace

    import pindah.adapters.mastodon_flavour as flavour

    for _name, _budgets in list(flavour.BUDGETS.items()):
        flavour.BUDGETS[_name] = tuple(replace(b, limit=b.limit * 1000) for b in _budgets)
if _full_after is not None:
    _full_disk_journal(int(_full_after))
if _open_gate:
    import pindah.migrator.journal as _journal

    _open = _journal.Journal.open.__func__

    def _gated_open(cls, path, *, meta=None):
        _wait_at(_open_gate)
        return _open(cls, path, meta=meta)

    _journal.Journal.open = classmethod(_gated_open)

if __name__ == "__main__":
    from pindah.migrator.cli import main

    sys.argv = ["pindah", *sys.argv[1:]]
    main()

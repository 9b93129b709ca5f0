"""Runs the real `pindah` CLI in a child process that can be made to die or to run out of disk.

The crash and full-disk tests (tests/test_chaos.py, tests/test_concurrency.py) start this file
with `python tests/chaos_run.py migrate ...`. Environment switches, all optional:

  CHAOS_PROGRESS=FILE     append one byte to FILE as each remote call starts ("u" upload, "c"
                          create), so the test can SIGKILL this process at a chosen point
  CRASH_AFTER_CREATE=N    SIGKILL this process right after the N-th create returned, before
                          the runner could journal it (the worst moment)
  CRASH_AFTER_UPLOAD=N    the same after the N-th upload
  SLOW_MS=n               sleep n ms before each upload and create, so a kill from outside
                          lands inside runs at varied points
  JOURNAL_FULL_AFTER=N    the journal's write statements fail like a full disk
                          (sqlite3.OperationalError "database or disk is full") after N of them
  FSIZE_LIMIT=BYTES       RLIMIT_FSIZE: no file this process writes may grow past BYTES (a disk
                          that fills up, without root: SQLite's own "disk I/O error" path)
  CHAOS_OPEN_GATE=FILE    just before the journal is opened (and its lock taken), create
                          FILE.waiting and wait (at most 120 s) until FILE exists: a run whose
                          planning takes long (a big export), held at a known point
  CHAOS_UNLIMITED=1       Mastodon-API budgets x1000: real Mastodon takes 30 uploads per 30 min,
                          which the simulated server does not enforce and a test cannot wait for

The patches wrap every adapter's upload_media/create_post (folder, bluesky, mastodon), so the
same child serves every target.
"""

import os
import signal
import sys
import time

_progress = os.environ.get("CHAOS_PROGRESS")
_slow = int(os.environ.get("SLOW_MS", "0")) / 1000
_crash_create = int(os.environ.get("CRASH_AFTER_CREATE", "0"))
_crash_upload = int(os.environ.get("CRASH_AFTER_UPLOAD", "0"))
_full_after = os.environ.get("JOURNAL_FULL_AFTER")
_fsize = os.environ.get("FSIZE_LIMIT")
_unlimited = os.environ.get("CHAOS_UNLIMITED") == "1"
_gate = os.environ.get("CHAOS_OPEN_GATE")
_counts = {"c": 0, "u": 0}


def _mark(kind: str) -> None:
    if _progress:
        fd = os.open(_progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, kind.encode())
        finally:
            os.close(fd)


def _wrap(cls: type) -> None:
    create, upload = cls.create_post, cls.upload_media

    def create_post(self, request):
        _mark("c")
        time.sleep(_slow)
        ref = create(self, request)
        _counts["c"] += 1
        if _counts["c"] == _crash_create:
            os.kill(os.getpid(), signal.SIGKILL)
        return ref

    def upload_media(self, media, key):
        _mark("u")
        time.sleep(_slow)
        ref = upload(self, media, key)
        _counts["u"] += 1
        if _counts["u"] == _crash_upload:
            os.kill(os.getpid(), signal.SIGKILL)
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

from pindah.adapters.bluesky import BlueskyAdapter  # noqa: E402
from pindah.adapters.folder import FolderAdapter  # noqa: E402
from pindah.adapters.mastodon import MastodonAdapter  # noqa: E402

for _cls in (FolderAdapter, BlueskyAdapter, MastodonAdapter):
    _wrap(_cls)
if _unlimited:
    from dataclasses import replace

    import pindah.adapters.mastodon_flavour as flavour

    for _name, _budgets in list(flavour.BUDGETS.items()):
        flavour.BUDGETS[_name] = tuple(replace(b, limit=b.limit * 1000) for b in _budgets)
if _full_after is not None:
    _full_disk_journal(int(_full_after))
if _gate:
    import pindah.migrator.journal as _journal

    _open = _journal.Journal.open.__func__

    def _gated_open(cls, path, *, meta=None):
        open(_gate + ".waiting", "w").close()
        deadline = time.monotonic() + 120
        while not os.path.exists(_gate) and time.monotonic() < deadline:
            time.sleep(0.01)
        return _open(cls, path, meta=meta)

    _journal.Journal.open = classmethod(_gated_open)

if __name__ == "__main__":
    from pindah.migrator.cli import main

    sys.argv = ["pindah", *sys.argv[1:]]
    main()

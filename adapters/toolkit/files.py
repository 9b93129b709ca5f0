"""Writing the files an artist publishes or opens: atomic, and readable by whoever should read them.

A site, a kit or a report is meant to be served by a web server (often running as another
user), uploaded with `rsync -a`/`scp -p` (which keep file modes) or opened by the artist. So
these files follow the umask, like any file a program creates: 0644 under the usual 022.
Only state and credentials are private (0600); they are written elsewhere (journal, token
store) or with `private=True`.

`tempfile.mkstemp` always creates 0600 files, whatever the umask; that is why the temporary
file is created here with `os.open(..., 0o666)` instead, and the kernel applies the umask.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pindah.adapters.contract import RunStopped

PUBLIC = 0o666  # before the umask: rw-r--r-- under the usual 022
PRIVATE = 0o600


@contextmanager
def atomic_writer(path: Path, *, private: bool = False, durable: bool = False) -> Iterator[BinaryIO]:
    """Yield a file in `path`'s folder that replaces `path` when the block ends without error.

    Readers see the old file or the new one, never half of one. `durable` adds an fsync, for
    what a journal relies on. The file follows the umask unless `private`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 PRIVATE if private else PUBLIC)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, *, private: bool = False, durable: bool = False) -> None:
    """Write `data` to `path` atomically (see `atomic_writer`)."""
    with atomic_writer(path, private=private, durable=durable) as fh:
        fh.write(data)


def write_if_changed(path: Path, text: str) -> bool:
    """Write a published text file only when its bytes differ; True when it was written.

    Unchanged files keep their mtime, so syncing a site to a host uploads only what changed.
    A file an older pindah wrote 0600 gets its published mode back on the way.
    """
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            make_readable(path)
            return False
    except OSError:
        pass
    write_atomic(path, data)
    return True


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content (hex), read in chunks: a video may not fit in memory."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def make_readable(path: Path) -> None:
    """Give a published file that only its owner can read (pindah < 0.2 wrote them 0600) the
    mode a new file gets from the umask. Other modes are the artist's choice and stay."""
    try:
        if stat.S_IMODE(path.stat().st_mode) == PRIVATE:
            wanted = PUBLIC & ~current_umask()
            if wanted != PRIVATE:
                path.chmod(wanted)
    except OSError:
        pass  # a mode we cannot fix is no reason to stop a run


def current_umask() -> int:
    """The process umask, read without changing it (Linux), else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class disk_errors:
    """Turn a full disk or a read-only folder into RunStopped: the run ends cleanly, resumable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, OSError):
            raise RunStopped(f"cannot write to the folder {self.folder} ({exc.strerror or exc})",
                             "free some disk space or check the folder's permissions, then run again") from None


def safe_name(text: str) -> str:
    """A file or folder name for an id: ids are normally [A-Za-z0-9_-] already; anything else is
    replaced, and a short hash keeps two different ids from ever sharing a name."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", text).strip("-")[:80] or "post"
    if clean != text:
        clean += "-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return clean

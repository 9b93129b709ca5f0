"""Errors that reach the artist as one clear line, never as a traceback.

    PindahError            anything pindah can explain; exit code 2 unless stated
    ├── InputError         the export given to us is unusable (missing, corrupt, unsafe)
    │   └── NoPostsError   the export is readable but holds nothing to move
    └── TargetError        talking to a target went wrong; the class says what to do next
        ├── TransientError     worth retrying (5xx, 429, timeouts); may carry retry_after
        ├── PostFailed         permanent for this one post (400, 413, 422): report it, go on
        └── RunStopped         stop the whole run cleanly (bad login, daily budget spent, disk
                               full); the journal is consistent, `pindah migrate` resumes

Per-post problems are *not* exceptions: readers record them as `Problem`s on the export so
that one bad post never stops the others.
"""

from __future__ import annotations

from datetime import datetime


class PindahError(Exception):
    """An error with a message an artist can act on."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message.rstrip(".") + "."
        if self.hint:
            hint = self.hint.rstrip(".")
            text += " " + hint[:1].upper() + hint[1:] + "."
        return " ".join(text.split())


class InputError(PindahError):
    """The path(s) given cannot be read as an export (missing, corrupt, unsafe, unknown)."""


class NoPostsError(InputError):
    """The export was read, but nothing in it can be migrated."""


class TargetError(PindahError):
    """A target (platform) refused or failed an operation: never the export's fault, and
    resumable, so it exits 3 ("run the same command again"), not 2."""

    exit_code = 3


class TransientError(TargetError):
    """Try again later; `retry_after` (seconds) when the server said how long to wait."""

    def __init__(self, message: str, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class PostFailed(TargetError):
    """Permanent failure for one post or part; the run goes on with the others."""


class RunStopped(TargetError):
    """Nothing more can be done in this run; `resume_at` (aware datetime) when known."""

    exit_code = 3

    def __init__(self, message: str, hint: str | None = None, resume_at: "datetime | None" = None) -> None:
        super().__init__(message, hint)
        self.resume_at = resume_at

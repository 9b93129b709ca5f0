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


from pindah.adapters.contract import PindahError, PostFailed, RunStopped, TargetError, TransientError


class InputError(PindahError):
    """The path(s) given cannot be read as an export (missing, corrupt, unsafe, unknown)."""


class NoPostsError(InputError):
    """The export was read, but nothing in it can be migrated."""


__all__ = ["PindahError", "InputError", "NoPostsError", "TargetError", "TransientError", "PostFailed",
           "RunStopped"]

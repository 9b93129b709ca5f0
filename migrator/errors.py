"""Errors that reach the artist as one clear line, never as a traceback.

    PindahError            anything pindah can explain; exit code 2 unless stated
    ├── InputError         the export given to us is unusable (missing, corrupt, unsafe)
    └── NoPostsError       the export is readable but holds nothing to move

Per-post problems are *not* exceptions: readers record them as `Problem`s on the export so
that one bad post never stops the others.
"""

from __future__ import annotations


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

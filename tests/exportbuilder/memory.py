"""An export tree held in memory: the three calls `Media` makes of an export, over a dict of bytes.

For tests and benches that build media without writing an export to disk.
"""

from __future__ import annotations

import io


class MemoryTree:
    """`exists` / `size` / `open` over in-memory files keyed by their export path."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = {} if files is None else files

    def exists(self, path: str) -> bool:
        return path in self.files

    def size(self, path: str) -> int:
        return len(self.files[path])

    def open(self, path: str) -> io.BytesIO:
        return io.BytesIO(self.files[path])

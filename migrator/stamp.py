"""What pindah adds to every image it publishes, and which images it must not re-encode.

A `Stamp` is the media pipeline's input from the artist's side, handed to the runner once per
run: the `SaveExtras` every final save writes (the rights / AI-opt-out metadata that
`migrator.rights` builds) and the artist's patterns for files that are *already protected*,
typically Glazed or Nightshaded pictures, whose protective noise a re-encode would weaken.

The pipeline already prefers the lossless route (the file is repacked, pixels untouched, the
metadata added), so a protected file needs no different treatment, only an honest report: after
processing, its pixels are compared with the original's, and the report says either "passed
through without recompression" or that it had to be re-encoded (a platform limit on size,
format or pixels left no other way; turning a sideways photo upright also needs it, since most
platforms ignore the orientation tag).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path

from pindah.adapters.contract import Capabilities

from .imagefit import SaveExtras, open_image
from .media import MediaResult, process_media
from .model import Media

PASSED = "passed protected file through without recompression"
REENCODED = "re-encoded protected file: this platform could not take it as it was"


@dataclass(frozen=True)
class Stamp:
    extras: SaveExtras = field(default_factory=SaveExtras)
    protected: tuple[str, ...] = ()  # glob patterns over export-relative paths, any case

    def is_protected(self, path: str) -> bool:
        """`*` also crosses folders, and a pattern may match the path's end: "glazed/*" finds
        media/posts/glazed/a.png, "*_glazed.*" any file so named, wherever it is."""
        name = path.lower()
        tails = [name] + [name[i + 1:] for i, ch in enumerate(name) if ch == "/"]
        return any(fnmatch.fnmatchcase(tail, pattern.lower()) for pattern in self.protected for tail in tails)

    def prepare(self, media: Media, caps: Capabilities, cache_dir: Path) -> MediaResult:
        """`process_media` with this stamp's extras, plus the protected-file note."""
        return self.annotate(media, process_media(media, caps, cache_dir, extras=self.extras))

    def annotate(self, media: Media, result: MediaResult) -> MediaResult:
        """`result` with the protected-file note when `media` is one of the protected files
        (for results prepared elsewhere, e.g. by `migrator.prefetch`)."""
        if result.prepared is None or not self.protected or not self.is_protected(media.path):
            return result
        note = PASSED if _same_pixels(media, result.prepared.path) else REENCODED
        return replace(result, actions=[*result.actions, note])


def _same_pixels(media: Media, output: Path) -> bool:
    """Do the published file's pixels equal the original's? Sizes are compared before decoding."""
    try:
        with media.tree.open(media.path) as fh:  # type: ignore[union-attr]
            source = fh.read()
        with open_image(source) as before, open_image(output.read_bytes()) as after:
            if before.size != after.size or before.mode != after.mode:
                return False
            return before.tobytes() == after.tobytes()
    except Exception:  # noqa: BLE001 - can't tell: don't claim the file was left untouched
        return False

"""The contract between the engine and a publishing target; it imports nothing of pindah.

Core (`pindah.migrator`) and adapters (`pindah.adapters.*`) share these value types and error
classes, and nothing else: that is what keeps the two sides from importing each other.

An adapter *declares* what its target can take (`Capabilities`) and *does* a small set of
remote operations. Everything else (splitting captions, fitting images, retrying, pacing,
journaling, resuming) is the engine's job and reads only the capabilities: core code never
asks "is this Bluesky?".

Built-in adapters are listed in `pindah.migrator.targets`; third-party ones register in the
`pindah.adapters.v1` entry-point group.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

GIB = 1 << 30
MIB = 1 << 20


class TextCounting(str, enum.Enum):
    """How a target counts the length of a text."""

    GRAPHEMES = "graphemes"  # user-perceived characters (Bluesky, Mastodon): 👩‍🎨 is 1
    CODE_POINTS = "code points"  # Unicode code points (Pixelfed, Laravel's max:): 👩‍🎨 is 3
    BYTES = "bytes"  # UTF-8 bytes


@dataclass(frozen=True)
class RateBudget:
    """At most `limit` calls of one class in any `window` seconds (e.g. 30 uploads / 1800 s)."""

    name: str  # "requests" | "media" | "posts" | "deletes" | ...
    limit: int
    window: float

    def describe(self) -> str:
        hours = self.window / 3600
        span = f"{hours:g} h" if hours >= 1 else f"{self.window / 60:g} min"
        return f"{self.limit} {self.name} per {span}"


@dataclass(frozen=True)
class Capabilities:
    """What a target accepts. `None` means "no limit"."""

    max_text: int | None = None
    text_counting: TextCounting = TextCounting.GRAPHEMES
    url_weight: int | None = None  # every URL counts as this many characters (Mastodon: 23)
    max_media_per_post: int = 4
    mix_images_and_videos: bool = True  # Mastodon: never both in one status
    max_videos_per_post: int | None = None  # Mastodon and Bluesky: 1
    requires_media: bool = False  # Pixelfed refuses statuses without media
    image_max_bytes: int | None = None
    image_max_pixels: int | None = None  # width * height
    image_max_side: int | None = None  # longest side in pixels
    video_max_bytes: int | None = None
    video_max_seconds: float | None = None
    image_mime_types: frozenset[str] = frozenset({"image/jpeg", "image/png"})
    video_mime_types: frozenset[str] = frozenset()  # empty: the target takes no video
    max_alt_text: int | None = None
    threads: bool = True  # can a part reply to an earlier part?
    backdating: bool = False  # can a post carry its original date?
    rate_budgets: tuple[RateBudget, ...] = ()
    typical_call_seconds: float = 0.0  # for ETAs: how long one remote call usually takes
    media_reuse_seconds: float | None = None  # servers delete unattached uploads: re-upload after this

    @property
    def supports_video(self) -> bool:
        return bool(self.video_mime_types)

    def refined(self, **changes: Any) -> "Capabilities":
        """A copy with server-advertised values (read at login) replacing the defaults."""
        return replace(self, **changes)

    def describe(self) -> list[tuple[str, str]]:
        """Human lines for `pindah targets`."""
        def size(n: int | None) -> str:
            return "no limit" if n is None else (f"{n / MIB:g} MB" if n >= MIB else f"{n / 1000:g} kB")

        rows = [
            ("text", "no limit" if self.max_text is None else f"{self.max_text} {self.text_counting.value}"
             + (f", links count {self.url_weight}" if self.url_weight else "")),
            ("media per post", str(self.max_media_per_post)
             + ("" if self.mix_images_and_videos else ", images and videos never mixed")),
            ("images", f"{', '.join(sorted(t.split('/')[1] for t in self.image_mime_types))}, "
             f"up to {size(self.image_max_bytes)}"
             + (f", {self.image_max_side} px side" if self.image_max_side else "")),
            ("video", "not accepted" if not self.supports_video else
             f"{', '.join(sorted(t.split('/')[1] for t in self.video_mime_types))}, up to {size(self.video_max_bytes)}"),
            ("alt text", "no limit" if self.max_alt_text is None else f"{self.max_alt_text} characters"),
            ("threads", "yes" if self.threads else "no"),
            ("original dates", "kept (backdated)" if self.backdating else "added as a short date line"),
            ("rate limits", "; ".join(b.describe() for b in self.rate_budgets) or "none"),
        ]
        return rows


@dataclass(frozen=True)
class PreparedMedia:
    """A media file ready to send: processed to fit the target, metadata stripped."""

    path: Path  # local processed file (in pindah's cache)
    mime: str
    width: int | None
    height: int | None
    alt_text: str | None
    sha256: str  # of the processed bytes
    source_path: str  # export-relative path of the original


@dataclass(frozen=True)
class RemoteRef:
    """What the target calls a created thing (post id/URI + URL, or media id)."""

    id: str
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # e.g. Bluesky cid, Mastodon root id


@dataclass(frozen=True)
class PostRequest:
    """One part of a planned post, as the adapter must create it."""

    key: str  # idempotency key, stable across runs: "<post id>#<part index>"
    text: str
    media: tuple[RemoteRef, ...]
    media_alt: tuple[str | None, ...]
    created_at: datetime  # the original Instagram time (UTC)
    reply_to: RemoteRef | None  # parent part, None for the first part
    root: RemoteRef | None  # first part of the thread, None for the first part
    post_id: str
    part_index: int
    part_count: int


class Adapter:
    """Base class of every target. Subclasses set the class attributes and the operations."""

    name: ClassVar[str]  # what goes before ':' in --to (e.g. "folder", "bluesky")
    description: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    example: ClassVar[str]  # an example --to value, shown by `pindah targets`
    manual: ClassVar[bool] = False  # the artist publishes by hand from what pindah prepares

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        self.location = location  # what came after ':' in --to
        self.config = config
        self.caps = self.capabilities

    def setting(self, key: str) -> Any:
        """A `[targets.<name>]` setting; the environment's PINDAH_<NAME>_<KEY> wins over the file."""
        env = os.environ.get(f"PINDAH_{self.name}_{key}".upper())
        return env if env is not None else self.config.get(key)

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(self, *, interactive: bool) -> None:
        """Log in or open the destination, read the server's limits into `self.caps`.

        Dry runs call this too: it may read and check, but must not write or create anything."""

    def account(self) -> str:
        """Stable name of the destination account/place; it keys the journal."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after a run (also an interrupted one): flush indexes, close sessions."""

    def journal_view(self, journal: Any) -> Any:
        """The journal the runner writes through. Targets published by hand (the Cara kit)
        return a view that records nothing as posted until the artist marks it."""
        return journal

    def where(self) -> str | None:
        """Where the artist can look at the result (a URL or a file to open), if there is one."""
        return None

    # -- remote operations (each is journaled by the engine before and after) ---------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        raise NotImplementedError

    def create_post(self, request: PostRequest) -> RemoteRef:
        raise NotImplementedError

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        """After a crash left a create's outcome unknown: does the target already have it?"""
        raise NotImplementedError

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        """Read back a created post (for verify): at least {"text": ..., "media": n}; None if gone."""
        raise NotImplementedError

    def delete_post(self, ref: RemoteRef) -> None:
        raise NotImplementedError


# -- errors: what an adapter raises, and what the engine does about it ------------------------

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

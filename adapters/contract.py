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
from typing import Any, ClassVar, Mapping, Sequence

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
    video_subtitles: bool = False  # can a video carry its subtitles (Bluesky captions, <track>)?
    max_alt_text: int | None = None
    threads: bool = True  # can a part reply to an earlier part?
    backdating: bool = False  # can a post carry its original date?
    rate_budgets: tuple[RateBudget, ...] = ()
    typical_call_seconds: float = 0.0  # for ETAs: how long one remote call usually takes
    media_reuse_seconds: float | None = None  # servers delete unattached uploads: re-upload after this
    # The artist publishes by hand from what pindah prepares (the Cara kit): the runner records
    # nothing as posted; `pindah mark-posted` does, and `refresh(marks)` redraws the kit.
    published_by_hand: bool = False

    @property
    def supports_video(self) -> bool:
        return bool(self.video_mime_types)

    def refined(self, **changes: Any) -> "Capabilities":
        """A copy with server-advertised values (read at login) replacing the defaults."""
        return replace(self, **changes)

    def describe(self) -> list[tuple[str, str]]:
        """Human lines for `pindah targets`."""
        def size(n: int | None) -> str:
            if n is None:
                return "no limit"
            if n % MIB == 0:
                return f"{n // MIB} MB"
            return f"{n:,} bytes"  # a decimal limit (Bluesky's 2,000,000) shown exactly, not as 1.90735 MB

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
        if self.published_by_hand:
            rows.append(("publishing", "by you: pindah prepares each post, `pindah mark-posted` records it"))
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
    subtitles: tuple["PreparedSubtitle", ...] = ()  # a video's subtitles, as WebVTT files


@dataclass(frozen=True)
class PreparedSubtitle:
    """One subtitle file of a video, converted to WebVTT (UTF-8) in pindah's cache."""

    path: Path
    language: str | None  # BCP 47 tag when the export names it, else None


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


@dataclass(frozen=True)
class Option:
    """One setting of a target: `[targets.<name>] key` in the config file, or the environment
    variable `PINDAH_TARGETS_<NAME>_<KEY>` (which wins). `pindah targets --options` lists them."""

    key: str
    type: type  # str, int, float, bool or list (a list is written comma-separated in the environment)
    default: Any
    help: str

    def env_name(self, target: str) -> str:
        return option_env_name(target, self.key)

    def from_text(self, text: str, where: str) -> Any:
        """An environment value (always text) as the declared type."""
        raw = text.strip()
        try:
            if self.type is bool:
                if raw.lower() in _TRUE_WORDS | _FALSE_WORDS:
                    return raw.lower() in _TRUE_WORDS
                raise ValueError(raw)
            if self.type is int:
                return int(raw)
            if self.type is float:
                return float(raw)
            if self.type is list:
                return [item.strip() for item in raw.split(",") if item.strip()]
        except ValueError:
            kind = {bool: "true or false", int: "a whole number", float: "a number"}[self.type]
            raise PindahError(f"{where} = {text!r} is not {kind}",
                              "compare it with config.example.toml") from None
        return text


_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def option_env_name(target: str, key: str) -> str:
    """The one documented environment name of a target's setting."""
    return f"PINDAH_TARGETS_{target}_{key}".upper().replace("-", "_")


def resolve_options(target: str, options: tuple[Option, ...], section: dict[str, Any],
                    environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A target's settings, read in this one place: the config file's `[targets.<name>]`, then
    the environment over it (`PINDAH_TARGETS_<NAME>_<KEY>`, or the older `PINDAH_<NAME>_<KEY>`),
    typed as declared. Keys nobody set are left out: `Adapter.setting` gives their default."""
    env = os.environ if environ is None else environ
    resolved = dict(section)
    for option in options:
        for name in (option.env_name(target), f"PINDAH_{target}_{option.key}".upper()):
            if name in env:
                resolved[option.key] = option.from_text(env[name], name)
                break
        else:
            value = resolved.get(option.key)
            if isinstance(value, str) and option.type is not str:  # "true" typed into a TOML string
                resolved[option.key] = option.from_text(value, f"[targets.{target}] {option.key}")
    return resolved


@dataclass(frozen=True)
class Mark:
    """A part of a post published by hand, as the artist sees it (see `published_by_hand`)."""

    state: str  # pending | posted | skipped | failed
    url: str | None = None  # the post's link on the platform, when the artist gave it
    marked_at: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MarkLine:
    """One line of a checklist the artist filled in: a part's name and what became of it."""

    line: int
    name: str
    status: str  # posted | skipped | pending
    url: str | None


class Adapter:
    """Base class of every target. Subclasses set the class attributes and the operations."""

    name: ClassVar[str]  # what goes before ':' in --to (e.g. "folder", "bluesky")
    description: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    example: ClassVar[str]  # an example --to value, shown by `pindah targets`
    options: ClassVar[tuple[Option, ...]] = ()  # every `[targets.<name>]` setting it reads
    # How the browser app (`pindah app`) offers this target, so the core never names one:
    # the human name on its "where to" screen ("" = show `name`), ...
    title: ClassVar[str] = ""
    # ... how the artist signs in there: "none" (a place on this computer, e.g. a folder),
    # "app_password" (a handle and an app password, handed to `login()` as the `app_password`
    # setting) or "oauth" (in the browser, through `login()` with the toolkit `LoginIO` the app
    # gives the constructor as its `io=` keyword), ...
    sign_in: ClassVar[str] = "none"
    # ... and the label of the location field (what goes after ':' in --to), None = no location.
    location_prompt: ClassVar[str | None] = None
    # True when `upload_media` may run on a second thread while this adapter's `create_post`,
    # `find_post` or `upload_media` run on the runner's own (its connections and its login
    # renewal are safe for that): the runner then sends the next post's images while the
    # current post is created, so the server is never idle while pindah writes its journal.
    uploads_alongside: ClassVar[bool] = False

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        self.location = location  # what came after ':' in --to
        # The settings, environment included: adapters read them only through `setting()`
        # (or hand `self.config` on), so every option also works from the environment.
        self.config = resolve_options(self.name, self.options, config)
        self.caps = self.capabilities

    def setting(self, key: str) -> Any:
        """A `[targets.<name>]` setting (the environment wins over the file), or its declared default."""
        declared = next((o for o in self.options if o.key == key), None)
        if declared is None:  # not declared (yet): untyped, the environment first
            for name in (option_env_name(self.name, key), f"PINDAH_{self.name}_{key}".upper()):
                if name in os.environ:
                    return os.environ[name]
            return self.config.get(key)
        return self.config.get(key, declared.default)

    @classmethod
    def commands(cls) -> Sequence[Any]:
        """Extra click commands for anything only this target does (added to `pindah`)."""
        return ()

    # -- lifecycle --------------------------------------------------------------------------
    # Set by `prepare` when a dry run could not reach the server and planned with the
    # platform's published limits instead; the engine shows it beside the plan.
    offline_note: str | None = None

    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        """Log in or open the destination, read the server's limits into `self.caps`.

        Dry runs call this too (`dry_run=True`): it may read and check, but must not write or
        create anything, and where the server cannot be reached it may plan with published
        defaults (saying so in `offline_note`) instead of failing."""

    def notes(self) -> list[str]:
        """What the artist should know about this target, kept in every report (plan and run)
        as a note: a setting only the platform's own pages can change, a fallback the run took.
        Asked after the plan or the run, so a note the run learnt is included. Never a secret."""
        return []

    def account(self) -> str:
        """Stable name of the destination account/place; it keys the journal."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after a run (also an interrupted one): flush indexes, close sessions."""

    def where(self) -> str | None:
        """Where the artist can look at the result (a URL or a file to open), if there is one."""
        return None

    # -- logging in (`pindah login TARGET`, `pindah logout TARGET`) --------------------------
    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        """Log in and keep the login. Returns the line to show; never a secret."""
        return f"The {self.name} target needs no login."

    def logout(self) -> list[str]:
        """Forget (and where possible revoke) the kept login. Returns the lines to show."""
        return [f"The {self.name} target needs no login: there is nothing to log out of."]

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
        """Delete a post; raise PostFailed when the target still has it afterwards."""
        raise NotImplementedError

    # -- published by hand (`capabilities.published_by_hand`; `pindah mark-posted`) ----------
    def part_label(self, post_id: str, taken_at: str, idx: int, count: int) -> str:
        """What the artist calls one part of a post (the Cara kit: its folder's name)."""
        return f"{post_id}#{idx}"

    def find_part(self, name: str) -> tuple[str, int | None] | None:
        """What an artist's name for a part means: (post id, part index, or None for every
        part); None when `name` is none of this target's own names."""
        return None

    def checklist(self) -> Path | None:
        """The checklist file the artist may fill in (`mark-posted --checklist`), if any."""
        return None

    def read_checklist(self, text: str) -> tuple[list[MarkLine], list[str]]:
        """The lines of a filled-in checklist, and one message per line that makes no sense."""
        raise PindahError(f"the {self.name} target keeps no checklist")

    def refresh(self, marks: Mapping[str, Mark]) -> None:
        """Redraw what the artist works from, after a run or a mark. `marks`: part key
        ("<post id>#<index>") -> Mark, over every journal that writes into this place."""


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

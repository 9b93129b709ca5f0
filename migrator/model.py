"""The normalised model every reader produces and every later room consumes.

A `Post` is one thing the artist published (a feed post, reel, story, ...) with its `Media`
in carousel order. Readers fill these in from whatever layout the export has; nothing
downstream ever looks at the export's own JSON or HTML again.

Media facts that need the file's bytes (MIME type, pixel size, hash) are read lazily and
only from the file's first bytes, so listing 50,000 media files never loads them.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, Callable

from pindah.adapters.toolkit import textparse

from . import sniff

if TYPE_CHECKING:
    from .exportfs import ExportTree


class PostKind(str, enum.Enum):
    POST = "post"
    REEL = "reel"  # includes IGTV videos, which Instagram folded into reels in 2022
    STORY = "story"
    ARCHIVED = "archived"
    PROFILE_PHOTO = "profile_photo"
    OTHER = "other"  # "other content": drafts and leftovers Meta files separately


# Names used by `--include` (plural, as an artist would say them) -> kinds.
INCLUDE_NAMES: dict[str, PostKind] = {
    "posts": PostKind.POST,
    "reels": PostKind.REEL,
    "stories": PostKind.STORY,
    "archived": PostKind.ARCHIVED,
    "profile": PostKind.PROFILE_PHOTO,
    "other": PostKind.OTHER,
}


class MediaType(str, enum.Enum):
    IMAGE = "image"
    VIDEO = "video"


class AltOrigin(str, enum.Enum):
    USER = "user"  # the artist wrote it
    INSTAGRAM = "instagram"  # Instagram's automatic "Photo by ... May be an image of ..."


_MEDIA_TYPES = {"image": MediaType.IMAGE, "video": MediaType.VIDEO}
_READS_HEADS: dict[type, bool] = {}  # kind of export tree -> whether it has `read_head`
_UNKNOWN = object()  # "not sniffed yet", distinct from a sniffed None


@dataclass(frozen=True)
class Location:
    """Where a post was made. Coordinates are private data: never published by default."""

    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "latitude": self.latitude, "longitude": self.longitude}


SUBTITLE_FORMATS = ("srt", "vtt")


@dataclass(frozen=True, slots=True)
class Subtitle:
    """A subtitle file Instagram keeps beside a video (2024 on): text, never media of its own."""

    path: str  # export-relative POSIX path
    format: str  # "srt" | "vtt"
    language: str | None = None  # BCP 47 tag when the export says it, else None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "language": self.language}


def subtitle_format(path: str) -> str | None:
    """`srt` / `vtt` when `path` names a subtitle file, else None."""
    stem, dot, ext = path.rsplit("/", 1)[-1].rpartition(".")
    return ext.lower() if dot and stem and ext.lower() in SUBTITLE_FORMATS else None


# `clip.en.srt`, `clip_pt-BR.vtt`: a language tag right before the extension. Instagram's own
# names (`..._n_17874424560169856.srt`) carry none, and then the language stays unknown.
_SUBTITLE_LANGUAGE = re.compile(r"[._-]([a-z]{2,3}(?:[-_][A-Za-z]{2,4})?)\.(?:srt|vtt)$", re.IGNORECASE)


def make_subtitle(path: str) -> Subtitle | None:
    """The `Subtitle` for an export path, or None when the path is not a subtitle file."""
    fmt = subtitle_format(path)
    if fmt is None:
        return None
    m = _SUBTITLE_LANGUAGE.search(path.rsplit("/", 1)[-1])
    language = m.group(1).replace("_", "-") if m and not m.group(1).isdigit() else None
    return Subtitle(path, fmt, language)


@dataclass(eq=False, slots=True)
class Media:
    """One image or video of a post, addressed by its path inside the export."""

    path: str  # export-relative POSIX path, as the export's metadata names it
    tree: "ExportTree | None" = field(default=None, repr=False)
    type_hint: MediaType | None = None  # what the metadata says, used when bytes can't tell
    alt_text: str | None = None
    alt_origin: AltOrigin | None = None
    thumbnail_path: str | None = None  # instaloader keeps a cover image beside each video
    subtitles: tuple[Subtitle, ...] = ()  # a video's subtitle files (never counted as media)
    _mime: object = field(default=_UNKNOWN, repr=False)
    _size_px: tuple[int | None, int | None] | None = field(default=None, repr=False)
    _sha256: str | None = field(default=None, repr=False)
    _planned: object = field(default=_UNKNOWN, init=False, repr=False)  # see `planned_type`

    @property
    def missing(self) -> bool:
        return self.tree is None or not self.tree.exists(self.path)

    @property
    def size(self) -> int | None:
        return None if self.missing else self.tree.size(self.path)  # type: ignore[union-attr]

    @property
    def mime(self) -> str | None:
        """Sniffed from the first bytes (cached); None when missing or not media we know."""
        if self._mime is _UNKNOWN:
            self._mime = None if self.missing else sniff.sniff_mime(self._opener, self._read_head())
        return self._mime  # type: ignore[return-value]

    @property
    def type(self) -> MediaType:
        return self._type_of(self.mime)

    def _type_of(self, mime: str | None) -> MediaType:
        if mime is not None:  # a dict, not MediaType(...): planning asks this of every file
            sniffed = _MEDIA_TYPES.get(mime.partition("/")[0])
            if sniffed is not None:
                return sniffed
        if self.type_hint is not None:
            return self.type_hint
        return MediaType(sniff.type_from_name(self.path))

    def planned_type(self) -> MediaType | None:
        """`type`, or None when the file is missing: the one question planning asks of every
        file. Existence is checked and the first bytes sniffed once, then remembered (asking
        `missing` and then `type` checks existence twice), so a re-plan costs a look-up: a
        `Media` lives for one run, and the export does not change under it."""
        planned = self._planned
        if planned is _UNKNOWN:
            tree = self.tree
            if tree is None or not tree.exists(self.path):
                planned = None
                if self._mime is _UNKNOWN:
                    self._mime = None  # what `mime` says of a missing file
            else:
                mime = self._mime
                if mime is _UNKNOWN:
                    mime = self._mime = sniff.sniff_mime(self._opener, self._read_head())
                # `type`, without asking `missing` again
                planned = self._type_of(mime)  # type: ignore[arg-type]
            self._planned = planned
        return planned  # type: ignore[return-value]

    def _dimensions(self) -> tuple[int | None, int | None]:
        if self._size_px is None:
            if self._mime is _UNKNOWN and not self.missing:
                # Type and size from one read of the header (a ZIP member is opened once).
                self._mime, self._size_px = sniff.probe(self._opener, self._read_head())
            else:
                readable = self.type is MediaType.IMAGE and sniff.type_of_mime(self.mime) == "image"
                self._size_px = sniff.image_size(self._opener) if readable else (None, None)
        return self._size_px

    @property
    def width(self) -> int | None:
        return self._dimensions()[0]

    @property
    def height(self) -> int | None:
        return self._dimensions()[1]

    def _read_head(self) -> Callable[[int], bytes] | None:
        """The export's cheap way to read a file's first bytes, when it has one (ZIP members)."""
        tree = self.tree
        has = _READS_HEADS.get(type(tree))
        if has is None:  # asked once per kind of tree: a failed getattr raises inside, slowly
            has = _READS_HEADS[type(tree)] = callable(getattr(tree, "read_head", None))
        if not has:
            return None
        read_head, path = tree.read_head, self.path  # type: ignore[union-attr]
        return lambda n: read_head(path, n)

    def _opener(self) -> IO[bytes]:
        return self.tree.open(self.path)  # type: ignore[union-attr]

    def sha256(self) -> str | None:
        """Content hash, computed on first use by streaming the file."""
        if self._sha256 is None and not self.missing:
            digest = hashlib.sha256()
            with self.tree.open(self.path) as fh:  # type: ignore[union-attr]
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256

    def as_dict(self) -> dict[str, Any]:
        width, height = self._dimensions()  # first: it reads type and size in one go
        return {
            "path": self.path,
            "type": self.type.value,
            "mime": self.mime,
            "width": width,
            "height": height,
            "alt_text": self.alt_text,
            "missing": self.missing,
            **({"subtitles": [s.as_dict() for s in self.subtitles]} if self.subtitles else {}),
        }


@dataclass(eq=False, slots=True)
class Post:
    """One published Instagram item, normalised."""

    id: str
    kind: PostKind
    taken_at: datetime  # aware, UTC
    caption: str
    media: list[Media]
    layout: str  # which reader produced it (see migrator.sources)
    location: Location | None = None
    tagged_users: tuple[str, ...] = ()
    source_file: str | None = None  # export-relative metadata file, for messages
    time_precision: str = "second"  # HTML exports only know the minute; "month" when guessed
    shortcode: str | None = None  # instagram.com/p/<shortcode>/, where the export says (instaloader)
    hashtags: tuple[str, ...] = field(init=False)
    mentions: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.taken_at.tzinfo is None:
            raise ValueError("taken_at must be timezone-aware")
        self.taken_at = self.taken_at.astimezone(timezone.utc)
        self.hashtags = textparse.hashtags(self.caption)
        self.mentions = textparse.mentions(self.caption)

    @property
    def is_carousel(self) -> bool:
        return len(self.media) > 1

    def as_dict(self) -> dict[str, Any]:
        """The `pindah inspect --posts` shape (exactly these keys)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "taken_at": iso_utc(self.taken_at),
            "caption": self.caption,
            "location": self.location.as_dict() if self.location else None,
            "media": [m.as_dict() for m in self.media],
        }


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_post_id(identity: list[str] | tuple[str, ...]) -> str:
    """A stable id: 12 hex digits of a hash of the post's media identity.

    `identity` is what makes the post unique: the media file stems (which carry Instagram's
    own media ids), or a shortcode. It is sorted, and neither the caption, nor the time, nor
    the kind, nor the order of files goes in: the same post read from a JSON export, from an
    HTML export (whose times stop at the minute) or after it was archived keeps its id, so a
    journal never publishes it twice; two posts made in the same second, having different
    media, stay two posts.
    """
    return hashlib.sha1("\n".join(sorted(identity)).encode("utf-8")).hexdigest()[:12]


def file_stem(path: str) -> str:
    """`media/posts/202407/123_n_179.jpg` -> `123_n_179` (no folder, no extension)."""
    name = path.rsplit("/", 1)[-1]
    return name.split(".", 1)[0] if not name.startswith(".") else name

"""Layout-independent description of the posts a synthetic export should contain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass
class SynthMedia:
    """One media file. `fmt` is the real content; `ext` the file name's extension
    ("" for an extensionless file, None for the natural one)."""

    fmt: str = "jpg"  # jpg | png | webp | heic | mp4
    ext: str | None = None
    width: int = 8
    height: int = 6
    missing: bool = False  # referenced by the metadata but absent from the export
    alt_text: str | None = None  # only layouts that carry alt text write it (instaloader)
    name: str | None = None  # file stem override; default derived from an Instagram-like id
    # Subtitle files beside a video (2024 on): one entry per file, its language tag or None.
    subtitles: tuple[str | None, ...] = ()

    @property
    def is_video(self) -> bool:
        return self.fmt == "mp4"

    @property
    def extension(self) -> str:
        if self.ext is not None:
            return self.ext
        return {"jpg": "jpg", "png": "png", "webp": "webp", "heic": "heic", "mp4": "mp4"}[self.fmt]


@dataclass
class SynthPost:
    """One post. `kind`: post | reel | igtv | story | archived | profile_photo | other."""

    taken_at: int  # unix seconds, UTC
    caption: str = ""
    media: list[SynthMedia] = field(default_factory=lambda: [SynthMedia()])
    kind: str = "post"
    location_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    shortcode: str | None = None  # instaloader only

    @property
    def taken_at_dt(self) -> datetime:
        return datetime.fromtimestamp(self.taken_at, tz=timezone.utc)

    @property
    def iso(self) -> str:
        return self.taken_at_dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# The kind pindah reports for each synthetic kind (IGTV became reels on Instagram in 2022).
REPORTED_KIND = {"post": "post", "reel": "reel", "igtv": "reel", "story": "story",
                 "archived": "archived", "profile_photo": "profile_photo", "other": "other"}


def expected_row(post: SynthPost, media_paths: list[str], *, media: list[SynthMedia] | None = None,
                 taken_at: str | None = None, caption: str | None = None) -> dict:
    """What `pindah inspect --posts` must print for `post` (without id, mime, sizes).

    Layout writers return one of these per post they wrote, with the export-relative paths
    they chose; `media`, `taken_at` and `caption` override where a layout loses information
    (media.json loses carousel order; HTML keeps only the minute).
    """
    items = media if media is not None else post.media
    return {
        "kind": REPORTED_KIND[post.kind],
        "taken_at": taken_at or post.iso,
        "caption": post.caption if caption is None else caption,
        "media": [
            {"path": path, "type": "video" if m.is_video else "image", "missing": m.missing,
             **({"subtitles": subtitle_paths(path, m)} if m.subtitles else {})}
            for path, m in zip(media_paths, items, strict=True)
        ],
    }


def subtitle_paths(video_path: str, media: SynthMedia) -> list[str]:
    """Where a video's subtitle files go: beside it, named like Instagram's own
    (`<video stem>_<17 digits>.srt`), with `.<language>` before the extension when known."""
    stem = video_path.rsplit(".", 1)[0] if "." in video_path.rsplit("/", 1)[-1] else video_path
    return [f"{stem}_{17874424560169856 + i}{'.' + lang if lang else ''}.srt"
            for i, lang in enumerate(media.subtitles)]


SRT_TEXT = "1\n00:00:00,000 --> 00:00:01,500\nA painting, slowly\n\n2\n00:00:01,500 --> 00:00:03,000\nthen faster\n"

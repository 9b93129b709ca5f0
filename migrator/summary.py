"""What `pindah inspect` tells the artist about an export: counts, dates, gaps, problems.

Counting images and videos sniffs each file's first bytes; pixel sizes are not read here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from .model import MediaType, iso_utc
from .sources import Export

MAX_LISTED = 20  # missing files / problems listed by name; the rest are counted


@dataclass
class Summary:
    layout: str
    layout_label: str
    sources: list[str]
    kinds_included: list[str]
    posts: int
    by_kind: dict[str, int]
    carousels: int
    images: int
    videos: int
    first_post: str | None
    last_post: str | None
    missing_files: int
    missing_examples: list[str] = field(default_factory=list)
    subtitles: int = 0  # subtitle files attached to videos (not counted as images or videos)
    missing_subtitles: int = 0  # listed but absent: the video still moves, without them
    dated_by_folder: int = 0  # posts whose date line could not be read (dated by media folder)
    problems: int = 0
    problem_examples: list[str] = field(default_factory=list)
    not_included: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(export: Export, kinds_included: list[str]) -> Summary:
    by_kind: Counter[str] = Counter()
    images = videos = carousels = subtitles = missing_subtitles = by_folder = 0
    missing: list[str] = []
    tree = export.tree
    for post in export.posts:
        by_kind[post.kind.value] += 1
        carousels += post.is_carousel
        by_folder += post.time_precision == "month"
        for media in post.media:
            subtitles += len(media.subtitles)
            missing_subtitles += sum(not tree.exists(s.path) for s in media.subtitles)
            if media.missing:
                missing.append(media.path)
            elif media.type is MediaType.VIDEO:
                videos += 1
            else:
                images += 1
    problems = [str(p) for p in export.problems]
    return Summary(
        layout=export.layout,
        layout_label=export.reader.label,
        sources=[str(p) for p in export.tree.origins],
        kinds_included=kinds_included,
        posts=len(export.posts),
        by_kind=dict(by_kind),
        carousels=carousels,
        images=images,
        videos=videos,
        first_post=iso_utc(export.posts[0].taken_at) if export.posts else None,
        last_post=iso_utc(export.posts[-1].taken_at) if export.posts else None,
        missing_files=len(missing),
        missing_examples=missing[:MAX_LISTED],
        subtitles=subtitles,
        missing_subtitles=missing_subtitles,
        dated_by_folder=by_folder,
        problems=len(problems),
        problem_examples=problems[:MAX_LISTED],
        not_included={kind.value: sorted(set(files))[:5] for kind, files in export.not_included.items()},
    )

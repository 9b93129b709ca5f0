"""Which of a post's files go into which part (pure, offline): the planner's media half.

A file missing from the export, or a video where the target takes none, is left out with its
reason. On a target with threads the rest fill parts in carousel order (runs of one kind where
images and videos can't share a post); without threads one post takes what it can and the rest
is left out, each file with its reason. `planner` owns the rules; this module only groups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pindah.adapters.contract import Capabilities

from .model import MediaType, Post

if TYPE_CHECKING:
    from .planner import PostPlan


def usable_media(post: Post, caps: Capabilities, plan: PostPlan) -> dict[int, bool]:
    """The files that can go, each with whether it is a video (sniffed once, used throughout)."""
    kept: dict[int, bool] = {}
    video_kind = MediaType.VIDEO
    for i, media in enumerate(post.media):
        kind = media.planned_type()  # one existence check and one sniff per file, ever
        if kind is None:
            plan.dropped_media.append((i, "file missing from the export"))
            continue
        video = kind is video_kind
        if video and not caps.supports_video:
            plan.dropped_media.append((i, "video: this platform doesn't take video"))
        else:
            kept[i] = video
    return kept


def thread_groups(kept: list[int], is_video: dict[int, bool], caps: Capabilities,
                   plan: PostPlan) -> list[list[int]]:
    """Media of each part, in order (see the module docstring for where videos go)."""
    if len(kept) < 2:  # most posts: one picture or video, one part, nothing to say
        return [kept] if kept else []
    per_post = max(1, caps.max_media_per_post)
    videos_per_post = min(per_post, caps.max_videos_per_post or per_post)
    groups: list[list[int]] = []
    if caps.mix_images_and_videos:
        videos = 0
        for i in kept:  # carousel order exactly; a post closes when it is full
            if groups and len(groups[-1]) < per_post and not (is_video[i] and videos >= videos_per_post):
                groups[-1].append(i)
            else:
                groups.append([i])
                videos = 0
            videos += is_video[i]
    else:
        # Consecutive runs of one kind, each filling posts of its own, so the thread shows the
        # carousel in Instagram's order: image, video, image stays image, video, image.
        for i in kept:
            room = videos_per_post if is_video[i] else per_post
            if groups and is_video[groups[-1][0]] == is_video[i] and len(groups[-1]) < room:
                groups[-1].append(i)
            else:
                groups.append([i])
        if len({is_video[i] for i in kept}) > 1:
            plan.notes.append("images and videos in separate posts, in Instagram's order: "
                              "this platform doesn't mix them in one post")
    if len(groups) > 1:
        plan.notes.append(f"{_describe(kept, is_video)} → {len(groups)} posts "
                          f"(this platform takes {per_post} per post)")
    return groups


def single_post_media(kept: list[int], is_video: dict[int, bool], caps: Capabilities,
                       plan: PostPlan) -> list[int]:
    """The most a single post can carry, in carousel order; the rest is dropped with a reason."""
    per_post = max(1, caps.max_media_per_post)
    videos_allowed = min(per_post, caps.max_videos_per_post or per_post)
    # Without mixing, one kind wins: images, which is what artists' carousels mostly are.
    only_videos = not caps.mix_images_and_videos and all(is_video.values())
    chosen: list[int] = []
    videos = 0
    for i in kept:
        if not caps.mix_images_and_videos and is_video[i] != only_videos:
            plan.dropped_media.append((i, "video: can't share a post with images here, "
                                          "and this platform can't do threads"))
        elif len(chosen) >= per_post or (is_video[i] and videos >= videos_allowed):
            plan.dropped_media.append((i, f"over the limit of {per_post} files per post, "
                                          "and this platform can't do threads"))
        else:
            chosen.append(i)
            videos += is_video[i]
    left_out = len(kept) - len(chosen)
    if left_out:
        plan.notes.append(f"{left_out} of {len(kept)} files left out: this platform can't do threads")
    plan.dropped_media.sort()
    return chosen


def _describe(indexes: list[int], is_video: dict[int, bool]) -> str:
    videos = sum(is_video[i] for i in indexes)
    images = len(indexes) - videos
    words = [f"{n} {w}{'s' if n != 1 else ''}" for n, w in ((images, "image"), (videos, "video")) if n]
    return " and ".join(words)

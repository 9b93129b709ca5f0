"""Tumblr's queue, used to drip a migration out over days so followers are not flooded.

Room: when each queued post goes out. With `queue = true` every post is created with
`state=queue` and a `publish_on` time (tumblr/docs api.md, NPF create route): `per_day` posts a
day, evenly spaced, after the last post already scheduled on the blog (read once per run from
`/v2/blog/{blog}/posts/queue`). A blog holds a limited number of queued posts (300 in Tumblr's
docs when this was written; a later revision says 1,000): before that cap pindah stops the run
and says when the oldest queued post goes out, so the next run finds room.

A queued post is published on Tumblr's schedule, with that day's date: its Instagram date is
not kept (backdating needs `state=published`), so the planner adds the date line instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pindah.adapters.contract import RunStopped

__all__ = ["DEFAULT_CAP", "DripSchedule", "iso"]

DEFAULT_CAP = 300
FIRST_DELAY = 600.0  # the first queued post: ten minutes from now, time to look at the queue


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class DripSchedule:
    """The queue as one run sees it: how full it is and when the next post goes out."""

    per_day: int
    cap: int = DEFAULT_CAP
    queued: int = 0  # posts in the blog's queue now
    scheduled: list[float] = field(default_factory=list)  # their publish times, when known

    @property
    def spacing(self) -> float:
        return 86400.0 / max(1, self.per_day)

    def next_slot(self, now: float) -> float:
        """The publish time of the next post; raises RunStopped when the queue is full."""
        if self.queued >= self.cap:
            first = min((t for t in self.scheduled if t > now), default=None)
            resume = datetime.fromtimestamp(first, tz=UTC) if first else None
            when = f" (the next one goes out at {resume.astimezone():%Y-%m-%d %H:%M})" if resume else ""
            raise RunStopped(f"your Tumblr queue holds {self.queued} posts, Tumblr's maximum{when}",
                             "run the same command again after queued posts have been published; "
                             "everything done so far is kept", resume_at=resume)
        last = max(self.scheduled, default=None)
        return max(now + FIRST_DELAY, last + self.spacing) if last is not None else now + FIRST_DELAY

    def took(self, moment: float) -> None:
        """A post was queued for `moment`."""
        self.queued += 1
        self.scheduled.append(moment)

    def days_for(self, posts: int) -> float:
        return posts / max(1, self.per_day)

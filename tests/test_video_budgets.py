"""Daily video limits pace a run (Tumblr: 10 videos and 150 pictures or videos a day; Bluesky's
video service: the videos left today): a video counts against both, a picture only against the
pictures-and-videos budget, and the dry run's estimate follows the same rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from pindah.adapters.contract import RateBudget
from pindah.migrator.errors import RunStopped
from pindah.migrator.journal import Journal
from pindah.migrator.ratelimit import Pacer, estimate_seconds
from tests.clock import Clock

DAY = 86400.0
TUMBLR_LIKE = (RateBudget("media", 3, DAY), RateBudget("videos", 1, DAY), RateBudget("posts", 250, DAY))


def test_a_second_video_the_same_day_stops_the_run_with_the_time_it_can_continue():
    clock = Clock()
    pacer = Pacer(TUMBLR_LIKE, clock=clock, sleep=clock.sleep)
    pacer.acquire("videos")
    pacer.acquire("media")  # a picture is still allowed: the videos budget is not its own
    with pytest.raises(RunStopped, match="1 videos per 24 h is used up until") as stopped:
        pacer.acquire("videos")
    assert stopped.value.resume_at is not None and clock.slept == []


def test_a_video_also_spends_the_days_pictures_and_videos_budget():
    clock = Clock()
    pacer = Pacer(TUMBLR_LIKE, clock=clock, sleep=clock.sleep)
    pacer.acquire("videos")
    pacer.acquire("media")
    pacer.acquire("media")
    with pytest.raises(RunStopped, match="3 media per 24 h"):
        pacer.acquire("media")


def test_videos_paced_in_one_run_still_count_in_the_next_run_the_same_day(tmp_path: Path):
    clock = Clock()
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        Pacer(TUMBLR_LIKE, journal, clock=clock, sleep=clock.sleep).acquire("videos")
        journal.durable()
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        later = Pacer(TUMBLR_LIKE, journal, clock=clock, sleep=clock.sleep)
        with pytest.raises(RunStopped, match="videos per 24 h"):
            later.acquire("videos")


def test_the_estimate_waits_a_day_per_video_over_the_daily_limit_and_counts_each_upload_once():
    counts = {"media": 3, "videos": 3, "posts": 3}  # three posts of one video each
    assert estimate_seconds(TUMBLR_LIKE, counts) == 2 * DAY  # 1 a day: the third goes out on day 3
    assert estimate_seconds((RateBudget("requests", 6, DAY),), counts) == 0  # 6 calls, not 9


def test_a_budget_with_nothing_left_today_stops_the_run_instead_of_failing():
    clock = Clock()
    pacer = Pacer((RateBudget("videos", 0, DAY),), clock=clock, sleep=clock.sleep)
    pacer.acquire("media")  # pictures are not held up by it
    with pytest.raises(RunStopped, match="0 videos per 24 h is used up until"):
        pacer.acquire("videos")
    assert estimate_seconds((RateBudget("videos", 0, DAY),), {"media": 1, "videos": 1}) == DAY

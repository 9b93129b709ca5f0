"""The Tumblr target through the real `pindah` CLI against the simulated Tumblr API (loopback
HTTP), and how the planner and the time estimate read its limits.

* `pindah migrate sample/instagram-export --to tumblr:BLOG` end to end: every planned post is on
  the blog once (read from the simulation), `verify` finds everything, a second run has nothing
  new, `rollback` leaves the blog empty and says so only because Tumblr no longer shows the posts;
* `pindah targets` lists tumblr with its daily limits;
* the dry run of 1,000 posts with 2,500 pictures: no call to Tumblr, and the estimate the daily
  limits give (150 pictures a day: about 16 days);
* the planner: a 20-picture carousel stays one post, a second video is left out with a note,
  captions are never shortened, and queued posts (no backdating) get the date line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pindah.adapters.tumblr import TUMBLR_DEFAULTS, TumblrAdapter
from pindah.adapters.tumblr_npf import post_text
from pindah.migrator.engine import dry_run
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.ratelimit import estimate_seconds
from pindah.migrator.sources import read_export
from tests.chaos_support import base_env, plans_for, run
from tests.exportbuilder.corpus import big_export_posts
from tests.exportbuilder.meta_json import write_meta_json
from tests.planner_support import make_post
from tests.targets.tumblr import tumblr_env
from tests.tumblr_sim import BLOG, TOKEN, TumblrHttp

pytestmark = pytest.mark.integration

@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch):
    monkeypatch.setenv("PINDAH_TARGETS_TUMBLR_TOKEN_STORE", "file")  # never the developer's keyring


SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "instagram-export"
DAY = 86400


def test_the_sample_export_moves_to_a_tumblr_blog_exactly_once_and_rolls_back_for_real(tmp_path):
    with TumblrHttp() as server:
        env = base_env(tmp_path, **tumblr_env(server.url, TOKEN))
        args = ["migrate", str(SAMPLE), "--to", f"tumblr:{BLOG}"]
        done = run([*args, "--json", str(tmp_path / "report.json")], env)
        assert done.returncode == 0, done.stdout + done.stderr
        plans = plans_for(SAMPLE, TUMBLR_DEFAULTS)
        posts = server.blog_posts()
        planned = sorted(part.text for plan in plans if not plan.skipped for part in plan.parts)
        assert sorted(post_text(p) for p in posts) == planned and len(posts) == len(planned) > 0
        assert all(p["state"] == "published" for p in posts)
        assert "Note: Tumblr: posts keep their Instagram date" in done.stdout  # the run's summary says it
        assert "Prevent third-party sharing" in done.stdout and TOKEN not in done.stdout + done.stderr
        report = json.loads((tmp_path / "report.json").read_text("utf-8"))
        assert "Prevent third-party sharing" in report["target_description"]  # the report says it too
        assert any("tumblr.com/settings/blog/" in note for note in report["warnings"])

        verify = run(["verify", "--to", f"tumblr:{BLOG}"], env)
        assert verify.returncode == 0 and "everything is there" in verify.stdout, verify.stdout + verify.stderr
        again = run(args, env)
        assert again.returncode == 0 and "Nothing new to migrate" in again.stdout, again.stdout
        creates = [r for r in server.received if r[0] == "POST" and r[1] == f"/v2/blog/{BLOG}/posts"]
        assert len(creates) == len(planned)  # never a second create for a post

        gone = run(["rollback", "--to", f"tumblr:{BLOG}", "--yes"], env)
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert server.blog_posts() == []


def test_pindah_targets_lists_tumblr_with_its_daily_limits(tmp_path):
    done = run(["targets"], base_env(tmp_path))
    assert done.returncode == 0
    listed = " ".join(done.stdout.split())
    assert "tumblr:yourblog" in listed and "250 posts per 24 h" in listed and "150 media per 24 h" in listed
    assert "1000 requests per 1 h" in listed and "5000 requests per 24 h" in listed


def test_a_dry_run_of_1000_posts_with_2500_pictures_calls_nothing_and_takes_tumblrs_days(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_TUMBLR_TOKEN", TOKEN)
    folder = tmp_path / "big"
    write_meta_json(folder, big_export_posts(1000, 2.5))
    with TumblrHttp() as server:
        adapter = TumblrAdapter(BLOG, {"api_base": server.url})
        adapter.prepare(interactive=False, dry_run=True)
        with read_export([folder]) as exp:
            plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
            report = dry_run(exp, adapter, plans)
        calls = [(method, path) for method, path, _, _ in server.received]
    assert calls == [("GET", "/v2/user/info")]  # the login checked; nothing else, nothing written
    counts = {"posts": sum(len(p.parts) for p in plans), "media": sum(p.media_count for p in plans)}
    assert counts == {"posts": 1000, "media": 2500}
    assert report.eta_seconds == estimate_seconds(TUMBLR_DEFAULTS.rate_budgets, counts, call_seconds=2.0)
    # 150 pictures a day: 2,500 need 17 days, so 16 days of waiting, then the last day's 150 calls.
    assert report.eta_seconds == 16 * DAY + 150 * 2.0
    assert not (tmp_path / "state" / "journals").exists()


def test_the_daily_limits_can_be_set_to_what_tumblr_gives_the_account_and_the_estimate_follows():
    adapter = TumblrAdapter(BLOG, {"pictures_per_day": 250, "videos_per_day": "20"})
    daily = {b.name: b.limit for b in adapter.caps.rate_budgets if b.window == DAY}
    assert daily == {"posts": 250, "media": 250, "videos": 20, "requests": 5000}
    # Tumblr's current docs: 250 pictures a day, so 2,500 take 10 days, 9 of them waiting.
    assert estimate_seconds(adapter.caps.rate_budgets, {"posts": 1000, "media": 2500}, call_seconds=2.0) == \
        9 * DAY + 250 * 2.0


def test_a_carousel_of_twenty_stays_one_post_and_a_second_video_is_left_out_with_a_note():
    big = plan_posts([make_post("twenty pictures #ink", "i" * 20)], TUMBLR_DEFAULTS, PlanOptions())[0]
    assert len(big.parts) == 1 and tuple(big.parts[0].media) == tuple(range(20))
    assert big.parts[0].text == "twenty pictures #ink"
    two = plan_posts([make_post("two clips", "ivv", post_id="p2")], TUMBLR_DEFAULTS, PlanOptions())[0]
    assert len(two.parts) == 1 and tuple(two.parts[0].media) == (0, 1)
    assert any("left out" in note for note in two.notes), two.notes


def test_captions_are_never_shortened_and_queued_posts_carry_the_date_line():
    caption = "A long process note. " * 150  # 3,150 characters: more than Instagram allows
    kept = plan_posts([make_post(caption.strip())], TUMBLR_DEFAULTS, PlanOptions())[0]
    assert kept.parts[0].text == caption.strip()
    queued = plan_posts([make_post("queued piece")], TUMBLR_DEFAULTS.refined(backdating=False), PlanOptions())[0]
    assert queued.parts[0].text.startswith("queued piece") and "7 July 2024" in queued.parts[0].text


def test_the_queue_option_turns_backdating_off_and_says_so_in_the_plan_note(monkeypatch):
    monkeypatch.delenv("PINDAH_TUMBLR_TOKEN", raising=False)
    adapter = TumblrAdapter(BLOG, {"queue": "true", "per_day": "3"})
    adapter.prepare(interactive=False, dry_run=True)
    assert adapter.caps.backdating is False and "queued, 3 a day" in adapter.notes()[0]
    assert f"tumblr.com/settings/blog/{BLOG}" in adapter.notes()[0]

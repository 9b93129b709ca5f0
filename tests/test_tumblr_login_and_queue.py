"""Logging in to Tumblr (OAuth 2 with the artist's own app: scopes basic write offline_access,
tokens renewed before they expire and after a 401, rotated refresh tokens kept privately) and the
queue that drips a migration out over days, against the simulated Tumblr API over loopback HTTP.
"""

from __future__ import annotations

import itertools
import stat
import threading
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from pindah.adapters.contract import PindahError, RunStopped
from pindah.adapters.toolkit.oauth import LoginIO
from pindah.adapters.tumblr import TumblrAdapter
from pindah.adapters.tumblr_queue import DripSchedule
from tests.test_tumblr_posting import part, sent_json
from tests.tumblr_sim import BLOG, CLIENT_ID, CLIENT_SECRET, Limits, TumblrHttp


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("PINDAH_TUMBLR_TOKEN", raising=False)
    monkeypatch.setenv("PINDAH_TARGETS_TUMBLR_TOKEN_STORE", "file")  # never the developer's keyring


class Clock:
    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now


class Browser:
    """Plays the artist's browser: allows pindah on Tumblr and follows the redirect back."""

    def __init__(self, server: TumblrHttp) -> None:
        self.server = server
        self.asked: dict[str, str] = {}

    def open(self, url: str) -> bool:
        self.asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = self.server.sim.new_code(self.asked["redirect_uri"])
        back = f"{self.asked['redirect_uri']}?code={code}&state={self.asked['state']}"
        threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=5).read()).start()
        return True


def logged_in_adapter(server: TumblrHttp, clock: Clock, said: list[str], browser: Browser, **config) -> TumblrAdapter:
    io = LoginIO(say=said.append, open_browser=browser.open, wait_seconds=5)
    settings = {"api_base": server.url, "web_base": server.url, "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "token_store": "file", **config}
    adapter = TumblrAdapter(BLOG, settings, clock=clock, io=io)
    line = adapter.login()
    said.append(line)
    return adapter


def test_the_browser_login_asks_for_basic_write_offline_access_at_the_registered_redirect_and_keeps_the_tokens_private(tmp_path):
    clock, said = Clock(), []
    with TumblrHttp(clock=clock) as server:
        browser = Browser(server)
        adapter = logged_in_adapter(server, clock, said, browser)
        saved = list((tmp_path / "state" / "tokens" / "tumblr").glob("*.json"))
    assert browser.asked["scope"] == "basic write offline_access" and browser.asked["client_id"] == CLIENT_ID
    assert browser.asked["redirect_uri"] == "http://127.0.0.1:8914/callback" and "code_challenge" not in browser.asked
    assert said[-1].startswith(f"Logged in to Tumblr; pindah may post to {BLOG}.")
    assert len(saved) == 1 and stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    shown = "\n".join(said) + repr(adapter.login_keeper.keeper.tokens)
    assert CLIENT_SECRET not in shown and adapter.api.token not in shown


def test_an_expired_token_is_renewed_and_a_revoked_one_after_a_401_and_each_refresh_token_works_once(tmp_path):
    clock, said = Clock(), []
    with TumblrHttp(clock=clock) as server:
        adapter = logged_in_adapter(server, clock, said, Browser(server))
        first = adapter.api.token
        clock.now += 2520  # the access token's life, as Tumblr's example answers it
        later = TumblrAdapter(BLOG, {"api_base": server.url, "token_store": "file"}, clock=clock)
        later.prepare(interactive=False)  # no client settings: the saved login brings its own
        ref = later.create_post(part("p1#0", "after the renewal"))
        assert later.api.token != first and ref.id
        server.sim.tokens[later.api.token] = clock.now - 1  # revoked under our feet: the next call gets a 401
        assert later.read_post(ref) is not None
        assert len(server.sim.refresh_tokens) == 1  # every refresh token was rotated, one is live
        grants = [body for method, path, _, body in server.received if path == "/v2/oauth2/token"]
    assert [g.split(b"grant_type=")[1].split(b"&")[0] for g in grants] == \
        [b"authorization_code", b"refresh_token", b"refresh_token"]


def test_pindah_login_tumblr_without_a_blog_names_the_blogs_and_a_run_without_one_asks_for_it(tmp_path):
    clock, said = Clock(), []
    with TumblrHttp(clock=clock, blogs=("inkandwash", "sketchdump")) as server:
        io = LoginIO(say=said.append, open_browser=Browser(server).open, wait_seconds=5)
        adapter = TumblrAdapter(None, {"api_base": server.url, "web_base": server.url, "client_id": CLIENT_ID,
                                       "client_secret": CLIENT_SECRET, "token_store": "file"}, clock=clock, io=io)
        line = adapter.login()
        with pytest.raises(PindahError, match="needs your blog's name"):
            adapter.prepare(interactive=False)
    assert line.startswith("Logged in to Tumblr (your blogs: inkandwash, sketchdump; use --to tumblr:NAME).")


def test_a_login_without_the_apps_client_id_says_which_settings_to_set(tmp_path):
    with TumblrHttp() as server:
        adapter = TumblrAdapter(BLOG, {"api_base": server.url, "token_store": "file"})
        with pytest.raises(PindahError) as refused:
            adapter.login()
    said = refused.value.one_line()
    assert "client_id" in said and "tumblr.com/oauth/apps" in said


def test_logout_forgets_the_login_and_says_where_to_remove_the_app_on_tumblr(tmp_path):
    clock, said = Clock(), []
    with TumblrHttp(clock=clock) as server:
        adapter = logged_in_adapter(server, clock, said, Browser(server))
        lines = adapter.logout()
        with pytest.raises(RunStopped, match="not logged in to Tumblr"):
            TumblrAdapter(BLOG, {"api_base": server.url, "token_store": "file"}).create_post(part("p#0", "x"))
    assert lines[0] == "Logged out of Tumblr." and "Settings → Apps" in lines[1]
    assert list((tmp_path / "state" / "tokens" / "tumblr").glob("*.json")) == []


# -- the queue ----------------------------------------------------------------------------------
def queue_adapter(server: TumblrHttp, clock: Clock, monkeypatch, **config) -> TumblrAdapter:
    monkeypatch.setenv("PINDAH_TUMBLR_TOKEN", server.token)
    adapter = TumblrAdapter(BLOG, {"api_base": server.url, "queue": True, **config}, clock=clock)
    adapter.prepare(interactive=False)
    return adapter


def test_queued_posts_go_out_per_day_after_those_already_scheduled_and_keep_no_backdate(monkeypatch):
    clock = Clock()
    with TumblrHttp(clock=clock) as server:
        first = queue_adapter(server, clock, monkeypatch, per_day=4)
        for n in range(3):
            first.create_post(part(f"p{n}#0", f"queued {n}"))
        again = queue_adapter(server, clock, monkeypatch, per_day=4)  # the next run reads the queue
        again.create_post(part("p3#0", "queued 3"))
        posts = server.blog_posts()
        found = again.find_post(part("p1#0", "queued 1"))
        sent, _ = sent_json(server)
    times = [p["scheduled_publish_time"] for p in posts]
    assert [p["state"] for p in posts] == ["queued"] * 4
    assert "date" not in sent and sent["state"] == "queue" and sent["publish_on"].endswith("Z")
    assert times[0] == clock.now + 600 and [b - a for a, b in itertools.pairwise(times)] == [6 * 3600] * 3
    assert first.caps.backdating is False  # the planner adds the date line instead
    assert found is not None and found.id == posts[1]["id_string"] and found.extra["state"] == "queued"


def test_a_full_queue_stops_the_run_with_the_time_the_next_queued_post_goes_out(monkeypatch):
    clock = Clock()
    with TumblrHttp(clock=clock) as server:
        adapter = queue_adapter(server, clock, monkeypatch, per_day=2, queue_cap=2)
        adapter.create_post(part("p0#0", "one"))
        adapter.create_post(part("p1#0", "two"))
        with pytest.raises(RunStopped, match="queue holds 2 posts") as stopped:
            adapter.create_post(part("p2#0", "three"))
        assert len(server.blog_posts()) == 2
    assert stopped.value.resume_at is not None and stopped.value.resume_at.timestamp() == clock.now + 600


def test_tumblrs_own_queue_limit_answer_stops_the_run_too(monkeypatch):
    clock = Clock()
    with TumblrHttp(clock=clock, limits=Limits(queue=0)) as server:
        adapter = queue_adapter(server, clock, monkeypatch)
        with pytest.raises(RunStopped, match="queue of inkandwash is full"):
            adapter.create_post(part("p0#0", "one"))


def test_the_drip_spreads_a_thousand_posts_over_the_days_it_says():
    drip = DripSchedule(per_day=10)
    assert drip.days_for(1000) == 100 and drip.spacing == 8640

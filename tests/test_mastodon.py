"""The Mastodon-API adapter against simulated Mastodon, Pixelfed and GoToSocial servers.

Each server's observed behaviour (tests/mastodon_sim.py) is reproduced with `responses`: no
network, no real sleeping (clock and sleep are injected into the adapter, Runner and Pacer).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import responses

from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef, TextCounting
from pindah.adapters.mastodon import MastodonAdapter
from pindah.adapters.mastodon_api import ApiClient, ApiError, parse_reset
from pindah.adapters.mastodon_flavour import BUDGETS, Flavour
from pindah.adapters.mastodon_status import (
    ZWJ,
    defuse_mentions,
    html_to_text,
    restore_mentions,
)
from pindah.migrator import journal as J
from pindah.migrator.engine import dry_run
from pindah.migrator.errors import PindahError, PostFailed, RunStopped, TransientError
from pindah.migrator.journal import Journal
from pindah.migrator.model import MediaType
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.ratelimit import estimate_seconds
from pindah.migrator.runner import Runner
from pindah.migrator.sources import read_export
from tests.exportbuilder.corpus import big_export_posts
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.mastodon_sim import T_NOW, TOKEN, Fault, SimServer

pytestmark = pytest.mark.mastodon

FLAVOURS = ("mastodon", "pixelfed", "gotosocial")
# Runner._publish raises PostFailed for every part without media when `requires_media`, so a
# Pixelfed takes text-only replies: a caption overflow must not fail a post there.
WHOLE_RUNS = ("mastodon", "pixelfed", "gotosocial")
T0 = 1_500_000_000  # 2017-07-14


class FakeTime:
    """One clock for the adapter, the runner's pacer and the simulated server; sleeping moves it."""

    def __init__(self, start: float = T_NOW) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", TOKEN)
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN_STORE", "file")  # never the developer's real keyring


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _server(rsps, flavour: str, t: FakeTime | None = None, **kw) -> SimServer:
    return SimServer(flavour=flavour, clock=(t or FakeTime()).clock, **kw).install(rsps)


def _adapter(sim: SimServer, t: FakeTime | None = None, config: dict | None = None,
             cls: type[MastodonAdapter] = MastodonAdapter) -> MastodonAdapter:
    t = t or FakeTime()
    adapter = cls(sim.base, config or {}, clock=t.clock, sleep=t.sleep)
    adapter.prepare(interactive=False)
    return adapter


def _file(tmp_path: Path, name: str = "a.jpg", mime: str = "image/jpeg", alt: str | None = "ink") -> PreparedMedia:
    path = tmp_path / name
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(64))
    return PreparedMedia(path, mime, 8, 6, alt, "0" * 64, f"media/{name}")


def _request(key: str = "p1#0", text: str = "Ink study #art", media: tuple[RemoteRef, ...] = (),
             reply_to: RemoteRef | None = None, when: datetime = datetime(2019, 6, 1, 12, 34, 56, tzinfo=UTC)
             ) -> PostRequest:
    post_id, part = key.split("#")
    return PostRequest(key, text, media, tuple(None for _ in media), when, reply_to, reply_to, post_id, int(part), 2)


# -- instance discovery ------------------------------------------------------------------------

def test_discovery_reads_each_flavour_and_its_limits(rsps):
    found = {}
    for flavour in FLAVOURS:
        sim = _server(rsps, flavour, base=f"https://{flavour}.example")
        found[flavour] = _adapter(sim)
    mastodon, pixelfed, gts = found["mastodon"].caps, found["pixelfed"].caps, found["gotosocial"].caps
    assert found["mastodon"].info.flavour is Flavour.MASTODON
    assert (mastodon.max_text, mastodon.text_counting, mastodon.url_weight) == (500, TextCounting.GRAPHEMES, 23)
    assert (mastodon.max_media_per_post, mastodon.mix_images_and_videos, mastodon.max_videos_per_post) == (4, False, 1)
    assert "image/heic" in mastodon.image_mime_types and "video/mp4" in mastodon.video_mime_types
    assert (mastodon.image_max_bytes, mastodon.max_alt_text, mastodon.backdating) == (16777216, 1500, False)
    assert mastodon.rate_budgets == BUDGETS[Flavour.MASTODON]

    assert found["pixelfed"].info.flavour is Flavour.PIXELFED and found["pixelfed"].info.software == (0, 12, 4)
    assert (pixelfed.text_counting, pixelfed.url_weight, pixelfed.requires_media) == (TextCounting.CODE_POINTS, None, True)
    assert pixelfed.max_alt_text == 1000  # from /api/v1.1/compose/settings
    assert not pixelfed.supports_video and "image/webp" not in pixelfed.image_mime_types
    assert pixelfed.mix_images_and_videos and pixelfed.rate_budgets == BUDGETS[Flavour.PIXELFED]

    # GoToSocial's bare "0.19.2" version says nothing: nodeinfo names it.
    assert found["gotosocial"].info.flavour is Flavour.GOTOSOCIAL
    assert (gts.max_text, gts.max_media_per_post, gts.image_max_bytes) == (5000, 6, 41943040)
    assert gts.backdating and gts.image_max_pixels is None and gts.text_counting is TextCounting.CODE_POINTS


def test_discovery_falls_back_to_v1_instance_and_config_can_force_the_flavour(rsps):
    sim = _server(rsps, "mastodon", v2_instance=False)
    adapter = _adapter(sim)
    assert sim.log[:2] == ["GET /api/v2/instance", "GET /api/v1/instance"]
    assert adapter.caps.max_text == 500 and adapter.info.domain == "social.example"
    forced = _adapter(sim, config={"flavour": "gotosocial", "backdate": "false"})
    assert forced.info.flavour is Flavour.GOTOSOCIAL and not forced.caps.backdating


def test_plain_http_is_refused_except_on_this_computer():
    with pytest.raises(PindahError, match="plain http"):
        MastodonAdapter("http://social.example", {})
    assert MastodonAdapter("http://127.0.0.1:8080", {}).server == "http://127.0.0.1:8080"
    with pytest.raises(PindahError, match="visibility"):
        MastodonAdapter("https://social.example", {"visibility": "everyone"})


# -- logins that no longer work ------------------------------------------------------------------

def test_pixelfed_login_page_for_a_bad_token_is_a_clear_stop(rsps, monkeypatch):
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", "expired-token")
    sim = _server(rsps, "pixelfed")
    adapter = MastodonAdapter(sim.base, {}, sleep=lambda s: None)
    with pytest.raises(RunStopped) as stop:
        adapter.prepare(interactive=False)
    assert "did not accept pindah's login" in stop.value.one_line()
    assert "pindah login mastodon:https://social.example" in stop.value.one_line()
    assert "expired-token" not in stop.value.one_line()


def test_an_html_page_served_with_200_is_read_as_the_login_page(rsps):
    rsps.add(responses.GET, "https://pf.example/api/v1/accounts/verify_credentials",
             body="<!doctype html><html><title>Login</title></html>", content_type="text/html")
    api = ApiClient("https://pf.example", token="t0k3n")
    with pytest.raises(ApiError) as err:
        api.call("GET", "/api/v1/accounts/verify_credentials")
    assert err.value.login_page and isinstance(err.value.as_target_error("x"), RunStopped)


def test_mastodon_401_stops_the_run_and_never_shows_the_token(rsps):
    rsps.add(responses.POST, "https://m.example/api/v1/statuses", status=401,
             json={"error": f"The access token {TOKEN} is invalid"})
    api = ApiClient("https://m.example", token=TOKEN)
    with pytest.raises(ApiError) as err:
        api.call("POST", "/api/v1/statuses", data={"status": "x"})
    assert TOKEN not in str(err.value) and TOKEN not in err.value.as_target_error("posting").one_line()
    assert isinstance(err.value.as_target_error("posting"), RunStopped)


def test_without_a_login_a_dry_run_plans_and_a_real_write_stops(rsps, monkeypatch):
    monkeypatch.delenv("PINDAH_MASTODON_TOKEN")
    sim = _server(rsps, "mastodon")
    adapter = _adapter(sim)
    assert adapter.account() == "not-logged-in@social.example" and adapter.caps.max_text == 500
    assert sim.log == ["GET /api/v2/instance"]  # read only
    with pytest.raises(RunStopped, match="not logged in"):
        adapter.create_post(_request())


# -- media --------------------------------------------------------------------------------------

def test_mastodon_video_is_polled_until_processed(rsps, tmp_path):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t, video_polls=2)
    adapter = _adapter(sim, t)
    ref = adapter.upload_media(_file(tmp_path, "v.mp4", "video/mp4"), "p#0/m0")
    assert sim.log[-4:] == ["POST /api/v2/media"] + [f"GET /api/v1/media/{ref.id}"] * 3  # 202, 206, 206, 200
    assert t.slept == [1.0, 2.0, 4.0]
    assert sim.media[ref.id]["description"] == "ink" and ref.extra["uploaded_at"] == f"{T_NOW + 7:.0f}"


def test_failed_processing_fails_the_post_and_a_slow_one_is_retried_at_create(rsps, tmp_path):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t, video_polls=1)
    sim.faults.append(Fault("GET", r"/api/v1/media/.*", (422, {}, {"error": "Error processing thumbnail"})))
    adapter = _adapter(sim, t)
    with pytest.raises(PostFailed, match="could not process"):
        adapter.upload_media(_file(tmp_path, "v.mp4", "video/mp4"), "p#0/m0")

    slow = _server(rsps, "mastodon", t, video_polls=10_000, base="https://slow.example")
    adapter = _adapter(slow, t, config={"media_wait": "20"})
    ref = adapter.upload_media(_file(tmp_path, "w.mp4", "video/mp4"), "p#0/m0")  # gives up waiting, keeps the id
    with pytest.raises(TransientError) as err:
        adapter.create_post(_request(media=(ref,)))
    assert err.value.retry_after == 30.0 and not slow.statuses


def test_upload_refusals_fail_the_post_and_old_servers_get_v1(rsps, tmp_path):
    sim = _server(rsps, "gotosocial")
    sim.faults.append(Fault("POST", "/api/v2/media", (400, {}, {"error": "Bad Request: media exceeds configured max size: 40.0MiB"})))
    adapter = _adapter(sim)
    with pytest.raises(PostFailed, match="exceeds configured max size"):
        adapter.upload_media(_file(tmp_path), "p#0/m0")
    sim.faults.append(Fault("POST", "/api/v2/media", (404, {}, {"error": "Record not found"})))
    ref = adapter.upload_media(_file(tmp_path), "p#0/m0")
    adapter.upload_media(_file(tmp_path, "b.jpg"), "p#0/m1")
    assert sim.log[-3:] == ["POST /api/v2/media", "POST /api/v1/media", "POST /api/v1/media"] and ref.id


def test_an_upload_older_than_the_servers_lifetime_is_checked_and_never_silently_lost(rsps, tmp_path):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    ref = adapter.upload_media(_file(tmp_path), "p#0/m0")
    t.now += 25 * 3600
    del sim.media[ref.id]  # Mastodon's MediaCleanupScheduler removed it
    with pytest.raises(PostFailed, match="deleted there before it could be attached"):
        adapter.create_post(_request(media=(ref,)))
    assert not sim.statuses  # Mastodon would have posted the text without the image


# -- posting ------------------------------------------------------------------------------------

def test_status_form_visibility_thread_and_gotosocial_backdating(rsps, tmp_path):
    for flavour in ("mastodon", "gotosocial"):
        sim = _server(rsps, flavour, base=f"https://{flavour}.example")
        adapter = _adapter(sim, config={"language": "id"})
        first = adapter.create_post(_request(media=(adapter.upload_media(_file(tmp_path), "p1#0/m0"),)))
        adapter.create_post(_request("p1#1", "more words", reply_to=first))
        (_, form0, head0), (_, form1, head1) = sim.forms[-2:]
        assert ("visibility", "unlisted") in form0 and ("language", "id") in form0
        assert ("in_reply_to_id", first.id) in form1 and head0["Idempotency-Key"] != head1["Idempotency-Key"]
        backdated = [v for k, v in form0 if k == "scheduled_at"]
        if flavour == "gotosocial":
            assert backdated == ["2019-06-01T12:34:56.000Z"] and first.id.startswith("01DC9")
            assert sim.statuses[first.id]["created_at"].year == 2019
        else:
            assert backdated == []


def test_instagram_mentions_are_defused_and_read_back_as_typed(rsps):
    sim = _server(rsps, "mastodon")
    adapter = _adapter(sim)
    text = "Collab with @budi.santoso, mail me@studio.id, see medium.com/@rina"
    ref = adapter.create_post(_request(text=text))
    sent = sim.statuses[ref.id]["text"]
    assert sent == text.replace("@budi", "@" + ZWJ + "budi") and restore_mentions(sent) == text
    assert adapter.read_post(ref) == {"text": text, "media": 0, "url": f"{sim.base}/@artist/{ref.id}"}
    assert defuse_mentions("@a and @b") == f"@{ZWJ}a and @{ZWJ}b"
    plain = _adapter(sim, config={"defuse_mentions": "false"})
    assert sim.statuses[plain.create_post(_request("p2#0", text=text)).id]["text"] == text


def test_a_422_validation_error_fails_only_that_post(rsps):
    sim = _server(rsps, "mastodon")
    adapter = _adapter(sim)
    with pytest.raises(PostFailed, match="Text character limit of 500 exceeded"):
        adapter.create_post(_request(text="x" * 501))


def test_pixelfed_refuses_a_status_without_media_but_takes_a_text_reply(rsps):
    sim = _server(rsps, "pixelfed")
    adapter = _adapter(sim)
    with pytest.raises(PostFailed, match="Empty statuses are not allowed"):
        adapter.create_post(_request())
    sim.statuses["1"] = {"id": "1", "text": "p", "created_at": datetime.now(UTC), "media": [],
                         "in_reply_to_id": None, "visibility": "unlisted", "language": None}
    assert adapter.create_post(_request("p1#1", "rest of the caption", reply_to=RemoteRef("1"))).id


def test_429_with_an_iso_reset_is_retried_after_the_servers_time(rsps):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    reset = datetime.fromtimestamp(T_NOW + 600, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    date = "Sun, 15 Jun 2025 15:06:40 GMT"  # T_NOW on the server's clock
    sim.faults.append(Fault("POST", "/api/v1/statuses", (429, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                                               "X-RateLimit-Reset": reset, "Date": date},
                                                         {"error": "Too many requests"})))
    t.now += 120  # this computer's clock is 2 minutes fast: the wait still follows the server
    with pytest.raises(TransientError) as err:
        adapter.create_post(_request())
    assert err.value.retry_after == pytest.approx(600)
    # Until the reset, nothing more is sent to that budget: the call is refused here.
    with pytest.raises(TransientError):
        adapter.create_post(_request())
    assert sim.log.count("POST /api/v1/statuses") == 1
    t.now += 600
    assert adapter.create_post(_request()).id and len(sim.statuses) == 1


def test_the_runner_waits_out_a_429_until_the_reset_and_posts_once(rsps, tmp_path):
    t = FakeTime(start=float(int(time.time())))  # the runner's retry may read the real clock
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    plans = _plans(tmp_path, adapter)[:2]
    reset = datetime.fromtimestamp(t.now + 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sim.faults.append(Fault("POST", "/api/v1/statuses", (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                                                         {"error": "Too many requests"})))
    outcome, _, counts = _run(tmp_path, adapter, t, plans)
    assert counts == {J.POSTED: 2} and outcome.stopped is None
    assert len(sim.statuses) == sum(len(p.parts) for p in plans)
    assert max(t.slept) == pytest.approx(60, abs=5)


def test_reads_wait_for_the_reset_themselves(rsps):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = _adapter(sim, t)
    ref = adapter.create_post(_request())
    reset = datetime.fromtimestamp(T_NOW + 90, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sim.faults.append(Fault("GET", r"/api/v1/statuses/.*", (429, {"X-RateLimit-Reset": reset}, {"error": "Too many"})))
    assert adapter.read_post(ref)["text"] == "Ink study #art"
    assert t.slept == [pytest.approx(90)]


def test_parse_reset_reads_iso_epoch_and_seconds():
    assert parse_reset("2026-11-25T12:48:51.000Z", server_now=datetime(2026, 11, 25, 12, 48, 0, tzinfo=UTC)
                       .timestamp(), local_now=0) == pytest.approx(51)
    assert parse_reset("1700000100", server_now=None, local_now=1_700_000_000) == 100
    assert parse_reset("42", server_now=None, local_now=5) == 42 and parse_reset("soon", server_now=None, local_now=0) is None


def test_pixelfed_daily_limit_stops_the_run(rsps, tmp_path):
    sim = _server(rsps, "pixelfed")
    adapter = _adapter(sim)
    sim.faults.append(Fault("POST", "/api/v2/media", (429, {}, {"message": "Too Many Attempts."})))
    with pytest.raises(RunStopped, match="1,250 a day"):
        adapter.upload_media(_file(tmp_path), "p#0/m0")


# -- exactly once: repeated keys, lost answers ---------------------------------------------------

def test_mastodon_returns_the_original_status_for_a_repeated_key(rsps, tmp_path):
    sim = _server(rsps, "mastodon")
    adapter = _adapter(sim)
    request = _request(media=(adapter.upload_media(_file(tmp_path), "p1#0/m0"),))
    assert adapter.create_post(request) == adapter.create_post(request)
    assert len(sim.statuses) == 1


def test_pixelfed_duplicate_key_is_looked_up_not_posted_again(rsps, tmp_path):
    sim = _server(rsps, "pixelfed")
    adapter = _adapter(sim)
    request = _request(media=(adapter.upload_media(_file(tmp_path), "p1#0/m0"),))
    first = adapter.create_post(request)
    assert adapter.create_post(request) == first  # 400 "Duplicate idempotency key." -> found
    assert len(sim.statuses) == 1 and sim.log[-2:] == ["POST /api/v1/statuses", "GET /api/v1/accounts/42/statuses"]


def test_pixelfed_key_noted_on_a_refused_attempt_is_replaced(rsps, tmp_path):
    sim = _server(rsps, "pixelfed")
    adapter = _adapter(sim)
    request = _request(media=(adapter.upload_media(_file(tmp_path), "p1#0/m0"),))
    sim.keys[adapter._idempotency_key(request.key)] = ""  # an earlier run's attempt, refused after noting it
    with pytest.raises(TransientError, match="saw this post's key before"):
        adapter.create_post(request)
    ref = adapter.create_post(request)
    keys = [h["Idempotency-Key"] for path, _, h in sim.forms if path == "/api/v1/statuses"]
    assert keys[1].startswith(keys[0] + "-1-") and len(sim.statuses) == 1 and ref.id in sim.statuses


def test_gotosocial_ignores_the_key_and_already_attached_media_finds_the_post(rsps, tmp_path):
    sim = _server(rsps, "gotosocial")
    adapter = _adapter(sim)
    request = _request(media=(adapter.upload_media(_file(tmp_path), "p1#0/m0"),))
    first = adapter.create_post(request)
    assert adapter.create_post(request) == first  # 400 "media already attached" -> found by its media
    assert len(sim.statuses) == 1
    lookup = [q for q in rsps.calls if "/accounts/42/statuses" in q.request.url][-1].request.url
    assert "max_id=01DC9" in lookup  # looked for around the backdated time, not among the newest


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("landed", [True, False])
def test_a_dropped_connection_is_retried_without_a_duplicate(rsps, tmp_path, flavour, landed):
    t = FakeTime()
    sim = _server(rsps, flavour, t)
    adapter = _adapter(sim, t)
    media = (adapter.upload_media(_file(tmp_path), "p1#0/m0"),)
    root = adapter.create_post(_request(media=media))
    sim.faults.append(Fault("POST", "/api/v1/statuses", requests.ConnectionError("connection reset"), after=landed))
    reply = _request("p1#1", "the rest of a long caption", reply_to=root)
    with pytest.raises(TransientError, match="no answer"):
        adapter.create_post(reply)
    # What the runner does next: ask, then create only if the server has nothing.
    found = adapter.find_post(reply)
    ref = found or adapter.create_post(reply)
    assert (found is not None) == landed
    assert len(sim.statuses) == 2 and sim.statuses[ref.id]["in_reply_to_id"] == root.id


# -- whole migrations ---------------------------------------------------------------------------

def _mixed_posts() -> list[SynthPost]:
    """30 posts: singles, big carousels, image+video carousels, long captions, lone videos,
    links and @names, webp/png, a missing file and a caption-only leftover."""
    long = "Layer after layer of ink, each one thinner than the last. " * 20
    posts = []
    for i in range(30):
        kind = i % 6
        media = {0: [SynthMedia()], 1: [SynthMedia(("jpg", "png", "webp")[k % 3], width=8 + k) for k in range(6)],
                 2: [SynthMedia(), SynthMedia("mp4"), SynthMedia(width=9)], 3: [SynthMedia(width=10)],
                 4: [SynthMedia("mp4")], 5: [SynthMedia(), SynthMedia("webp", width=11)]}[kind]
        caption = {0: f"New piece {i} with @budi.santoso #ink", 1: f"Carousel {i} 🎞️", 2: f"Process {i}",
                   3: long + f"#{i}", 4: f"Timelapse {i}", 5: f"Shop: https://shop.example/item/{i} #print"}[kind]
        if i == 13:
            media = [SynthMedia(missing=True)]
        posts.append(SynthPost(T0 + i * 86400, caption, media))
    return posts


def _plans(tmp_path: Path, adapter: MastodonAdapter):
    folder = tmp_path / "export"
    if not folder.exists():
        write_meta_json(folder, _mixed_posts())
    with read_export([folder]) as exp:
        return plan_posts(exp.posts, adapter.caps, PlanOptions())


def _run(tmp_path: Path, adapter: MastodonAdapter, t: FakeTime, plans):
    with Journal.open(tmp_path / "state" / f"{adapter.info.flavour.value}.sqlite") as journal:
        outcome = Runner(adapter, journal, tmp_path / "cache", sleep=t.sleep, clock=t.clock).run(plans)
        parts = list(journal.all_parts())
        counts = journal.counts()
    return outcome, parts, counts


def _whole_run(rsps, tmp_path: Path, flavour: str, video_polls: int):
    """A fake clock, the simulated server of `flavour`, an adapter on it and the plans of the 30-post export."""
    t = FakeTime()
    sim = _server(rsps, flavour, t, video_polls=video_polls)
    adapter = _adapter(sim, t)
    return t, sim, adapter, _plans(tmp_path, adapter)


def _expected_calls(plans, flavour: str, polls: int) -> list[str]:
    calls = ["GET /api/v2/instance"] + (["GET /.well-known/nodeinfo", "GET /nodeinfo/2.0"] if flavour == "gotosocial"
                                         else []) + ["GET /api/v1/accounts/verify_credentials"]
    calls += ["GET /api/v1.1/compose/settings"] if flavour == "pixelfed" else []
    for plan in plans:
        if plan.skipped:
            continue
        for part in plan.parts:
            for mi in part.media:
                calls.append("POST /api/v2/media")
                if flavour == "mastodon" and plan.post.media[mi].type is MediaType.VIDEO:
                    calls += ["GET /api/v1/media/{id}"] * (polls + 1)
            calls.append("POST /api/v1/statuses")
    return calls


@pytest.mark.parametrize("flavour", WHOLE_RUNS)
def test_a_30_post_mixed_export_is_migrated_with_exactly_the_expected_requests(rsps, tmp_path, flavour):
    t, sim, adapter, plans = _whole_run(rsps, tmp_path, flavour, video_polls=1)
    outcome, parts, counts = _run(tmp_path, adapter, t, plans)

    # Posts new to the journal are first looked for on the target (the runner's probe, until a
    # few in a row are not there): those reads aside, every call is exactly the expected one.
    lookups = [c for c in sim.log if c.endswith(("/accounts/42/statuses", "/context"))]
    calls = [re.sub(r"/media/\w+$", "/media/{id}", c) for c in sim.log if c not in lookups]
    assert calls == _expected_calls(plans, flavour, 1)
    assert 0 < len(lookups) <= 3 * (1 + adapter.lookup_pages)
    skipped = {p.post.id for p in plans if p.skipped}
    assert counts == {J.POSTED: 30 - len(skipped), **({J.SKIPPED: len(skipped)} if skipped else {})}
    assert not outcome.failed and outcome.stopped is None
    if flavour == "pixelfed":  # no video there: lone videos skipped, others left out; the lost file too
        assert len(skipped) == 6
    else:  # the post whose only file is missing is left out: a caption without its artwork is not the post
        assert len(skipped) == 1 and all(s["media"] or s["in_reply_to_id"] for s in sim.statuses.values())
    posted = [p for p in parts if p.state == J.POSTED]
    assert len(sim.statuses) == len(posted) == sum(len(p.parts) for p in plans if not p.skipped)
    by_key = {p.key: p for p in posted}
    forms = [(f, h) for path, f, h in sim.forms if path == "/api/v1/statuses"]
    assert len({h["Idempotency-Key"] for _, h in forms}) == len(forms)  # one key per part
    for (form, _), part in zip(forms, posted):
        data = dict(form)
        assert data["visibility"] == "unlisted"
        if part.reply_to is not None:  # a thread: each part answers the one before
            parent = by_key[f"{part.post_id}#{part.reply_to}"]
            assert data["in_reply_to_id"] == parent.remote.id
        status = sim.statuses[part.remote.id]
        kinds = {sim.media[m]["type"] for m in status["media"]}
        if flavour == "mastodon":
            assert len(kinds) <= 1 and len(status["media"]) <= 4
        if part.idx == 0:
            dated = "📷 Instagram," in part.text
            assert dated == (flavour != "gotosocial")
            assert ("scheduled_at" in data) == (flavour == "gotosocial")
        assert adapter.read_post(part.remote)["text"] == part.text  # what `pindah verify` compares
        assert adapter.read_post(part.remote)["media"] == len(part.media)
    threads = Counter(p.post_id for p in posted)
    assert max(threads.values()) >= 2  # carousels and long captions became threads
    again, _, _ = _run(tmp_path, adapter, t, plans)
    assert again.posted == [] and len(sim.statuses) == len(posted)


class CrashAfterCreate(MastodonAdapter):
    """Dies right after the N-th create returned, before the runner could journal it."""

    crash_at = 0
    creates = 0

    def create_post(self, request: PostRequest) -> RemoteRef:
        ref = super().create_post(request)
        type(self).creates += 1
        if type(self).creates == self.crash_at:
            raise SystemExit("killed between create and journal")
        return ref


@pytest.mark.parametrize("flavour", WHOLE_RUNS)
def test_killed_between_create_and_journal_then_resumed_posts_everything_once(rsps, tmp_path, flavour):
    t, sim, _, plans = _whole_run(rsps, tmp_path, flavour, video_polls=0)
    for crash_at in (1, 4, 9, 17):
        CrashAfterCreate.crash_at, CrashAfterCreate.creates = crash_at, 0
        with pytest.raises(SystemExit):
            _run(tmp_path, _adapter(sim, t, cls=CrashAfterCreate), t, plans)
    outcome, parts, _ = _run(tmp_path, _adapter(sim, t), t, plans)
    posted = [p for p in parts if p.state == J.POSTED]
    expected = sum(len(p.parts) for p in plans if not p.skipped)
    assert len(posted) == expected == len(sim.statuses)  # every part, none twice
    assert len({p.remote.id for p in posted}) == expected
    assert sum(1 for c in sim.log if c == "POST /api/v1/statuses") >= expected  # some were looked up instead
    assert not outcome.failed


# -- the scheduler's honest ETA -----------------------------------------------------------------

@pytest.mark.parametrize("flavour,hours", [("mastodon", 41.5), ("pixelfed", 24.17), ("gotosocial", 0.96)])
def test_dry_run_eta_for_1000_posts_follows_the_budget_model(rsps, tmp_path, flavour, hours):
    sim = _server(rsps, flavour)
    adapter = _adapter(sim)
    folder = tmp_path / "big"
    write_meta_json(folder, big_export_posts(1000, 2.5))
    with read_export([folder]) as exp:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        before = list(sim.log)
        report = dry_run(exp, adapter, plans)
    assert sim.log == before  # a dry run never calls the target
    counts = {"posts": sum(len(p.parts) for p in plans), "media": sum(p.media_count for p in plans)}
    assert counts == {"posts": 1000, "media": 2500}
    expected = estimate_seconds(adapter.caps.rate_budgets, counts, call_seconds=adapter.caps.typical_call_seconds)
    assert report.eta_seconds == expected
    assert expected / 3600 == pytest.approx(hours, abs=0.01)
    assert not (tmp_path / "state" / "journals").exists()  # nor writes a journal


def test_html_to_text_undoes_mastodons_rendering():
    html = ('<p>Line one<br />Line &amp; two</p><p>See <a href="https://x.example/a/b"><span class="invisible">'
            'https://</span><span class="ellipsis">x.example/a</span><span class="invisible">/b</span></a></p>')
    assert html_to_text(html) == "Line one\nLine & two\n\nSee https://x.example/a/b"


# -- what a real server (snac) showed: never claim what did not happen ---------------------------

def test_a_404_on_delete_while_the_post_is_still_there_is_not_a_deletion(rsps):
    sim = _server(rsps, "snac")
    adapter = _adapter(sim)
    ref = adapter.create_post(_request())
    with pytest.raises(PostFailed, match="the post is still on the server") as err:
        adapter.delete_post(ref)
    assert ref.id in sim.statuses and sim.log[-2:] == ["DELETE /api/v1/statuses/" + ref.id,
                                                       "GET /api/v1/statuses/" + ref.id]
    assert "pindah login" not in err.value.one_line()


def test_a_404_on_delete_of_a_post_that_is_gone_is_a_deletion(rsps):
    sim = _server(rsps, "mastodon")
    adapter = _adapter(sim)
    ref = adapter.create_post(_request())
    del sim.statuses[ref.id]  # deleted by hand on the server meanwhile
    adapter.delete_post(ref)  # nothing raised: the post is not there, as a rollback wants
    assert sim.log[-1] == "GET /api/v1/statuses/" + ref.id


@pytest.mark.parametrize("flavour", ("snac", "gotosocial", "mastodon"))
def test_a_post_with_media_is_found_after_a_lost_answer_even_when_attachment_ids_are_new(rsps, tmp_path, flavour):
    sim = _server(rsps, flavour)
    adapter = _adapter(sim)
    other = _request("p0#0", "Ink study #art", media=(adapter.upload_media(_file(tmp_path, "o.jpg"), "p0#0/m0"),),
                     when=datetime(2019, 5, 1, 9, 0, tzinfo=UTC))
    adapter.create_post(other)  # same caption, another day: must not be taken for it
    request = _request(media=(adapter.upload_media(_file(tmp_path), "p1#0/m0"),
                              adapter.upload_media(_file(tmp_path, "b.jpg"), "p1#0/m1")))
    sim.faults.append(Fault("POST", "/api/v1/statuses", requests.ConnectionError("reset"), after=True))
    with pytest.raises(TransientError):
        adapter.create_post(request)
    found = adapter.find_post(request)
    assert found is not None and len(sim.statuses[found.id]["media"]) == 2
    assert adapter.find_post(_request("p2#0", "Ink study #art", when=datetime(2019, 7, 1, tzinfo=UTC))) is None


def test_a_bad_token_answered_422_says_to_log_in_again(rsps, monkeypatch):
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", "revoked-token")
    sim = _server(rsps, "snac")
    with pytest.raises(RunStopped) as stop:
        _adapter(sim)
    said = stop.value.one_line()
    assert f"pindah login mastodon:{sim.base}" in said and "no reason given" not in said
    assert "revoked-token" not in said


def test_rollback_on_a_server_that_answers_404_and_keeps_the_post_claims_no_deletion(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pindah.migrator.cli import cli
    from pindah.migrator.engine import journals_for
    from tests.mastodon_http import MastodonHttp

    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))
    write_meta_json(tmp_path / "export", [SynthPost(T0, "Ink study #art")])
    with MastodonHttp("snac") as server:
        target = f"mastodon:{server.url}"
        assert CliRunner().invoke(cli, ["migrate", str(tmp_path / "export"), "--to", target]).exit_code == 0
        rollback = CliRunner().invoke(cli, ["rollback", "--to", target, "--yes"])
        assert len(server.statuses()) == 1
    said = " ".join(rollback.output.split())
    assert rollback.exit_code != 0 and "the post is still on the server" in said
    assert not re.search(r"Deleted [1-9]", said)
    with Journal.open(next(iter(journals_for("mastodon")))) as journal:
        assert [p.state for p in journal.all_parts()] == [J.POSTED]  # the journal still knows the post


def test_every_answers_rate_headers_reach_the_observers_and_nothing_sleeps_in_the_layer(rsps):
    t = FakeTime()
    sim = _server(rsps, "mastodon", t)
    adapter = MastodonAdapter(sim.base, {}, clock=t.clock, sleep=t.sleep)
    heard = []
    adapter.rate_observers.append(heard.append)
    adapter.prepare(interactive=False)
    adapter.create_post(_request())
    assert [(r.family, r.limit, r.remaining) for r in heard][-1] == ("posts", 300, 299)
    assert heard[-1].reset_at == pytest.approx(T_NOW + 300) and t.slept == []


def test_a_dry_run_without_the_server_plans_with_published_limits_and_a_real_run_stops(monkeypatch):
    adapter = MastodonAdapter("http://127.0.0.1:9", {})  # nothing listens there
    adapter.prepare(interactive=False, dry_run=True)
    assert adapter.caps.max_text == 500 and "could not be reached" in adapter.offline_note
    with pytest.raises(TransientError, match="no answer"):
        MastodonAdapter("http://127.0.0.1:9", {}).prepare(interactive=False)

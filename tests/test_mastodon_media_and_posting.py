"""The Mastodon-API adapter uploads media (video polled until processed, refusals fail only their
post) and posts statuses as each server expects: visibility, threads, backdating, defused
Instagram mentions, Pixelfed's media rule.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pindah.adapters.contract import RemoteRef
from pindah.adapters.mastodon_status import ZWJ, defuse_mentions, html_to_text, restore_mentions
from pindah.migrator.errors import PostFailed, TransientError
from tests.mastodon_sim import T_NOW, Fault
from tests.mastodon_support import FakeTime, _adapter, _file, _request, _server
from tests.mastodon_support import private_state_fixture, rsps_fixture  # noqa: F401 - the fixtures

pytestmark = pytest.mark.mastodon


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


def test_html_to_text_undoes_mastodons_rendering():
    html = ('<p>Line one<br />Line &amp; two</p><p>See <a href="https://x.example/a/b"><span class="invisible">'
            'https://</span><span class="ellipsis">x.example/a</span><span class="invisible">/b</span></a></p>')
    assert html_to_text(html) == "Line one\nLine & two\n\nSee https://x.example/a/b"

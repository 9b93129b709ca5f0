"""The Mastodon-API adapter publishes every post exactly once: repeated idempotency keys, lost
answers and dropped connections never make a duplicate, whole 30-post migrations send exactly the
expected requests and survive a crash, and a deletion is claimed only when the server confirms it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from pindah.adapters.contract import PostRequest, RemoteRef
from pindah.adapters.mastodon import MastodonAdapter
from pindah.migrator import journal as J
from pindah.migrator.errors import PostFailed, TransientError
from pindah.migrator.journal import Journal
from pindah.migrator.model import MediaType
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthPost
from tests.mastodon_sim import Fault
from tests.mastodon_support import FLAVOURS, FakeTime, T0, _adapter, _file, _plans, _request, _run, _server
from tests.mastodon_support import private_state_fixture, rsps_fixture  # noqa: F401 - the fixtures

pytestmark = pytest.mark.mastodon


# Runner._publish raises PostFailed for every part without media when `requires_media`, so a
# Pixelfed takes text-only replies: a caption overflow must not fail a post there.
WHOLE_RUNS = ("mastodon", "pixelfed", "gotosocial")


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

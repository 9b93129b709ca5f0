"""Bluesky videos through the video service, against the real reference PDS on 127.0.0.1.

The video service is simulated (tests/bluesky_video_sim.py) but the PDS is real: the service
tokens pindah asks for are verified by the simulation (signature, aud, lxm) *and* used by it to
store the video on the PDS with `uploadBlob`, so a post that reads back with its video proves
the token was the right one. Everything asserted is read back from the PDS or seen in the
output the artist gets.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pindah.adapters.bluesky import BlueskyAdapter
from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from tests.bluesky_pds import Account, LocalPds, bluesky_pds_fixture, free_port  # noqa: F401 - the session fixture
from tests.bluesky_support import VIDEO, integration, pindah, pindah_env, write_export
from tests.bluesky_video_sim import VideoServiceSim
from tests.exportbuilder.spec import SynthMedia, SynthPost

pytestmark = [pytest.mark.bluesky, integration]

T0 = int(datetime(2021, 5, 4, 10, 0, tzinfo=UTC).timestamp())
FALLBACK = "Videos go straight to your Bluesky server, not through Bluesky's video service"


@pytest.fixture
def video_service(bluesky_pds: LocalPds):
    with VideoServiceSim(bluesky_pds) as sim:
        yield sim


def _export(root: Path, media: list[list[SynthMedia]]) -> Path:
    return write_export(root, [SynthPost(T0 + i * 86400, f"Studio clip {i} #process", m) for i, m in enumerate(media)])


def _run(tmp_path: Path, pds: LocalPds, account: Account, export: Path, service: str) -> Any:
    env = pindah_env(tmp_path / "state", tmp_path / "cache", pds.url, account.app_password,
                     PINDAH_TARGETS_BLUESKY_VIDEO_SERVICE=service)
    return pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}", "--json", str(tmp_path / "report.json"),
                   "--html", str(tmp_path / "report.html")], env)


def _embeds(pds: LocalPds, account: Account) -> list[dict[str, Any]]:
    return [r["value"].get("embed") or {} for r in sorted(pds.list_records(account.did), key=lambda r: r["value"]["createdAt"])]


def _secrets_absent(run: Any, account: Account, tmp_path: Path, *tokens: str) -> None:
    sessions = [json.loads(p.read_text()) for p in (tmp_path / "state").rglob("sessions/bluesky/*.json")]
    secrets = [account.password, account.app_password, *tokens] + [s["accessJwt"] for s in sessions]
    assert sessions, "the run kept its login"
    reports = [tmp_path / "report.json", tmp_path / "report.html"]
    assert all(report.exists() for report in reports)
    written = run.stdout + run.stderr + "".join(report.read_text(errors="replace") for report in reports)
    for secret in secrets:
        assert secret and secret not in written


def test_a_video_post_is_published_through_the_video_service_and_reads_back(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path) -> None:
    account = bluesky_pds.create_account("vidsvc")
    export = _export(tmp_path / "export", [[SynthMedia("mp4")]])
    run = _run(tmp_path, bluesky_pds, account, export, video_service.url)
    assert run.returncode == 0, run.stdout + run.stderr
    (embed,) = _embeds(bluesky_pds, account)
    assert embed["$type"] == "app.bsky.embed.video" and embed["video"]["mimeType"] == "video/mp4"
    (job,) = video_service.jobs.values()
    assert job.state == "JOB_STATE_COMPLETED" and job.did == account.did
    assert embed["video"]["ref"]["$link"] == job.blob["ref"]["$link"]  # the blob the service stored
    assert bluesky_pds.get_blob(account.did, embed["video"]["ref"]["$link"]) == job.data
    assert embed["aspectRatio"]["width"] > 0
    # Both tokens were verified (limits: the service's did:web; upload: the PDS's), none refused.
    assert video_service.calls.count("app.bsky.video.getUploadLimits") >= 1
    assert video_service.calls.count("app.bsky.video.uploadVideo") == 1
    assert video_service.refusals == []
    assert FALLBACK not in run.stdout + run.stderr
    _secrets_absent(run, account, tmp_path, *video_service.tokens)


def test_a_repeated_upload_after_a_crash_reuses_the_job_and_the_post_is_made_once(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    account = bluesky_pds.create_account("vidonce")
    config = {"pds": bluesky_pds.url, "app_password": account.app_password, "video_service": video_service.url}
    media = PreparedMedia(VIDEO, "video/mp4", None, None, None, hashlib.sha256(VIDEO.read_bytes()).hexdigest(),
                          "media/reels/clip.mp4")
    first = BlueskyAdapter(account.handle, config)
    first.prepare(interactive=False)
    ref = first.upload_media(media, "p1#0/m0")
    assert ref.extra["via"] == "video-service"
    # The run dies here, between the upload and the post. The next run uploads again...
    again = BlueskyAdapter(account.handle, config)
    again.prepare(interactive=False)
    second = again.upload_media(media, "p1#0/m0")
    assert second.id == ref.id and len(video_service.jobs) == 1  # answered already_exists: the same job
    request = PostRequest("p1#0", "A clip", (second,), ("alt",), datetime.fromtimestamp(T0, UTC), None, None, "p1", 0, 1)
    made = again.create_post(request)
    # ... and a third run that lost its journal creates the post again: the server refuses it.
    third = BlueskyAdapter(account.handle, config)
    third.prepare(interactive=False)
    assert third.create_post(request).id == made.id
    (record,) = bluesky_pds.list_records(account.did)
    assert record["value"]["embed"]["video"]["ref"]["$link"] == ref.id and record["value"]["embed"]["alt"] == "alt"


def test_a_spent_daily_video_allowance_stops_the_run_with_the_time_to_continue(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path) -> None:
    video_service.limits = {"canUpload": False, "remainingDailyVideos": 0, "remainingDailyBytes": 0,
                            "message": "Daily video limit reached"}
    account = bluesky_pds.create_account("vidday")
    export = _export(tmp_path / "export", [[SynthMedia()], [SynthMedia("mp4")]])
    run = _run(tmp_path, bluesky_pds, account, export, video_service.url)
    assert run.returncode == 3, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    assert "video service takes no more videos from this account today (Daily video limit reached)" in said
    assert re.search(r"run the same command again after \d{4}-\d\d-\d\d \d\d:\d\d", said)
    assert "Traceback" not in run.stderr
    assert [e["$type"] for e in _embeds(bluesky_pds, account)] == ["app.bsky.embed.images"]  # done before is kept
    assert "app.bsky.video.uploadVideo" not in video_service.calls


def test_a_video_the_service_cannot_process_fails_only_its_own_post(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path) -> None:
    video_service.fail_jobs = True
    account = bluesky_pds.create_account("vidfail")
    export = _export(tmp_path / "export", [[SynthMedia("mp4")], [SynthMedia()]])
    run = _run(tmp_path, bluesky_pds, account, export, video_service.url)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 post(s) failed" in run.stdout
    assert "could not process" in " ".join((run.stdout + run.stderr).split())
    assert [e["$type"] for e in _embeds(bluesky_pds, account)] == ["app.bsky.embed.images"]


def test_an_unreachable_video_service_falls_back_to_direct_upload_and_says_so_once(
        bluesky_pds: LocalPds, tmp_path: Path) -> None:
    account = bluesky_pds.create_account("vidoff")
    export = _export(tmp_path / "export", [[SynthMedia("mp4")], [SynthMedia("mp4")]])
    closed = f"http://localhost:{free_port()}"  # nothing listens there: connection refused
    run = _run(tmp_path, bluesky_pds, account, export, closed)
    assert run.returncode == 0, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    assert said.count(FALLBACK) == 1 and "could not be reached" in said  # said once, when it happened
    report = json.loads((tmp_path / "report.json").read_text())
    assert [n for n in report["warnings"] if FALLBACK in " ".join(n.split())]  # and kept in the report
    assert "Note: " + FALLBACK in " ".join(run.stdout.split())
    embeds = _embeds(bluesky_pds, account)
    assert [e["$type"] for e in embeds] == ["app.bsky.embed.video"] * 2
    for embed in embeds:  # uploaded straight to the PDS: the blob is the file pindah prepared
        assert bluesky_pds.get_blob(account.did, embed["video"]["ref"]["$link"])[:12] == VIDEO.read_bytes()[:12]


def test_expired_service_blob_is_replaced_by_a_direct_upload_of_the_prepared_file(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    account = bluesky_pds.create_account("videxp")
    adapter = BlueskyAdapter(account.handle, {"pds": bluesky_pds.url, "app_password": account.app_password,
                                              "video_service": video_service.url})
    adapter.prepare(interactive=False)
    data = VIDEO.read_bytes()
    # A ref as the service would have handed it back, whose blob the PDS no longer has.
    gone = RemoteRef("bafkreih3v6nbtrd7x4c5bq3y6xuoyrq3tdonhjf2pz7cdyxtgjwxk3gvhe", None,
                     {"cid": "bafkreih3v6nbtrd7x4c5bq3y6xuoyrq3tdonhjf2pz7cdyxtgjwxk3gvhe", "mime": "video/mp4",
                      "size": str(len(data)), "path": str(VIDEO), "sha256": hashlib.sha256(data).hexdigest(),
                      "via": "video-service"})
    request = PostRequest("p9#0", "Late", (gone,), (None,), datetime.fromtimestamp(T0, UTC), None, None, "p9", 0, 1)
    adapter.create_post(request)
    (record,) = bluesky_pds.list_records(account.did)
    assert bluesky_pds.get_blob(account.did, record["value"]["embed"]["video"]["ref"]["$link"]) == data


def _in_process(pds: LocalPds, sim: VideoServiceSim, prefix: str) -> tuple[BlueskyAdapter, Account, PreparedMedia]:
    account = pds.create_account(prefix)
    adapter = BlueskyAdapter(account.handle, {"pds": pds.url, "app_password": account.app_password,
                                              "video_service": sim.url})
    adapter.prepare(interactive=False)
    media = PreparedMedia(VIDEO, "video/mp4", None, None, None, hashlib.sha256(VIDEO.read_bytes()).hexdigest(),
                          "media/reels/long.mp4")
    return adapter, account, media


def test_a_big_video_goes_up_in_parts_and_reads_back_whole(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    adapter, account, media = _in_process(bluesky_pds, video_service, "vidparts")
    video_service.part_size = 16_000  # the sample is 42,844 bytes: three parts, the last one short
    adapter.video.multipart_from = 10_000
    ref = adapter.upload_media(media, "p1#0/m0")
    assert video_service.parts == [1, 2, 3] and "app.bsky.video.uploadVideo" not in video_service.calls
    adapter.create_post(PostRequest("p1#0", "Long", (ref,), (None,), datetime.fromtimestamp(T0, UTC), None, None,
                                    "p1", 0, 1))
    (record,) = bluesky_pds.list_records(account.did)
    assert bluesky_pds.get_blob(account.did, record["value"]["embed"]["video"]["ref"]["$link"]) == VIDEO.read_bytes()
    assert video_service.refusals == []


def test_a_service_without_multipart_uploads_gets_the_single_upload(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    adapter, _, media = _in_process(bluesky_pds, video_service, "vidsingle")
    video_service.multipart = False
    adapter.video.multipart_from = 10_000
    ref = adapter.upload_media(media, "p1#0/m0")
    assert ref.extra["via"] == "video-service" and video_service.parts == []
    assert video_service.calls.count("app.bsky.video.uploadVideo") == 1


def test_runs_killed_after_the_upload_and_after_the_create_still_publish_the_video_once(
        bluesky_pds: LocalPds, video_service: VideoServiceSim, tmp_path: Path) -> None:
    account = bluesky_pds.create_account("vidkill")
    export = _export(tmp_path / "export", [[SynthMedia("mp4")]])
    env = pindah_env(tmp_path / "state", tmp_path / "cache", bluesky_pds.url, account.app_password,
                     PINDAH_TARGETS_BLUESKY_VIDEO_SERVICE=video_service.url)
    args = ["migrate", str(export), "--to", f"bluesky:{account.handle}"]
    for crash in ({"CRASH_AFTER_UPLOAD": "1"}, {"CRASH_AFTER_CREATE": "1"}):
        killed = pindah(args, env | crash)  # SIGKILLed before the journal heard of it
        assert killed.returncode == -9, killed.stdout + killed.stderr
    final = pindah(args, env)
    assert final.returncode == 0, final.stdout + final.stderr
    (embed,) = _embeds(bluesky_pds, account)
    assert embed["$type"] == "app.bsky.embed.video"
    # The second run sent the video again and was handed the first run's job: one job, one post.
    assert video_service.calls.count("app.bsky.video.uploadVideo") == 2 and len(video_service.jobs) == 1
    assert embed["video"]["ref"]["$link"] == next(iter(video_service.jobs.values())).blob["ref"]["$link"]

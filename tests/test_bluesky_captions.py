"""A video's subtitles reach Bluesky as the video embed's captions (text/vtt blobs).

Offline tests check the embed pindah builds; the integration test runs `pindah migrate` against
the reference PDS (which validates the record against its own lexicon) and reads the caption
blob back from the server.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pindah.adapters import bluesky
from pindah.adapters.bluesky_captions import MAX_CAPTION_BYTES, caption_entries, reupload_captions, upload_captions
from pindah.adapters.contract import PostFailed, PostRequest, PreparedMedia, PreparedSubtitle, RemoteRef
from tests.bluesky_pds import LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT / "tests" / "exportbuilder" / "assets" / "sample-loop.mp4"
VTT = b"WEBVTT\n\n00:00.000 --> 00:01.500\nLukisan pagi\n"


class FakeUploads:
    """Stands in for uploadBlob: a CID from the bytes, and a record of what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str]] = []

    def __call__(self, data: bytes, mime: str) -> dict[str, Any]:
        self.sent.append((data, mime))
        return {"$type": "blob", "ref": {"$link": "bafk" + hashlib.sha256(data).hexdigest()[:20]},
                "mimeType": mime, "size": len(data)}


def prepared_video(tmp_path: Path, *subtitles: tuple[bytes, str | None]) -> PreparedMedia:
    subs = []
    for n, (data, language) in enumerate(subtitles):
        path = tmp_path / f"s{n}.vtt"
        path.write_bytes(data)
        subs.append(PreparedSubtitle(path, language))
    return PreparedMedia(VIDEO, "video/mp4", 32, 32, None, hashlib.sha256(VIDEO.read_bytes()).hexdigest(),
                         "media/reels/1.mp4", tuple(subs))


def test_subtitles_become_caption_entries_with_language_or_und(tmp_path: Path) -> None:
    uploads = FakeUploads()
    extra = upload_captions(prepared_video(tmp_path, (VTT, "id"), (VTT + b"x", None)), uploads)
    ref = RemoteRef("bafkvideo", None, {"mime": "video/mp4", "size": "10", **extra})
    assert [mime for _, mime in uploads.sent] == ["text/vtt", "text/vtt"]
    entries = caption_entries(ref)
    assert [(e["lang"], e["file"]["mimeType"], e["file"]["size"]) for e in entries] == [
        ("id", "text/vtt", len(VTT)), ("und", "text/vtt", len(VTT) + 1)]
    request = PostRequest(key="p#0", text="", media=(ref,), media_alt=(None,), created_at=datetime(2024, 9, 23, tzinfo=UTC),
                          reply_to=None, root=None, post_id="p", part_index=0, part_count=1)
    assert bluesky._embed(request)["captions"] == entries


def test_a_subtitle_over_twenty_thousand_bytes_is_left_out_and_counted(tmp_path: Path) -> None:
    big = VTT + b"x" * MAX_CAPTION_BYTES
    uploads = FakeUploads()
    extra = upload_captions(prepared_video(tmp_path, (big, "en"), (VTT, "en")), uploads)
    assert len(uploads.sent) == 1 and extra["captions_left_out"] == "1"
    assert len(json.loads(extra["captions"])) == 1


def test_a_video_without_subtitles_gets_no_captions_key(tmp_path: Path) -> None:
    assert upload_captions(prepared_video(tmp_path), FakeUploads()) == {}
    assert caption_entries(RemoteRef("bafkvideo", None, {"mime": "video/mp4"})) == []


def test_expired_caption_blobs_are_uploaded_again_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    media = prepared_video(tmp_path, (VTT, "en"))
    ref = RemoteRef("bafkvideo", None, upload_captions(media, FakeUploads()))
    again = FakeUploads()
    reupload_captions(ref, again)
    assert again.sent == [(VTT, "text/vtt")]
    media.subtitles[0].path.write_bytes(VTT + b"changed")
    with pytest.raises(PostFailed, match="subtitle expired"):
        reupload_captions(ref, FakeUploads())


@pytest.mark.bluesky
@pytest.mark.integration
def test_a_video_with_subtitles_arrives_on_bluesky_with_its_captions(bluesky_pds: LocalPds, tmp_path: Path) -> None:
    from tests.bluesky_support import migrate, pindah_env

    post = SynthPost(int(datetime(2024, 9, 23, 22, 10, tzinfo=UTC).timestamp()), "Lukisan pagi, with subtitles",
                     [SynthMedia("mp4", subtitles=("id",))])
    export = tmp_path / "export"
    write_meta_json(export, [post], "new", media_content=lambda p, i, m: VIDEO.read_bytes())
    account = bluesky_pds.create_account("subs")
    env = pindah_env(tmp_path / "state", tmp_path / "cache", bluesky_pds.url, account.app_password)
    run = migrate(export, account, env)
    assert run.returncode == 0, run.stdout + run.stderr
    (record,) = bluesky_pds.list_records(account.did)
    embed = record["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    (caption,) = embed["captions"]
    assert caption["lang"] == "id" and caption["file"]["mimeType"] == "text/vtt"
    vtt = bluesky_pds.get_blob(account.did, caption["file"]["ref"]["$link"]).decode("utf-8")
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nA painting, slowly")

"""Subtitles on their way to a target: SubRip converted to WebVTT, carried with the video."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pindah.adapters.contract import Capabilities
from pindah.adapters.toolkit.subtitles import srt_to_vtt, to_vtt
from pindah.migrator.media import process_media
from pindah.migrator.model import Media, Subtitle
from tests.exportbuilder.media import mp4_bytes
from tests.exportbuilder.memory import MemoryTree


VIDEO_TARGET = Capabilities(image_max_bytes=1_000_000, video_mime_types=frozenset({"video/mp4"}),
                            video_max_bytes=100_000_000, video_subtitles=True)
SRT = ("1\r\n00:00:00,000 --> 00:00:01,500\r\nLukisan pagi\r\n\r\n"
       "2\r\n00:00:01,500 --> 00:00:03,040\r\nthen the harbour --> at night\r\n")


def test_subrip_becomes_webvtt_with_header_dotted_milliseconds_and_no_stray_arrows() -> None:
    assert srt_to_vtt(SRT) == ("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nLukisan pagi\n\n"
                               "2\n00:00:01.500 --> 00:00:03.040\nthen the harbour -> at night\n")


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf" + SRT.encode("utf-8"), SRT.replace("pagi", "caf\xe9").encode("cp1252")])
def test_subtitle_bytes_with_a_bom_or_in_cp1252_come_out_as_utf8_webvtt(data: bytes) -> None:
    vtt = to_vtt(data, "srt").decode("utf-8")
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\n")


def test_webvtt_stays_webvtt() -> None:
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nHalo\n"
    assert to_vtt(vtt.encode(), "vtt").decode() == vtt


def test_a_prepared_video_carries_its_subtitles_as_webvtt_files(tmp_path: Path) -> None:
    video, srt, vtt = "media/posts/202409/AQx_1.mp4", "media/posts/202409/AQx_1_17874.srt", "media/posts/202409/AQx_1.en.vtt"
    tree = MemoryTree({video: mp4_bytes(payload=3000), srt: SRT.encode(), vtt: b"WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n"})
    media = Media(video, tree, subtitles=(Subtitle(srt, "srt"), Subtitle(vtt, "vtt", "en")))
    result = process_media(media, VIDEO_TARGET, tmp_path / "cache")
    assert result.prepared is not None
    subs = result.prepared.subtitles
    assert [s.language for s in subs] == [None, "en"]
    assert subs[0].path.read_text("utf-8") == srt_to_vtt(SRT)
    assert subs[1].path.read_text("utf-8").startswith("WEBVTT")
    assert all(s.path.parent == tmp_path / "cache" for s in subs)
    assert result.actions == ["video passed through; any location and device data removed"]


def test_a_target_that_takes_no_subtitles_gets_the_video_and_the_report_says_they_stay_behind(tmp_path: Path) -> None:
    video, srt = "media/posts/202409/AQx_1.mp4", "media/posts/202409/AQx_1_17874.srt"
    media = Media(video, MemoryTree({video: mp4_bytes(payload=3000), srt: SRT.encode()}), subtitles=(Subtitle(srt, "srt"),))
    no_subtitles = dataclasses.replace(VIDEO_TARGET, video_subtitles=False)
    result = process_media(media, no_subtitles, tmp_path / "cache")
    assert result.prepared is not None and result.prepared.subtitles == ()
    assert "left out 1 subtitle file(s): this platform takes none with a video" in result.actions


def test_the_built_in_targets_say_which_take_subtitles() -> None:
    from pindah.adapters.bluesky import BlueskyAdapter
    from pindah.adapters.cara import CaraAdapter
    from pindah.adapters.folder import FolderAdapter
    from pindah.adapters.mastodon_flavour import MASTODON_DEFAULTS

    assert BlueskyAdapter.capabilities.video_subtitles and FolderAdapter.capabilities.video_subtitles
    assert not MASTODON_DEFAULTS.video_subtitles and not CaraAdapter.capabilities.video_subtitles


def test_a_missing_subtitle_file_leaves_the_video_to_go_without_it_and_says_so(tmp_path: Path) -> None:
    video = "media/posts/202409/AQx_1.mp4"
    media = Media(video, MemoryTree({video: mp4_bytes(payload=3000)}), subtitles=(Subtitle("media/posts/202409/gone.srt", "srt"),))
    result = process_media(media, VIDEO_TARGET, tmp_path / "cache")
    assert result.prepared is not None and result.prepared.subtitles == ()
    assert "left out subtitle file gone.srt: it is missing from the export" in result.actions

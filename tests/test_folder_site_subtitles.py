"""The folder site offers a video's subtitles as <track>s the browser can show."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

from pindah.adapters.contract import PreparedSubtitle
from pindah.adapters.folder import FolderAdapter
from tests.test_folder_site import make_video, request

T0 = datetime(2024, 9, 23, 22, 10, tzinfo=timezone.utc)
VTT = "WEBVTT\n\n00:00.000 --> 00:01.500\nLukisan pagi\n"


def site_with_video(tmp_path: Path, *languages: str | None) -> tuple[FolderAdapter, str]:
    adapter = FolderAdapter(str(tmp_path / "site"), {"title": "Sekar's drawings"})
    adapter.prepare(interactive=False)
    subs = []
    for n, language in enumerate(languages):
        path = tmp_path / f"sub{n}.vtt"
        path.write_text(VTT + f"\n00:02.000 --> 00:03.000\nline {n}\n", "utf-8")
        subs.append(PreparedSubtitle(path, language))
    video = dataclasses.replace(make_video(tmp_path), subtitles=tuple(subs))
    ref = adapter.upload_media(video, "p1#0/0")
    adapter.create_post(request("p1", [ref], "A clip", when=T0))
    page = next((adapter.site / "posts").glob("*.html")).read_text("utf-8")
    return adapter, page


def test_each_subtitle_becomes_a_track_of_its_video_and_its_file_is_in_the_site(tmp_path: Path) -> None:
    adapter, page = site_with_video(tmp_path, "id", None)
    tracks = re.findall(r'<track kind="subtitles" src="\.\./(media/[0-9a-f]{16}\.vtt)" srclang="([^"]+)" '
                        r'label="([^"]+)"( default)?>', page)
    assert [(lang, label, default) for _, lang, label, default in tracks] == [
        ("id", "Subtitles (id)", " default"), ("und", "Subtitles", "")]
    assert [(adapter.site / src).read_text("utf-8").startswith("WEBVTT") for src, *_ in tracks] == [True, True]
    assert page.index("<track") > page.index("<video") and page.index("<track") < page.index("</video>")


def test_tracks_survive_the_site_being_drawn_again_from_its_saved_state(tmp_path: Path) -> None:
    site_with_video(tmp_path, "en")
    again = FolderAdapter(str(tmp_path / "site"), {"title": "Sekar's drawings"})
    again.prepare(interactive=False)
    ref = again.upload_media(make_video(tmp_path, "other.mp4"), "p2#0/0")
    again.create_post(request("p2", [ref], "Another", when=T0.replace(hour=23)))
    pages = [p.read_text("utf-8") for p in (again.site / "posts").glob("*.html")]
    assert sum('<track kind="subtitles"' in p for p in pages) == 1


def test_a_video_without_subtitles_has_no_track(tmp_path: Path) -> None:
    _, page = site_with_video(tmp_path)
    assert "<track" not in page

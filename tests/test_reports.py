"""The run / dry-run report: totals and the three renderings (thumbnails: test_thumbnail.py)."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import replace

import pytest
from PIL import Image
from rich.console import Console

from pindah.migrator.reports import (
    ReportMedia,
    ReportPart,
    ReportPost,
    RunReport,
    describe_duration,
    render_html,
    render_json,
    render_text,
    report_from_json,
)
from tests.html_tags import start_tags


EVIL = '<script>alert("x")</script>'


def jpeg_bytes(size=(400, 300), color=(30, 120, 200), exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **({"exif": exif.tobytes()} if exif else {}))
    return buf.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def media(i: int, *, actions=(), skipped=None, mime="image/jpeg", thumb: str | None = "auto") -> ReportMedia:
    if thumb == "auto":
        thumb = data_uri(jpeg_bytes((16, 20), color=(i * 20 % 255, 90, 40))) if mime.startswith("image") else None
    return ReportMedia(source_path=f"media/posts/202403/{1790 + i}_n.jpg", mime=mime, width=1080, height=1350,
                       actions=list(actions), skipped=skipped, thumbnail=thumb)


@pytest.fixture
def report() -> RunReport:
    long = "Morning market, Yogyakarta\n\nInk and watercolour. #watercolor"
    posts = [
        ReportPost("p20240312-071500-aaa", "post", "2024-03-12T07:15:00Z", long, "will publish", None,
                   ["The original date is added as a short line."],
                   [ReportPart(0, "Morning market, Yogyakarta", [0, 1, 2, 3], "will publish", None, None),
                    ReportPart(1, "Ink and watercolour. #watercolor", [4], "will publish", None, None)],
                   [media(0, actions=["converted HEIC to JPEG", "resized 4032×5040 to 2000×2500"]), media(1),
                    media(2, actions=["resized 6000×4000 to 2000×1333"]), media(3), media(4)]),
        ReportPost("p20230101-120000-bbb", "reel", "2023-01-01T12:00:00Z", f"New year {EVIL}", "skipped",
                   "the target takes no video", [], [], [media(5, mime="video/mp4")]),
        ReportPost("p20220505-090000-ccc", "post", "2022-05-05T09:00:00Z", "Commission", "failed", None, [],
                   [ReportPart(0, "Commission", [0], "failed", None, "the server said the file is too large")],
                   [media(6), media(7, skipped="the HEIC file is damaged")]),
        ReportPost("p20210808-101010-ddd", "post", "2021-08-08T10:10:10Z", "Studio cat", "published", None, [],
                   [ReportPart(0, "Studio cat", [0], "published", "https://bsky.app/profile/x/post/3k", None)],
                   [media(8)]),
    ]
    return RunReport("bluesky:@sekar.bsky.social", "Bluesky: 300 characters, 4 images per post", True,
                     "2025-11-25T13:30:00Z", "/home/sekar/instagram.zip", "Instagram JSON export, 2025 and later",
                     posts, 9000.0, None, ["30 media per 30 min"], ["12 posts use Instagram's automatic alt text."])


def console_text(report: RunReport) -> str:
    console = Console(record=True, width=200, color_system=None)
    render_text(report, console)
    return console.export_text()


# -- totals -------------------------------------------------------------------------------------------
def test_totals_count_posts_by_state_parts_media_and_changes(report: RunReport) -> None:
    t = report.totals
    assert t.posts == 4
    assert t.by_state == {"will publish": 1, "skipped": 1, "failed": 1, "published": 1}
    assert (t.parts, t.media, t.converted, t.resized, t.skipped) == (4, 9, 1, 2, 1)


def test_durations_read_the_way_a_person_says_them() -> None:
    assert describe_duration(12) == "less than a minute"
    assert describe_duration(61) == "about 1 minute"
    assert describe_duration(9000) == "about 2 hours 30 minutes"
    assert describe_duration(3 * 86400 + 7200) == "about 3 days 2 hours"


# -- JSON ---------------------------------------------------------------------------------------------
def test_json_report_round_trips_and_has_stable_sorted_keys(report: RunReport) -> None:
    text = render_json(report)
    assert report_from_json(text) == report
    assert render_json(report_from_json(text)) == text
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["totals"]["by_state"]["failed"] == 1 and data["format"] == "pindah-report/1"
    assert list(data["posts"][0]) == sorted(data["posts"][0])


# -- terminal -----------------------------------------------------------------------------------------
def test_text_report_gives_totals_skipped_reasons_and_the_time_needed(report: RunReport) -> None:
    out = console_text(report)
    assert "Dry run" in out and "Posts: 4" in out
    assert "the target takes no video" in out
    assert "the HEIC file is damaged" in out
    assert "the server said the file is too large" in out  # a failed part's reason stands for its post
    assert "about 2 hours 30 minutes" in out and "30 media per 30 min" in out


def test_text_report_lists_ten_problems_and_counts_the_rest(report: RunReport) -> None:
    skipped = [replace(report.posts[1], post_id=f"p{i}", reason=f"reason number {i}") for i in range(15)]
    out = console_text(replace(report, posts=skipped))
    assert "reason number 9" in out and "reason number 10" not in out
    assert "and 5 more" in out


def test_text_report_prints_brackets_in_reasons_literally(report: RunReport) -> None:
    odd = replace(report.posts[1], reason="[bold red]not markup[/bold red]")
    assert "[bold red]not markup[/bold red]" in console_text(replace(report, posts=[odd]))


# -- HTML ---------------------------------------------------------------------------------------------
def test_html_report_escapes_captions_reasons_file_names_and_text(report: RunReport) -> None:
    post = replace(report.posts[0], caption=EVIL, reason=EVIL, notes=[EVIL],
                   parts=[replace(report.posts[0].parts[0], text=EVIL, reason=EVIL)],
                   media=[replace(m, source_path=f"media/{EVIL}.jpg", actions=[EVIL], skipped=EVIL)
                          for m in report.posts[0].media])
    page = render_html(replace(report, posts=[post], target=EVIL, export=EVIL, warnings=[EVIL], budgets=[EVIL]))
    assert "<script" not in page
    assert "&lt;script&gt;" in page


def test_html_report_is_self_contained(report: RunReport) -> None:
    page = render_html(report)
    for tag, attrs in start_tags(page):
        assert tag not in ("script", "link", "iframe")
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/jpeg;base64,")
    assert 'src="http' not in page and "@import" not in page and "url(" not in page
    assert page.count("<img") == 8  # every image thumbnail is inline; the video has a placeholder


def test_html_report_shows_parts_their_pictures_changes_and_what_is_left_out(report: RunReport) -> None:
    page = render_html(report)
    assert "Split into 2 parts" in page
    assert "Part 1 of 2" in page and "with pictures 1–4" in page and "with picture 5" in page
    assert "converted HEIC to JPEG" in page and "resized 6000×4000 to 2000×1333" in page
    assert "Left out: the HEIC file is damaged" in page and "the target takes no video" in page
    assert '<span class="pill skipped">1 left out</span>' in page  # marked on the post, not only the file
    assert "about 2 hours 30 minutes" in page and "30 media per 30 min" in page
    assert "12 posts use Instagram's automatic alt text." in html.unescape(page)
    assert 'href="https://bsky.app/profile/x/post/3k"' in page


def test_html_report_puts_what_needs_a_look_first(report: RunReport) -> None:
    page = render_html(report)
    assert page.index('id="failed"') < page.index('id="skipped"') < page.index('id="will-publish"') \
        < page.index('id="published"')
    flagged = [a["data-state"] for t, a in start_tags(page) if t == "article" and "data-attention" in a]
    assert flagged == ["failed", "skipped"]
    assert 'id="show-attention"' in page and "body:has(#show-attention:checked)" in page


def test_html_report_refuses_unsafe_thumbnails_and_links(report: RunReport) -> None:
    post = replace(report.posts[3], media=[replace(report.posts[3].media[0], thumbnail='javascript:alert(1)"')],
                   parts=[replace(report.posts[3].parts[0], url="javascript:alert(1)")])
    page = render_html(replace(report, posts=[post]))
    assert "javascript:" not in page


def test_a_finished_run_announces_no_time_and_offers_no_empty_filters(report: RunReport) -> None:
    done = replace(report.posts[3], parts=[replace(report.posts[3].parts[0], url="file:///site/posts/p.html")])
    page = render_html(replace(report, dry_run=False, posts=[done], eta_seconds=0.0, eta_text="under a minute"))
    assert "How long it takes" not in page and "time needed" not in page
    assert 'type="radio"' not in page  # nothing needs a look and nothing changed
    assert '<a href="file:///site/posts/p.html">Open it</a>' in page


def test_filters_say_how_many_posts_they_show(report: RunReport) -> None:
    page = render_html(report)
    assert "Everything (4)" in page and "Needs a look (2)" in page and "Changed on the way (2)" in page


def test_html_report_reads_the_engines_timestamp_format(report: RunReport) -> None:
    assert "report made 25 November 2025, 13:30 UTC" in render_html(replace(report, generated_at="2025-11-25 13:30 UTC"))


def test_html_report_is_friendly_about_an_empty_export(report: RunReport) -> None:
    page = render_html(replace(report, posts=[], eta_seconds=None, budgets=[]))
    assert "nothing to publish" in page and "<html lang=\"en\">" in page


def test_html_report_follows_the_readers_colour_scheme(report: RunReport) -> None:
    page = render_html(report)
    assert "prefers-color-scheme:dark" in page and "color-scheme:light dark" in page

"""What `pindah migrate` tells the artist says what happened, and the same thing on every run.

Runs the real command in-process against the folder target and reads its output and the site.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pindah.migrator.cli import cli
from pindah.migrator.engine import journals_for
from tests.exportbuilder.media import image_bytes, media_bytes
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

T0 = 1_620_000_000
DAY = 86400


@pytest.fixture(autouse=True)
def _places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "500")  # long temporary paths stay on one line
    (tmp_path / "config.toml").write_text("", encoding="utf-8")  # not the developer's own settings
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))


def pindah(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def said(result: Result) -> str:
    return " ".join(result.output.split())


CORRUPT = b"\xff\xd8\xff\xe0 not really a JPEG"


def export(tmp_path: Path, posts: list[SynthPost], corrupt: set[tuple[int, int]] = frozenset()) -> Path:
    """A Meta JSON export; (post taken_at, media index) pairs in `corrupt` get unreadable bytes."""
    def content(post: SynthPost, index: int, media: SynthMedia) -> bytes:
        if (post.taken_at, index) in corrupt:
            return CORRUPT
        if media.is_video:
            return media_bytes("mp4")
        return image_bytes(media.fmt, 40, 30, ((index * 53 + post.taken_at // DAY) % 256, 90, 160))

    root = tmp_path / "export"
    write_meta_json(root, posts, media_content=content)
    return root


def site_posts(site: Path) -> list[dict]:
    return json.loads((site / "posts.json").read_text(encoding="utf-8"))["posts"]


def test_after_the_journal_is_lost_a_rerun_says_the_posts_were_found_not_published(tmp_path):
    posts = [SynthPost(T0 + i * DAY, f"Study {i} #ink", [SynthMedia()]) for i in range(6)]
    root, site = export(tmp_path, posts), tmp_path / "site"
    first = pindah("migrate", str(root), "--to", f"folder:{site}")
    assert first.exit_code == 0, first.output
    assert "Published 6 post(s)" in said(first)
    for journal in journals_for("folder"):
        journal.unlink()  # the artist deleted pindah's state folder, or moved to a new computer
    page = tmp_path / "run.html"
    again = pindah("migrate", str(root), "--to", f"folder:{site}", "--html", str(page))
    assert again.exit_code == 0, again.output
    assert f"6 post(s) already on folder:{site}, found and recorded; 0 new." in said(again)
    assert "This run: 6 already on the target, found and recorded; 0 new" in said(again)
    assert "Published" not in again.output
    html = " ".join(page.read_text(encoding="utf-8").split())
    assert "already on the target, found and recorded; 0 new" in html
    assert html.count("found on the target, not posted again") == 6
    assert len(site_posts(site)) == 6  # and nothing doubled
    third = pindah("migrate", str(root), "--to", f"folder:{site}")
    assert "Nothing new to migrate: all 6 post(s) are already on" in said(third)


def test_a_rerun_reports_the_same_files_left_out_as_the_first_run(tmp_path):
    # Post 1: three pictures, one missing from the export (known when planning) and one that
    # cannot be read (known only when it is prepared, during the first run).
    posts = [SynthPost(T0, "Whole post #ink", [SynthMedia()]),
             SynthPost(T0 + DAY, "Triptych #ink", [SynthMedia(), SynthMedia(missing=True), SynthMedia()])]
    root, site = export(tmp_path, posts, corrupt={(T0 + DAY, 2)}), tmp_path / "site"
    first = pindah("migrate", str(root), "--to", f"folder:{site}", "--json", str(tmp_path / "first.json"))
    again = pindah("migrate", str(root), "--to", f"folder:{site}", "--json", str(tmp_path / "again.json"))
    plan = pindah("plan", str(root), "--to", f"folder:{site}")
    for result in (first, again, plan):
        assert result.exit_code == 0, result.output
        assert "(2 left out)" in said(result), result.output
    reports = [json.loads((tmp_path / name).read_text()) for name in ("first.json", "again.json")]
    assert [r["totals"]["skipped"] for r in reports] == [2, 2]


def test_a_post_whose_only_picture_is_unreadable_is_left_out_with_the_reason_unless_text_alone_is_asked(tmp_path):
    posts = [SynthPost(T0, "Sketch #ink", [SynthMedia()]), SynthPost(T0 + DAY, "The finished mural", [SynthMedia()])]
    root, site = export(tmp_path, posts, corrupt={(T0 + DAY, 0)}), tmp_path / "site"
    why = "its picture can't be used: "
    plan = pindah("plan", str(root), "--to", f"folder:{site}")
    assert plan.exit_code == 0 and "Posts: 2 (1 will publish, 1 skipped)" in said(plan)
    assert why in said(plan) and "to publish the text alone, use --text-without-media" in said(plan)
    first = pindah("migrate", str(root), "--to", f"folder:{site}")
    assert first.exit_code == 0, first.output
    assert "Posts: 2 (1 published, 1 skipped)" in said(first) and "Published 1 post(s)" in said(first)
    line = next(line for line in first.output.splitlines() if why in line)
    assert "image file is damaged or truncated" in line and line.strip().startswith("• 4 May 2021 ")
    assert [p["post_id"] for p in site_posts(site)] == [plan_id(root, T0)]  # no caption without its artwork
    anyway = pindah("migrate", str(root), "--to", f"folder:{site}", "--text-without-media")
    assert anyway.exit_code == 0 and "Published 1 post(s)" in said(anyway), anyway.output
    assert len(site_posts(site)) == 2


def plan_id(root: Path, taken_at: int) -> str:
    from pindah.migrator.sources import read_export

    with read_export([root]) as exp:
        return next(p.id for p in exp.posts if p.taken_at.timestamp() == taken_at)


def test_several_targets_share_one_report_file_and_each_keeps_its_posts(tmp_path):
    posts = [SynthPost(T0 + i * DAY, f"Study {i} #ink", [SynthMedia()]) for i in range(3)]
    root = export(tmp_path, posts)
    one, two = tmp_path / "site-one", tmp_path / "site-two"
    json_out, html_out = tmp_path / "report.json", tmp_path / "report.html"
    result = pindah("migrate", str(root), "--to", f"folder:{one}", "--to", f"folder:{two}",
                    "--json", str(json_out), "--html", str(html_out))
    assert result.exit_code == 0, result.output
    assert said(result).count("Report written to") == 2  # once per file, not once per target
    report = json.loads(json_out.read_text(encoding="utf-8"))
    assert report["targets"] == [f"folder:{one}", f"folder:{two}"]
    assert sorted((p["target"], p["state"]) for p in report["posts"]) == \
        [(f"folder:{one}", "published")] * 3 + [(f"folder:{two}", "published")] * 3
    page = html_out.read_text(encoding="utf-8")
    assert str(one) in page and str(two) in page


def test_the_plan_setting_text_without_media_publishes_the_text_alone(tmp_path):
    (tmp_path / "config.toml").write_text("[plan]\ntext_without_media = true\n", encoding="utf-8")
    posts = [SynthPost(T0, "The finished mural", [SynthMedia(missing=True)])]
    root, site = export(tmp_path, posts), tmp_path / "site"
    result = pindah("migrate", str(root), "--to", f"folder:{site}")
    assert result.exit_code == 0 and "Published 1 post(s)" in said(result), result.output
    assert [p["parts"][0]["text"].splitlines()[0] for p in site_posts(site)] == ["The finished mural"]


def test_the_footer_links_each_post_to_its_instagram_address_from_an_instaloader_dump(tmp_path):
    from tests.exportbuilder.instaloader import write_instaloader_dump

    (tmp_path / "config.toml").write_text('[plan]\nfooter = "Also on Instagram: {instagram_url}"\n',
                                          encoding="utf-8")
    write_instaloader_dump(tmp_path / "dump", "rina", [SynthPost(T0, "Ink study", shortcode="CxYz12AbCdE")])
    site = tmp_path / "site"
    result = pindah("migrate", str(tmp_path / "dump" / "rina"), "--to", f"folder:{site}")
    assert result.exit_code == 0, result.output
    [post] = site_posts(site)
    assert post["parts"][0]["text"].endswith("Also on Instagram: https://www.instagram.com/p/CxYz12AbCdE/")


def test_a_bluesky_plan_without_a_network_uses_the_published_limits_and_says_so(tmp_path, monkeypatch):
    root = export(tmp_path, [SynthPost(T0, "Offline study #ink", [SynthMedia()])])
    # A closed loopback port stands for "no network": the plan must still be made, and say how.
    monkeypatch.setenv("PINDAH_TARGETS_BLUESKY_PDS", "http://127.0.0.1:9")
    done = pindah("plan", str(root), "--to", "bluesky:alice.bsky.social")
    assert done.exit_code == 0, done.output
    text = said(done)
    assert "could not be reached" in text and "planned with Bluesky's published limits" in text
    assert "Dry run for bluesky:alice.bsky.social: nothing was published." in text

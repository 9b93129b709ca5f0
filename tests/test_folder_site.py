"""The folder target: a static portfolio site built through the adapter contract."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from pindah.adapters import folder
from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from pindah.adapters.folder import AI_CRAWLERS, FolderAdapter
from pindah.migrator.errors import PostFailed, RunStopped
from tests.html_tags import Tag, start_tags


T0 = datetime(2021, 5, 2, 8, 30, tzinfo=timezone.utc)


# -- helpers ----------------------------------------------------------------------------------------
def make_image(tmp_path: Path, name: str, size: tuple[int, int] = (64, 80), color=(200, 90, 40),
               fmt: str = "JPEG", alt: str | None = "A red square") -> PreparedMedia:
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    path = cache / name
    Image.new("RGB", size, color).save(path, fmt)
    mime = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}[fmt]
    return PreparedMedia(path=path, mime=mime, width=size[0], height=size[1], alt_text=alt,
                         sha256=hashlib.sha256(path.read_bytes()).hexdigest(), source_path=f"media/{name}")


def make_video(tmp_path: Path, name: str = "clip.mp4") -> PreparedMedia:
    path = tmp_path / name
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64)
    return PreparedMedia(path=path, mime="video/mp4", width=None, height=None, alt_text=None,
                         sha256=hashlib.sha256(path.read_bytes()).hexdigest(), source_path=name)


def request(post_id: str, media: list[RemoteRef], text: str = "A caption", *, part: int = 0, parts: int = 1,
            when: datetime = T0, alts: list[str | None] | None = None) -> PostRequest:
    return PostRequest(key=f"{post_id}#{part}", text=text, media=tuple(media),
                       media_alt=tuple(alts if alts is not None else ["An orange square"] * len(media)),
                       created_at=when, reply_to=None, root=None, post_id=post_id, part_index=part, part_count=parts)


@pytest.fixture
def site(tmp_path: Path) -> FolderAdapter:
    adapter = FolderAdapter(str(tmp_path / "site"), {"title": "Sekar's drawings"})
    adapter.prepare(interactive=False)
    return adapter


def publish(site: FolderAdapter, tmp_path: Path, post_id: str, when: datetime = T0, text: str = "A caption",
            color=(200, 90, 40)) -> RemoteRef:
    ref = site.upload_media(make_image(tmp_path, f"{post_id}.jpg", color=color), f"{post_id}#0/0")
    return site.create_post(request(post_id, [ref], text, when=when))


def state(site: FolderAdapter) -> list[dict]:
    return json.loads((site.site / "posts.json").read_text(encoding="utf-8"))["posts"]


def html_files(site: FolderAdapter) -> list[Path]:
    return sorted(site.site.rglob("*.html"))


def tags(path: Path) -> list[Tag]:
    return start_tags(path.read_text(encoding="utf-8"))


# -- the contract ---------------------------------------------------------------------------------------
def test_capabilities_are_generous_and_take_a_whole_instagram_carousel() -> None:
    caps = FolderAdapter.capabilities
    assert caps.max_text is None and caps.text_counting.value == "graphemes"
    assert caps.max_media_per_post == 20 and caps.threads and caps.backdating and caps.rate_budgets == ()
    assert {"image/jpeg", "image/png", "image/webp", "image/gif"} <= caps.image_mime_types
    assert {"video/mp4", "video/webm", "video/quicktime"} <= caps.video_mime_types


def test_default_location_is_pindah_site_in_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert FolderAdapter(None, {}).account() == str(tmp_path / "pindah-site")
    assert FolderAdapter("", {}).account() == str(tmp_path / "pindah-site")
    assert Path(FolderAdapter("rel/site", {}).account()).is_absolute()


def test_prepare_only_checks_so_a_dry_run_leaves_no_folder(tmp_path: Path) -> None:
    adapter = FolderAdapter(str(tmp_path / "site"), {})
    adapter.prepare(interactive=False)
    assert not (tmp_path / "site").exists() and adapter.where() is None
    adapter.finish()
    assert adapter.where() == (tmp_path / "site" / "index.html").as_uri()


def test_a_file_in_place_of_the_site_folder_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("not a folder")
    with pytest.raises(RunStopped, match="is a file"):
        FolderAdapter(str(tmp_path / "site"), {}).prepare(interactive=False)


def test_upload_copies_the_file_under_its_content_hash(site: FolderAdapter, tmp_path: Path) -> None:
    media = make_image(tmp_path, "a.jpg")
    ref = site.upload_media(media, "p1#0/0")
    assert ref.id == f"media/{media.sha256[:16]}.jpg"
    assert (site.site / ref.id).read_bytes() == media.path.read_bytes()


def test_uploading_the_same_content_twice_keeps_one_file_and_no_temp_files(site: FolderAdapter, tmp_path: Path) -> None:
    media = make_image(tmp_path, "a.jpg")
    first = site.upload_media(media, "p1#0/0")
    wrong_hash = PreparedMedia(**{**media.__dict__, "sha256": "0" * 64})  # the name follows the real bytes
    second = site.upload_media(wrong_hash, "p1#0/0")
    assert first.id == second.id
    assert [p.name for p in (site.site / "media").iterdir()] == [Path(first.id).name]


def test_upload_of_a_type_the_site_cannot_show_fails_that_post(site: FolderAdapter, tmp_path: Path) -> None:
    media = make_image(tmp_path, "a.jpg")
    with pytest.raises(PostFailed):
        site.upload_media(PreparedMedia(**{**media.__dict__, "mime": "image/heic"}), "k")


def test_a_missing_prepared_file_fails_that_post_and_leaves_nothing_behind(site: FolderAdapter, tmp_path: Path) -> None:
    media = make_image(tmp_path, "a.jpg")
    media.path.unlink()
    with pytest.raises(PostFailed, match="missing"):
        site.upload_media(media, "k")
    assert list((site.site / "media").iterdir()) == []


def test_creating_a_post_records_it_and_writes_its_page(site: FolderAdapter, tmp_path: Path) -> None:
    ref = publish(site, tmp_path, "p20210502-083000-abc")
    assert ref.id == "p20210502-083000-abc#0"
    assert ref.url == (site.site / "posts" / "p20210502-083000-abc.html").as_uri()
    [entry] = state(site)
    assert entry["post_id"] == "p20210502-083000-abc"
    assert entry["created_at"] == "2021-05-02T08:30:00Z"
    assert entry["page"] == "posts/p20210502-083000-abc.html"
    assert entry["keys"] == ["p20210502-083000-abc#0"]
    [part] = entry["parts"]
    assert part["text"] == "A caption"
    assert part["media"][0] | {"path": None} == {"path": None, "alt": "An orange square", "width": 64,
                                                 "height": 80, "mime": "image/jpeg"}
    assert (site.site / entry["page"]).exists()


def test_creating_the_same_key_twice_keeps_one_entry_and_one_page(site: FolderAdapter, tmp_path: Path) -> None:
    ref = site.upload_media(make_image(tmp_path, "a.jpg"), "k")
    first = site.create_post(request("p1", [ref]))
    again = site.create_post(request("p1", [ref]))
    assert first == again
    assert len(state(site)) == 1 and len(state(site)[0]["parts"]) == 1
    assert [p.name for p in (site.site / "posts").iterdir()] == ["p1.html"]


def test_thread_parts_join_one_page_in_part_order_whatever_the_arrival_order(site: FolderAdapter, tmp_path: Path) -> None:
    one = site.upload_media(make_image(tmp_path, "1.jpg", color=(10, 10, 10)), "k1")
    two = site.upload_media(make_image(tmp_path, "2.jpg", color=(20, 20, 20)), "k2")
    site.create_post(request("p1", [two], "SECOND PART", part=1, parts=2))  # e.g. a resumed run
    site.create_post(request("p1", [one], "FIRST PART", part=0, parts=2))
    [entry] = state(site)
    assert [p["index"] for p in entry["parts"]] == [0, 1]
    assert entry["keys"] == ["p1#0", "p1#1"]
    page = (site.site / "posts" / "p1.html").read_text(encoding="utf-8")
    assert page.index("FIRST PART") < page.index(Path(two.id).name) < page.index("SECOND PART")
    assert len(list((site.site / "posts").iterdir())) == 1


def test_find_post_after_a_crash_reads_what_the_site_has(site: FolderAdapter, tmp_path: Path) -> None:
    created = publish(site, tmp_path, "p1")
    restarted = FolderAdapter(site.location, {})  # a new process: nothing in memory
    assert restarted.find_post(request("p1", [])) == created
    assert restarted.find_post(request("p2", [])) is None


def test_read_post_gives_text_and_media_count_or_none(site: FolderAdapter, tmp_path: Path) -> None:
    ref = publish(site, tmp_path, "p1", text="Hello")
    assert site.read_post(ref) == {"text": "Hello", "media": 1}
    assert site.read_post(RemoteRef(id="p1#5")) is None
    assert site.read_post(RemoteRef(id="nope#0")) is None


def test_deleting_a_part_removes_exactly_that_part_and_its_files(site: FolderAdapter, tmp_path: Path) -> None:
    a = site.upload_media(make_image(tmp_path, "a.jpg", color=(1, 2, 3)), "ka")
    b = site.upload_media(make_image(tmp_path, "b.jpg", color=(4, 5, 6)), "kb")
    first = site.create_post(request("p1", [a], "part one", part=0, parts=2))
    second = site.create_post(request("p1", [b], "part two", part=1, parts=2))
    other = publish(site, tmp_path, "p0", when=T0 - timedelta(days=1))
    site.finish()

    site.delete_post(second)
    entry = next(e for e in state(site) if e["post_id"] == "p1")
    assert entry["keys"] == ["p1#0"]
    assert not (site.site / b.id).exists() and (site.site / a.id).exists()
    assert "part two" not in (site.site / "posts/p1.html").read_text(encoding="utf-8")
    assert site.read_post(second) is None and site.read_post(first) is not None

    site.delete_post(first)
    assert [e["post_id"] for e in state(site)] == ["p0"]
    assert not (site.site / "posts/p1.html").exists()
    assert not (site.site / a.id).exists()
    assert not (site.site / "thumbs" / (Path(a.id).stem + ".jpg")).exists()
    assert site.read_post(other) is not None and (site.site / "posts/p0.html").exists()
    site.delete_post(first)  # deleting again is harmless


def test_deleting_keeps_media_another_post_still_shows(site: FolderAdapter, tmp_path: Path) -> None:
    shared = site.upload_media(make_image(tmp_path, "same.jpg"), "k")
    gone = site.create_post(request("p1", [shared]))
    site.create_post(request("p2", [shared], when=T0 + timedelta(days=1)))
    site.delete_post(gone)
    assert (site.site / shared.id).exists()


def test_media_that_is_not_a_site_upload_is_refused(site: FolderAdapter) -> None:
    for bad in ("../../etc/passwd", "media/../posts.json", "/etc/passwd", "media/0123456789abcdef.exe"):
        with pytest.raises(PostFailed):
            site.create_post(request("p1", [RemoteRef(id=bad)]))
    assert not (site.site / "posts.json").exists() or state(site) == []


def test_a_bare_media_ref_from_the_journal_still_gets_type_and_size(site: FolderAdapter, tmp_path: Path) -> None:
    ref = site.upload_media(make_image(tmp_path, "a.png", size=(30, 20), fmt="PNG"), "k")
    site.create_post(request("p1", [RemoteRef(id=ref.id)]))  # no extra: as rebuilt after a restart
    media = state(site)[0]["parts"][0]["media"][0]
    assert (media["mime"], media["width"], media["height"]) == ("image/png", 30, 20)


def test_a_damaged_state_file_stops_the_run_and_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "posts.json").write_text("{not json")
    adapter = FolderAdapter(str(tmp_path / "site"), {})
    with pytest.raises(RunStopped):
        adapter.prepare(interactive=False)
    assert (tmp_path / "site" / "posts.json").read_text() == "{not json"


def test_a_state_file_pointing_outside_the_site_is_refused(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    entry = {"post_id": "p1", "created_at": "2021-05-02T08:30:00Z", "page": "../../outside.html", "parts": []}
    (tmp_path / "site" / "posts.json").write_text(json.dumps({"format": "pindah-site/1", "posts": [entry]}))
    with pytest.raises(RunStopped):
        FolderAdapter(str(tmp_path / "site"), {}).prepare(interactive=False)


def test_a_full_disk_stops_the_run_and_the_post_is_not_claimed(site: FolderAdapter, tmp_path: Path,
                                                                  monkeypatch) -> None:
    ref = site.upload_media(make_image(tmp_path, "a.jpg"), "k")

    def disk_full(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder.SiteState, "save", disk_full)
    with pytest.raises(RunStopped, match="No space left"):
        site.create_post(request("p1", [ref]))
    monkeypatch.undo()
    assert site.find_post(request("p1", [ref])) is None  # the journal must not think it exists
    assert not (site.site / "posts.json").exists()


def test_posts_json_is_sorted_oldest_first_and_leaves_no_temp_files(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p-new", when=T0 + timedelta(days=30), color=(1, 1, 1))
    publish(site, tmp_path, "p-old", when=T0, color=(2, 2, 2))
    publish(site, tmp_path, "p-mid", when=T0 + timedelta(days=3), color=(3, 3, 3))
    assert [e["post_id"] for e in state(site)] == ["p-old", "p-mid", "p-new"]
    assert not [p for p in site.site.rglob("*") if p.name.endswith(".tmp")]


# -- the pages ------------------------------------------------------------------------------------------
def test_finish_writes_an_index_newest_first_with_dates_and_thumbnails(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p-old", when=datetime(2019, 1, 5, tzinfo=timezone.utc), text="OLDEST", color=(9, 9, 9))
    publish(site, tmp_path, "p-new", when=datetime(2023, 7, 9, tzinfo=timezone.utc), text="NEWEST", color=(8, 8, 8))
    site.finish()
    index = (site.site / "index.html").read_text(encoding="utf-8")
    assert index.index("NEWEST") < index.index("OLDEST")
    assert "9 July" in index and "2019" in index and "2 posts" in index
    thumbs = sorted((site.site / "thumbs").iterdir())
    assert len(thumbs) == 2
    with Image.open(thumbs[0]) as im:
        assert im.format == "JPEG" and im.size == folder.THUMB_SIZE
        assert not im.getexif() and "icc_profile" not in im.info
    assert all(f'src="thumbs/{t.name}"' in index for t in thumbs)


def test_thumbnails_of_cmyk_and_transparent_images_come_out_as_rgb(site: FolderAdapter, tmp_path: Path) -> None:
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (50, 60), (0, 100, 200, 0)).save(cmyk, "JPEG")
    png = make_image(tmp_path, "clear.png", fmt="PNG")
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(png.path, "PNG")
    for i, path in enumerate((cmyk, png.path)):
        media = PreparedMedia(path=path, mime="image/jpeg" if i == 0 else "image/png", width=None, height=None,
                              alt_text=None, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), source_path="x")
        site.create_post(request(f"p{i}", [site.upload_media(media, "k")], when=T0 + timedelta(days=i)))
    site.finish()
    thumbs = list((site.site / "thumbs").iterdir())
    assert len(thumbs) == 2
    for thumb in thumbs:
        with Image.open(thumb) as im:
            assert im.mode == "RGB"


def test_grid_captions_are_shortened(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1", text="word " * 200)
    site.finish()
    index = (site.site / "index.html").read_text(encoding="utf-8")
    assert "…" in index and index.count("word") < 40


def test_thumbnails_that_exist_are_never_decoded_again(site: FolderAdapter, tmp_path: Path, monkeypatch) -> None:
    publish(site, tmp_path, "p1")
    site.finish()
    calls: list[Path] = []
    monkeypatch.setattr(folder, "make_thumbnail", lambda src, dest: calls.append(src) or False)
    site.finish()
    assert calls == []


def test_a_site_run_twice_rewrites_nothing(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1")
    publish(site, tmp_path, "p2", when=T0 + timedelta(days=1), color=(5, 5, 5))
    site.finish()
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.site.rglob("*") if p.is_file()}
    FolderAdapter(site.location, {"title": "Sekar's drawings"}).finish()
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.site.rglob("*") if p.is_file()}
    assert before == after


def test_prev_and_next_links_connect_neighbours_also_when_a_newer_post_arrives(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1", when=T0, color=(1, 1, 1))
    publish(site, tmp_path, "p2", when=T0 + timedelta(days=1), color=(2, 2, 2))
    first = (site.site / "posts/p1.html").read_text(encoding="utf-8")
    assert 'rel="next" href="../posts/p2.html"' in first and 'rel="prev"' not in first
    publish(site, tmp_path, "p3", when=T0 + timedelta(days=2), color=(3, 3, 3))
    middle = (site.site / "posts/p2.html").read_text(encoding="utf-8")
    assert 'rel="prev" href="../posts/p1.html"' in middle and 'rel="next" href="../posts/p3.html"' in middle


def test_captions_keep_line_breaks_and_get_clickable_links_and_marked_hashtags(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1", text="Shop: https://example.com/shop.\nSee www.sekar.art\n#watercolor @friend "
                                       "javascript:alert(1) (https://en.wikipedia.org/wiki/Batik_(cloth))")
    page = (site.site / "posts/p1.html").read_text(encoding="utf-8")
    assert '<a href="https://example.com/shop" rel="noopener">https://example.com/shop</a>.\nSee' in page
    assert '<a href="https://www.sekar.art"' in page
    assert 'href="https://en.wikipedia.org/wiki/Batik_(cloth)"' in page
    assert '<span class="tag">#watercolor</span>' in page and '<span class="mention">@friend</span>' in page
    assert 'href="javascript' not in page
    assert "white-space:pre-wrap" in page


def test_captions_and_alt_text_are_escaped_everywhere(site: FolderAdapter, tmp_path: Path) -> None:
    evil = '<script>alert("x")</script>'
    ref = site.upload_media(make_image(tmp_path, "a.jpg"), "k")
    site.create_post(request("p1", [ref], f"Look {evil} https://x.test/\"><script>", alts=[f'"><{evil}']))
    site.finish()
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text, page
    assert "&lt;script&gt;" in (site.site / "posts/p1.html").read_text(encoding="utf-8")


def test_every_page_asks_not_to_be_used_for_ai_and_names_its_language(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1")
    publish(site, tmp_path, "p2", when=T0 + timedelta(days=1), color=(1, 2, 3))
    site.finish()
    pages = html_files(site)
    assert len(pages) == 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert '<meta name="robots" content="noai, noimageai">' in text, page
        assert '<meta name="tdm-reservation" content="1">' in text
        assert re.search(r'<html lang="en">', text)


def test_robots_ai_txt_and_tdmrep_opt_out_of_ai_training(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1")
    site.finish()
    robots = (site.site / "robots.txt").read_text()
    for crawler in ("GPTBot", "ClaudeBot", "CCBot", "Google-Extended", "Applebot-Extended", "Meta-ExternalAgent"):
        assert f"User-agent: {crawler}\n" in robots
    assert set(AI_CRAWLERS) <= set(re.findall(r"User-agent: (\S+)", robots))
    ai_group = robots.split("Disallow: /")[0]
    assert "User-agent: *" not in ai_group  # search engines stay welcome
    assert "noai" in robots
    ai_txt = (site.site / "ai.txt").read_text()
    assert "User-Agent: *" in ai_txt and "Disallow: /" in ai_txt and "Disallow: *.jpg" in ai_txt
    assert json.loads((site.site / ".well-known/tdmrep.json").read_text()) == [{"location": "/", "tdm-reservation": 1}]
    assert "X-Robots-Tag: noai, noimageai" in (site.site / "_headers").read_text()
    assert "<IfModule mod_headers.c>" in (site.site / ".htaccess").read_text()
    assert (site.site / ".nojekyll").exists()


def test_pages_are_self_contained_without_scripts_or_remote_assets(site: FolderAdapter, tmp_path: Path) -> None:
    publish(site, tmp_path, "p1", text="my shop https://example.com")
    site.finish()
    for page in html_files(site):
        for tag, attrs in tags(page):
            assert tag not in ("script", "link", "iframe"), page
            if tag in ("img", "source", "video"):
                assert not (attrs.get("src") or "").startswith(("http:", "https:", "//")), page
        assert "@import" not in page.read_text(encoding="utf-8")


def test_every_image_has_alt_text_even_when_the_artist_wrote_none(site: FolderAdapter, tmp_path: Path) -> None:
    ref = site.upload_media(make_image(tmp_path, "a.jpg", alt=None), "k")
    site.create_post(request("p1", [ref], alts=[None]))
    site.finish()
    images = [attrs for page in html_files(site) for tag, attrs in tags(page) if tag == "img"]
    assert len(images) == 2  # the page and the grid tile
    assert all((a.get("alt") or "").strip() for a in images)


def test_a_video_post_gets_a_player_and_a_placeholder_tile(site: FolderAdapter, tmp_path: Path) -> None:
    ref = site.upload_media(make_video(tmp_path), "k")
    assert ref.id.endswith(".mp4")
    site.create_post(request("p1", [ref], "A reel", alts=[None]))
    site.finish()
    page = tags(site.site / "posts/p1.html")
    video = next(a for t, a in page if t == "video")
    assert "controls" in video and video.get("aria-label")
    assert any(t == "source" and a["src"] == f"../{ref.id}" and a["type"] == "video/mp4" for t, a in page)
    assert not (site.site / "thumbs").exists() or not list((site.site / "thumbs").iterdir())
    assert 'class="ph"' in (site.site / "index.html").read_text(encoding="utf-8")


def test_big_sites_get_paged_indexes_and_stale_pages_go(site: FolderAdapter, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(folder, "INDEX_PAGE_SIZE", 2)
    refs = [publish(site, tmp_path, f"p{i}", when=T0 + timedelta(days=i), color=(i, i, i)) for i in range(5)]
    site.finish()
    assert sorted(p.name for p in site.site.glob("index*.html")) == ["index-2.html", "index-3.html", "index.html"]
    assert 'href="index-2.html"' in (site.site / "index.html").read_text(encoding="utf-8")
    for ref in refs[:3]:
        site.delete_post(ref)
    site.finish()
    assert sorted(p.name for p in site.site.glob("index*.html")) == ["index.html"]


def test_an_empty_site_still_has_a_friendly_index(site: FolderAdapter) -> None:
    site.finish()
    assert "Nothing here yet" in (site.site / "index.html").read_text(encoding="utf-8")

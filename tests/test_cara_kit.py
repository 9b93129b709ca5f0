"""The Cara upload kit: folders, chunking, the page, marks through the journal, and resuming."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import Result
from PIL import Image

from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from pindah.adapters.cara import CaraAdapter, suggest_title
from pindah.adapters.cara_kit import folder_name, read_checklist, read_kit
from pindah.adapters.cara_page import render_kit_page
from pindah.migrator import commands, marks
from pindah.migrator import journal as J
from pindah.migrator.checkimage import inspect_image
from pindah.migrator.engine import Selection, dry_run, journal_path, make_plans, migrate
from pindah.migrator.errors import PindahError
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions
from pindah.migrator.rights import load_rights
from pindah.migrator.sources import read_export
from tests.cli_support import invoke as run_cli
from tests.cli_support import pindah_group, with_target
from tests.exportbuilder.media import image_bytes
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

pytestmark = pytest.mark.cara

T0 = 1_620_000_000  # 3 May 2021
DAY = 86400


@pytest.fixture(autouse=True)
def _places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_target(monkeypatch, tmp_path, CaraAdapter)


def colourful(post: SynthPost, index: int, media: SynthMedia) -> bytes:
    """Each picture different, so every file in the kit is a file of its own."""
    if media.is_video:
        from tests.exportbuilder.media import mp4_bytes
        return mp4_bytes()
    return image_bytes(media.fmt, 40, 50, ((index * 37 + post.taken_at // DAY) % 256, 90, 160))


def posts_of(n: int, start: int = 0) -> list[SynthPost]:
    return [SynthPost(T0 + (start + i) * DAY, f"Study {start + i}. Ink on paper #ink #study{start + i}",
                      [SynthMedia() for _ in range(1 + (start + i) % 2)]) for i in range(n)]


def export(tmp_path: Path, posts: list[SynthPost], name: str = "export") -> Path:
    root = tmp_path / name
    write_meta_json(root, posts, media_content=colourful)
    return root


def run(root: Path, kit: Path, config: dict | None = None, rights: dict | None = None):
    adapter = CaraAdapter(str(kit), config or {})
    adapter.prepare(interactive=False)
    stamp = load_rights({"rights": rights} if rights is not None else {}).stamp()
    with read_export([root]) as exp:
        plans = make_plans(exp, adapter, Selection(), PlanOptions())
        outcome, report = migrate(exp, adapter, plans, stamp=stamp)
        path = journal_path(adapter, exp)
    return outcome, report, path


def invoke(*args: str) -> Result:
    return run_cli(pindah_group(commands.register, marks.register), *args)


def states(path: Path) -> dict[str, tuple[str, list[tuple[str, str | None]]]]:
    with Journal.open(path) as journal:
        return {p.post_id: (p.state, [(part.state, part.remote.url if part.remote else None)
                                      for part in journal.parts(p.post_id)]) for p in journal.posts()}


def checklist_rows(kit: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((kit / "checklist.csv").read_text(encoding="utf-8-sig"))))


# -- the folders -------------------------------------------------------------------------------------
def test_the_kit_has_one_folder_per_cara_post_oldest_first_with_everything_to_paste(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    outcome, report, path = run(export(tmp_path, posts_of(4)), kit, rights={"creator": "Ayu Sekar"})
    assert not outcome.failed
    folders = sorted(p.name for p in (kit / "posts").iterdir())
    ids = [p.post_id for p in report.posts]
    assert folders == [f"2021-05-{3 + i:02d}_{ids[i]}" for i in range(4)]  # dates sort oldest first
    first = kit / "posts" / folders[0]
    assert sorted(f.name for f in first.iterdir()) == ["01.jpg", "alt.txt", "caption.txt", "manifest.json", "title.txt"]
    caption = (first / "caption.txt").read_text(encoding="utf-8")
    assert caption == "Study 0. Ink on paper #ink #study0\n\n📷 Instagram, 3 May 2021"
    assert caption == report.posts[0].parts[0].text  # exactly what the planner made
    assert (first / "title.txt").read_text(encoding="utf-8") == "Study 0. Ink on paper"  # 1st sentence too short
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "pindah-cara-kit/1" and manifest["tags"] == ["ink", "study0"]
    assert manifest["images"][0]["data_mining"] == "DMI-PROHIBITED-AIMLTRAINING"
    # the images are the prepared files: upright, clean, and carrying the artist's rights
    facts = inspect_image((first / "01.jpg").read_bytes())
    assert facts.rights["creator"] == "Ayu Sekar" and not facts.gps and not facts.camera
    for name in ("index.html", "checklist.csv", "robots.txt", "ai.txt", ".well-known/tdmrep.json"):
        assert (kit / name).is_file(), name
    assert [r["folder"] for r in checklist_rows(kit)] == folders
    assert {r["status"] for r in checklist_rows(kit)} == {"pending"}
    # Writing the kit is not posting on Cara: every post is still pending in the journal.
    assert {state for state, _ in states(path).values()} == {J.PLANNED}


def test_alt_text_title_and_tags_of_a_split_post_follow_its_first_part(tmp_path: Path) -> None:
    kit = CaraAdapter(str(tmp_path / "kit"), {"max_images_per_post": 1})
    refs = []
    for i, color in enumerate(((255, 0, 0), (0, 255, 0))):
        path = tmp_path / f"p{i}.png"
        Image.new("RGB", (20, 20), color).save(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        refs.append(kit.upload_media(PreparedMedia(path, "image/png", 20, 20, None, digest, f"m/{i}.png"),
                                     f"abc#{i}/m{i}"))
    taken = datetime(2022, 1, 31, 23, 59, 59, tzinfo=timezone.utc)  # part 2 is "created" a second later
    texts = ["A fox at dusk. More soon #fox @friend (1/2)\n\n📷 Instagram, 31 January 2022", "(2/2)"]
    alts = ("A red fox, drawn in ink", None)
    for i in range(2):
        kit.create_post(PostRequest(key=f"abc#{i}", text=texts[i], media=(refs[i],), media_alt=(alts[i],),
                                    created_at=taken + timedelta(seconds=i), reply_to=None, root=None,
                                    post_id="abc", part_index=i, part_count=2))
    kit.finish()
    posts = read_kit(kit.kit)
    assert [p.folder for p in posts] == ["2022-01-31_abc_1of2", "2022-01-31_abc_2of2"]  # midnight: same day
    assert [p.title for p in posts] == ["A fox at dusk (1/2)", "A fox at dusk (2/2)"]
    assert posts[1].tags == ["fox"] and posts[1].images[0].file == "02.png"
    assert (kit.kit / "posts" / posts[0].folder / "alt.txt").read_text(encoding="utf-8") == \
        "01.png\nA red fox, drawn in ink\n"
    assert "no description yet" in (kit.kit / "posts" / posts[1].folder / "alt.txt").read_text(encoding="utf-8")
    assert kit.find_post(PostRequest(key="abc#1", text="", media=(), media_alt=(), created_at=taken,
                                     reply_to=None, root=None, post_id="abc", part_index=1, part_count=2))
    assert kit.read_post(RemoteRef("2022-01-31_abc_2of2")) == {"text": "(2/2)", "media": 1}


@pytest.mark.parametrize("per_post, names", [
    (4, [f"_{i}of5" for i in range(1, 6)]),
    (1, [f"_{i:02d}of20" for i in range(1, 21)])])
def test_a_20_picture_carousel_becomes_numbered_posts_in_carousel_order(tmp_path: Path, per_post: int,
                                                                       names: list[str]) -> None:
    carousel = SynthPost(T0, "Twenty pages of my sketchbook #sketchbook", [SynthMedia() for _ in range(20)])
    kit = tmp_path / "kit"
    _, report, _ = run(export(tmp_path, [carousel]), kit, {"max_images_per_post": per_post})
    posts = read_kit(kit)
    assert [p.folder.removeprefix(f"2021-05-03_{report.posts[0].post_id}") for p in posts] == names
    files = [sorted(f.name for f in (kit / "posts" / p.folder).glob("*.jpg")) for p in posts]
    assert [name for group in files for name in group] == [f"{n:02d}.jpg" for n in range(1, 21)]
    assert all(len(group) == per_post for group in files)
    count = len(names)
    assert posts[0].caption.startswith(f"Twenty pages of my sketchbook #sketchbook (1/{count})")
    assert [p.caption for p in posts[1:]] == [f"({i}/{count})" for i in range(2, count + 1)]
    assert posts[-1].title == f"Twenty pages of my sketchbook ({count}/{count})"
    # The pictures are in the same order as on Instagram.
    sources = [i.source for p in posts for i in p.images]
    assert sources == [m.source_path for m in report.posts[0].media]


def test_captions_are_fitted_to_the_configured_limit(tmp_path: Path) -> None:
    long = SynthPost(T0, ("Word " * 120).strip(), [SynthMedia()])
    kit = tmp_path / "kit"
    run(export(tmp_path, [long]), kit, {"max_caption_chars": 200})
    posts = read_kit(kit)
    assert len(posts) > 1 and all(len(p.caption) <= 200 for p in posts)
    with pytest.raises(PindahError, match="max_images_per_post"):
        CaraAdapter(str(kit), {"max_images_per_post": 0})


def test_a_dry_run_writes_no_kit(tmp_path: Path) -> None:
    adapter = CaraAdapter(str(tmp_path / "kit"), {})
    adapter.prepare(interactive=False)
    with read_export([export(tmp_path, posts_of(2))]) as exp:
        report = dry_run(exp, adapter, make_plans(exp, adapter, Selection(), PlanOptions()))
    assert [p.state for p in report.posts] == ["will publish"] * 2
    assert not (tmp_path / "kit").exists()


def test_titles_are_the_first_sentence_without_tags_or_links() -> None:
    title = suggest_title("Koi pond at dawn. Prints: https://x.example #koi (1/3)\n\nmore", "1 May")
    assert title == "Koi pond at dawn"
    assert suggest_title("#only #tags", "1 May 2021") == "Untitled, 1 May 2021"
    assert suggest_title("Sunrise over the terraces 🌄 first piece of the year", "x").startswith("Sunrise")


# -- the page --------------------------------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_page_is_self_contained_says_no_to_ai_and_reads_without_javascript(tmp_path: Path) -> None:
    hostile = SynthPost(T0, 'Night <script>alert(1)</script> & "quotes" #ink', [SynthMedia()])
    kit = tmp_path / "kit"
    run(export(tmp_path, [hostile] + posts_of(2, start=1)), kit)
    html = (kit / "index.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    metas = {(a.get("name"), a.get("content")) for t, a in page.tags if t == "meta"}
    assert ("robots", "noai, noimageai") in metas and ("tdm-reservation", "1") in metas
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    # nothing from the network: every src/href is relative, an anchor, or the Cara links
    for _, attrs in page.tags:
        for attr in ("src", "href"):
            value = attrs.get(attr) or ""
            assert not value.startswith(("http:", "//")), value
            assert not value.startswith("https:") or "cara.app" in value, value
    buttons = [a for t, a in page.tags if t == "button"]
    assert buttons and all("hidden" in a and a.get("data-copy") for a in buttons)  # JS shows them
    ids = {a.get("id") for _, a in page.tags}
    assert all(a["data-copy"] in ids for a in buttons)  # every button copies something on the page
    text = " ".join(page.text)
    for words in ("Glaze", "Prevent third-party sharing", "Bluesky", "Mastodon", "DeviantArt",
                  "pindah mark-posted --to", "Next to do"):
        assert words in text, words
    images = [a["src"] for t, a in page.tags if t == "img"]
    assert images and all((kit / str(src)).is_file() for src in images)


def test_the_page_shows_small_previews_and_links_the_files_to_upload(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    run(export(tmp_path, [SynthPost(T0, "Big one", [SynthMedia(width=2400, height=3000)])]), kit)
    page = _Page()
    page.feed((kit / "index.html").read_text(encoding="utf-8"))
    links = {a["href"]: a for t, a in page.tags if t == "a" and a.get("href", "").startswith("posts/")}
    previews = [a["src"] for t, a in page.tags if t == "img"]
    assert len(previews) == 1 and previews[0].startswith(".thumbs/")
    with Image.open(kit / previews[0]) as im:
        assert max(im.size) <= 480 and not im.getexif()
    assert any(href.endswith("/01.jpg") and (kit / href).is_file() for href in links)  # a click opens the file
    stray = kit / ".thumbs" / "0123456789abcdef.jpg"  # the preview of a picture no longer in the kit
    stray.write_bytes(b"old")
    render_kit_page(read_kit(kit), {}, kit=kit, caps=CaraAdapter.capabilities)
    assert not stray.exists() and (kit / previews[0]).exists()


def test_the_kit_is_readable_by_others_like_any_folder_of_the_artists(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        kit = tmp_path / "kit"
        run(export(tmp_path, posts_of(2)), kit)
    finally:
        os.umask(old)
    files = [p for p in kit.rglob("*") if p.is_file()]
    names = {str(p.relative_to(kit)) for p in files}
    assert {"index.html", "checklist.csv", "robots.txt", "ai.txt"} <= names
    assert any(n.startswith(".thumbs/") for n in names) and any(n.endswith("01.jpg") for n in names)
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o644)}


# -- marks -------------------------------------------------------------------------------------------------
def test_mark_posted_skip_undo_and_status_go_through_the_journal(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    _, report, path = run(export(tmp_path, posts_of(3)), kit)
    folders = [p.folder for p in read_kit(kit)]
    ids = [p.post_id for p in report.posts]
    result = invoke("mark-posted", "--to", f"cara:{kit}", folders[0], "https://cara.app/post/1111")
    assert result.exit_code == 0, result.output
    assert f"{folders[0]}: posted on Cara (https://cara.app/post/1111)" in result.output
    assert invoke("mark-posted", "--to", f"cara:{kit}", "--skip", str(kit / "posts" / folders[1]) + "/").exit_code == 0
    got = states(path)
    assert got[ids[0]] == (J.POSTED, [(J.POSTED, "https://cara.app/post/1111")])
    assert got[ids[1]][0] == J.SKIPPED and got[ids[2]][0] == J.PLANNED
    status = invoke("status", "--to", "cara")
    assert status.exit_code == 0, status.output
    row = [line for line in status.output.splitlines() if "│" in line and "cara" in line]
    # published, pending, failed, skipped
    assert row and [c.strip() for c in row[0].split("│")][3:7] == ["1", "1", "0", "1"]
    html = (kit / "index.html").read_text(encoding="utf-8")
    assert 'href="https://cara.app/post/1111"' in html and "c-skipped" in html
    assert [r["status"] for r in checklist_rows(kit)] == ["posted", "skipped", "pending"]
    assert invoke("mark-posted", "--to", f"cara:{kit}", "--undo", folders[0]).exit_code == 0
    assert states(path)[ids[0]] == (J.PLANNED, [(J.PLANNED, None)])
    bad = invoke("mark-posted", "--to", f"cara:{kit}", "2020-01-01_nope")
    assert bad.exit_code == 2 and "is not a post pindah prepared" in bad.output
    assert invoke("mark-posted", "--to", f"cara:{kit}", folders[2], "cara.app/x").exit_code == 2
    assert invoke("mark-posted", "--to", f"cara:{tmp_path / 'elsewhere'}", "x").exit_code == 2


def test_a_split_post_is_posted_part_by_part(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    _, report, path = run(export(tmp_path, [SynthPost(T0, "Six #six", [SynthMedia() for _ in range(6)])]), kit)
    first, second = [p.folder for p in read_kit(kit)]
    post_id = report.posts[0].post_id
    assert invoke("mark-posted", "--to", f"cara:{kit}", post_id, "https://cara.app/post/1").exit_code == 2  # 2 links
    assert invoke("mark-posted", "--to", f"cara:{kit}", first, "https://cara.app/post/1").exit_code == 0
    assert states(path)[post_id] == (J.PLANNED, [(J.POSTED, "https://cara.app/post/1"), (J.PLANNED, None)])
    assert invoke("mark-posted", "--to", f"cara:{kit}", f"{post_id}#1", "https://cara.app/post/2").exit_code == 0
    assert states(path)[post_id][0] == J.POSTED
    assert second.endswith("_2of2")


def test_the_edited_checklist_marks_in_bulk_and_never_undoes_a_mark(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    _, report, path = run(export(tmp_path, posts_of(4)), kit)
    ids = [p.post_id for p in report.posts]
    assert invoke("mark-posted", "--to", f"cara:{kit}", read_kit(kit)[3].folder).exit_code == 0
    rows = checklist_rows(kit)
    rows[0]["status"], rows[0]["cara_url"] = "posted", "https://cara.app/post/a"
    rows[1]["status"] = "Skipped"
    rows[2]["cara_url"] = "https://cara.app/post/c"  # a link alone means posted
    rows[3]["status"] = "pending"  # an old copy of the checklist: must not undo
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";")  # as a European spreadsheet saves it
    writer.writeheader()
    writer.writerows(rows)
    (kit / "checklist.csv").write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    result = invoke("mark-posted", "--to", f"cara:{kit}", "--checklist")
    assert result.exit_code == 0, result.output
    assert "left as posted" in result.output
    got = states(path)
    assert got[ids[0]] == (J.POSTED, [(J.POSTED, "https://cara.app/post/a")])
    assert got[ids[1]][0] == J.SKIPPED and got[ids[2]] == (J.POSTED, [(J.POSTED, "https://cara.app/post/c")])
    assert got[ids[3]][0] == J.POSTED
    # The redrawn checklist reads back to the same marks: nothing more to do.
    assert [r["status"] for r in checklist_rows(kit)] == ["posted", "skipped", "posted", "posted"]
    assert "Nothing new" in invoke("mark-posted", "--to", f"cara:{kit}", "--checklist").output


def test_a_checklist_with_a_mistake_marks_nothing(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    _, _, path = run(export(tmp_path, posts_of(2)), kit)
    text = (kit / "checklist.csv").read_text(encoding="utf-8-sig").splitlines()
    text[1] = text[1].replace("pending", "posted")
    text[2] = text[2].replace("pending", "perhaps")
    edited = tmp_path / "mine.csv"
    edited.write_text("\n".join(text), encoding="utf-8")
    result = invoke("mark-posted", "--to", f"cara:{kit}", "--file", str(edited))
    assert result.exit_code == 2 and "line 3: status 'perhaps'" in result.output
    assert {state for state, _ in states(path).values()} == {J.PLANNED}
    rows, problems = read_checklist("folder,status\nx,posted\n")
    assert rows[0].status == "posted" and not problems


# -- re-running --------------------------------------------------------------------------------------------
def test_resume_after_new_posts_keeps_every_mark_and_refreshes_only_pending_posts(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    _, report, path = run(export(tmp_path, posts_of(3)), kit, rights={"creator": "Old Name"})
    ids = [p.post_id for p in report.posts]
    folders = [p.folder for p in read_kit(kit)]
    assert invoke("mark-posted", "--to", f"cara:{kit}", folders[0], "https://cara.app/post/0").exit_code == 0
    assert invoke("mark-posted", "--to", f"cara:{kit}", "--skip", folders[1]).exit_code == 0
    posted_image = kit / "posts" / folders[0] / "01.jpg"
    before = posted_image.stat()
    # A newer download of the same account: the same posts plus two new ones, new rights.
    newer = export(tmp_path, posts_of(5), name="export-2")
    outcome, report2, path2 = run(newer, kit, rights={"creator": "New Name"})
    assert path2 == path  # the same journal continues
    assert not outcome.failed and outcome.already == 1 and set(outcome.skipped) == {ids[1]}
    got = states(path)
    assert got[ids[0]] == (J.POSTED, [(J.POSTED, "https://cara.app/post/0")])
    assert got[ids[1]][0] == J.SKIPPED
    assert len(got) == 5 and sum(state == J.PLANNED for state, _ in got.values()) == 3
    assert len(read_kit(kit)) == 5
    after = posted_image.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # marked: untouched
    assert inspect_image(posted_image.read_bytes()).rights["creator"] == "Old Name"
    pending = kit / "posts" / folders[2]
    assert inspect_image(next(pending.glob("*.jpg")).read_bytes()).rights["creator"] == "New Name"  # refreshed
    assert [r["status"] for r in checklist_rows(kit)] == ["posted", "skipped", "pending", "pending", "pending"]


def test_a_new_plan_for_a_pending_post_replaces_its_folders(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    root = export(tmp_path, [SynthPost(T0, "Six", [SynthMedia() for _ in range(6)])])
    run(root, kit, {"max_images_per_post": 2})
    assert len(read_kit(kit)) == 3
    run(root, kit, {"max_images_per_post": 3})
    assert [p.folder[-4:] for p in read_kit(kit)] == ["1of2", "2of2"]
    assert len(list((kit / "posts").iterdir())) == 2
    again = {p.folder: os.stat(kit / "posts" / p.folder).st_mtime_ns for p in read_kit(kit)}
    run(root, kit, {"max_images_per_post": 3})  # nothing changed: folders are not rewritten
    assert again == {p.folder: os.stat(kit / "posts" / p.folder).st_mtime_ns for p in read_kit(kit)}


def test_the_cli_migrates_into_a_kit_and_deleting_on_cara_is_explained(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    root = export(tmp_path, posts_of(2))
    result = invoke("migrate", str(root), "--to", f"cara:{kit}")
    assert result.exit_code == 0, result.output
    assert len(read_kit(kit)) == 2 and (kit / "index.html").exists()
    assert invoke("mark-posted", "--to", f"cara:{kit}", read_kit(kit)[0].folder).exit_code == 0
    rollback = invoke("rollback", "--to", f"cara:{kit}", "--yes")
    assert rollback.exit_code == 2 and "cannot delete posts there" in rollback.output
    assert folder_name("a/b?c", "2021-01-01T00:00:00Z", 0, 1).startswith("2021-01-01_a-b-c-")

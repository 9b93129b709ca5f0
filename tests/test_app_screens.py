"""`pindah app`'s screens over HTTP: find the export, places, plan and select, run, after,
the Cara kit, languages. Each test drives the app as the artist's browser would."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from pindah.migrator import journal as J
from pindah.migrator.app.finder import usual_places
from tests.app_support import AppClient, private_home


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return private_home(monkeypatch, tmp_path)


def _zip_folder(folder: Path, dest: Path, names: list[str] | None = None) -> None:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and (names is None or any(rel.startswith(n) for n in names)):
                zf.write(path, rel)


def test_the_usual_places_find_the_sample_folder_and_group_a_two_part_download(home: Path) -> None:
    sample = home / "Downloads" / "instagram-export"
    _zip_folder(sample, home / "Desktop.zip")  # not an export name: left out
    (home / "Desktop").mkdir()
    _zip_folder(sample, home / "Desktop" / "rina_20230606_part_1.zip", ["your_instagram_activity"])
    _zip_folder(sample, home / "Desktop" / "rina_20230606_part_2.zip", ["media"])
    found = {f.label: f for f in usual_places(home)}
    assert found["instagram-export"].paths == [str(sample)]
    assert [Path(p).name for p in found["rina_20230606"].paths] == ["rina_20230606_part_1.zip", "rina_20230606_part_2.zip"]
    assert "Desktop" not in found


def test_choosing_a_split_download_shows_the_inspect_summary_of_both_parts(home: Path) -> None:
    sample = home / "Downloads" / "instagram-export"
    (home / "Desktop").mkdir()
    _zip_folder(sample, home / "Desktop" / "rina_20230606_part_1.zip", ["your_instagram_activity"])
    _zip_folder(sample, home / "Desktop" / "rina_20230606_part_2.zip", ["media"])
    app = AppClient()
    choose = app.get("/choose")
    assert "2 parts of one download" in choose.text
    page = app.post("/export/choose", {"path": [str(home / "Desktop" / f"rina_20230606_part_{n}.zip") for n in (1, 2)]})
    assert page.url.path == "/export"
    assert "What is in your export" in page.text
    assert "2021-03-14 – 2025-02-14" in page.text  # the sample's first and last post
    assert re.search(r"<dt>Missing files</dt><dd class=\"good\">none</dd>", page.text)
    thumb = re.search(r'src="(/thumb/[^"]+)"', page.text).group(1)
    image = app.get(thumb)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"


def test_a_folder_that_is_no_export_says_why_and_keeps_nothing(home: Path) -> None:
    (home / "notes").mkdir()
    app = AppClient()
    page = app.post("/export/choose", {"typed": str(home / "notes")})
    assert "not an Instagram export pindah can read" in page.text
    assert app.app.state.workspace.session.export == []


def test_a_dropped_zip_is_streamed_to_disk_and_read(home: Path, tmp_path: Path) -> None:
    dropped = tmp_path / "instagram-rina.zip"
    _zip_folder(home / "Downloads" / "instagram-export", dropped)
    app = AppClient()
    chunks = (dropped.read_bytes()[i:i + 65536] for i in range(0, dropped.stat().st_size, 65536))
    answer = app.http.post("/export/upload", content=chunks,
                           headers={**app.origin, "x-csrf-token": app.keys.csrf, "x-file-name": "instagram-rina.zip"})
    assert answer.json() == {"next": "/export"}
    kept = Path(app.app.state.workspace.session.export[0])
    assert kept.read_bytes() == dropped.read_bytes() and kept.stat().st_mode & 0o077 == 0 or kept.parent.stat().st_mode & 0o077 == 0
    assert "8 (" in app.get("/export").text


def test_places_show_their_limits_and_the_rights_form_saves_to_the_config(home: Path, tmp_path: Path) -> None:
    app = AppClient()
    app.choose_sample(home)
    page = app.post("/places/folder", {"kind": "cara", "path": str(home / "kit")})
    assert "2000 code points" in page.text  # Cara's caption limit, from Capabilities.describe()
    assert "by you: pindah prepares each post" in page.text
    saved = app.post("/rights", {"creator": "Rina Wulandari", "copyright": "© Rina", "ai_optout": "yes", "protected": "*glazed*"})
    assert "Every picture pindah publishes will carry these rights" in saved.text
    config = (tmp_path / "config.toml").read_text()
    assert 'creator = "Rina Wulandari"' in config and 'protected = ["*glazed*"]' in config
    assert "DMI-PROHIBITED" in config


def test_unticked_posts_and_edited_texts_are_stored_beside_the_journals_and_shown(home: Path, tmp_path: Path) -> None:
    app = AppClient()
    app.choose_sample(home)
    app.post("/places/folder", {"kind": "folder", "path": str(home / "site")})
    plan = app.get("/plan")
    ids = re.findall(r'name="shown" value="(\w+)"', plan.text)
    assert len(ids) == 8 and "13 pictures without a description" in plan.text
    after = app.post("/plan/select", {"shown": ids, "keep": ids[2:]})
    assert "6 of 8 posts will be moved" in after.text
    assert "11 pictures without a description" in after.text  # the two left behind had one picture each
    edit = app.post(f"/post/{ids[2]}", {"caption": "Koi, finally finished", "alt_0": "A red koi under lily pads"})
    assert "Koi, finally finished" in edit.text
    assert "10 pictures without a description" in app.get("/plan").text
    stored = list((tmp_path / "state" / "edits").glob("*.json"))
    assert len(stored) == 1 and stored[0].stat().st_mode & 0o777 == 0o600
    data = json.loads(stored[0].read_text())
    assert sorted(data["excluded"]) == sorted(ids[:2]) and data["captions"] == {ids[2]: "Koi, finally finished"}
    # the filters
    assert len(re.findall(r'name="shown"', app.get("/plan", params={"year": "2021"}).text)) == 2


def moved_sample(home: Path, kind: str, folder: str) -> AppClient:
    """The app after the sample export was moved, whole, to a local place (a folder site or a Cara kit)."""
    app = AppClient()
    app.choose_sample(home)
    app.post("/places/folder", {"kind": kind, "path": str(home / folder)})
    app.post("/run/start")
    app.wait_for_run()
    return app


def test_a_run_publishes_the_chosen_posts_and_the_run_page_reads_the_journal(home: Path) -> None:
    app = AppClient()
    app.choose_sample(home)
    app.post("/places/folder", {"kind": "folder", "path": str(home / "site")})
    ids = re.findall(r'name="shown" value="(\w+)"', app.get("/plan").text)
    app.post("/plan/select", {"shown": ids, "keep": ids[1:]})
    app.post("/run/start")
    snapshot = app.wait_for_run()
    assert snapshot["targets"][0]["state"] == "done" and snapshot["targets"][0]["published"] == 7
    page = app.get("/run")
    assert "7 published, 0 to do, 0 failed, 0 skipped (from the journal)" in page.text
    assert ids[0] not in (home / "site" / "index.html").read_text()
    events = app.get("/run/state").json()
    assert events["running"] is False and events["targets"][0]["done"] == 7
    verify = app.post("/after/0/verify")
    assert "Checked 7 posts: 0 differences." in verify.text


@pytest.mark.parametrize("kind", ["folder", "cara"])
def test_a_place_on_this_computer_opens_through_the_app_at_its_front_page(home: Path, kind: str) -> None:
    app = moved_sample(home, kind, "place")
    assert 'href="/files/0/"' in app.get("/after").text
    front = app.get("/files/0/")
    assert front.status_code == 200 and "<html" in front.text.lower()
    assert front.text == (home / "place" / "index.html").read_text(encoding="utf-8")


def test_rollback_needs_the_typed_word_then_deletes_and_reads_back(home: Path) -> None:
    app = moved_sample(home, "folder", "site")
    refused = app.post("/after/0/rollback", {"confirm": "yes"})
    assert "Nothing was deleted: type folder" in refused.text
    assert app.app.state.workspace.target_state(app.app.state.workspace.session.targets[0]).counts[J.POSTED] == 8
    done = app.post("/after/0/rollback", {"confirm": "folder"})
    assert "8 post(s) deleted and checked gone." in done.text
    assert J.POSTED not in app.app.state.workspace.target_state(app.app.state.workspace.session.targets[0]).counts


def test_the_cara_kit_marks_posted_skip_and_undo_through_the_journal(home: Path) -> None:
    app = moved_sample(home, "cara", "kit")
    kit = app.get("/kit/0")
    labels = re.findall(r'name="label" value="([^"]+)"', kit.text)
    assert "0 of 9 posts done" in kit.text and len(labels) == 9
    image = re.search(r'src="(/files/0/posts/[^"]+)"', kit.text).group(1)
    assert app.get(image).status_code == 200
    app.post("/kit/0/mark", {"label": labels[0], "action": "posted", "url": "https://cara.app/post/rina1"})
    page = app.post("/kit/0/mark", {"label": labels[1], "action": "skipped"})
    assert "2 of 9 posts done" in page.text
    page = app.post("/kit/0/mark", {"label": labels[1], "action": "pending"})
    assert "1 of 9 posts done" in page.text
    done = app.get("/kit/0", params={"show": "done"}).text
    assert labels[0] in done and "https://cara.app/post/rina1" in done and labels[1] not in done
    bad = app.post("/kit/0/mark", {"label": labels[2], "action": "posted", "url": "javascript:alert(1)"})
    assert "full web address" in bad.text


def test_pages_speak_indonesian_from_the_browser_and_the_switch(home: Path) -> None:
    app = AppClient()
    page = app.get("/choose", headers={"accept-language": "id-ID,id;q=0.9,en;q=0.5"})
    assert '<html lang="id">' in page.text and "Cari unduhan Instagram-mu" in page.text
    assert "Find your Instagram download" in app.get("/choose", headers={"accept-language": "fr,en;q=0.5"}).text
    switched = app.post("/lang", {"lang": "id", "back": "/choose"})
    assert "Cari unduhan Instagram-mu" in switched.text
    assert "Find your Instagram download" in app.post("/lang", {"lang": "en", "back": "/choose"}).text


def test_the_indonesian_catalog_translates_every_message_of_the_app() -> None:
    from babel.messages.pofile import read_po

    from pindah.migrator.app.i18n import LOCALE_DIR

    with (LOCALE_DIR / "id" / "LC_MESSAGES" / "pindah_app.po").open("rb") as fh:
        catalog = read_po(fh)
    untranslated = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert len(catalog) > 150 and untranslated == []


def test_a_place_that_publishes_by_itself_has_no_kit_and_says_so(home: Path) -> None:
    app = AppClient()
    app.choose_sample(home)
    app.post("/places/folder", {"kind": "folder", "path": str(home / "site")})
    page = app.get("/kit/0")
    assert page.url.path == "/after" and "No kit to show" in page.text


def test_an_error_in_a_screen_is_one_line_on_the_page_never_a_traceback(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pindah.migrator.app import workspace
    from pindah.migrator.errors import PindahError

    app = AppClient()
    app.choose_sample(home)

    def broken(self: object) -> None:
        raise PindahError("your choices file cannot be read", "fix or delete it")
    monkeypatch.setattr(workspace.Workspace, "edits", broken)
    page = app.get("/plan")
    assert page.status_code == 200 and "Something could not be done: your choices file cannot be read." in page.text
    assert "Traceback" not in page.text

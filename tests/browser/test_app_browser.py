"""`pindah app` end to end in headless Chromium: what an artist clicks, checked on the target.

Screenshots of every step at 1280x800 and 390x844 land in out/app-screens/<test>/; every step
also checks labels, contrast (WCAG AA) and the phone width (browser_support.PAGE_CHECKS).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image

from pindah.migrator import journal as J
from tests.bluesky_pds import bluesky_pds_fixture  # noqa: F401 - the session's local PDS
from tests.browser.browser_support import AppProcess, Screens, browser

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "instagram-export"
WAIT = 120


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    shutil.copytree(SAMPLE, home / "Downloads" / "instagram-export")
    (tmp_path / "config.toml").write_text("# the artist's settings: none yet\n", encoding="utf-8")
    return {"PINDAH_APP_HOME": str(home), "PINDAH_STATE_DIR": str(tmp_path / "state"),
            "PINDAH_CACHE_DIR": str(tmp_path / "cache"), "PINDAH_CONFIG": str(tmp_path / "config.toml"),
            "HOME": str(home)}


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    chrome = browser(tmp_path)
    yield chrome
    chrome.quit()


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[AppProcess]:
    process = AppProcess(env).start()
    yield process
    process.stop()


def by_css(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def all_css(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def button(driver: Any, text: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.XPATH, f"//button[normalize-space()={text!r}] | //a[normalize-space()={text!r}]")


def wait_text(driver: Any, text: str, css: str = "body") -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The run page reloads itself when a run ends: an element may go stale while we look.
    WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
        lambda d: text in by_css(d, css).text)


def type_into(driver: Any, css: str, text: str) -> None:
    field = by_css(driver, css)
    field.clear()
    field.send_keys(text)


def to_the_places(driver: Any, app: AppProcess) -> None:
    """Use the sample export the app found, then open the places screen."""
    driver.get(app.address)
    button(driver, "Use this one").click()
    wait_text(driver, "What is in your export")
    driver.get(app.origin + "/places")


def choose_sample_and_place(driver: Any, app: AppProcess, shots: Screens, kind: str, folder: Path) -> None:
    driver.get(app.address)
    wait_text(driver, "Find your Instagram download")
    shots.shoot("1-find-export")
    button(driver, "Look through my folders").click()
    wait_text(driver, "Choose a folder or ZIP")
    shots.shoot("1-chooser")
    driver.back()
    button(driver, "Use this one").click()
    wait_text(driver, "What is in your export")
    assert "2021-03-14 – 2025-02-14" in driver.page_source
    shots.shoot("2-summary")
    driver.get(app.origin + "/places")
    type_into(driver, f"#{kind}-location", str(folder))  # every offered place: #<name>-location, #<name>-add
    by_css(driver, f"#{kind}-add").click()
    wait_text(driver, "Added:")
    shots.shoot("3-places")


def run_to_the_end(driver: Any, app: AppProcess, shots: Screens, journal_line: str) -> None:
    """Start the run, wait for the live figures to say done, then for the journal's own count."""
    driver.get(app.origin + "/run")
    button(driver, "Start / continue the move").click()
    wait_text(driver, "done · ", ".target .count")
    wait_text(driver, journal_line, ".target .state")
    shots.shoot("5-run-done")


def test_sample_to_a_folder_site_with_two_posts_left_out_and_one_alt_text(driver: Any, app: AppProcess,
                                                                           env: dict[str, str]) -> None:
    site = Path(env["PINDAH_APP_HOME"]) / "pindah-site"
    shots = Screens(driver, "folder-site")
    choose_sample_and_place(driver, app, shots, "folder", site)
    driver.get(app.origin + "/plan")
    boxes = all_css(driver, "input[name=keep]")
    left_out = [boxes[0].get_attribute("value"), boxes[1].get_attribute("value")]
    boxes[0].click()
    boxes[1].send_keys(" ")  # the keyboard works too
    button(driver, "Save my choice").click()
    wait_text(driver, "6 of 8 posts will be moved")
    shots.shoot("4-plan")
    edited = all_css(driver, "input[name=keep]")[2].get_attribute("value")
    driver.get(app.origin + f"/post/{edited}")
    type_into(driver, "#alt-0", "Red paper lanterns glowing at night")
    assert by_css(driver, "#alt-count-0").text == "35 characters"  # the counter follows the typing
    button(driver, "Save").click()
    wait_text(driver, "Saved. The export itself is never changed.")
    shots.shoot("4-post-edit", "#alt-0")
    run_to_the_end(driver, app, shots, "6 published, 0 to do, 0 failed")
    driver.get(app.origin + "/after")
    button(driver, "Check everything is there").click()
    wait_text(driver, "Checked 6 posts: 0 differences.")
    shots.shoot("6-after")
    # On the target: the two unticked posts are not on the site, the alt text is.
    pages = {p.name: p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    everything = "".join(pages.values())
    assert all(post_id not in everything for post_id in left_out)
    assert 'alt="Red paper lanterns glowing at night"' in everything
    _keyboard_reaches_the_page_with_a_visible_focus(driver)
    driver.get(app.origin + "/after")
    from selenium.webdriver.support.ui import Select

    Select(by_css(driver, "#lang-choice")).select_by_value("id")
    button(driver, "Change").click()
    wait_text(driver, "Setelah pemindahan")  # "After the move", in Bahasa Indonesia
    shots.shoot("7-after-bahasa-indonesia")
    driver.get(app.origin + "/files/0/index.html")  # the site, opened from the app
    assert len(all_css(driver, "img")) >= 6


def _keyboard_reaches_the_page_with_a_visible_focus(driver: Any) -> None:
    """Tab from the top: the first stop is "Skip to the content", shown, with a focus ring."""
    from selenium.webdriver.common.keys import Keys

    by_css(driver, "body").send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.text == "Skip to the content"
    ring = driver.execute_script("const s = getComputedStyle(document.activeElement); "
                                 "return [s.outlineStyle, s.outlineWidth, s.left];")
    assert ring[0] != "none" and ring[1] != "0px" and ring[2] == "0px"
    focused.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "main"


def test_cara_kit_mark_posted_skip_and_undo_are_seen_by_pindah_status(driver: Any, app: AppProcess,
                                                                       env: dict[str, str]) -> None:
    kit = Path(env["PINDAH_APP_HOME"]) / "cara-kit"
    shots = Screens(driver, "cara-kit")
    choose_sample_and_place(driver, app, shots, "cara", kit)
    run_to_the_end(driver, app, shots, "0 published, 8 to do, 0 failed")  # Cara: you publish
    driver.get(app.origin + "/after")
    button(driver, "Open the Cara kit and tick off posts").click()
    wait_text(driver, "0 of 9 posts done")
    shots.shoot("6-kit")
    type_into(driver, "input[name=url]", "https://cara.app/post/rina-1")
    button(driver, "Mark posted").click()
    wait_text(driver, "1 of 9 posts done")
    all_css(driver, "button[value=skipped]")[0].click()
    wait_text(driver, "2 of 9 posts done")
    driver.get(app.origin + "/kit/0?show=done")
    shots.shoot("7-kit-done")
    all_css(driver, "button[value=pending]")[-1].click()  # undo the skip (listed after the posted one)
    wait_text(driver, "1 of 9 posts done")
    status = subprocess.run([sys.executable, "-c", "from pindah.migrator.cli import main; main()", "status",
                             "--to", "cara"], env=app.env, capture_output=True, text=True, timeout=60)
    row = next(line for line in status.stdout.splitlines() if "cara" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[2:6] == ["1", "7", "0", "0"], status.stdout  # published, pending, failed, skipped (posts)


def _big_export(root: Path, posts: int) -> None:
    from tests.exportbuilder.corpus import big_export_posts
    from tests.exportbuilder.meta_json import write_meta_json

    def picture(post: Any, index: int, media: Any) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (640, 480), ((post.taken_at // 3600) % 256, 90, 140)).save(out, "JPEG", quality=85)
        return out.getvalue()

    write_meta_json(root, big_export_posts(posts, 1.0), media_content=picture)


def test_killing_the_app_mid_run_and_starting_again_finishes_every_post_exactly_once(
        driver: Any, env: dict[str, str], tmp_path: Path) -> None:
    home = Path(env["PINDAH_APP_HOME"])
    shutil.rmtree(home / "Downloads" / "instagram-export")
    _big_export(home / "Downloads" / "instagram-big", 150)
    site = home / "site"
    shots = Screens(driver, "kill-resume")
    first = AppProcess(env).start()
    to_the_places(driver, first)
    type_into(driver, "#folder-location", str(site))
    by_css(driver, "#folder-add").click()
    wait_text(driver, "Added:")
    driver.get(first.origin + "/run")
    button(driver, "Start / continue the move").click()
    journals = Path(env["PINDAH_STATE_DIR"]) / "journals"
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # Placed by progress, not by the clock: the live figures (Server-Sent Events, drawn by the
    # page's script) say some posts are done; then the app is killed.
    def live_done(d: Any) -> int:
        found = re.search(r"moving · (\d+) / 150", by_css(d, ".target .count").text)
        return int(found.group(1)) if found and int(found.group(1)) >= 3 else 0
    WebDriverWait(driver, WAIT, poll_frequency=0.02,
                  ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(live_done)
    paths = list(journals.glob("folder/*/*.sqlite"))
    shots.shoot("5-run-live")
    first.kill()
    states = J.peek_post_states(paths[0])
    done_before = sum(s == J.POSTED for s, _ in states.values())
    assert 5 <= done_before < 150, f"the run was not caught mid-way ({done_before} of 150 published)"
    second = AppProcess(env).start()  # continues the run by itself: the session says one was going
    try:
        driver.get(second.address)
        driver.get(second.origin + "/run")
        wait_text(driver, "150 published, 0 to do, 0 failed", ".target .state")
        shots.shoot("6-after-restart")
    finally:
        second.stop()
    states = J.peek_post_states(paths[0])
    assert len(states) == 150 and all(s == J.POSTED for s, _ in states.values())
    site_posts = json.loads((site / "posts.json").read_text(encoding="utf-8"))["posts"]
    captions = [part["text"] for post in site_posts for part in post["parts"]]
    assert len(site_posts) == 150 and len({p["post_id"] for p in site_posts}) == 150
    assert sorted(captions) == sorted(set(captions)) and len(list((site / "posts").glob("*.html"))) == 150


@pytest.mark.bluesky
def test_sample_to_the_local_bluesky_pds_through_the_app_password_form(driver: Any, env: dict[str, str],
                                                                      bluesky_pds: Any, tmp_path: Path) -> None:
    account = bluesky_pds.create_account("appform")
    app = AppProcess({**env, "PINDAH_BLUESKY_PDS": bluesky_pds.url}).start()
    shots = Screens(driver, "bluesky")
    seen: list[str] = []
    try:
        to_the_places(driver, app)
        type_into(driver, "#bluesky-location", account.handle)
        type_into(driver, "#bluesky-password", account.app_password)
        shots.shoot("3-bluesky-form", "#bluesky-h")
        by_css(driver, "#bluesky-add").click()
        wait_text(driver, f"Logged in to Bluesky as {account.handle}")
        seen.append(driver.page_source)
        shots.shoot("3-bluesky-added")
        driver.get(app.origin + "/run")
        button(driver, "Start / continue the move").click()
        wait_text(driver, "8 published, 0 to do, 0 failed", ".target .state")
        seen.append(driver.page_source)
        shots.shoot("5-run-done")
        driver.get(app.origin + "/after")
        button(driver, "Check everything is there").click()
        wait_text(driver, "0 differences.")
        seen.append(driver.page_source)
        shots.shoot("6-after")
    finally:
        seen.append(app.stop())  # what the app printed in its window
    records = bluesky_pds.list_records(account.did)
    journal = next((Path(env["PINDAH_STATE_DIR"]) / "journals" / "bluesky").glob("*/*.sqlite"))
    parts = J.peek_parts(journal)
    assert len(records) == len(parts) == len({r["uri"] for r in records}) and len(records) >= 8
    assert all(p.state == J.POSTED for p in parts)
    assert all(account.app_password not in text for text in seen)
    kept = [p.read_bytes() for p in Path(env["PINDAH_STATE_DIR"]).rglob("*") if p.is_file()]
    assert all(account.app_password.encode() not in data for data in kept)


@pytest.mark.mastodon
def test_sample_to_snac_through_the_oauth_redirect(driver: Any, env: dict[str, str], tmp_path: Path) -> None:
    from tests.snac_server import USER, SnacServer, in_ci, snac_missing

    missing = snac_missing()
    if missing:
        (pytest.fail if in_ci() else pytest.skip)(missing)
    with SnacServer(tmp_path / "snac") as snac:
        app = AppProcess({**env, "PINDAH_MASTODON_TOKEN_STORE": "file"}).start()
        shots = Screens(driver, "mastodon")
        try:
            to_the_places(driver, app)
            type_into(driver, "#mastodon-location", snac.url)
            by_css(driver, "#mastodon-add").click()
            wait_text(driver, "Open the login page, log in there")
            shots.shoot("3-oauth-wait")
            app_tab = driver.current_window_handle
            by_css(driver, "#authorize").click()
            driver.switch_to.window(next(h for h in driver.window_handles if h != app_tab))
            type_into(driver, "input[name=login]", USER)
            type_into(driver, "input[name=passwd]", snac.password)
            by_css(driver, "input[name=passwd]").submit()  # snac's own login form
            wait_text(driver, "pindah is logged in")  # the loopback redirect caught the code
            driver.close()
            driver.switch_to.window(app_tab)
            wait_text(driver, "Logged in. pindah keeps the login")  # the waiting page went back by itself
            shots.shoot("3-oauth-done")
            run_to_the_end(driver, app, shots, "8 published, 0 to do, 0 failed")
        finally:
            app.stop()
        assert len(snac.statuses()) >= 8
        journal = next((Path(env["PINDAH_STATE_DIR"]) / "journals" / "mastodon").glob("*/*.sqlite"))
        assert len(snac.statuses()) == len(J.peek_parts(journal))

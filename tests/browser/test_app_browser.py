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
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image

from pindah.migrator import journal as J
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


def choose_sample_and_place(driver: Any, app: AppProcess, shots: Screens, kind: str, folder: Path) -> None:
    driver.get(app.address)
    wait_text(driver, "Find your Instagram download")
    shots.shoot("1-find-export")
    button(driver, "Use this one").click()
    wait_text(driver, "What is in your export")
    assert "2021-03-14 – 2025-02-14" in driver.page_source
    shots.shoot("2-summary")
    driver.get(app.origin + "/places")
    type_into(driver, "#folder-path" if kind == "folder" else "#cara-path", str(folder))
    button(driver, "Add the website" if kind == "folder" else "Add Cara").click()
    wait_text(driver, "Added:")
    shots.shoot("3-places")


def run_to_the_end(driver: Any, app: AppProcess, shots: Screens, posts: int) -> None:
    driver.get(app.origin + "/run")
    button(driver, "Start / continue the move").click()
    wait_text(driver, f"{posts} published, 0 to do, 0 failed", ".target .state")
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
    type_into(driver, "#alt-0", "Red koi under green lily pads")
    assert by_css(driver, "#alt-count-0").text.startswith("29")  # the counter follows the typing
    button(driver, "Save").click()
    wait_text(driver, "Saved. The export itself is never changed.")
    shots.shoot("4-post-edit")
    run_to_the_end(driver, app, shots, 6)
    driver.get(app.origin + "/after")
    button(driver, "Check everything is there").click()
    wait_text(driver, "Checked 6 posts: 0 differences.")
    shots.shoot("6-after")
    # On the target: the two unticked posts are not on the site, the alt text is.
    pages = {p.name: p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    everything = "".join(pages.values())
    assert all(post_id not in everything for post_id in left_out)
    assert 'alt="Red koi under green lily pads"' in everything
    driver.get(app.origin + "/files/0/index.html")  # the site, opened from the app
    assert len(all_css(driver, "img")) >= 6


def test_cara_kit_mark_posted_skip_and_undo_are_seen_by_pindah_status(driver: Any, app: AppProcess,
                                                                       env: dict[str, str]) -> None:
    kit = Path(env["PINDAH_APP_HOME"]) / "cara-kit"
    shots = Screens(driver, "cara-kit")
    choose_sample_and_place(driver, app, shots, "cara", kit)
    run_to_the_end(driver, app, shots, 0)
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
    driver.get(first.address)
    button(driver, "Use this one").click()
    wait_text(driver, "What is in your export")
    driver.get(first.origin + "/places")
    type_into(driver, "#folder-path", str(site))
    button(driver, "Add the website").click()
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

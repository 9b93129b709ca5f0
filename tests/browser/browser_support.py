"""Driving the real `pindah app` in Debian's headless Chromium (chromium + chromium-driver,
installed by .ci/run). Nothing is downloaded at run time: Selenium Manager is switched off
(SE_OFFLINE) and pointed at /usr/bin/chromedriver; the browser gets a fresh profile and no
background networking.

`AppProcess` starts `pindah app --no-browser` as a child process (so a test can SIGKILL it)
and reads the address it prints. `Screens` saves screenshots of each step at 1280x800 and
390x844 in out/app-screens/ (ignored by git), and checks each page as it goes: every control
labelled, no text under WCAG AA contrast, nothing wider than the phone screen.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENS = REPO / "out" / "app-screens"
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SIZES = ((1280, 800), (390, 844))
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--force-device-scale-factor=1")


def browser(tmp_path: Path) -> Any:
    if not (CHROMIUM.exists() and DRIVER.exists()):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: .ci/run installs them")
        pytest.skip("chromium / chromium-driver not installed (apt install chromium chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver or browser
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1280,800")
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


class AppProcess:
    """`pindah app --no-browser` in a child process, with the test's private folders."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""

    def start(self) -> "AppProcess":
        self.proc = subprocess.Popen([sys.executable, "-c", "from pindah.migrator.cli import main; main()",
                                      "app", "--no-browser"], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        assert first.startswith("pindah is open at http://127.0.0.1:"), first
        self.address = first.split(" at ", 1)[1].strip()
        return self

    @property
    def origin(self) -> str:
        return self.address.split("/?", 1)[0]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> str:
        """Ctrl-C, as the artist would; returns what the app printed."""
        if self.proc is None or self.proc.poll() is not None:
            return ""
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        return out


# Run in the page: what an artist using a keyboard, a screen reader or a phone would miss.
PAGE_CHECKS = r"""
function lum(c) { const v = c.match(/[\d.]+/g).slice(0, 3).map(Number).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
function bg(el) { while (el) { const c = getComputedStyle(el).backgroundColor; const a = c.match(/[\d.]+/g);
  if (a && (a.length < 4 || Number(a[3]) > 0.9)) { return c; } el = el.parentElement; } return "rgb(255,255,255)"; }
const problems = [];
document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(el => {
  if (el.classList.contains("visually-hidden")) { return; }
  if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) { problems.push("unlabelled " + el.outerHTML.slice(0, 80)); } });
document.querySelectorAll("button, a").forEach(el => { if (!el.textContent.trim() && !el.getAttribute("aria-label")) { problems.push("nameless " + el.outerHTML.slice(0, 80)); } });
document.querySelectorAll("img").forEach(el => { if (!el.hasAttribute("alt")) { problems.push("img without alt " + el.src); } });
document.querySelectorAll("p, a, button, label, dt, dd, h1, h2, h3, li, span, strong, summary, code, em").forEach(el => {
  if (!el.offsetParent || !Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())) { return; }
  if (el.closest("button:disabled")) { return; }
  const style = getComputedStyle(el); const a = lum(style.color), b = lum(bg(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) { problems.push("contrast " + ratio.toFixed(2) + " " + el.tagName + " " + el.textContent.trim().slice(0, 40)); } });
if (document.documentElement.scrollWidth > window.innerWidth + 1) { problems.push("wider than the screen: " + document.documentElement.scrollWidth); }
return problems;
"""


class Screens:
    """Screenshots of each step at both sizes, and the page checks at each size."""

    def __init__(self, driver: Any, test: str) -> None:
        self.driver = driver
        self.folder = SCREENS / test
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)

    def shoot(self, step: str, show: str | None = None) -> None:
        """Check and photograph the page at both sizes; `show`: a CSS selector to scroll to."""
        for width, height in SIZES:
            self.driver.set_window_size(width, height)
            self.driver.execute_script("window.scrollTo(0, 0)")
            problems = self.driver.execute_script(PAGE_CHECKS)  # the whole page, before scrolling
            if show:
                self.driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", show)
            self.driver.save_screenshot(str(self.folder / f"{step}-{width}x{height}.png"))
            assert problems == [], f"{step} at {width}px: {problems}"
        self.driver.set_window_size(*SIZES[0])

"""Hostile text: control characters, terminal escapes, Rich markup, huge and unusual-Unicode captions,
and scripts in an HTML export never reach a terminal, the site or a report as live content.

The harness (`migrate`, `refused`, `survived`, the export builders) is in tests/hostile_support.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup

from tests import figures
from tests.exportbuilder.html import write_html_export
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.hostile_support import ROOT, T, export_with, good_post, survived

pytestmark = pytest.mark.integration


# -- captions ---------------------------------------------------------------------------------------------
def test_nul_and_control_characters_in_a_caption_never_reach_the_output_raw(request, tmp_path):
    caption = "Ink\x00 study\x01 with\x07 bell\x08 and \x0b\x0c form feed\x7f"
    root = export_with(tmp_path, [SynthPost(T, caption, [SynthMedia()]), good_post()], mojibake=False)
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    published = next(t for t in out.site_texts() if t.startswith("Ink"))
    assert "\x00" not in published and published.startswith("Ink study")
    assert "\x00" not in (out.tmp / "report.json").read_text() and "\x00" not in out.done.stdout


def test_escape_sequences_in_file_names_never_reach_the_terminal(request, tmp_path):
    name = "x\x1b]52;c;cGluZGFo\x07\x1b[2J"
    root = export_with(tmp_path, [SynthPost(T, "Missing with a hostile name", [SynthMedia(), SynthMedia(missing=True, name=name)]),
                                  good_post()])
    out = survived(request, tmp_path, root)
    inspect = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "inspect", str(root)], capture_output=True,
                             text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    for text in (out.done.stdout, out.done.stderr, inspect.stdout, inspect.stderr):
        assert "\x1b" not in text, repr(text[-300:])


def test_rich_markup_in_a_file_name_does_not_break_inspect(request, tmp_path):
    figures.add(request, "hostile inputs tried")
    root = export_with(tmp_path, [SynthPost(T, "Odd name", [SynthMedia(), SynthMedia(missing=True, name="[/x]oops")])])
    done = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "inspect", str(root)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[/x]oops" in done.stdout


def test_a_100000_character_caption_is_kept_whole_on_the_site(request, tmp_path):
    caption = ("Ten years of sketchbooks, page by page. " * 2500)[:100_000]
    root = export_with(tmp_path, [SynthPost(T, caption, [SynthMedia()])])
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    assert out.site_texts()[0].startswith(caption.strip()[:5000])
    assert caption.strip() in out.site_texts()[0]


@pytest.mark.parametrize("caption", ["🎨🖌️👩🏽‍🎨🏳️‍🌈", "\u202eevil\u202c gpj.exe \u2066isolated\u2069 \u200f", "ﷺ" * 40,
                                     "Z̷̢̛̪a̶̡͙l̸̨̛g̷o̵̢ ̶t̵e̵x̶t̴", "\ufeffBOM at the start \ufffe and \uffff"])
def test_unusual_unicode_captions_are_published_exactly(request, tmp_path, caption):
    root = export_with(tmp_path, [SynthPost(T, caption, [SynthMedia()]), good_post()])
    out = survived(request, tmp_path, root)
    assert out.done.returncode == 0
    published = [t for t in out.site_texts() if not t.startswith("A good post")]
    assert published == [caption.strip()] or published[0].startswith(caption.strip())
    # In the HTML report a caption sits in its own direction-isolated block: an RLO in it
    # can't reverse the report's own words around it.
    soup = BeautifulSoup((out.tmp / "report.html").read_text("utf-8"), "html.parser")
    holders = [t.parent for t in soup.find_all(string=lambda s: s and caption.strip()[:6] in s)]
    assert holders and all(h.get("dir") == "auto" for h in holders)


# -- HTML export with scripts, and the HTML report -------------------------------------------------------
HOSTILE_TEXT = '<script>alert("caption")</script> & <img src=x onerror=alert(2)> "quoted" \'single\''


def _no_active_content(html_text: str, where: str) -> BeautifulSoup:
    soup = BeautifulSoup(html_text, "html.parser")
    assert soup.find("script") is None, f"{where}: a <script> element"
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith("on"), f"{where}: <{tag.name} {attr}=...>"
            if attr in ("href", "src", "action", "formaction"):
                assert not str(value).strip().lower().startswith(("javascript:", "vbscript:")), f"{where}: {attr}={value}"
    return soup


def test_an_html_export_with_script_tags_is_shown_escaped_in_the_report_and_on_the_site(request, tmp_path):
    root = tmp_path / "export"
    write_html_export(root, [SynthPost(T, HOSTILE_TEXT, [SynthMedia()]), SynthPost(T + 3600, "Plain post", [SynthMedia()])])
    page = root / "your_instagram_activity/media/posts_1.html"
    raw = page.read_text("utf-8")
    # Live script inside the post box and in the page, as a tampered export would carry them.
    raw = raw.replace("Plain post", "Plain post<script>document.title='pwned-raw'</script>"
                                    "<img src=x onerror=\"alert('raw')\">", 1)
    raw = raw.replace("</body>", "<script src=\"https://evil.example/x.js\"></script></body>")
    page.write_text(raw, "utf-8")
    out = survived(request, tmp_path, root)
    report = (out.tmp / "report.html").read_text("utf-8")
    soup = _no_active_content(report, "report.html")
    assert '<script>alert("caption")</script>' in soup.get_text()  # shown, as text
    for page_path in (out.tmp / "site").rglob("*.html"):
        _no_active_content(page_path.read_text("utf-8"), str(page_path))
    assert "evil.example" not in report


def test_the_dry_run_html_report_escapes_everything_it_shows(request, tmp_path):
    """Every field the report shows (caption, file name, reason, export path) carries markup."""
    root = tmp_path / "export<b>"
    write_meta_json(root, [SynthPost(T, HOSTILE_TEXT, [SynthMedia(), SynthMedia(missing=True, name='"><img src=x onerror=alert(3)>')]),
                           SynthPost(T + 60, "Second", [SynthMedia("mp4")])])
    figures.add(request, "hostile inputs tried")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(tmp_path / "state"), "PINDAH_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "plan", str(root), "--html", str(tmp_path / "plan.html")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    soup = _no_active_content((tmp_path / "plan.html").read_text("utf-8"), "plan.html")
    text = soup.get_text()
    assert '<script>alert("caption")</script>' in text and "export<b>" in text and "<img src=x onerror=alert(3)>" in text

"""The harness of the hostile-export tests (tests/test_hostile_*.py).

Hostile and broken exports, beyond tests/test_bad_input.py: each one ends either in one clear
'Error:' line with exit 2 or in a run whose report gives the left-out post or file its reason.
Always: no traceback, the export untouched (every file hashed before and after, links included),
nothing read from outside the export, and only legal rows in the journal (opened with sqlite3).

Each case runs the real CLI (`python -m migrator.cli migrate EXPORT --to folder:SITE --json
--html`) in a child process with its own state and cache folders.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image
from pindah.adapters.toolkit.files import file_sha256

from tests import figures
from tests.chaos_support import journal_problems
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost


ROOT = Path(__file__).resolve().parent.parent
T = 1_600_000_000
POSTS_JSON = "your_instagram_activity/media/posts_1.json"


# -- harness ---------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root: file hashes, link targets (never followed), folder modes."""
    out: dict[str, str] = {}
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = "link->" + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                out[rel] = file_sha256(path) + f" {oct(info.st_mode)}"
            else:
                out[rel] = f"dir {oct(info.st_mode)}"
    return out


@dataclass
class Outcome:
    done: subprocess.CompletedProcess[str]
    tmp: Path

    @property
    def said(self) -> str:
        return " ".join((self.done.stdout + self.done.stderr).split())

    def report(self) -> dict[str, Any]:
        return json.loads((self.tmp / "report.json").read_text("utf-8"))

    def post(self, caption_start: str) -> dict[str, Any]:
        return next(p for p in self.report()["posts"] if p["caption"].startswith(caption_start))

    def site_posts(self) -> list[dict[str, Any]]:
        data = json.loads((self.tmp / "site" / "posts.json").read_text("utf-8"))
        return data["posts"] if isinstance(data, dict) else data

    def site_texts(self) -> list[str]:
        return ["\n\n".join(part["text"] for part in post["parts"]) for post in self.site_posts()]

    def written(self) -> list[Path]:
        """Every file pindah wrote: state, cache, site, reports."""
        places = [self.tmp / n for n in ("state", "cache", "site", "report.json", "report.html", "config")]
        return [f for place in places for f in ([place] if place.is_file() else place.rglob("*")) if f.is_file()]


def migrate(request: pytest.FixtureRequest, tmp: Path, *exports: Path, extra: list[str] = ()) -> Outcome:
    """Run `pindah migrate` on a hostile export and check what every case must hold."""
    figures.add(request, "hostile inputs tried")
    before = {str(e): snapshot(e) for e in exports}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(tmp / "state"), "PINDAH_CACHE_DIR": str(tmp / "cache"),
            "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp / "config"), "COLUMNS": "2000"}
    done = subprocess.run([sys.executable, "-m", "pindah.migrator.cli", "migrate", *map(str, exports),
                           "--to", f"folder:{tmp / 'site'}", "--json", str(tmp / "report.json"),
                           "--html", str(tmp / "report.html"), *extra],
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=tmp)
    text = done.stdout + done.stderr
    assert "Traceback" not in text, text[-4000:]
    assert done.returncode in (0, 1, 2), f"exit {done.returncode}: {text[-3000:]}"
    assert {str(e): snapshot(e) for e in exports} == before, "the export was changed"
    assert journal_problems(tmp / "state", finished=True) == []
    return Outcome(done, tmp)


def refused(request, tmp: Path, *exports: Path, words: tuple[str, ...]) -> str:
    """Exit 2 with one 'Error:' line naming the problem; nothing written anywhere."""
    out = migrate(request, tmp, *exports)
    assert out.done.returncode == 2, out.said
    assert out.done.stdout == ""
    lines = [line for line in out.done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), out.done.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    assert not (tmp / "state").exists() and not (tmp / "site").exists() and not (tmp / "report.json").exists()
    return lines[0]


def survived(request, tmp: Path, *exports: Path) -> Outcome:
    out = migrate(request, tmp, *exports)
    assert out.done.returncode in (0, 1), out.said
    return out


def good_post(taken: int = T + 86400 * 30, caption: str = "A good post among the bad ones") -> SynthPost:
    return SynthPost(taken, caption, [SynthMedia(width=20, height=10)])


def export_with(tmp: Path, posts: list[SynthPost], **kw: Any) -> Path:
    root = tmp / "export"
    write_meta_json(root, posts, **kw)
    return root


def edit_posts_json(root: Path, edit: Callable[[Any], Any]) -> None:
    """Rewrite posts_1.json (as plain UTF-8 JSON: pindah's mojibake fix leaves ASCII alone)."""
    path = root / POSTS_JSON
    data = json.loads(path.read_text())
    path.write_text(json.dumps(edit(data)))


def entries(data: Any) -> list[dict[str, Any]]:
    return data if isinstance(data, list) else [data]


def jpeg(width: int = 200, height: int = 150, seed: int = 1) -> bytes:
    img = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()

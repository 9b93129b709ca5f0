"""The folder target (a portfolio site) in a temporary folder, read back from its posts.json
and the media files it serves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pindah.adapters.folder import FolderAdapter
from tests.chaos_support import Published
from tests.targets import TargetUnderTest, Variant, files_in


def read_site(site: Path) -> list[Published]:
    """Each part of each post page, as posts.json lists it; a part continues the one before."""
    if not (site / "posts.json").exists():
        return []
    data = json.loads((site / "posts.json").read_text("utf-8"))
    published = []
    for entry in data["posts"] if isinstance(data, dict) else data:
        previous = None
        for part in sorted(entry["parts"], key=lambda p: p["index"]):
            published.append(Published(part["key"], part["text"], previous,
                                       [(site / m["path"]).read_bytes() for m in part["media"]]))
            previous = part["key"]
    return published


@contextmanager
def open_site(request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    site = tmp / "site"
    yield TargetUnderTest("folder", f"folder:{site}", {}, lambda: read_site(site),
                          FolderAdapter(str(site), {}).caps, files=lambda: files_in(site))


VARIANTS = (Variant("folder", "folder", open_site),)

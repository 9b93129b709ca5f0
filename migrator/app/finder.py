"""Finding the export: the usual places, a chooser that stays inside the home folder, uploads.

`usual_places` looks in the home folder, Downloads and Desktop (and one level below them) for
Instagram ZIPs and export folders, and groups the ZIPs of one split download together
(`rina_20230606_part_1.zip`, `..._part_2.zip`; `instagram-rina-2025-10-29-AbCd.zip` and
`-EfGh.zip` of the same day). `listing` is the server-side chooser: it shows folders and ZIPs
inside the home folder only (a path outside it is accepted only when typed in full).
`receive_upload` streams a dropped ZIP to disk in chunks, never holding it in memory.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

from pindah.adapters.toolkit.paths import state_dir

_PART = re.compile(r"(?i)[_ -]part[_ -]?\d+$|\s*\(\d+\)$")
_DATED = re.compile(r"(?i)^(instagram-.+-\d{4}-\d{2}-\d{2})-[A-Za-z0-9]+$")
_MARKERS = ("your_instagram_activity", "content", "media.json", "personal_information")
MAX_UPLOAD = 64 << 30  # a very large account's part; a bound, so a runaway upload stops


@dataclass
class Found:
    """One export the app found: its paths (several for a split download) and a short label."""

    label: str
    paths: list[str] = field(default_factory=list)
    size: int = 0


def home() -> Path:
    return Path(os.environ.get("PINDAH_APP_HOME") or Path.home()).resolve()


def _group_key(path: Path) -> str:
    stem = _PART.sub("", path.stem)
    dated = _DATED.match(stem)
    return str(path.parent / (dated.group(1) if dated else stem))


def looks_like_export_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" and ("instagram" in path.name.lower() or bool(_PART.search(path.stem))
                                              or re.search(r"_\d{8}", path.stem) is not None)


def looks_like_export_folder(path: Path) -> bool:
    try:
        names = {p.name for p in path.iterdir()}
    except OSError:
        return False
    return any(m in names for m in _MARKERS) or any(n.endswith(".json.xz") for n in list(names)[:200])


def usual_places(root: Path | None = None) -> list[Found]:
    root = root or home()
    places = [root, root / "Downloads", root / "Desktop", root / "Unduhan"]  # "Unduhan": Indonesian Downloads
    candidates: list[Path] = []
    for place in places:
        for depth_one in _children(place):
            candidates.append(depth_one)
            if depth_one.is_dir() and not looks_like_export_folder(depth_one) and place != root:
                candidates.extend(_children(depth_one))
    groups: dict[str, Found] = {}
    seen: set[Path] = set()
    for path in candidates:
        if path in seen:
            continue
        seen.add(path)
        if path.is_file() and looks_like_export_zip(path):
            key = _group_key(path)
            found = groups.setdefault(key, Found(Path(key).name))
            found.paths.append(str(path))
            found.size += path.stat().st_size
        elif path.is_dir() and looks_like_export_folder(path):
            groups[str(path)] = Found(path.name, [str(path)])
    for found in groups.values():
        found.paths.sort()
    return sorted(groups.values(), key=lambda f: f.label.lower())


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))[:500]
    except OSError:
        return []


@dataclass
class Listing:
    folder: Path
    parent: Path | None
    entries: list[tuple[str, Path, bool]]  # name, path, is a folder


def inside_home(path: Path) -> bool:
    try:
        path.resolve().relative_to(home())
        return True
    except ValueError:
        return False


def listing(folder: str | None) -> Listing:
    """The chooser's view of `folder` (the home folder when None or outside it)."""
    path = Path(folder).expanduser().resolve() if folder else home()
    if not inside_home(path) or not path.is_dir():
        path = home()
    entries = [(p.name, p, p.is_dir()) for p in _children(path)
               if p.is_dir() or p.suffix.lower() == ".zip"]
    parent = path.parent if path != home() else None
    return Listing(path, parent, entries)


def typed_path(text: str) -> Path | None:
    """A path the artist typed in full (absolute, or from ~): accepted anywhere if it exists."""
    raw = text.strip()
    if not raw or not (raw.startswith("/") or raw.startswith("~")):
        return None
    path = Path(raw).expanduser().resolve()
    return path if path.exists() else None


def uploads_dir() -> Path:
    return state_dir() / "app" / "uploads"


async def receive_upload(name: str, chunks: AsyncIterator[bytes]) -> Path:
    """Write a dropped ZIP to pindah's uploads folder, chunk by chunk; returns its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "export"
    if not safe.lower().endswith(".zip"):
        safe += ".zip"
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload.", suffix=".part")
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in chunks:
                written += len(chunk)
                if written > MAX_UPLOAD:
                    raise ValueError("the file is larger than any Instagram export part")
                fh.write(chunk)
        dest = folder / safe
        os.replace(tmp, dest)
        return dest
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

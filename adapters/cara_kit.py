"""The Cara upload kit on disk: one folder per Cara post, read back, and the checklist.

Layout (DIR is what follows `--to cara:`):

    DIR/index.html               the page to keep open beside Cara (adapters/cara_page.py)
    DIR/checklist.csv            one row per Cara post; edit status/cara_url, then
                                 `pindah mark-posted --to cara:DIR --checklist`
    DIR/posts/<date>_<id>[_<i>of<N>]/
        01.jpg 02.png ...        the prepared images, numbered by their place in the carousel
        caption.txt              exactly what to paste (fitted to the caption limit)
        title.txt                a suggested portfolio title
        alt.txt                  each image's description, one block per image
        manifest.json            all of the above, machine-readable (`KitPost`)
    DIR/robots.txt, ai.txt, .well-known/tdmrep.json   the web opt-out signals, should the
                                 folder ever be put online (the same files as the folder site)

Each folder's manifest.json is the truth about that folder: the page and the checklist are
drawn from the manifests (plus the journal's marks), so there is no second state file to
drift. A folder whose post is split into parts says so in its name (`_2of5`), so a file
browser lists the kit oldest first and the parts in order.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pindah.adapters.toolkit.files import safe_name

KIT_FORMAT = "pindah-cara-kit/1"
CHECKLIST = "checklist.csv"
COLUMNS = ("folder", "date", "part", "images", "title", "status", "cara_url", "marked_at", "post_id")
_FOLDER = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})_(?P<id>[A-Za-z0-9_-]+?)(?:_(?P<i>\d+)of(?P<n>\d+))?$")
_POSTED_WORDS = {"posted", "done", "yes", "y", "x", "✓", "✔", "ok"}
_SKIPPED_WORDS = {"skipped", "skip", "no", "n", "-"}
_PENDING_WORDS = {"", "pending", "todo", "to do", "not yet"}


@dataclass
class KitImage:
    file: str  # "05.jpg": number = place in the Instagram carousel
    mime: str
    width: int | None
    height: int | None
    bytes: int
    sha256: str
    alt: str | None
    source: str  # export-relative path of the original
    data_mining: str | None = None  # the IPTC data-mining code the file carries, read back


@dataclass
class KitPost:
    """One Cara post: one folder. `part` is 1-based, as the folder name and the page show it."""

    key: str  # the engine's idempotency key "<post id>#<part index>"
    post_id: str
    part: int
    parts: int
    folder: str
    taken_at: str  # the Instagram time, ISO 8601 UTC
    title: str
    caption: str
    tags: list[str]
    images: list[KitImage] = field(default_factory=list)

    @property
    def date(self) -> str:
        return self.taken_at[:10]

    def manifest(self) -> dict[str, Any]:
        return {"format": KIT_FORMAT, **asdict(self)}

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> "KitPost":
        if data.get("format") != KIT_FORMAT:
            raise ValueError("not a pindah Cara kit manifest")
        fields_ = {k: v for k, v in data.items() if k != "format"}
        fields_["images"] = [KitImage(**image) for image in data.get("images", [])]
        return cls(**fields_)


def folder_name(post_id: str, taken_at: str, part_index: int, part_count: int) -> str:
    """`2021-05-02_<id>`, or `2021-05-02_<id>_2of5` (zero-padded past 9: 01of12 sorts first)."""
    clean = safe_name(post_id)  # the folder site's rule for safe file names
    if part_count <= 1:
        return f"{taken_at[:10]}_{clean}"
    width = len(str(part_count))
    return f"{taken_at[:10]}_{clean}_{part_index + 1:0{width}d}of{part_count}"


def parse_folder_name(name: str) -> tuple[str, int | None] | None:
    """`2021-05-02_abc_2of5` -> ("abc", 1); `2021-05-02_abc` -> ("abc", None) (the whole post)."""
    found = _FOLDER.match(name)
    if found is None:
        return None
    return found["id"], (int(found["i"]) - 1 if found["i"] else None)


def read_post(folder: Path) -> KitPost | None:
    try:
        return KitPost.from_manifest(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def read_kit(root: Path) -> list[KitPost]:
    """Every readable folder of the kit, oldest first, parts in order."""
    posts_dir = root / "posts"
    if not posts_dir.is_dir():
        return []
    found = [post for folder in posts_dir.iterdir()
             if folder.is_dir() and not folder.name.startswith(".") and (post := read_post(folder)) is not None
             and post.folder == folder.name]
    return sorted(found, key=lambda p: (p.taken_at, p.post_id, p.part))


def alt_text_file(images: list[KitImage]) -> str:
    blocks = [f"{image.file}\n{image.alt or '(no description yet: write one on Cara)'}" for image in images]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


# -- the checklist ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChecklistRow:
    line: int
    folder: str
    status: str  # normalised: pending | posted | skipped
    url: str


def render_checklist(posts: list[KitPost], marks: dict[str, Any]) -> str:
    """The CSV text (with a BOM, so spreadsheet programs read the UTF-8 right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for post in posts:
        mark = marks.get(post.key)
        writer.writerow([post.folder, post.date, f"{post.part}/{post.parts}", len(post.images), post.title,
                         getattr(mark, "state", "pending"), getattr(mark, "url", None) or "",
                         getattr(mark, "marked_at", None) or "", post.post_id])
    return "\ufeff" + out.getvalue()


def read_checklist(text: str) -> tuple[list[ChecklistRow], list[str]]:
    """Rows the artist filled in, and one message per line that can't be understood.

    Spreadsheets save CSV their own way: a BOM, ";" or tab as separator in many locales,
    columns moved around. Columns are found by name; only folder, status and cara_url matter."""
    text = text.lstrip("\ufeff")
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    if "folder" not in header or "status" not in header:
        return [], ["line 1: the header must name the columns folder and status (as pindah wrote it)"]
    at = {name: header.index(name) for name in header}
    rows: list[ChecklistRow] = []
    problems: list[str] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        folder, raw, url = (cells[at[n]].strip() if n in at and at[n] < len(cells) else ""
                            for n in ("folder", "status", "cara_url"))
        word = raw.lower()
        status = ("posted" if word in _POSTED_WORDS else "skipped" if word in _SKIPPED_WORDS
                  else "pending" if word in _PENDING_WORDS else None)
        if status is None:
            problems.append(f"line {number}: status {raw!r} is not pending, posted or skipped")
        elif url and not url.lower().startswith(("https://", "http://")):
            problems.append(f"line {number}: cara_url {url!r} is not a web address")
        elif not folder:
            problems.append(f"line {number}: the folder column is empty")
        else:
            # A pasted URL is the artist saying "posted", even if the status was not changed.
            rows.append(ChecklistRow(number, folder, "posted" if url and status == "pending" else status, url))
    return rows, problems

"""The Cara kit's index.html: the page an artist keeps open beside cara.app.

One card per Cara post, oldest first: its pictures, title, caption, tags and image
descriptions, each with a copy button, the folder to pick the files from, its state (to do,
posted with its link, skipped) and the command that marks it. Above, the progress and a link
to the next post to do; below, the AI-training switches no file can carry, platform by
platform, and what the files themselves carry.

Drawn with the toolkit's templates (`kit.html`, extending the shared base; `kit.css`,
`kit.js`), so every piece of text is escaped: captions and alt texts are user input.
Self-contained: inline CSS, a few lines of inline JavaScript for the copy buttons (without
JavaScript the buttons stay hidden and every text is plain, selectable text), pictures from
the kit's own folders, nothing from the network. The cards show small previews, made once
per picture into `.thumbs/` (named by content hash); a click opens the file itself.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from pindah.adapters.contract import Capabilities
from pindah.adapters.toolkit.files import make_readable, write_atomic
from pindah.adapters.toolkit.html import human_date, render
from pindah.adapters.toolkit.thumbnail import preview_jpeg

from .cara_kit import CHECKLIST, KitImage, KitPost

PREVIEWS = ".thumbs"  # a dot-folder: file pickers hide it, so it is never mistaken for a post's files
PREVIEW_SIDE = 480  # 2x the widest a card shows a picture
_HEX = re.compile(r"[0-9a-fA-F]{16,64}")
_STATE_WORDS = {"pending": "To do", "posted": "Posted", "skipped": "Skipped", "failed": "Not ready"}


@dataclass(frozen=True)
class CardImage:
    file: str
    alt: str | None
    width: int | None
    height: int | None
    href: str  # the file itself
    preview: str  # a small copy, or the file itself when none could be made


def render_kit_page(posts: list[KitPost], marks: dict[str, Any], *, kit: Path, caps: Capabilities) -> str:
    """The page's HTML. Makes the previews it lacks in `kit/.thumbs/` on the way."""
    states = [getattr(marks.get(p.key), "state", "pending") for p in posts]
    counts = Counter(states)
    target = f"cara:{kit}"
    done = counts["posted"] + counts["skipped"]
    ig_posts = len({p.post_id for p in posts})
    sub = (f"{len(posts)} Cara post{'s' if len(posts) != 1 else ''} from {ig_posts} Instagram "
           f"post{'s' if ig_posts != 1 else ''}" if posts else "No posts yet")
    filters = (("todo", "To do", counts["pending"] + counts["failed"]), ("posted", "Posted", counts["posted"]),
               ("skipped", "Skipped", counts["skipped"]), ("all", "All", len(posts)))
    cards = [_card(post, marks.get(post.key), kit=kit, target=target, caps=caps) for post in posts]
    _drop_unused_previews(kit, {i.preview for card in cards for i in card["images"]})
    return render(
        "kit.html", product="kit", lang="en", title="Cara upload kit · pindah",
        sub=sub, kit=str(kit), target=target, quoted_target=shlex.quote(target), counts=counts,
        percent=round(100 * done / len(posts)) if posts else 0,
        todo=next((p for p, s in zip(posts, states, strict=True) if s == "pending"), None),
        filters=filters, first_visit=done == 0, checklist=str(kit / CHECKLIST), max_media=caps.max_media_per_post,
        cards=cards,
    )


def _card(post: KitPost, mark: Any, *, kit: Path, target: str, caps: Capabilities) -> dict[str, Any]:
    state = getattr(mark, "state", "pending")
    pending = state in ("pending", "failed")
    where = f"posts/{quote(post.folder)}/"
    # Marked already: the command is the way back, should the mark be wrong.
    command = f"pindah mark-posted --to {shlex.quote(target)}{'' if pending else ' --undo'} {shlex.quote(post.folder)}"
    limit = caps.max_text or len(post.caption)
    return {
        "state": state, "state_word": _STATE_WORDS.get(state, state), "pending": pending,
        "folder": post.folder, "taken_at": post.taken_at, "part": post.part, "parts": post.parts,
        "when": human_date(datetime.fromisoformat(post.taken_at.replace("Z", "+00:00"))),
        "shielded": all(i.data_mining for i in post.images),
        "url": getattr(mark, "url", None) if state == "posted" else None,
        "reason": getattr(mark, "reason", None) if state == "failed" else None,
        "images": [_image(kit, post.folder, image) for image in post.images],
        "title": post.title, "caption": post.caption, "tags": post.tags,
        "caption_label": Markup("Caption <small>{:,} of {:,} characters</small>").format(len(post.caption), limit),
        "folder_path": str(kit / "posts" / post.folder), "where": where, "command": command,
    }


def _image(kit: Path, folder: str, image: KitImage) -> CardImage:
    href = f"posts/{quote(folder)}/{quote(image.file)}"
    if not _HEX.fullmatch(image.sha256):
        return CardImage(image.file, image.alt, image.width, image.height, href=href, preview=href)
    name = f"{PREVIEWS}/{image.sha256[:16].lower()}.jpg"  # same bytes, same preview: made once
    preview = kit / name
    if preview.exists():
        make_readable(preview)
    elif (data := preview_jpeg(kit / "posts" / folder / image.file, PREVIEW_SIDE)) is not None:
        write_atomic(preview, data)
    else:
        name = href
    return CardImage(image.file, image.alt, image.width, image.height, href=href, preview=name)


def _drop_unused_previews(kit: Path, used: set[str]) -> None:
    """Previews of pictures no longer in the kit (a post re-planned into other parts) go."""
    folder = kit / PREVIEWS
    if folder.is_dir():
        for preview in folder.glob("*.jpg"):
            if f"{PREVIEWS}/{preview.name}" not in used:
                preview.unlink(missing_ok=True)

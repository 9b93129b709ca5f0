"""The artist's choices about an export, stored by pindah and never written into the export.

Which posts stay behind (unticked), captions edited as they will be published, and alt text
written for images. One small JSON file per export, next to the journals
(`<state dir>/edits/<export fingerprint>.json`, mode 0600), shared by every target: the app
writes it, `pindah select` / `pindah alt-text` read and write it as CSV, and the engine applies
it when it plans (`engine.make_plans`), so `pindah migrate` and the app publish the same thing.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from pindah.adapters.toolkit.paths import state_dir

from ..errors import PindahError
from ..model import AltOrigin, Post

MAX_TEXT = 20_000  # far above any platform's limit: a bound on what is stored, not a rule


def media_key(post_id: str, index: int) -> str:
    """How one image is named in the file and the CSV: `<post id>/<index from 1>`."""
    return f"{post_id}/{index + 1}"


@dataclass
class Edits:
    """What the artist chose for one export."""

    excluded: set[str] = field(default_factory=set)  # post ids left behind
    captions: dict[str, str] = field(default_factory=dict)  # post id -> caption as published
    alt: dict[str, str] = field(default_factory=dict)  # media_key -> alt text

    def is_empty(self) -> bool:
        return not (self.excluded or self.captions or self.alt)

    def apply(self, posts: Iterable[Post]) -> list[Post]:
        """The posts to plan: unticked ones left out, edited captions and alt texts in place.
        The export's own objects are never changed (copies carry the edits)."""
        out = []
        for post in posts:
            if post.id in self.excluded:
                continue
            media = post.media
            if any(media_key(post.id, i) in self.alt for i in range(len(media))):
                media = [replace(m, alt_text=self.alt[media_key(post.id, i)], alt_origin=AltOrigin.USER)
                         if media_key(post.id, i) in self.alt else m for i, m in enumerate(media)]
            if post.id in self.captions or media is not post.media:
                post = replace(post, caption=self.captions.get(post.id, post.caption), media=list(media))
            out.append(post)
        return out

    def set_caption(self, post: Post, text: str) -> None:
        text = _bounded(text)
        if text == post.caption:
            self.captions.pop(post.id, None)  # back to the export's own: nothing to keep
        else:
            self.captions[post.id] = text

    def set_alt(self, post_id: str, index: int, text: str) -> None:
        text = _bounded(text).strip()
        key = media_key(post_id, index)
        if text:
            self.alt[key] = text
        else:
            self.alt.pop(key, None)

    def as_dict(self) -> dict[str, object]:
        return {"version": 1, "excluded": sorted(self.excluded), "captions": self.captions, "alt": self.alt}


def _bounded(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT:
        raise PindahError(f"that text is {len(text)} characters long", f"keep it under {MAX_TEXT}")
    return text


def edits_path(fingerprint: str) -> Path:
    return state_dir() / "edits" / f"{fingerprint}.json"


def load_edits(fingerprint: str) -> Edits:
    path = edits_path(fingerprint)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Edits()
    except (OSError, ValueError) as exc:
        raise PindahError(f"cannot read your choices in {path} ({exc})",
                          "fix or delete that file (it only holds unticked posts and edited texts)") from None
    return Edits(set(map(str, raw.get("excluded", []))),
                 {str(k): str(v) for k, v in dict(raw.get("captions", {})).items()},
                 {str(k): str(v) for k, v in dict(raw.get("alt", {})).items()})


def save_edits(fingerprint: str, edits: Edits) -> Path:
    """Write atomically, readable only by the artist (0600, folder 0700)."""
    path = edits_path(fingerprint)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".edits.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(edits.as_dict(), fh, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PindahError(f"cannot save your choices in {path} ({exc.strerror or exc})") from None
    return path

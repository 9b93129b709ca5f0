"""Bluesky video captions: a video's subtitles as `app.bsky.embed.video#caption` entries.

The lexicon (`app.bsky.embed.video`, as the reference PDS has it) takes up to 20 captions per
video, each a `text/vtt` blob of at most 20,000 bytes with a `lang` (BCP 47). The media pipeline
already turned Instagram's SubRip files into WebVTT (`PreparedMedia.subtitles`); here they are
uploaded next to the video and remembered on the video's `RemoteRef` (journaled with it), so a
resumed run builds the same embed without uploading again. A file over the limit is left out
and counted, so the report can say so; a caption without a known language is sent as `und`
("undetermined"), the tag BCP 47 has for exactly that.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from .contract import PostFailed, PreparedMedia, RemoteRef

MAX_CAPTION_BYTES = 20_000
MAX_CAPTIONS = 20
UNDETERMINED = "und"

Upload = Callable[[bytes, str], dict[str, Any]]  # (bytes, mime) -> blob reference


def upload_captions(media: PreparedMedia, upload: Upload) -> dict[str, str]:
    """Upload a video's subtitles; the `RemoteRef.extra` entries that describe them."""
    captions: list[dict[str, Any]] = []
    left_out = 0
    for subtitle in media.subtitles:
        data = Path(subtitle.path).read_bytes()
        if len(data) > MAX_CAPTION_BYTES or len(captions) >= MAX_CAPTIONS:
            left_out += 1
            continue
        blob = upload(data, "text/vtt")
        captions.append({"lang": subtitle.language or UNDETERMINED, "cid": _cid(blob),
                         "size": int(blob.get("size", len(data))), "path": str(subtitle.path),
                         "sha256": hashlib.sha256(data).hexdigest()})
    extra: dict[str, str] = {}
    if captions:
        extra["captions"] = json.dumps(captions, separators=(",", ":"))
    if left_out:
        extra["captions_left_out"] = str(left_out)
    return extra


def caption_entries(ref: RemoteRef) -> list[dict[str, Any]]:
    """The `captions` array of a video embed, from what `upload_captions` remembered."""
    return [{"lang": c["lang"], "file": {"$type": "blob", "ref": {"$link": c["cid"]}, "mimeType": "text/vtt",
                                         "size": int(c["size"])}}
            for c in _remembered(ref)]


def reupload_captions(ref: RemoteRef, upload: Upload) -> None:
    """Upload the caption files again (the server dropped unused blobs): same bytes, same CID."""
    for caption in _remembered(ref):
        try:
            data = Path(caption["path"]).read_bytes()
        except OSError:
            raise PostFailed("an uploaded subtitle expired on the server and its prepared copy is gone; "
                             "run `pindah retry-failed` to prepare it again") from None
        if hashlib.sha256(data).hexdigest() != caption["sha256"] or _cid(upload(data, "text/vtt")) != caption["cid"]:
            raise PostFailed("an uploaded subtitle expired on the server and its prepared copy changed")


def _remembered(ref: RemoteRef) -> list[dict[str, Any]]:
    try:
        captions = json.loads(ref.extra.get("captions", "[]"))
    except ValueError:
        return []
    return [c for c in captions if isinstance(c, dict) and {"lang", "cid", "size"} <= c.keys()] \
        if isinstance(captions, list) else []


def _cid(blob: dict[str, Any]) -> str:
    ref = blob.get("ref")
    return str(ref.get("$link", "")) if isinstance(ref, dict) else ""

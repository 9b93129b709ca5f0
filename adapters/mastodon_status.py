"""Statuses as text: what a server shows back, how to recognise one pindah sent, quiet mentions.

Room: pure functions, no network. Used when a create's outcome is unknown (after a crash or a
lost answer, the status is looked up instead of being posted again), by `verify`, and before
sending (Instagram @names defused so they never mention a stranger on the new server).

* `status_text` prefers the source text a server returns (GoToSocial `text`, Pixelfed
  `content_text`), else turns the rendered HTML back into text (`<br>` and paragraphs to
  newlines; Mastodon's shortened links keep their hidden parts in the HTML, so they come back whole).
* `matches` recognises a status by what pindah controls: its parent, its exact text (a first
  part carries its Instagram date), its number of files, and on GoToSocial its backdated time;
  the media ids are one signal among them (snac gives attachments ids other than the uploads').
* `ulid_before` names the ULID just after a moment: GoToSocial's ids are ULIDs of the
  (backdated) creation time, so a lookup can start right where a backdated post must be.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from pindah.adapters.contract import PostRequest, RemoteRef

ZWJ = "\u200d"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# An @name as Mastodon would link it (letters, digits, _ and inner dots or dashes), not inside
# a word, an e-mail address or a link path (a "/" or "." before the @).
_MENTION = re.compile(r"(?<![\w/.@=])@(?=[A-Za-z0-9_])")
_URL = re.compile(r"\S+://\S+|\bwww\.\S+")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARA = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def defuse_mentions(text: str) -> str:
    """`@name` → `@<ZWJ>name`: still reads "@name", but no server turns it into a mention (and a
    notification to whoever holds that name there). Mastodon counts "@"+ZWJ as one grapheme."""
    links = [m.span() for m in _URL.finditer(text)]
    out, last = [], 0
    for m in _MENTION.finditer(text):
        if any(start <= m.start() < end for start, end in links):
            continue
        out.append(text[last:m.end()] + ZWJ)
        last = m.end()
    return "".join(out) + text[last:]


def restore_mentions(text: str) -> str:
    return text.replace("@" + ZWJ, "@")


def html_to_text(content: str) -> str:
    text = _PARA.sub("\n\n", content)
    text = _BR.sub("\n", text)
    return html.unescape(_TAG.sub("", text)).strip()


def status_text(status: dict[str, Any]) -> str:
    for key in ("text", "content_text"):
        if isinstance(status.get(key), str) and status[key]:
            return status[key]
    return html_to_text(str(status.get("content") or ""))


def same_text(a: str, b: str) -> bool:
    """Equal once mentions are restored and whitespace is folded (servers render newlines,
    tabs and runs of blank lines differently)."""
    def norm(s: str) -> str:
        return _SPACE.sub(" ", restore_mentions(s)).strip()
    return norm(a) == norm(b)


def matches(status: Any, request: PostRequest, account_id: str | None, sent_text: str, *,
            backdated: bool = False) -> bool:
    """Is `status` the part `request` became? Same account and same parent, then either the
    very uploads of this part (ids are unique per upload where servers keep them), or what
    pindah itself controls: the exact text sent (the first part carries its Instagram date),
    as many files, and on a backdating server the original time."""
    if not isinstance(status, dict) or "id" not in status:
        return False
    owner = status.get("account") if isinstance(status.get("account"), dict) else {}
    if account_id and owner.get("id") is not None and str(owner["id"]) != account_id:
        return False
    parent = request.reply_to.id if request.reply_to else None
    if (str(status["in_reply_to_id"]) if status.get("in_reply_to_id") is not None else None) != parent:
        return False
    attached = [str(m.get("id")) for m in status.get("media_attachments") or [] if isinstance(m, dict)]
    if request.media and set(attached) == {m.id for m in request.media}:
        return True  # media ids are one signal; some servers (snac) give attachments new ids
    if len(attached) != len(request.media) or not same_text(status_text(status), sent_text):
        return False
    return not backdated or _same_second(status.get("created_at"), request.created_at)


def _same_second(created: Any, wanted: datetime) -> bool:
    try:
        moment = datetime.fromisoformat(str(created))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=wanted.tzinfo)
    return abs((moment - wanted).total_seconds()) < 1.0


def ref_of(status: dict[str, Any]) -> RemoteRef:
    url = status.get("url") or status.get("uri")
    return RemoteRef(str(status["id"]), str(url) if url else None)


def ulid_before(moment: datetime) -> str:
    """The greatest ULID of `moment`'s millisecond: every id made at or before it sorts lower."""
    ms = int(moment.timestamp() * 1000)
    head = "".join(_CROCKFORD[(ms >> shift) & 31] for shift in range(45, -1, -5))
    return head + "Z" * 16

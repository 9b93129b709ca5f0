"""The run report as one web page for the artist (`render_html`; reports.py calls it).

Summary cards, then post by post the parts, the pictures in each, what was converted or resized,
what is left out. Drawn with the toolkit's templates (`report.html`, `report_post.html`, extending
the shared base; `report.css`), so every piece of text is escaped: captions are user input.
The page has no external assets and needs no JavaScript: thumbnails are data: URIs, filtering
uses radio buttons and CSS `:has()` (browsers without it simply show everything).
"""

from __future__ import annotations

import re
from typing import Any

from pindah.adapters.toolkit.html import render

from .reports import STATE_LABELS, ReportMedia, ReportPost, RunReport, _compact_duration, _ordered_states, _when

_DATA_IMAGE = re.compile(r"^data:image/(?:jpeg|png|webp|gif);base64,[A-Za-z0-9+/=]+$")
_SAFE_LINK = re.compile(r"^(?:https?|file)://", re.IGNORECASE)  # never javascript: or data:
_ATTENTION = {"failed", "skipped"}
_TONES = {"will publish": "ok", "published": "ok", "failed": "bad", "skipped": "warn"}


def render_html(report: RunReport) -> str:
    """The whole report as one self-contained HTML page."""
    when = _when(report.generated_at)
    made = f"{when.day} {when:%B %Y, %H:%M} UTC" if when else report.generated_at
    verb = "will publish" if report.dry_run else "published"
    return render(
        "report.html", product="report", lang="en", report=report, made=made,
        title=f"What pindah {verb} to {report.target}",
        eyebrow="Dry run · nothing has been published yet" if report.dry_run else "Run report",
        cards=_cards(report), time_box=_left_to_do(report) and bool(report.budgets),
        filters=_filters(report), sections=_sections(report),
    )


def _slug(state: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-") or "other"


def _left_to_do(report: RunReport) -> bool:
    """A dry run has everything ahead of it; a run report only what is still pending."""
    return report.dry_run or any(p.state in ("pending", "will publish") for p in report.posts)


def _cards(report: RunReport) -> list[tuple[str, str, str]]:
    """One card per state that occurs ("3 posts ready to publish"), then parts, files and time."""
    t = report.totals
    cards = [(str(n), f"{'post' if n == 1 else 'posts'} {STATE_LABELS.get(state, state).lower()}",
              _TONES.get(state, "")) for state, n in _ordered_states(t.by_state)]
    cards.append((str(t.parts), "parts to post" if report.dry_run else "parts", ""))
    if report.found_posts:  # say what happened: found on the target, not published again
        cards.append((str(report.found_posts), f"already on the target, found and recorded; "
                      f"{report.new_posts or 0} new", ""))
    changes = [f"{n} {w}" for n, w in ((t.converted, "converted"), (t.resized, "resized"), (t.skipped, "left out")) if n]
    cards.append((str(t.media), "images and videos" + (f" ({', '.join(changes)})" if changes else ""), ""))
    if _left_to_do(report):  # a finished run has no time to announce
        if report.eta_seconds is not None:
            cards.append((_compact_duration(report.eta_seconds), "time needed, roughly", "time"))
        elif report.eta:
            cards.append((report.eta.removeprefix("about "), "time needed, roughly", "time"))
    return cards


def _needs_a_look(post: ReportPost) -> bool:
    return (post.state in _ATTENTION or any(m.skipped for m in post.media)
            or any(p.state == "failed" for p in post.parts))


def _filters(report: RunReport) -> list[tuple[str, str]]:
    """The radio buttons; a filter that would show nothing is left out (and alone, "all" is too)."""
    attention = sum(_needs_a_look(p) for p in report.posts)
    changed = sum(p.changed for p in report.posts)
    options = [("show-all", f"Everything ({len(report.posts)})")]
    if attention:
        options.append(("show-attention", f"Needs a look ({attention})"))
    if changed:
        options.append(("show-changed", f"Changed on the way ({changed})"))
    return options


def _sections(report: RunReport) -> list[dict[str, Any]]:
    groups: dict[str, list[ReportPost]] = {}
    for post in report.posts:
        groups.setdefault(post.state, []).append(post)
    order = [s for s in STATE_LABELS if s in groups] + sorted(set(groups) - set(STATE_LABELS))
    return [{"slug": _slug(state), "label": STATE_LABELS.get(state, state.capitalize()),
             "posts": [_post(p, report) for p in groups[state]]} for state in order]


def _post(post: ReportPost, report: RunReport) -> dict[str, Any]:
    moment = _when(post.taken_at)
    caption = post.caption.strip()
    target = getattr(post, "target", None)  # set in a report that holds several targets
    joined = "\n\n".join(p.text for p in post.parts).strip()
    return {
        "state": post.state, "state_slug": _slug(post.state), "state_label": STATE_LABELS.get(post.state, post.state),
        "attention": _needs_a_look(post), "changed": post.changed, "taken_at": post.taken_at,
        "day": f"{moment.day} {moment:%B %Y}" if moment else post.taken_at, "kind": post.kind.replace("_", " "),
        "target": target,
        # A post that goes out without some of its pictures is marked where the eye lands first.
        "dropped": sum(m.skipped is not None for m in post.media) if post.state != "skipped" else 0,
        "reason": post.reason, "notes": post.notes, "media": [_media(m) for m in post.media],
        "parts": [_part(part, post, target or report.target) for part in post.parts],
        "caption": caption, "show_original": bool(post.parts and caption and joined != caption),
        "post_id": post.post_id, "found": post.found,
    }


def _media(media: ReportMedia) -> dict[str, Any]:
    facts = [(media.mime or "unknown type").split("/")[-1].upper()]
    if media.width and media.height:
        facts.append(f"{media.width}×{media.height}")
    return {
        "thumbnail": media.thumbnail if media.thumbnail and _DATA_IMAGE.match(media.thumbnail) else None,
        "is_video": (media.mime or "").startswith("video/"), "source_path": media.source_path,
        "name": media.source_path.rsplit("/", 1)[-1], "facts": " ".join(facts),
        "actions": media.actions, "skipped": media.skipped, "reencoded": media.reencoded,
    }


def _part(part: Any, post: ReportPost, target: str) -> dict[str, Any]:
    safe = bool(part.url and _SAFE_LINK.match(part.url))
    return {
        "number": part.index + 1, "which": _which(part.media, post.media),
        "state_label": STATE_LABELS.get(part.state, part.state) if part.state != post.state else None,
        "state_slug": _slug(part.state), "url": part.url if safe else None,
        "link": (None if not safe else "Open it" if part.url.lower().startswith("file:")
                 else f"See it on {target.split(':', 1)[0]}"),
        "reason": part.reason, "text": part.text,
    }


def _which(indexes: list[int], media: list[ReportMedia]) -> str:
    """[0, 1, 2] -> "with pictures 1–3"; says "videos" or "files" when that is what they are."""
    if not indexes:
        return "text only"
    kinds = {(media[i].mime or "image/").split("/")[0] for i in indexes if 0 <= i < len(media)}
    noun = "picture" if kinds == {"image"} else "video" if kinds == {"video"} else "file"
    numbers = sorted(i + 1 for i in indexes)
    if len(numbers) == 1:
        return f"with {noun} {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"with {noun}s {numbers[0]}–{numbers[-1]}"
    return f"with {noun}s " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"

"""The run / dry-run report: what will be (or was) published where, and why not.

One `RunReport` (built by the engine from the planner and the journal) has three renderings:

* `render_text`  a short terminal summary: totals, what is left out and why, the time needed;
* `render_json`  everything, with stable keys (`report_from_json` reads it back);
* `render_html`  one self-contained page for the artist: summary cards, then post by post the
                 parts, the pictures in each, what was converted or resized, what is left out.

The HTML page has no external assets and needs no JavaScript: CSS is inline, thumbnails are
data: URIs (`thumbnail_data_uri`), filtering uses radio buttons and CSS `:has()` (browsers
without it simply show everything). Every piece of text is escaped: captions are user input.

Conventions for the builder: `ReportMedia.actions` are short phrases starting with a verb
("converted HEIC to JPEG", "resized 8000×6000 to 4000×3000", "removed location data");
"converted…" and "resized…" are what the totals count. `ReportPart.media` are 0-based indexes
into `ReportPost.media`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from functools import cache
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from . import sniff
from pindah.adapters.toolkit.textparse import printable

REPORT_FORMAT = "pindah-report/1"
MAX_THUMB_PIXELS = 50_000_000  # bigger images are refused before any pixel is decoded
TEXT_LISTED = 10  # problems listed by name in the terminal; the HTML report lists them all

# Friendly names for the states, and the order of the sections: what needs a look comes first.
STATE_LABELS = {
    "failed": "Didn't work",
    "skipped": "Left out",
    "pending": "Not published yet",
    "will publish": "Ready to publish",
    "published": "Published",
}
_ATTENTION = {"failed", "skipped"}


@dataclass
class ReportMedia:
    source_path: str
    mime: str | None
    width: int | None
    height: int | None
    actions: list[str]
    skipped: str | None
    thumbnail: str | None  # data: URI


@dataclass
class ReportPart:
    index: int
    text: str
    media: list[int]
    state: str
    url: str | None
    reason: str | None


@dataclass
class ReportPost:
    post_id: str
    kind: str
    taken_at: str
    caption: str
    state: str  # "will publish" | "published" | "pending" | "failed" | "skipped"
    reason: str | None
    notes: list[str]
    parts: list[ReportPart]
    media: list[ReportMedia]
    # Published, but not by this run: found already on the target and recorded (a lost journal).
    found: bool = False

    @property
    def changed(self) -> bool:
        """Something about it differs from Instagram: files changed, dropped, or text split."""
        return len(self.parts) > 1 or any(m.actions or m.skipped for m in self.media)


@dataclass(frozen=True)
class Totals:
    posts: int
    by_state: dict[str, int]
    parts: int
    media: int
    converted: int
    resized: int
    skipped: int  # images/videos left out; whole posts left out are by_state["skipped"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    target: str
    target_description: str
    dry_run: bool
    generated_at: str
    export: str
    layout: str
    posts: list[ReportPost]
    eta_seconds: float | None
    eta_text: str | None
    budgets: list[str]
    warnings: list[str]
    # What this run did (run reports only; None in a dry run): posts it created something
    # for, and posts it found already on the target and recorded without posting them again.
    new_posts: int | None = None
    found_posts: int | None = None

    @property
    def totals(self) -> Totals:
        media = [m for p in self.posts for m in p.media]
        return Totals(
            posts=len(self.posts),
            by_state=dict(Counter(p.state for p in self.posts)),
            parts=sum(len(p.parts) for p in self.posts),
            media=len(media),
            converted=sum(any(a.lower().startswith("convert") for a in m.actions) for m in media),
            resized=sum(any(a.lower().startswith("resiz") for a in m.actions) for m in media),
            skipped=sum(m.skipped is not None for m in media),
        )

    @property
    def eta(self) -> str | None:
        if self.eta_text:
            return self.eta_text
        return None if self.eta_seconds is None else describe_duration(self.eta_seconds)


def describe_duration(seconds: float) -> str:
    """2h 10 min -> "about 2 hours 10 minutes"; rounded the way a person would say it."""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {_plural(minutes, 'minute')}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"about {_plural(hours, 'hour')}" + (f" {_plural(minutes, 'minute')}" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"about {_plural(days, 'day')}" + (f" {_plural(hours, 'hour')}" if hours else "")


def _compact_duration(seconds: float) -> str:
    """For a summary card: "2 h 30 min", "3 d 2 h", "< 1 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return " ".join(x for x in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if x)
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- thumbnails ----------------------------------------------------------------------------------
@cache


def thumbnail_data_uri(open_bytes: Callable[[], IO[bytes]], max_side: int = 160) -> str | None:
    """A small JPEG preview as a data: URI, or None. Never raises.

    Safe against decompression bombs: the size comes from the header (`Image.open` is lazy) and
    anything over ~50 megapixels is refused before decoding; JPEGs decode at a reduced scale
    (`draft`), so even a 24 MP photo costs a fraction of its full decode.
    """
    from PIL import Image, ImageOps

    sniff.register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we decide ourselves
            with open_bytes() as fh, Image.open(fh) as source:
                if source.width * source.height > MAX_THUMB_PIXELS or source.width < 1 or source.height < 1:
                    return None
                if source.format == "JPEG":
                    source.draft("RGB", (max_side, max_side))
                im: Image.Image = ImageOps.exif_transpose(source)  # phone photos stored sideways stand up
                if im.mode in ("RGBA", "LA", "P", "PA"):
                    rgba = im.convert("RGBA")
                    im = Image.new("RGB", im.size, (255, 255, 255))
                    im.paste(rgba, mask=rgba.getchannel("A"))
                else:
                    im = im.convert("RGB")
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=72, optimize=True)  # no exif=/icc_profile=: no metadata
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    except Exception:  # noqa: BLE001 - a preview is a nicety; a bad file must not break the report
        return None


# -- JSON ----------------------------------------------------------------------------------------
def report_to_dict(report: RunReport) -> dict[str, Any]:
    data = asdict(report)
    data["format"] = REPORT_FORMAT
    data["totals"] = report.totals.as_dict()
    return data


def render_json(report: RunReport) -> str:
    return json.dumps(report_to_dict(report), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def report_from_json(text: str) -> RunReport:
    """Read `render_json` output back (derived keys such as totals are recomputed, not read)."""
    data = json.loads(text)

    def pick(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
        return {f.name: raw[f.name] for f in fields(cls) if f.name in raw}  # older reports lack new keys

    posts = []
    for raw in data["posts"]:
        post = pick(ReportPost, raw)
        post["parts"] = [ReportPart(**pick(ReportPart, p)) for p in raw["parts"]]
        post["media"] = [ReportMedia(**pick(ReportMedia, m)) for m in raw["media"]]
        posts.append(ReportPost(**post))
    top = pick(RunReport, data)
    top["posts"] = posts
    return RunReport(**top)


# -- terminal ------------------------------------------------------------------------------------
def render_text(report: RunReport, console: Console) -> None:
    """A few lines for the terminal. Built from Text objects, so captions can't inject markup."""
    t = report.totals
    head = Text()
    if report.dry_run:
        head.append("Dry run", style="bold")
        head.append(f" for {report.target}: nothing was published.")
    else:
        head.append(f"Run to {report.target}", style="bold")
    console.print(head)
    states = [f"{n} {s}" for s, n in _ordered_states(t.by_state)]
    console.print(Text(f"Posts: {t.posts}" + (f" ({', '.join(states)})" if states else "")))
    if report.found_posts:
        console.print(Text(f"This run: {report.found_posts} already on the target, found and recorded; "
                           f"{report.new_posts or 0} new"))
    changes = [f"{n} {w}" for n, w in ((t.converted, "converted"), (t.resized, "resized"), (t.skipped, "left out")) if n]
    files = "1 image or video" if t.media == 1 else f"{t.media} images and videos"
    console.print(Text(f"In {_plural(t.parts, 'part')} with {files}" + (f" ({', '.join(changes)})" if changes else "")))
    for state, title in (("failed", "Didn't work"), ("skipped", "Left out")):
        problems = _problems(report, state)
        if not problems:
            continue
        console.print(Text(f"{title}:", style="bold red" if state == "failed" else "bold yellow"))
        for problem in problems[:TEXT_LISTED]:
            console.print(Text(f"  • {printable(problem)}"))
        if len(problems) > TEXT_LISTED:
            console.print(Text(f"  … and {len(problems) - TEXT_LISTED} more (all of them are in the HTML report)"))
    if report.eta:
        eta = Text("Time needed: ", style="bold")
        eta.append(report.eta + (f" (limits: {'; '.join(report.budgets)})" if report.budgets else ""))
        console.print(eta)
    for warning in report.warnings:
        console.print(Text(f"Note: {printable(warning)}", style="yellow"))


def _ordered_states(by_state: dict[str, int]) -> list[tuple[str, int]]:
    order = [s for s in ("will publish", "published", "pending", "failed", "skipped") if s in by_state]
    return [(s, by_state[s]) for s in order + sorted(set(by_state) - set(order))]


def _problems(report: RunReport, state: str) -> list[str]:
    """"<date> <post id>: <reason>" for posts in `state`; for "skipped" also left-out files."""
    lines = []
    for post in report.posts:
        if post.state == state:
            reason = post.reason or next((p.reason for p in post.parts if p.reason), None)
            lines.append(f"{_day(post.taken_at)} {post.post_id}: {reason or 'no reason given'}")
        elif state == "failed":  # a part can fail inside a post that is otherwise published
            lines += [f"{_day(post.taken_at)} {post.post_id} part {p.index + 1}: {p.reason or 'no reason given'}"
                      for p in post.parts if p.state == "failed"]
        if state == "skipped" and post.state != "skipped":
            lines += [f"{_day(post.taken_at)} {post.post_id} {m.source_path.rsplit('/', 1)[-1]}: {m.skipped}"
                      for m in post.media if m.skipped]
    return lines


def _when(iso: str) -> datetime | None:
    """ISO 8601 ("2024-03-12T07:15:00Z") or the engine's "2025-11-25 13:30 UTC"; None otherwise."""
    try:
        return datetime.fromisoformat(iso.removesuffix(" UTC"))
    except ValueError:
        return None


def _day(iso: str) -> str:
    moment = _when(iso)
    return f"{moment.day} {moment:%b %Y}" if moment else iso


# -- HTML ----------------------------------------------------------------------------------------
def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


_DATA_IMAGE = re.compile(r"^data:image/(?:jpeg|png|webp|gif);base64,[A-Za-z0-9+/=]+$")
_SAFE_LINK = re.compile(r"^(?:https?|file)://", re.IGNORECASE)  # never javascript: or data:

_CSS = """
:root{color-scheme:light dark;--bg:#f6f3ee;--fg:#201d19;--muted:#6b6459;--line:#e3dcd1;--card:#fffdfa;
--chip:#efe9df;--accent:#a4441c;--ok:#286b41;--warn:#805600;--bad:#b3261e;--info:#3d5a99}
@media (prefers-color-scheme:dark){:root{--bg:#141311;--fg:#ece6dc;--muted:#a59c8f;--line:#2f2b26;
--card:#1c1a17;--chip:#2a2622;--accent:#f2a578;--ok:#7cc99a;--warn:#e6b85c;--bad:#f2867e;--info:#9db4ea}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);-webkit-text-size-adjust:100%;
font:1rem/1.55 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif}
a{color:var(--accent);text-underline-offset:.15em}
:focus-visible{outline:3px solid var(--accent);outline-offset:3px;border-radius:3px}
.wrap{max-width:68rem;margin:0 auto;padding:0 1.25rem}
h1,h2{font-family:ui-serif,"Iowan Old Style","Palatino Linotype",Palatino,Georgia,serif;font-weight:500}
header.hero{padding-top:2.5rem;padding-bottom:.5rem}
.eyebrow{display:inline-block;font-size:.8rem;letter-spacing:.04em;text-transform:uppercase;
color:var(--info);background:var(--chip);padding:.2rem .6rem;border-radius:99px;margin:0 0 .8rem}
.hero h1{font-size:clamp(1.9rem,4.5vw,2.9rem);line-height:1.1;margin:0 0 .4rem}
.hero p{margin:.2rem 0;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(10.5rem,1fr));gap:.8rem;margin:1.5rem 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.9rem 1rem}
.card b{display:block;font-size:1.7rem;line-height:1.15;font-weight:600}
.card.time b{font-size:1.25rem;line-height:1.35;padding:.2rem 0}
.card span{color:var(--muted);font-size:.88rem}
.card.bad b{color:var(--bad)}.card.warn b{color:var(--warn)}.card.ok b{color:var(--ok)}
.box{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.2rem;margin:1rem 0}
.box h2{font-size:1.2rem;margin:0 0 .4rem}.box p,.box ul{margin:.3rem 0}
.box.warn{border-left:4px solid var(--warn)}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:2rem 0 .5rem;color:var(--muted)}
.filters input{position:absolute;opacity:0;pointer-events:none}
.filters label{cursor:pointer;border:1px solid var(--line);background:var(--card);color:var(--fg);
border-radius:99px;padding:.25rem .8rem;font-size:.9rem}
.filters input:checked+label{background:var(--fg);color:var(--bg);border-color:var(--fg)}
.filters input:focus-visible+label{outline:3px solid var(--accent);outline-offset:2px}
body:has(#show-attention:checked) .post:not([data-attention]),
body:has(#show-changed:checked) .post:not([data-changed]){display:none}
body:has(#show-attention:checked) details.state:not(:has(.post[data-attention])),
body:has(#show-changed:checked) details.state:not(:has(.post[data-changed])){display:none}
details.state{margin:1.5rem 0}
details.state>summary{cursor:pointer;list-style:none;display:flex;align-items:baseline;gap:.6rem;
border-bottom:1px solid var(--line);padding:.4rem 0}
details.state>summary::-webkit-details-marker{display:none}
details.state>summary::before{content:"▸";color:var(--muted);transition:transform .15s}
details.state[open]>summary::before{transform:rotate(90deg)}
details.state>summary h2{margin:0;font-size:1.5rem}
details.state>summary .count{color:var(--muted)}
.post{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem 1.2rem;margin:1rem 0}
.post[data-state=failed]{border-left:4px solid var(--bad)}.post[data-state=skipped]{border-left:4px solid var(--warn)}
.post-head{display:flex;flex-wrap:wrap;gap:.5rem 1rem;justify-content:space-between;align-items:baseline}
.post-head h3{margin:0;font-size:1.05rem}
.post-head .kind{color:var(--muted);font-weight:400}
.pill{font-size:.78rem;padding:.15rem .6rem;border-radius:99px;background:var(--chip);white-space:nowrap}
.pill.failed{color:var(--bad)}.pill.skipped{color:var(--warn)}.pill.published{color:var(--ok)}
.pill.pending,.pill.will-publish{color:var(--info)}
.why{margin:.6rem 0;padding:.5rem .8rem;border-radius:8px;background:var(--chip)}
.notes{margin:.5rem 0;padding-left:1.2rem;color:var(--muted);font-size:.92rem}
.strip{display:flex;flex-wrap:wrap;gap:.8rem;list-style:none;margin:.8rem 0;padding:0}
.strip li{width:9.5rem;font-size:.8rem;color:var(--muted)}
.thumb{position:relative;display:flex;align-items:center;justify-content:center;width:9.5rem;height:9.5rem;
background:var(--chip);border-radius:6px;overflow:hidden;font-size:1.6rem}
.thumb img{max-width:100%;max-height:100%;display:block}
.thumb .n{position:absolute;top:.3rem;left:.3rem;background:rgba(20,18,15,.75);color:#fff;font-size:.72rem;
border-radius:99px;min-width:1.4rem;text-align:center;padding:.05rem .35rem}
.skippedmedia .thumb img{opacity:.35;filter:grayscale(1)}
.file{display:block;margin-top:.3rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.facts{display:block}.act{display:block;color:var(--info)}.left{display:block;color:var(--warn);font-weight:600}
.parts{list-style:none;margin:.8rem 0 0;padding:0;display:grid;gap:.7rem}
.part{border-top:1px dashed var(--line);padding-top:.7rem}
.part-head{font-size:.88rem;color:var(--muted);margin:0}
.part-head strong{color:var(--fg)}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.4rem 0 0;font-size:.95rem}
.text.empty{color:var(--muted);font-style:italic}
details.orig{margin-top:.7rem;font-size:.9rem}
details.orig summary{cursor:pointer;color:var(--muted)}
.pid{margin:.6rem 0 0;font:.75rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted)}
footer p{color:var(--muted);font-size:.85rem;padding:1.5rem 0 3rem;border-top:1px solid var(--line);margin:3rem 0 0}
@media (max-width:40rem){.strip li,.thumb{width:calc(50% - .4rem)}.strip li .thumb{width:100%}
.thumb{height:auto;aspect-ratio:1}.post{padding:.9rem}.cards{grid-template-columns:1fr 1fr}}
@media (prefers-reduced-motion:reduce){details.state>summary::before{transition:none}}
"""


def render_html(report: RunReport) -> str:
    """The whole report as one self-contained HTML page (see the module docstring)."""
    t = report.totals
    if report.dry_run:
        eyebrow = "Dry run · nothing has been published yet"
        heading = f"What pindah will publish to {report.target}"
    else:
        eyebrow = "Run report"
        heading = f"What pindah published to {report.target}"
    when = _when(report.generated_at)
    made = f"{when.day} {when:%B %Y, %H:%M} UTC" if when else report.generated_at
    hero = (
        f'<header class="hero wrap">\n<p class="eyebrow">{esc(eyebrow)}</p>\n<h1>{esc(heading)}</h1>\n'
        f"<p>{esc(report.target_description)}</p>\n"
        f"<p>From {esc(report.export)} ({esc(report.layout)}) · report made {esc(made)}</p>\n</header>\n"
    )
    body = [hero, '<main class="wrap">\n', _cards(report, t), _time_box(report), _warnings_box(report)]
    if report.posts:
        body.append(_filters(report))
        body += _sections(report)
    else:
        body.append('<p class="box">There is nothing to publish: no posts were found in this export.</p>\n')
    body.append("</main>\n")
    body.append(
        '<footer class="wrap"><p>Made by pindah. This page works offline and keeps no secrets: '
        "you can share it with anyone helping you move.</p></footer>\n"
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, noai, noimageai">\n'
        f"<title>{esc(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "".join(body) + "</body>\n</html>\n"
    )


def _cards(report: RunReport, t: Totals) -> str:
    # One card per state that occurs ("3 posts ready to publish"), then parts, files and time.
    cards = [(str(n), f"{'post' if n == 1 else 'posts'} {STATE_LABELS.get(state, state).lower()}",
              _TONES.get(state, "")) for state, n in _ordered_states(t.by_state)]
    cards.append((str(t.parts), "parts to post" if report.dry_run else "parts", ""))
    changes = [f"{n} {w}" for n, w in ((t.converted, "converted"), (t.resized, "resized"), (t.skipped, "left out")) if n]
    cards.append((str(t.media), "images and videos" + (f" ({', '.join(changes)})" if changes else ""), ""))
    if not _left_to_do(report):
        pass  # a finished run: no time to announce
    elif report.eta_seconds is not None:
        cards.append((_compact_duration(report.eta_seconds), "time needed, roughly", "time"))
    elif report.eta:
        cards.append((report.eta.removeprefix("about "), "time needed, roughly", "time"))
    items = "".join(f'<div class="card {tone}"><b>{esc(n)}</b><span>{esc(label)}</span></div>\n'
                    for n, label, tone in cards)
    return f'<section class="cards" aria-label="Summary">\n{items}</section>\n'


_TONES = {"will publish": "ok", "published": "ok", "failed": "bad", "skipped": "warn"}


def _left_to_do(report: RunReport) -> bool:
    """A dry run has everything ahead of it; a run report only what is still pending."""
    return report.dry_run or any(p.state in ("pending", "will publish") for p in report.posts)


def _time_box(report: RunReport) -> str:
    if not _left_to_do(report) or not report.budgets:
        return ""  # without rate limits the summary card says all there is to say
    lines = []
    if report.eta:
        what = "Publishing everything" if report.dry_run else "What is left"
        lines.append(f"<p>{what} takes <strong>{esc(report.eta)}</strong>"
                     + (" because the target limits how fast one may post:" if report.budgets else ".") + "</p>")
    if report.budgets:
        lines.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in report.budgets) + "</ul>")
    lines.append("<p>You can stop at any time: running pindah again carries on where it stopped, "
                 "without posting anything twice.</p>")
    return '<section class="box"><h2>How long it takes</h2>' + "".join(lines) + "</section>\n"


def _warnings_box(report: RunReport) -> str:
    if not report.warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in report.warnings)
    return f'<section class="box warn"><h2>Good to know</h2><ul>{items}</ul></section>\n'


def _filters(report: RunReport) -> str:
    """Radio buttons + CSS :has() do the filtering; a filter that would show nothing is left out."""
    attention = sum(_needs_a_look(p) for p in report.posts)
    changed = sum(p.changed for p in report.posts)
    if not attention and not changed:
        return ""
    options = [("show-all", f"Everything ({len(report.posts)})", True)]
    if attention:
        options.append(("show-attention", f"Needs a look ({attention})", False))
    if changed:
        options.append(("show-changed", f"Changed on the way ({changed})", False))
    radios = "".join(
        f'<input type="radio" name="show" id="{i}"{" checked" if on else ""}><label for="{i}">{esc(label)}</label>'
        for i, label, on in options)
    return f'<div class="filters" role="group" aria-label="Show">Show: {radios}</div>\n'


def _sections(report: RunReport) -> list[str]:
    groups: dict[str, list[ReportPost]] = {}
    for post in report.posts:
        groups.setdefault(post.state, []).append(post)
    order = [s for s in STATE_LABELS if s in groups] + sorted(set(groups) - set(STATE_LABELS))
    out = []
    for state in order:
        posts = groups[state]
        label = STATE_LABELS.get(state, state.capitalize())
        slug = re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-") or "other"
        out.append(
            f'<details class="state" id="{esc(slug)}" open>\n<summary><h2>{esc(label)}</h2>'
            f'<span class="count">{_plural(len(posts), "post")}</span></summary>\n'
            + "".join(_post_html(p, report) for p in posts) + "</details>\n")
    return out


def _post_html(post: ReportPost, report: RunReport) -> str:
    moment = _when(post.taken_at)
    day = f"{moment.day} {moment:%B %Y}" if moment else post.taken_at
    attrs = f' data-state="{esc(post.state)}"' + (" data-attention" if _needs_a_look(post) else "") + (
        " data-changed" if post.changed else "")
    state_slug = re.sub(r"[^a-z0-9]+", "-", post.state.lower())
    dropped = sum(m.skipped is not None for m in post.media)
    # A post that goes out without some of its pictures is marked where the eye lands first.
    dropped_pill = (f'<span class="pill skipped">{dropped} left out</span> '
                    if dropped and post.state != "skipped" else "")
    out = [(
        f'<article class="post"{attrs}>\n<div class="post-head"><h3>'
        f'<time datetime="{esc(post.taken_at)}">{esc(day)}</time> '
        f'<span class="kind">· {esc(post.kind.replace("_", " "))}</span></h3>'
        f'<span>{dropped_pill}<span class="pill {esc(state_slug)}">'
        f'{esc(STATE_LABELS.get(post.state, post.state))}</span></span></div>\n'
    )]
    if post.reason:
        out.append(f'<p class="why"><strong>Why:</strong> {esc(post.reason)}</p>\n')
    if post.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in post.notes) + "</ul>\n")
    if post.media:
        out.append('<ul class="strip">' + "".join(_media_html(m, i) for i, m in enumerate(post.media)) + "</ul>\n")
    if post.parts:
        out.append(_parts_html(post, report))
    elif post.caption.strip():
        out.append(f'<div class="text" dir="auto">{esc(post.caption.strip())}</div>\n')
    joined = "\n\n".join(p.text for p in post.parts).strip()
    if post.parts and post.caption.strip() and joined != post.caption.strip():
        out.append('<details class="orig"><summary>The caption as it was on Instagram</summary>'
                   f'<div class="text" dir="auto">{esc(post.caption.strip())}</div></details>\n')
    out.append(f'<p class="pid">{esc(post.post_id)}</p>\n</article>\n')
    return "".join(out)


def _needs_a_look(post: ReportPost) -> bool:
    return (post.state in _ATTENTION or any(m.skipped for m in post.media)
            or any(p.state == "failed" for p in post.parts))


def _media_html(media: ReportMedia, index: int) -> str:
    number = index + 1
    is_video = (media.mime or "").startswith("video/")
    if media.thumbnail and _DATA_IMAGE.match(media.thumbnail):
        picture = f'<img src="{esc(media.thumbnail)}" alt="{esc(f"Preview of {media.source_path}")}">'
    else:
        picture = f'<span aria-hidden="true">{"▶" if is_video else "▢"}</span>'
    facts = [(media.mime or "unknown type").split("/")[-1].upper()]
    if media.width and media.height:
        facts.append(f"{media.width}×{media.height}")
    name = media.source_path.rsplit("/", 1)[-1]
    details = "".join(f'<span class="act">{esc(a)}</span>' for a in media.actions)
    if media.skipped:
        details += f'<span class="left">Left out: {esc(media.skipped)}</span>'
    cls = ' class="skippedmedia"' if media.skipped else ""
    return (f'<li{cls}><span class="thumb">{picture}<span class="n">{number}</span></span>'
            f'<span class="file" title="{esc(media.source_path)}">{esc(name)}</span>'
            f'<span class="facts">{esc(" ".join(facts))}</span>'
            f"{details}</li>")


def _parts_html(post: ReportPost, report: RunReport) -> str:
    count = len(post.parts)
    items = []
    for part in post.parts:
        which = _which(part.media, post.media)
        head = [f"<strong>Part {part.index + 1} of {count}</strong>" if count > 1 else "<strong>The post</strong>",
                esc(which)]
        if part.state != post.state:
            head.append(f'<span class="pill {esc(re.sub(r"[^a-z0-9]+", "-", part.state.lower()))}">'
                        f"{esc(STATE_LABELS.get(part.state, part.state))}</span>")
        if part.url and _SAFE_LINK.match(part.url):
            where = "Open it" if part.url.lower().startswith("file:") else f"See it on {report.target.split(':', 1)[0]}"
            head.append(f'<a href="{esc(part.url)}">{esc(where)}</a>')
        reason = f'<p class="why"><strong>Why:</strong> {esc(part.reason)}</p>' if part.reason else ""
        text = (f'<div class="text" dir="auto">{esc(part.text)}</div>' if part.text.strip()
                else '<div class="text empty">No text in this part.</div>')
        items.append(f'<li class="part"><div class="part-head">{" · ".join(head)}</div>{reason}{text}</li>\n')
    intro = (f'<p class="part-head">Split into {count} parts so it fits the target; '
             "they are posted as a thread, in this order.</p>\n" if count > 1 else "")
    return f'{intro}<ol class="parts">\n{"".join(items)}</ol>\n'


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

"""Turn one Instagram post into the parts a target will actually receive (pure, offline).

Room: planning. Input is a normalised `Post` and the target's `Capabilities`; output is a
`PostPlan`: the thread of parts with their text, media, reply links, dates and idempotency
keys, plus artist-readable notes on everything that changed and every file left out, and why.
Nothing here touches the network or reads more than a media file's first bytes (`Media.type`).

Decisions, in the order an artist would ask about them:

* Long captions become a thread, cut at paragraph, line, sentence or word boundaries and counted
  the way the target counts (`textcount`), part markers " (1/3)" and the date line included.
  The caption is never repeated: parts after it runs out carry only media and their marker.
* Carousels larger than the target allows become a thread too, media in carousel order.
  Where images and videos can't share a post, the carousel is cut into consecutive runs of one
  kind, each filling posts of its own: the thread keeps Instagram's order exactly (a carousel
  that opens with a video keeps it first, as its cover).
* On a target without threads, the caption is shortened with "…" and the files that don't fit
  in one post are left out, each with its reason. Never silently.
* The original date is kept by backdating where the target can; elsewhere a short date line
  goes into the first part. The footer also goes into the first part: it is the one people see
  in timelines and profiles, and it survives if a later part ever fails.
* The first part's text is its caption slice, then its marker, then the date line and footer.
* Same post, capabilities and options give the same plan, always: no clock, locale or set order
  is involved (month names are spelled out here for that reason).
"""

from __future__ import annotations

import contextlib
import gc
import operator
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

from pindah.adapters.contract import Capabilities, TextCounting

from pindah.adapters.toolkit import textparse
from .model import AltOrigin, Media, MediaType, Post
from .planner_media import single_post_media, thread_groups, usable_media
from pindah.adapters.toolkit.textcount import Measure, text_length
from pindah.adapters.toolkit.textsplit import measure, split_measured, truncate

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_PLACEHOLDERS = {"date", "iso_date", "instagram_url"}
_LINKISH = re.compile(r"\S+://\S+|\bwww\.\S+")
_OLDEST_FIRST = operator.attrgetter("taken_at", "id")
_set = object.__setattr__  # how a frozen dataclass sets its fields
# Part i is dated i seconds after the post; made once (timedelta(seconds=i) parses keywords).
_SECONDS = tuple(timedelta(seconds=i) for i in range(64))


@dataclass(frozen=True)
class PlanOptions:
    """How the artist wants posts written; every field has a safe default."""

    date_line: bool = True  # add `date_format` to the first part when the target can't backdate
    date_format: str = "📷 Instagram, {date}"  # {date} = "7 July 2024", {iso_date} = "2024-07-07"
    date_tz: tzinfo = timezone.utc  # the day a post was made depends on where: say where
    mentions: str = "text"  # "text": keep @name as written | "link": rewrite it to mention_link
    mention_link: str = "instagram.com/{name}"
    footer: str | None = None  # {date}, {iso_date}, {instagram_url}; a line whose URL is unknown is left out
    number_parts: bool = True  # " (1/3)" markers on the parts of a thread
    include_alt_text: bool = True
    keep_generated_alt: bool = False  # Instagram's "May be an image of ..." is not the artist's words
    # A post none of whose pictures/videos can be used is left out, with the reason: for a
    # portfolio a caption without its artwork is not the post. True publishes the text alone.
    text_without_media: bool = False

    def __post_init__(self) -> None:
        if self.mentions not in ("text", "link"):
            raise ValueError(f"mentions must be 'text' or 'link', not {self.mentions!r}")
        for name, template in (("date_format", self.date_format), ("footer", self.footer or "")):
            unknown = {f for _, f, _, _ in string.Formatter().parse(template) if f} - _PLACEHOLDERS
            if unknown:
                raise ValueError(f"{name}: unknown placeholder {{{sorted(unknown)[0]}}}; "
                                 f"use {', '.join('{' + p + '}' for p in sorted(_PLACEHOLDERS))}")
        if "{name}" not in self.mention_link:
            raise ValueError("mention_link must contain {name}")


@dataclass(frozen=True, slots=True, init=False)
class PlannedPart:
    """One post the target will receive."""

    index: int  # 0 = first
    text: str  # exactly what is sent
    media: tuple[int, ...]  # indexes into post.media, in carousel order
    reply_to: int | None  # index of the parent part; None for part 0 (a chain: i replies to i-1)
    created_at: datetime  # original time for part 0, + i seconds for part i: distinct, in order
    key: str  # idempotency key "<post.id>#<index>"
    alt: tuple[str | None, ...] = ()  # alt text for each of `media`, already fitted
    caption: str = ""  # the slice of the caption this part carries (no marker, date or footer)

    def __init__(self, index: int, text: str, media: tuple[int, ...], reply_to: int | None,
                 created_at: datetime, key: str, alt: tuple[str | None, ...] = (), caption: str = "") -> None:
        # What the generated __init__ does, minus its look-ups of object.__setattr__ per field:
        # an account's plan makes a hundred thousand parts. Slots: no dict per part to collect.
        _set(self, "index", index)
        _set(self, "text", text)
        _set(self, "media", media)
        _set(self, "reply_to", reply_to)
        _set(self, "created_at", created_at)
        _set(self, "key", key)
        _set(self, "alt", alt)
        _set(self, "caption", caption)


@dataclass(slots=True)  # slots: one made per post, and no dict each for the collector to walk
class PostPlan:
    """What happens to one post on one target: its parts, or why it is left out."""

    post: Post
    parts: list[PlannedPart]
    skipped: str | None = None  # why the whole post is left out, in the artist's words
    notes: list[str] = field(default_factory=list)
    dropped_media: list[tuple[int, str]] = field(default_factory=list)  # (index, reason)
    # The post had pictures or videos and must not go out without at least one of them: the
    # runner leaves it out if none can be prepared (`PlanOptions.text_without_media` unsets it).
    media_required: bool = False

    @property
    def part_count(self) -> int:
        return len(self.parts)

    @property
    def media_count(self) -> int:
        return sum(len(p.media) for p in self.parts)


def plan_posts(posts: Iterable[Post], caps: Capabilities, options: PlanOptions = PlanOptions(),
               *, instagram_urls: Mapping[str, str] | None = None) -> list[PostPlan]:
    """Plans for every post, oldest first (ties by id, so the order never depends on input)."""
    urls = instagram_urls or {}
    rules = _Rules(caps, options)  # what every post of this plan shares, worked out once
    with _no_cycle_collection():
        return [_plan(p, rules, urls.get(p.id)) for p in sorted(posts, key=_OLDEST_FIRST)]


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Planning an account makes a dozen objects per post that all live on and form no cycles.
    Each few hundred of them start a pass of Python's cycle collector, and some passes walk the
    whole heap (every post and file of the export): a quarter of planning time, for nothing to
    collect. It is paused while planning and resumed as it was. The new plans then go straight
    to the oldest generation (`gc.freeze` then `gc.unfreeze` moves every tracked object there
    at once, without looking at one): that is where two young passes over a hundred thousand
    parts would have put them, finding nothing to free. Those passes are skipped, not put off:
    full collections look at the oldest generation whatever way objects got there. Threads
    running meanwhile (the browser app's) go without cycle collection for that second or two,
    and their young objects age with the plans: memory freed a little later at worst, never a
    wrong result. When something else holds objects frozen, unfreezing would release them too:
    then the young pass is done instead."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            else:
                gc.collect(0)
            gc.enable()


def plan_post(post: Post, caps: Capabilities, options: PlanOptions = PlanOptions(),
              *, instagram_url: str | None = None) -> PostPlan:
    return _plan(post, _Rules(caps, options), instagram_url)


class _Rules:
    """The capabilities and options of one plan, with what follows from them for every post,
    and the lengths of the date lines and footers already measured (posts share them)."""

    def __init__(self, caps: Capabilities, options: PlanOptions) -> None:
        self.caps, self.options = caps, options
        lines = (options.footer or "").splitlines()
        # Footer lines without and with the post's Instagram link (a line needing an unknown link
        # is left out), and whether the date line is still wanted beside them.
        self.footers = {known: [line for line in lines if known or "{instagram_url}" not in line]
                        for known in (False, True)}
        self.date_line = {known: options.date_line and not caps.backdating and not any(
            "{date}" in line or "{iso_date}" in line for line in footer) for known, footer in self.footers.items()}
        self._lengths: dict[str, int] = {}
        # Equal tuples of indexes and of "no alt text", shared by every part that has them:
        # an account's plan holds a hundred thousand parts, and each object costs the cycle
        # collector a visit. Few distinct ones exist (carousels have at most 20 files).
        self.tuples: dict[tuple[int | None, ...], tuple[int | None, ...]] = {}
        self.extras: dict[tuple[date, str | None], str] = {}  # date line and footer of a day (and link)

    def length(self, text: str) -> int:
        """`text_length` of a date line, footer or marker; each is measured once per plan."""
        known = self._lengths.get(text)
        if known is None:
            if len(self._lengths) > 4096:
                self._lengths.clear()
            known = self._lengths[text] = text_length(text, self.caps)
        return known


def _plan(post: Post, rules: _Rules, instagram_url: str | None) -> PostPlan:
    caps, options = rules.caps, rules.options
    plan = PostPlan(post=post, parts=[], media_required=bool(post.media) and not options.text_without_media)
    is_video = usable_media(post, caps, plan)  # kept file -> is it a video, in carousel order
    kept = list(is_video)
    caption = _caption(post.caption, options)
    if not kept and caps.requires_media:
        plan.skipped = _nothing_left(plan, "this platform needs a picture or video in every post")
        return plan
    if not kept and not caption:
        plan.skipped = _nothing_left(plan, "nothing to post: no caption")
        return plan
    if not kept and plan.media_required:
        plan.skipped = without_its_media([(post.media[i], why) for i, why in plan.dropped_media])
        return plan
    extras = _extras(post, rules, instagram_url, plan)
    if caps.threads:
        groups = thread_groups(kept, is_video, caps, plan)
        chunks, numbered, extras = _split_caption(caption, len(groups), rules, extras, plan)
    else:
        groups = [single_post_media(kept, is_video, caps, plan)]
        chunks, numbered, extras = _shorten_caption(caption, rules, extras, plan)
    count = max(1, len(chunks), len(groups))
    too_long = _add_parts(plan, rules, chunks, groups, numbered and count > 1, extras, count)
    if count > 1:
        plan.notes.append(f"posted as a thread of {count} posts")
    if too_long:
        # Only text the target can't take at all gets here (one character longer than a post).
        plan.parts = []
        plan.skipped = "the caption can't be made to fit this platform's text limit"
    return plan


def _add_parts(plan: PostPlan, rules: _Rules, chunks: list[Chunk], groups: list[list[int]],
               numbered: bool, extras: str, count: int) -> bool:
    """Append the `count` parts of the thread to `plan`; True when one is longer than the
    target takes (all parts are still made: their alt-text notes are part of the plan)."""
    post, caps, options = plan.post, rules.caps, rules.options
    limit = caps.max_text
    extras_length = rules.length(extras) if extras else 0
    # Most posts have no alt text: then every part's is (None, ...), and no file is looked at.
    with_alt = options.include_alt_text and any(m.alt_text for m in post.media)
    too_long = False
    share = rules.tuples.setdefault
    add, taken_at, n_chunks, n_groups = plan.parts.append, post.taken_at, len(chunks), len(groups)
    for i in range(count):
        chunk, weight = chunks[i] if i < n_chunks else ("", 0)
        media = tuple(groups[i]) if i < n_groups else ()
        media = share(media, media)
        marker = f"({i + 1}/{count})" if numbered else ""
        first = i == 0 and extras  # the date line and footer go into the first part only
        text = _compose(chunk, marker, extras if first else "")
        if limit is not None and not too_long:
            # The parts' counts add up to at least the whole's (joins are whitespace: they can
            # merge graphemes, never split them), so a sum within the limit needs no count.
            bound = None if weight is None else (
                weight + (1 + len(marker) if chunk and marker else len(marker))
                + ((2 if chunk or marker else 0) + extras_length if first else 0))
            too_long = (bound is None or bound > limit) and _too_long(text, limit, caps)
        if with_alt:
            alt = tuple([_alt(post.media[m], caps, options, plan) for m in media])
        else:
            alt = (None,) * len(media)
            alt = share(alt, alt)
        seconds = _SECONDS[i] if i < len(_SECONDS) else timedelta(seconds=i)
        add(PlannedPart(i, text, media, None if i == 0 else i - 1, taken_at + seconds, f"{post.id}#{i}", alt, chunk))
    return too_long


# -- media -------------------------------------------------------------------------------------

def without_its_media(unusable: list[tuple[Media, str]]) -> str:
    """Why a post is left out when none of its pictures or videos can be used (planner and
    runner say it the same way), and how to publish its text anyway."""
    def noun(media: Media) -> str:
        return "video" if media.type is MediaType.VIDEO else "picture"

    listed = "; ".join(f"{m.path}: {why}" for m, why in unusable[:3]) + ("; …" if len(unusable) > 3 else "")
    if len(unusable) == 1:
        media, why = unusable[0]
        head = (f"its {noun(media)} is missing from the export: {media.path}" if media.missing
                else f"its {noun(media)} can't be used: {media.path} ({why})")
    else:
        head = f"none of its {len(unusable)} pictures and videos can be used ({listed})"
    return head + "; to publish the text alone, use --text-without-media"


def _nothing_left(plan: PostPlan, why: str) -> str:
    lost = len(plan.dropped_media)
    if not lost:
        return f"{why}, and the post has no pictures or videos"
    reasons = sorted({reason.split(":")[0] for _, reason in plan.dropped_media})
    return f"{why}, and none of its {lost} file{'s' if lost != 1 else ''} can be used ({'; '.join(reasons)})"


def _alt(media: Media, caps: Capabilities, options: PlanOptions, plan: PostPlan) -> str | None:
    if not media.alt_text or not options.include_alt_text:
        return None
    text = media.alt_text.strip()
    if not text:
        return None
    generated = media.alt_origin is AltOrigin.INSTAGRAM or (
        media.alt_origin is None and textparse.is_generated_alt(text))
    if generated and not options.keep_generated_alt:
        _note_once(plan, "Instagram's automatic alt text left out")
        return None
    if caps.max_alt_text is None:
        return text
    # Counted in the target's own unit (Pixelfed counts code points), links not weighted.
    fitted = truncate(text, caps.max_alt_text, Measure(caps.text_counting, None))
    if fitted != text:
        _note_once(plan, f"alt text shortened to {caps.max_alt_text} characters")
    return fitted


# -- text --------------------------------------------------------------------------------------

def _caption(raw: str, options: PlanOptions) -> str:
    caption = textparse.clean_text(raw).strip()
    if options.mentions == "link":
        # `MENTION` is textparse's definition of an Instagram @name: one rule for the whole app.
        # An @ inside a link (medium.com/@name/...) is part of the link, not a mention.
        links = [m.span() for m in _LINKISH.finditer(caption)]

        def link(m: re.Match[str]) -> str:
            if any(start <= m.start() < end for start, end in links):
                return m.group(0)
            return options.mention_link.format(name=m.group(1))

        caption = textparse.MENTION.sub(link, caption)
    return caption


def _extras(post: Post, rules: _Rules, url: str | None, plan: PostPlan) -> str:
    """Date line and footer for the first part ("" when there are none)."""
    options = rules.options
    if not rules.date_line[bool(url)] and not rules.footers[bool(url)]:
        return ""  # e.g. a target that backdates, and no footer: no date to write out
    if rules.date_line[bool(url)]:
        plan.notes.append("date added as a line: this platform can't backdate")
    day = post.taken_at.astimezone(options.date_tz).date()
    # An account posts several times a day: the lines of each day (and link) are written once.
    key = (day, url)
    extras = rules.extras.get(key)
    if extras is None:
        if len(rules.extras) > 4096:
            rules.extras.clear()
        extras = rules.extras[key] = _extras_of(day, url, rules)
    return extras


def _extras_of(day: date, url: str | None, rules: _Rules) -> str:
    # isoformat is strftime("%Y-%m-%d") without its cost, for the years it zero-pads alike
    iso = day.isoformat() if day.year >= 1000 else day.strftime("%Y-%m-%d")
    values = {"date": f"{day.day} {_MONTHS[day.month - 1]} {day.year}",
              "iso_date": iso, "instagram_url": url or ""}
    lines: list[str] = []
    if rules.date_line[bool(url)]:
        lines.append(rules.options.date_format.format_map(values))
    lines.extend(line.format_map(values) for line in rules.footers[bool(url)])
    return "\n".join(lines).strip()


def _compose(chunk: str, marker: str, extras: str) -> str:
    head = f"{chunk} {marker}" if chunk and marker else chunk or marker
    return f"{head}\n\n{extras}" if head and extras else head or extras


Chunk = tuple[str, "int | None"]  # a slice of the caption and its count (None: not counted)


def _split_caption(caption: str, media_parts: int, rules: _Rules, extras: str,
                   plan: PostPlan) -> tuple[list[Chunk], bool, str]:
    """Caption chunks for a thread, whether parts are numbered, and the extras that fit."""
    caps = rules.caps
    limit = caps.max_text
    numbered = rules.options.number_parts
    if limit is None:
        return ([(caption, None)] if caption else []), numbered, extras
    floor = max(1, limit // 4)  # below this a part would be all marker and footer
    # Most captions are short: a bound of their count that fits is enough, and counting is skipped.
    bound = _cheap_bound(caption, caps)
    exact = bound is None or bound > limit
    length = _length(caption, caps) if exact else bound
    # A first guess at the part count, so markers are usually reserved right the first time.
    count = max(1, media_parts, -(-length // limit))
    split_for: tuple[int, int] | None = None  # the budgets `split` was cut for
    split: list[Chunk] = []
    while True:
        marker = len(f" ({count}/{count})") if numbered and count > 1 else 0
        if numbered and limit - marker < floor:
            numbered = False
            plan.notes.append("parts not numbered: the markers would leave no room for the caption")
            continue
        first = limit - marker - (rules.length("\n\n" + extras) if extras else 0)
        if extras and first < floor:
            extras = _drop_extra(extras, plan)
            continue
        if not exact and length > first:
            length, exact = _length(caption, caps), True  # the bound is not enough: count exactly
        if not caption:
            chunks: list[Chunk] = []
        elif length <= first:  # most captions: no need to look for cuts
            chunks = [(caption, length)]
        else:
            budgets = (first, limit - marker)
            if budgets != split_for:  # more parts, same marker width: the same cuts as before
                split_for, split = budgets, list(split_measured(caption, *budgets, caps))
            chunks = split
        needed = max(1, len(chunks), media_parts)
        if needed <= count or not numbered:
            break
        count = needed  # more parts than reserved for: wider markers, split again
    if len(chunks) > 1:
        plan.notes.append(f"caption split into {len(chunks)} parts")
    return chunks, numbered, extras


def _length(caption: str, caps: Capabilities) -> int:
    # A caption longer than a post is split next: count it on the tokens the split will use.
    # One with links on a target that weighs links alike whatever their length is counted
    # faster word by word (each word is weighed once per plan) than by finding its links.
    if len(caption) > (caps.max_text or 0) or (caps.url_weight is not None and ":" in caption):
        return measure(caption, caps)
    return text_length(caption, caps)


def _shorten_caption(caption: str, rules: _Rules, extras: str,
                     plan: PostPlan) -> tuple[list[Chunk], bool, str]:
    caps = rules.caps
    limit = caps.max_text
    if limit is None:
        return ([(caption, None)] if caption else []), False, extras
    while extras and limit - rules.length("\n\n" + extras) < max(1, limit // 4):
        extras = _drop_extra(extras, plan)
    room = limit - (rules.length("\n\n" + extras) if extras else 0)
    short = truncate(caption, room, caps) if caption else ""
    if short != caption:
        plan.notes.append(f"caption shortened to fit {limit} characters: this platform can't do threads")
    return ([(short, None)] if short else []), False, extras


def _drop_extra(extras: str, plan: PostPlan) -> str:
    """Give up the last line of date line + footer (the footer first), saying so."""
    lines = extras.split("\n")
    plan.notes.append(f"left out, too long for this platform: {lines[-1]!r}")
    return "\n".join(lines[:-1]).strip()


def _too_long(text: str, limit: int, caps: Capabilities) -> bool:
    bound = _cheap_bound(text, caps)
    return (bound is None or bound > limit) and text_length(text, caps) > limit


def _cheap_bound(text: str, caps: Capabilities) -> int | None:
    """At least `text_length(text, caps)`, without counting; None where bytes are counted.
    Graphemes and code points never outnumber the code points (`len`), and each link, or place
    that may be one, adds at most `url_weight` to that: each holds a ':' of its own."""
    if caps.text_counting is TextCounting.BYTES:
        return None
    return len(text) if caps.url_weight is None else len(text) + caps.url_weight * text.count(":")


def _note_once(plan: PostPlan, note: str) -> None:
    if note not in plan.notes:
        plan.notes.append(note)

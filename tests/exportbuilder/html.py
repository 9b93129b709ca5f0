"""Writes Meta's HTML export ("Format: HTML") in its 2022 and 2025 markups, for tests.

Follows `instagram-formats.md` §4: metadata pages `content/*.html` (2022, entry page
`index.html`) or `your_instagram_activity/media/*.html` (2025, entry page `start_here.html`),
one obfuscated-class `<div>` box per post holding the caption (`<div>` 2022, `<h2>` 2025,
left out when empty), `<a><img></a>` per image, `<video>` per video, Latitude/Longitude and
"Tagged users" label-value tables, and the date line ("Feb 26, 2015, 3:07 PM" 2022,
"Aug 17, 2025 11:23 am" 2025). Text is real UTF-8 with entities (`&#039;`, `&#064;`, `&amp;`,
`&nbsp;` ...) and `<br />` for line breaks. The page wrapper (head, header, nested wrapper divs)
is our own rendition of Meta's shape; only the post box is taken from parsers of real exports.

Date lines in other languages come from CLDR patterns (`html_dates.localised_date_line`);
a video with subtitles gets Meta's "Subtitles for video" link to each `.srt` right after it;
media sharing a `SynthMedia.name` share one file, as two posts re-using a picture do.

Media go in the JSON export's tree (`media/<kind>/YYYYMM/<Instagram-like name>`, names from
`meta_json.NameMaker`), so one set of posts written as JSON and as HTML points at the same files.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Mapping, Sequence

from .html_dates import localised_date_line
from .media import media_bytes
from .meta_json import KIND_FILES, NameMaker, file_name
from .spec import SRT_TEXT, SynthPost, expected_row, subtitle_paths

VARIANT_DIRS = {"2025": "your_instagram_activity/media", "2022": "content"}
ENTRY_PAGES = {"2025": "start_here.html", "2022": "index.html"}
# kind -> page name; posts are paged as posts_1.html, posts_2.html, ...
KIND_PAGES = {"reel": "reels", "igtv": "igtv_videos", "story": "stories",
              "archived": "archived_posts", "profile_photo": "profile_photos", "other": "other_content"}
PAGE_TITLES = {"posts": "Posts", "reels": "Reels", "igtv_videos": "IGTV videos", "stories": "Stories",
               "archived_posts": "Archived posts", "profile_photos": "Profile photos",
               "other_content": "Other content"}
# Pages every HTML export has that hold no posts of the artist (some with dates and links).
UNRELATED_PAGES = {
    "2025": ["your_instagram_activity/likes/liked_posts.html",
             "connections/followers_and_following/following.html",
             "your_instagram_activity/comments/post_comments_1.html"],
    "2022": ["likes/liked_posts.html", "followers_and_following/following.html",
             "comments/post_comments.html"],
}
MESSAGE_PAGES = {"2025": "your_instagram_activity/messages/inbox/budisantoso_1234567890",
                 "2022": "messages/inbox/budisantoso_1234567890"}

_BOX = "pam _3-95 _2ph- _a6-g uiBoxWhite noborder"
_CAPTION = "_3-95 _2pim _a6-h _a6-i"
_MEDIA_BLOCK = "_3-95 _a6-p"
_MEDIA_ITEM = "_a6_o _3-96"
_TIME = "_3-94 _a6-o"
_STYLE = ("body{background:#fff;color:#1c1e21;font-family:Helvetica,Arial,sans-serif}"
          "._a6-g{border-bottom:1px solid #dadde1}._a6_o{max-width:100%}._3-94{color:#90949c}")


def escape_text(text: str) -> str:
    """Escape like Meta's pages: `'` as `&#039;`, `@` as `&#064;`, newlines as `<br />`."""
    out = html.escape(text, quote=True).replace("&#x27;", "&#039;")
    return out.replace("@", "&#064;").replace("\xa0", "&nbsp;").replace("\n", "<br />")


def format_time(post: SynthPost, variant: str, language: str | None = None, clock: str | None = None,
                zone: tzinfo = timezone.utc) -> str:
    """`Aug 07, 2025 11:23 am` (2025) or `Aug 7, 2025, 11:23 AM` (2022): minute only; in
    another `language`, Meta's CLDR rendering of it. Times are shown as wall-clock in `zone`."""
    moment = post.taken_at_dt.astimezone(zone)
    if language is not None:
        return localised_date_line(moment.replace(tzinfo=None), language, clock)
    hour = moment.hour % 12 or 12
    if variant == "2025":
        return f"{moment:%b %d, %Y} {hour}:{moment:%M} {moment:%p}".replace("AM", "am").replace("PM", "pm")
    return f"{moment:%b} {moment.day}, {moment:%Y}, {hour}:{moment:%M} {moment:%p}"


def _table(rows: list[tuple[str, list[str]]]) -> str:
    cells = "".join(
        f'<tr><td colspan="2" class="_2pin _a6_q"><div class="_a6-q">{escape_text(label)}</div>'
        + "".join(f'<div><div class="_a6-q">{escape_text(v)}</div></div>' for v in values)
        + "</td></tr>"
        for label, values in rows)
    return f'<table style="table-layout: fixed;">{cells}</table>'


def post_box(post: SynthPost, paths: list[str], variant: str, tagged: Sequence[str] = (),
             when: str | None = None) -> str:
    """One post's box in the given markup; `when` overrides the date line."""
    parts = [f'<div class="{_BOX}">']
    if post.caption:
        tag = "h2" if variant == "2025" else "div"
        parts.append(f'<{tag} class="{_CAPTION}">{escape_text(post.caption)}</{tag}>')
    parts.append(f'<div class="{_MEDIA_BLOCK}"><div>')
    for media, path in zip(post.media, paths):
        src = html.escape(path, quote=True)
        links = "".join(f'<div><a target="_blank" href="{html.escape(sub, quote=True)}">Subtitles for video</a></div>'
                        for sub in subtitle_paths(path, media)) if media.is_video else ""
        if media.is_video and variant == "2025":
            parts.append(f'<div><video src="{src}" controls="1" class="{_MEDIA_ITEM}"></video>{links}</div>')
        elif media.is_video:
            parts.append(f'<div><a target="_blank" href="{src}"><video src="{src}" controls="1" '
                         f'class="{_MEDIA_ITEM}"></video></a>{links}</div>')
        else:
            parts.append(f'<div><a target="_blank" href="{src}"><img src="{src}" class="{_MEDIA_ITEM}" />'
                         "</a></div>")
    if post.latitude is not None and post.longitude is not None:
        parts.append(_table([("Latitude", [repr(post.latitude)]), ("Longitude", [repr(post.longitude)])]))
    if tagged:
        parts.append(_table([("Tagged users", [f"{user} (Tagged, 0.41, 0.52)" for user in tagged])]))
    parts.append(f'</div></div><div class="{_TIME}">{when or format_time(post, variant)}</div></div>')
    return "".join(parts)


def page(title: str, body: str, depth: int, entry: str = "start_here.html") -> str:
    """A whole page: head with `<base>` back to the export root, logo header, wrapper divs."""
    base = "../" * depth
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8" />'
        f"<title>{escape_text(title)}</title><style type=\"text/css\">{_STYLE}</style>"
        f'<base href="{base}" /></head>\n<body class="_5vb_ _2yq _a7o5"><div class="clearfix _ikh">'
        '<div class="_4bl9"><div class="_li"><div class="_a705"><div class="_a7o6">'
        f'<a href="{entry}"><img src="files/Instagram-Logo.png" class="_a7o7" /></a>'
        f'<div class="_a7o8"><h1>{escape_text(title)}</h1></div></div>'
        f'<div class="_a706" role="main">\n{body}\n</div></div></div></div></div></body></html>\n'
    )


def _unrelated(variant: str) -> dict[str, str]:
    """Pages that look like post pages (boxes, dates, links) but are someone else's content."""
    box = (f'<div class="{_BOX}"><div class="{_CAPTION}">budi.santoso</div><div class="{_MEDIA_BLOCK}">'
           '<div><a target="_blank" href="https://www.instagram.com/p/CBSiAJmB-tI/">'
           'https://www.instagram.com/p/CBSiAJmB-tI/</a></div></div>'
           f'<div class="{_TIME}">{"Jan 05, 2024 9:15 am" if variant == "2025" else "Jan 5, 2022, 9:15 AM"}'
           "</div></div>")
    entry = ENTRY_PAGES[variant]
    pages = {rel: page(rel.rsplit("/", 1)[-1][:-5].replace("_", " ").capitalize(), box, rel.count("/"), entry)
             for rel in UNRELATED_PAGES[variant]}
    # A chat with a photo: a media link outside `media/`, which must not become a post.
    chat = MESSAGE_PAGES[variant]
    photo = f"{chat}/photos/123456789_n.jpg"
    pages[f"{chat}/message_1.html"] = page("Budi", (
        f'<div class="{_BOX}"><div class="_3-95 _2pim _a6-h _a6-i">Budi Santoso</div>'
        f'<div class="_3-95 _a6-p"><div><a href="{photo}"><img src="{photo}" class="{_MEDIA_ITEM}" /></a>'
        f'</div></div><div class="{_TIME}">{"Jan 05, 2024 9:16 am" if variant == "2025" else "Jan 5, 2022, 9:16 AM"}'
        "</div></div>"), chat.count("/") + 1, entry)
    return pages


def write_html_export(root: Path, posts: list[SynthPost], variant: str = "2025", *,
                      posts_per_page: int | None = None,
                      tagged_users: Mapping[int, Sequence[str]] | None = None,
                      language: str | None = None, clock: str | None = None,
                      zone: tzinfo = timezone.utc) -> list[dict]:
    """Write `posts` as an HTML export under `root`; return their expected rows, in input order.

    `tagged_users` maps an index into `posts` to the usernames its "Tagged users" table lists.
    `language` (a CLDR code) and `clock` ("12"/"24") write the date lines as Meta does for an
    account in that language; `zone` is the account's time zone the pages show times in.
    Rows carry `taken_at` truncated to the minute (all HTML keeps) and the caption exactly as
    typed; a post without media still gets a row, though readers skip it.
    """
    if variant not in VARIANT_DIRS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANT_DIRS)}")
    root = Path(root)
    names = NameMaker()
    tagged_users = tagged_users or {}
    boxes: dict[str, list[str]] = {}
    rows: list[dict] = []
    shared: dict[str, str] = {}  # SynthMedia.name -> the one path all its posts link to
    for index, post in enumerate(posts):
        key = names.post_key(post)
        folder = f"media/{KIND_FILES[post.kind][2]}/{post.taken_at_dt:%Y%m}"
        paths = []
        for slot, media in enumerate(post.media):
            path = f"{folder}/{file_name(names.stem(f'{key}:{slot}', media), media)}"
            if media.name is not None:
                path = shared.setdefault(media.name, path)
            paths.append(path)
            if not media.missing and not (root / path).exists():
                _write(root / path, media_bytes(media.fmt, media.width, media.height))
            for sub in subtitle_paths(path, media):
                _write_text(root / sub, SRT_TEXT)
        when = format_time(post, variant, language, clock, zone)
        boxes.setdefault(KIND_PAGES.get(post.kind, "posts"), []).append(
            post_box(post, paths, variant, tagged_users.get(index, ()), when))
        minute = post.taken_at - post.taken_at % 60
        rows.append(expected_row(post, paths, caption=post.caption,
                                 taken_at=datetime.fromtimestamp(minute, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))

    meta_dir = VARIANT_DIRS[variant]
    depth = meta_dir.count("/") + 1
    entry = ENTRY_PAGES[variant]
    feed = boxes.pop("posts", [])
    size = posts_per_page or max(len(feed), 1)
    for number, start in enumerate(range(0, len(feed), size), 1):
        chunk = "\n".join(feed[start:start + size])
        _write_text(root / f"{meta_dir}/posts_{number}.html", page("Posts", chunk, depth, entry))
    for name, kind_boxes in boxes.items():
        _write_text(root / f"{meta_dir}/{name}.html", page(PAGE_TITLES[name], "\n".join(kind_boxes), depth, entry))

    _write_text(root / entry, page("Your information", (
        f'<div class="_a6-g"><a href="{meta_dir}/posts_1.html">Posts</a></div>'), 0, entry))
    for rel, text in _unrelated(variant).items():
        _write_text(root / rel, text)
    _write(root / "files/Instagram-Logo.png", media_bytes("png"))
    return rows


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_text(path: Path, text: str) -> None:
    _write(path, text.encode("utf-8"))

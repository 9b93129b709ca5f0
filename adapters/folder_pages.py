"""The folder site's pages, drawn from its state with the toolkit's templates.

`site_post.html` is one post (every thread part on one page, prev/next links),
`site_index.html` one page of the grid. Both extend the shared base template, which writes the
AI-training opt-out meta tags and inlines `site.css`. No JavaScript, no external assets: a
page works straight from disk (file://) or from any static host.
"""

from __future__ import annotations

from dataclasses import dataclass

from pindah.adapters.toolkit.html import human_date, plural, render, short

from .folder_site import SiteMedia, SitePost

THUMB_SIZE = (480, 600)  # 4:5 like Instagram's portrait grid; 2x the tile's CSS width


@dataclass(frozen=True)
class Site:
    """What every page of one site shares."""

    title: str
    artist: str | None
    lang: str


@dataclass(frozen=True)
class Figure:
    path: str
    mime: str
    alt: str  # never empty: the artist's description, or what and when it is
    width: int | None
    height: int | None
    loading: str
    tracks: tuple[tuple[str, str], ...] = ()  # (site path of a .vtt, language or "")

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


@dataclass(frozen=True)
class Tile:
    page: str
    cover: str | None
    alt: str
    loading: str
    symbol: str
    badge: str
    created_at: str
    day: str
    caption: str


def index_name(number: int) -> str:
    return "index.html" if number == 1 else f"index-{number}.html"


def post_title(post: SitePost) -> str:
    first = next((p.text for p in post.parts if p.text.strip()), "")
    line = next((ln for ln in first.splitlines() if ln.strip()), "")
    return short(line, 60) if line else f"Post of {human_date(post.moment)}"


def _footer(posts: list[SitePost], artist: str | None) -> dict[str, str | None]:
    years = sorted({p.moment.year for p in posts})
    span = "" if not years else (f"{years[0]}" if years[0] == years[-1] else f"{years[0]}–{years[-1]}")
    return {"artist": artist, "span": span}


def _figure(media: SiteMedia, number: int, total: int, when: str) -> Figure:
    kind = "Image" if media.is_image else "Video"
    return Figure(path=media.path, mime=media.mime, alt=media.alt or f"{kind} {number} of {total}, posted {when}",
                  width=media.width, height=media.height, loading="eager" if number <= 2 else "lazy",
                  tracks=tuple((t["src"], t.get("lang", "")) for t in media.tracks))


def render_post_page(post: SitePost, older: SitePost | None, newer: SitePost | None, site: Site) -> str:
    when = human_date(post.moment)
    count = len(post.media)
    parts, n = [], 0
    for part in post.parts:
        figures = []
        for media in part.media:
            n += 1
            figures.append(_figure(media, n, count, when))
        parts.append({"number": part.index + 1, "media": figures, "text": part.text.strip()})
    images = sum(m.is_image for m in post.media)
    what = " · ".join(plural(k, word) for k, word in ((images, "image"), (count - images, "video")) if k)
    return render("site_post.html", product="site", lang=site.lang, title=f"{post_title(post)} · {site.title}",
                  site_title=site.title, post=post, when=when, what=what, parts=parts, older=older, newer=newer,
                  footer=_footer([post], site.artist))


def render_index_page(posts: list[SitePost], covers: dict[str, str | None], number: int, pages: int, *,
                      all_posts: list[SitePost], site: Site) -> str:
    """One page of the grid. `posts` newest first; `covers` maps post id -> thumbnail path."""
    years = [p.moment.year for p in all_posts]
    span = "" if not years else (f"{min(years)}" if min(years) == max(years) else f"{min(years)} – {max(years)}")
    groups: dict[int, list[Tile]] = {}
    for i, post in enumerate(posts):
        # The first rows load at once (they are what one sees first); the rest as one scrolls.
        groups.setdefault(post.moment.year, []).append(_tile(post, covers.get(post.post_id), eager=i < 8))
    return render("site_index.html", product="site", lang=site.lang,
                  title=site.title if number == 1 else f"{site.title} · page {number}",
                  site_title=site.title, sub=plural(len(all_posts), "post") + (f" · {span}" if span else ""),
                  years=list(groups.items()), number=number, pages=pages, index_name=index_name,
                  footer=_footer(all_posts, site.artist))


def _tile(post: SitePost, cover: str | None, *, eager: bool) -> Tile:
    media = post.media
    first = next((m for m in media if m.is_image), None)
    if len(media) > 1:
        badge = f"{len(media)} items"
    elif media and not media[0].is_image and first is not None:
        badge = "video"
    else:
        badge = ""
    text = next((p.text for p in post.parts if p.text.strip()), "")
    return Tile(
        page=post.page,
        cover=cover if first is not None else None,
        alt=short(first.alt, 160) if first is not None and first.alt else f"Image posted {human_date(post.moment)}",
        loading="eager" if eager else "lazy",
        symbol="▶" if media else "¶",  # a video-only post, or a text-only one
        badge=badge,
        created_at=post.created_at,
        day=human_date(post.moment, year=False),
        caption=short(text, 110) if text.strip() else "",
    )

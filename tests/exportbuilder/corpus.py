"""Standard post collections: the quirky corpus every reader must survive, and big exports.

`quirky_posts()` gathers every quirk `instagram-formats.md` lists (mojibake-prone text, a
literal backslash-u typed by the artist, ZWJ emoji, right-to-left scripts, a 2,200-character
caption, a 20-item mixed carousel, two posts in one second, missing files, an extensionless
video, webp/heic files, every non-feed kind, ...). Each media gets its own pixel size so no
two files share bytes: content-hash deduplication must never merge distinct posts here.

`big_export_posts()` is for benchmarks: cheap to build and to write (identical tiny files).
"""

from __future__ import annotations

from datetime import datetime, timezone

from .spec import SynthMedia, SynthPost

LONG_CAPTION_LENGTH = 2200  # Instagram's caption limit


def _t(text: str) -> int:
    """'2023-04-05 06:07:08' (UTC) -> unix seconds; keeps the corpus readable."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp())


class _Sizes:
    """Hands out distinct small pixel sizes, so every image's bytes differ."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fmt: str = "jpg", **kw: object) -> SynthMedia:
        self.n += 1
        return SynthMedia(fmt=fmt, width=8 + self.n % 40, height=6 + self.n // 40, **kw)  # type: ignore[arg-type]


def long_caption() -> str:
    """Exactly 2,200 characters, with paragraphs, an emoji and hashtags at the end."""
    head = "Process notes 🖌️\n\n"
    tail = "\n\n#process #longread"
    body_len = LONG_CAPTION_LENGTH - len(head) - len(tail)
    sentence = "Layer after layer of ink, each one thinner than the last. "
    body = (sentence * (body_len // len(sentence) + 1))[:body_len]
    caption = head + body + tail
    assert len(caption) == LONG_CAPTION_LENGTH
    return caption


def quirky_posts() -> list[SynthPost]:
    """Every quirk at once, oldest to newest except where order itself is the quirk."""
    m = _Sizes()
    carousel_20 = [m("mp4") if i % 4 == 3 else m(("jpg", "webp", "png")[i % 3]) for i in range(20)]
    return [
        SynthPost(_t("2019-03-02 09:15:00"), "Café au lait ☕ and a sketchbook 🌸", [m()],
                  latitude=-6.175392, longitude=106.827153, location_name="Monumen Nasional"),
        SynthPost(_t("2019-06-10 18:00:00"), "Prints for sale: Â£12 each (yes, Â£ is on the tag)", [m()]),
        SynthPost(_t("2019-09-21 12:30:00"), "Typed by hand: \\u00e9 is not é", [m()]),
        SynthPost(_t("2020-01-05 07:45:10"), "Studio day 👩‍🎨 with pride 🏳️‍🌈 and 👍🏽", [m()]),
        SynthPost(_t("2020-05-17 20:20:20"), "لوحة جديدة في المرسم", [m()]),
        SynthPost(_t("2020-05-18 08:00:00"), "ציור חדש בסטודיו", [m()]),
        SynthPost(_t("2020-08-01 16:00:00"), "New piece — لوحة جديدة — out now (שלום)", [m(), m()]),
        SynthPost(_t("2021-02-14 10:00:00"), long_caption(), [m()]),
        SynthPost(_t("2021-07-07 07:07:07"), "Twenty frames from the residency 🎞️\n#residency",
                  carousel_20),
        # Two different posts published within the same second (never merge them).
        SynthPost(_t("2022-01-15 12:00:00"), "First of two, same second", [m("webp")]),
        SynthPost(_t("2022-01-15 12:00:00"), "Second of two, same second", [m("webp"), m("webp")]),
        SynthPost(_t("2022-03-03 03:03:03"), "This one lost its picture", [m(missing=True)]),
        SynthPost(_t("2022-04-04 04:04:04"), "Half a carousel went missing",
                  [m(), m(missing=True), m("mp4", missing=True)]),
        SynthPost(_t("2022-06-30 21:00:00"), "Timelapse, no file extension", [m("mp4", ext="")]),
        SynthPost(_t("2023-02-02 14:00:00"), "", [m("webp")]),
        SynthPost(_t("2024-06-20 11:11:11"), "Shot on a new phone (HEIC)", [m("heic"), m("heic")]),
        SynthPost(_t("2024-08-08 08:08:08"),
                  "Collab with @budi.santoso and @art_collective.id\n\n#ink #illustration #内田 #café",
                  [m()]),
        SynthPost(_t("2024-09-09 09:09:09"), "Cafe\u0301 in NFD, kept as typed", [m()]),
        SynthPost(_t("2024-10-10 10:10:10"), "Line one\nLine two\n\n\nLine five\t(tab)", [m()]),
        # The other kinds, each in its own file in Meta's exports.
        SynthPost(_t("2023-05-05 15:00:00"), "Reel: inking timelapse 🎥 #reels", [m("mp4")], kind="reel"),
        SynthPost(_t("2021-11-11 11:00:00"), "IGTV: studio tour", [m("mp4")], kind="igtv"),
        SynthPost(_t("2024-03-11 20:30:30"), "", [m()], kind="story"),
        SynthPost(_t("2024-03-12 09:00:00"), "Story with words ✨", [m("mp4")], kind="story"),
        SynthPost(_t("2020-10-10 10:00:00"), "Archived: an old experiment", [m(), m("mp4")], kind="archived"),
        SynthPost(_t("2018-01-01 00:00:01"), "", [m()], kind="profile_photo"),
        SynthPost(_t("2024-01-01 00:00:01"), "", [m()], kind="profile_photo"),
        SynthPost(_t("2025-01-20 13:00:00"), "A draft I never posted", [m()], kind="other"),
    ]


def big_export_posts(n_posts: int, media_per_post: float = 2.5, *, start: int = 1_500_000_000,
                     step: int = 3600) -> list[SynthPost]:
    """`n_posts` feed posts with `media_per_post` media on average (at least 1 each), one
    hour apart, all tiny identical JPEGs (the writers cache the bytes, so this is fast)."""
    posts = []
    for i in range(n_posts):
        count = max(1, round((i + 1) * media_per_post) - round(i * media_per_post))
        caption = f"Piece #{i} of the series #daily{'' if i % 7 else ' with @friend'}"
        posts.append(SynthPost(start + i * step, caption, [SynthMedia() for _ in range(count)]))
    return posts

"""Which Mastodon-API server this is (Mastodon, Pixelfed, GoToSocial) and what it accepts.

Room: reading an instance's self-description (`/api/v2/instance`, falling back to v1, and
nodeinfo when the version string does not say) into `InstanceInfo`, and turning that into the
engine's `Capabilities`. Nothing here posts; only unauthenticated reads.

The flavours differ where it matters for a migration (sources: shared/reference
anchors-fediverse.md §4 and gotosocial-api.md):

                   text counted as        media  mix img+video  backdating    budgets
    Mastodon       graphemes, URL = 23    4      no (1 video)   no            300 req/5 min, 30 uploads/30 min,
                                                                              300 statuses/3 h, 30 deletes/30 min
    Pixelfed       code points (Laravel)  4      yes            no            1,000 statuses and 1,250 uploads/24 h
    GoToSocial     code points (runes)    6      no (as Mastodon) past scheduled_at  300 req/5 min, one bucket

Server-advertised values (characters, media count, sizes, MIME types, alt-text length) replace
these defaults. Unattached uploads are deleted after 24 h on Mastodon (MediaCleanupScheduler),
2 h on Pixelfed (`media:gc`) and 3 days on GoToSocial (unused local attachments): an upload
older than `MEDIA_REUSE_SECONDS` is not attached any more, it is sent again.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from pindah.adapters.contract import PindahError

from .contract import MIB, Capabilities, RateBudget, TextCounting
from .mastodon_api import ApiClient, ApiError

MINUTE, HOUR, DAY = 60, 3600, 86400


class Flavour(str, enum.Enum):
    MASTODON = "mastodon"
    PIXELFED = "pixelfed"
    GOTOSOCIAL = "gotosocial"

    @property
    def label(self) -> str:
        return {"mastodon": "Mastodon", "pixelfed": "Pixelfed", "gotosocial": "GoToSocial"}[self.value]


BUDGETS: dict[Flavour, tuple[RateBudget, ...]] = {
    # rack_attack: 300/5 min per token, 30 uploads/30 min, 30 deletes/30 min; RateLimiter: 300 statuses/3 h.
    Flavour.MASTODON: (RateBudget("requests", 300, 5 * MINUTE), RateBudget("media", 30, 30 * MINUTE),
                       RateBudget("posts", 300, 3 * HOUR), RateBudget("deletes", 30, 30 * MINUTE)),
    # statusCreate / mediaUpload: rolling 24 h; no generic API throttle.
    Flavour.PIXELFED: (RateBudget("posts", 1000, DAY), RateBudget("media", 1250, DAY)),
    # One fixed 5-minute window shared by /api, /auth and /oauth.
    Flavour.GOTOSOCIAL: (RateBudget("requests", 300, 5 * MINUTE),),
}

# How old an unattached upload may be and still be attached (its server's lifetime, with margin).
MEDIA_REUSE_SECONDS: dict[Flavour, float] = {
    Flavour.MASTODON: 20 * HOUR, Flavour.PIXELFED: 1 * HOUR, Flavour.GOTOSOCIAL: 2 * DAY}

DEFAULT_ALT = {Flavour.MASTODON: 1500, Flavour.PIXELFED: 1000, Flavour.GOTOSOCIAL: 1500}
GTS_BACKDATING_SINCE = (0, 18)

# The capabilities shown before any server is read (`pindah targets`): Mastodon's defaults.
MASTODON_DEFAULTS = Capabilities(
    max_text=500, text_counting=TextCounting.GRAPHEMES, url_weight=23, max_media_per_post=4,
    mix_images_and_videos=False, max_videos_per_post=1, requires_media=False,
    image_max_bytes=16 * MIB, image_max_pixels=33_177_600, video_max_bytes=99 * MIB,
    image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
    video_mime_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
    max_alt_text=1500, threads=True, backdating=False, rate_budgets=BUDGETS[Flavour.MASTODON],
    typical_call_seconds=0.5)


@dataclass(frozen=True)
class InstanceInfo:
    """What a server says about itself, already parsed; `None` where it does not say."""

    flavour: Flavour
    version: str
    software: tuple[int, ...]  # the flavour's own version (Pixelfed 0.12.4, not "3.5.3 compatible")
    domain: str
    max_characters: int | None = None
    url_weight: int | None = None
    max_media: int | None = None
    image_mime: frozenset[str] = frozenset()
    video_mime: frozenset[str] = frozenset()
    image_size_limit: int | None = None
    image_matrix_limit: int | None = None
    video_size_limit: int | None = None
    description_limit: int | None = None


def read_instance(api: ApiClient, *, forced: str | None = None) -> InstanceInfo:
    """GET /api/v2/instance (Mastodon 4+, Pixelfed, GoToSocial), else v1; nodeinfo if unclear."""
    try:
        doc = api.call("GET", "/api/v2/instance", auth=False).data
    except ApiError as exc:
        if exc.status not in (404, 410, 406):
            raise exc.as_target_error("reading the server's limits") from None
        try:
            doc = api.call("GET", "/api/v1/instance", auth=False).data
        except ApiError as exc1:
            raise exc1.as_target_error("reading the server's limits") from None
    if not isinstance(doc, dict):
        raise ApiError(200, "its instance description is not an object", host=api.host).as_target_error(
            "reading the server's limits")
    if forced and forced.strip().lower() not in {f.value for f in Flavour}:
        raise PindahError(f"flavour must be mastodon, pixelfed or gotosocial, not {forced!r}")
    flavour = Flavour(forced.strip().lower()) if forced else detect(doc) or _nodeinfo_flavour(api) or Flavour.MASTODON
    return parse_instance(doc, flavour)


def detect(doc: dict[str, Any]) -> Flavour | None:
    """From the instance document alone; None when it could be any of them."""
    version = str(doc.get("version", ""))
    source = str(doc.get("source_url", ""))
    if "pixelfed" in version.lower() or "pixelfed" in source.lower():
        return Flavour.PIXELFED
    if "gotosocial" in version.lower() or "gotosocial" in source.lower():
        return Flavour.GOTOSOCIAL
    if "(compatible;" in version:  # another server imitating Mastodon: treat it as Mastodon
        return Flavour.MASTODON
    if re.match(r"\d+\.\d+", version) and int(version.split(".")[0]) >= 1:
        return Flavour.MASTODON
    return None  # e.g. GoToSocial's bare "0.19.2" without a source_url


def _nodeinfo_flavour(api: ApiClient) -> Flavour | None:
    try:
        links = api.call("GET", "/.well-known/nodeinfo", auth=False).data.get("links", [])
        href = next(link["href"] for link in links if isinstance(link, dict) and link.get("href"))
        path = href[len(api.base):] if href.startswith(api.base) else None
        if path is None:
            return None  # nodeinfo on another host: not followed (the token stays on one host)
        name = str(api.call("GET", path, auth=False).data.get("software", {}).get("name", "")).lower()
    except (ApiError, AttributeError, StopIteration, KeyError, TypeError):
        return None
    return next((f for f in Flavour if f.value == name), None)


def parse_instance(doc: dict[str, Any], flavour: Flavour) -> InstanceInfo:
    conf = doc.get("configuration") if isinstance(doc.get("configuration"), dict) else {}
    statuses = conf.get("statuses") if isinstance(conf.get("statuses"), dict) else {}
    media = conf.get("media_attachments") if isinstance(conf.get("media_attachments"), dict) else {}
    types = [str(t).lower() for t in media.get("supported_mime_types") or [] if isinstance(t, str)]
    version = str(doc.get("version", ""))
    return InstanceInfo(
        flavour=flavour, version=version, software=_software_version(version, flavour),
        domain=str(doc.get("domain") or doc.get("uri") or ""),
        max_characters=_pos(statuses.get("max_characters")) or _pos(doc.get("max_toot_chars")),
        url_weight=_pos(statuses.get("characters_reserved_per_url")),
        max_media=_pos(statuses.get("max_media_attachments")),
        image_mime=frozenset(t for t in types if t.startswith("image/")),
        video_mime=frozenset(t for t in types if t.startswith("video/")),
        image_size_limit=_pos(media.get("image_size_limit")),
        image_matrix_limit=_pos(media.get("image_matrix_limit")),
        video_size_limit=_pos(media.get("video_size_limit")),
        description_limit=_pos(media.get("description_limit")))


def capabilities(info: InstanceInfo, *, alt_limit: int | None = None, backdate: bool = True) -> Capabilities:
    """The engine's view of this server: its advertised limits over the flavour's defaults."""
    f = info.flavour
    caps = MASTODON_DEFAULTS.refined(rate_budgets=BUDGETS[f], max_alt_text=DEFAULT_ALT[f])
    if f is Flavour.PIXELFED:
        # Laravel's max: counts code points, links in full; photo+video albums are allowed; a
        # status needs media (only replies may be text); MEDIA_TYPES defaults to jpeg/png/gif.
        caps = caps.refined(text_counting=TextCounting.CODE_POINTS, url_weight=None, mix_images_and_videos=True,
                            max_videos_per_post=None, requires_media=True, image_max_bytes=15_000 * 1024,
                            video_max_bytes=15_000 * 1024, image_max_pixels=None,
                            image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
                            video_mime_types=frozenset())
    elif f is Flavour.GOTOSOCIAL:
        # Counts runes of text + spoiler. Mixing and several videos were not observed, so the
        # Mastodon rule stays: a refused mix would fail a whole post, a split costs one reply.
        caps = caps.refined(text_counting=TextCounting.CODE_POINTS, url_weight=None, max_text=5000,
                            max_media_per_post=6, image_max_bytes=40 * MIB, video_max_bytes=40 * MIB,
                            image_max_pixels=None,
                            backdating=backdate and info.software >= GTS_BACKDATING_SINCE)
    changes: dict[str, Any] = {}
    if info.max_characters:
        changes["max_text"] = info.max_characters
    if info.url_weight and f is Flavour.MASTODON:
        changes["url_weight"] = info.url_weight
    if info.max_media:
        changes["max_media_per_post"] = info.max_media
    if info.image_mime:
        changes["image_mime_types"] = info.image_mime
    if info.image_mime or info.video_mime:
        changes["video_mime_types"] = info.video_mime  # an instance listing types but no video takes none
    if info.image_size_limit:
        changes["image_max_bytes"] = info.image_size_limit
    if info.video_size_limit:
        changes["video_max_bytes"] = info.video_size_limit
    if info.image_matrix_limit and info.image_matrix_limit < 2**31 - 1:  # GoToSocial: "no limit"
        changes["image_max_pixels"] = info.image_matrix_limit
    alt = alt_limit or info.description_limit
    if alt:
        changes["max_alt_text"] = alt
    # The runner re-uploads media older than this: the server deletes unattached uploads.
    changes["media_reuse_seconds"] = MEDIA_REUSE_SECONDS[f]
    return caps.refined(**changes)


def _software_version(version: str, flavour: Flavour) -> tuple[int, ...]:
    if flavour is Flavour.PIXELFED:
        found = re.search(r"Pixelfed\s+v?(\d+(?:\.\d+)*)", version, re.IGNORECASE)
    else:
        found = re.match(r"v?(\d+(?:\.\d+)*)", version.strip())
    return tuple(int(p) for p in found.group(1).split(".")) if found else ()


def _pos(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None

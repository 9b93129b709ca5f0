"""The Bluesky target: an artist's Instagram history as backdated posts on their own PDS.

Room: turning the engine's requests (`PostRequest`, `PreparedMedia`) into AT Protocol records
and blobs, and reading them back. Splitting captions, fitting images, stripping GPS, retrying,
pacing and journaling are the engine's; the wire (XRPC, sessions, identity) is
`adapters.bluesky_xrpc`; the account and its login `adapters.bluesky_account`; record keys and facets are `adapters.bluesky_record`;
videos go through Bluesky's video service in `adapters.bluesky_video`.

    --to bluesky:HANDLE          e.g. bluesky:rina.bsky.social
    [targets.bluesky]            in the config file, every key also as PINDAH_BLUESKY_<KEY>:
      app_password               an APP password (Settings → Privacy and security → App
                                 passwords), never the main one; better in the environment
                                 or typed at the prompt than stored in a file
      pds                        the server's URL, skipping the handle lookup (self-hosted)
      langs                      e.g. ["id", "en"]: only what the artist says; omitted otherwise
      image_max_bytes            default 2,000,000: the app.bsky.embed.images lexicon's maxSize,
                                 capped by the server's describeServer blobUploadLimit
      video_max_seconds          default 180
      video_service              default https://video.bsky.app: videos are prepared there before
                                 they are posted (adapters.bluesky_video); "off" uploads them
                                 straight to the PDS, as happens anyway when it can't be reached
      gallery                    true: carousels of up to 10 in one post (app.bsky.embed.gallery,
                                 new in 2026; older apps don't show it), else a reply thread
      handle_resolver, plc_directory, app_url   where handles, DIDs and profiles are looked up

What makes it trustworthy:
* Exactly once. Each part gets a record key derived from its idempotency key (`derive_rkey`),
  so the server itself refuses a second create of it (it answers 500 there, so a 500 is
  followed by a getRecord). `find_post` is a getRecord of that key.
* Original dates: `createdAt` is the Instagram time; the record key's time is too.
* Limits from the server: describeServer's blob limit, `ratelimit-*` headers (a call the
  server would refuse is not sent; a 429 says when to come back), and budgets in
  `capabilities` for the engine's pacer and ETA: 1,000 blob uploads a day, and write points
  (5,000 an hour, create = 3, delete = 1).
* A login is made once and refreshed (refreshSession); the main password is refused.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pindah.adapters.contract import PindahError, PostFailed, TransientError
from pindah.adapters.toolkit.http import RateObserver

from .bluesky_account import BlueskyAccount
from .bluesky_captions import caption_entries, reupload_captions, upload_captions
from .bluesky_record import derive_rkey, detect_facets, iso_time
from .bluesky_video import DAY, DEFAULT_SERVICE, SERVICE_VIDEO_BYTES, VideoRoute, checked_video_size
from .bluesky_xrpc import (
    PLC_DIRECTORY,
    Identity,
    SessionStore,
    Unreachable,
    XrpcClient,
    XrpcError,
    new_http,
    to_target_error,
)
from .contract import (
    MIB,
    Adapter,
    Capabilities,
    Option,
    PostRequest,
    PreparedMedia,
    RateBudget,
    RemoteRef,
    TextCounting,
)

POST = "app.bsky.feed.post"
# The lexicon's own per-image limit: `l.blob({accept: ['image/*'], maxSize: 2000000})` for
# app.bsky.embed.images and app.bsky.embed.gallery in the reference PDS (@atproto/pds
# dist/lexicons/app/bsky/embed/images.defs.js). Lexicons are not served over XRPC, so it is
# read from there by hand; the server's describeServer blobUploadLimit caps it at run time.
LEXICON_IMAGE_BYTES = 2_000_000
DEFAULT_IMAGE_BYTES = LEXICON_IMAGE_BYTES
DEFAULT_VIDEO_BYTES = 50 * MIB  # bsky.social's documented blob cap; describeServer refines it
LEXICON_VIDEO_BYTES = 300_000_000
DEFAULT_VIDEO_SECONDS = 180.0  # what every Bluesky app plays; the newest take 10 minutes
MAX_LANGS = 3
GALLERY_ITEMS = 10  # the lexicon allows 20; clients "should currently enforce a soft limit of 10"
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
_VIDEO_TYPES = frozenset({"video/mp4"})  # app.bsky.embed.video takes mp4 only
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")  # BCP 47, as far as posts use it


class BlueskyAdapter(BlueskyAccount, Adapter):
    name = "bluesky"
    description = "Bluesky, or your own AT Protocol server (PDS)"
    example = "bluesky:yourname.bsky.social"
    title = "Bluesky"
    sign_in = "app_password"  # the password goes to the `app_password` setting, then `login()`
    location_prompt = "Your handle"
    uploads_alongside = True  # connections per thread, one login renewal at a time (bluesky_xrpc.py)
    options = (
        Option("handle", str, None, "your handle, when --to does not name it"),
        Option("app_password", str, None, "an APP password (never the main one); better in the environment or typed"),
        Option("pds", str, None, "your server's URL, skipping the handle lookup (self-hosted PDS)"),
        Option("langs", list, None, "languages of your captions, e.g. id,en; empty: not stated"),
        Option("image_max_bytes", int, DEFAULT_IMAGE_BYTES, "image size limit per file (the server's caps it)"),
        Option("video_max_seconds", int, int(DEFAULT_VIDEO_SECONDS), "longest video accepted, in seconds"),
        Option("video_service", str, DEFAULT_SERVICE, 'Bluesky\'s video service; "off": videos straight to your server'),
        Option("gallery", bool, False, "carousels of up to 10 as one gallery post (new; older apps don't show it)"),
        Option("app_url", str, "https://bsky.app", "where the posts' web links point"),
        Option("handle_resolver", str, None, "where handles are looked up"),
        Option("plc_directory", str, PLC_DIRECTORY, "where DIDs are looked up"),
    )
    capabilities = Capabilities(
        max_text=300,
        text_counting=TextCounting.GRAPHEMES,  # links count in full: no url_weight
        max_media_per_post=4,
        mix_images_and_videos=False,  # one embed per post: images or a video
        max_videos_per_post=1,
        image_max_bytes=DEFAULT_IMAGE_BYTES,
        image_max_side=2000,  # what the Bluesky app shows at most; larger only costs bytes
        video_max_bytes=DEFAULT_VIDEO_BYTES,
        video_max_seconds=DEFAULT_VIDEO_SECONDS,
        image_mime_types=_IMAGE_TYPES,
        video_mime_types=_VIDEO_TYPES,
        video_subtitles=True,  # app.bsky.embed.video#caption, text/vtt
        max_alt_text=2000,  # what the Bluesky app allows; the lexicon has no limit
        threads=True,
        backdating=True,
        # Per-account write points: 5,000/hour, create = 3 → 1,666 creates; delete = 1. The daily
        # 35,000 points (11,666 creates) can't be declared beside the hourly budget (the engine
        # keys budgets by name); the server's 429 with its reset time covers it.
        rate_budgets=(RateBudget("media", 1000, 86400), RateBudget("posts", 1666, 3600),
                      RateBudget("deletes", 5000, 3600)),
        typical_call_seconds=0.5,
    )

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        super().__init__(location, config)
        handle = location or self.setting("handle")
        if not handle:
            raise PindahError("Bluesky needs your handle", "write --to bluesky:yourname.bsky.social")
        self.handle = str(handle).strip().removeprefix("@")
        self.langs = _langs(self.setting("langs"))
        self.app_url = str(self.setting("app_url") or "https://bsky.app").rstrip("/")
        self.gallery = str(self.setting("gallery") or "").strip().lower() in ("1", "true", "yes", "on")
        self.identity: Identity | None = None
        self.client: XrpcClient | None = None
        self._store: SessionStore | None = None
        self._password: str | None = None  # only what this run was given; never stored by pindah
        self._interactive = False
        self._http = new_http()
        # The engine's pacer may listen to every answer's rate-limit headers (toolkit.http.RateReport),
        # reported under the budget names of `capabilities` ("media", "posts", "deletes").
        self.rate_observers: list[RateObserver] = []
        self.offline_note: str | None = None  # set when a dry run planned without reaching Bluesky
        self.video = VideoRoute(self.setting("video_service"), self._http, pds_client=self._authed, did=self._did,
                                say=lambda note: print(note, file=sys.stderr))

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        """Find the account's server, read its limits, and make sure a login is at hand.

        Without a saved session, an app password in the environment/config, or a terminal to
        ask in, nothing fails yet: a dry run needs no login, a real run stops at its first
        write with the way to log in. A dry run (`dry_run=True`) that cannot reach the
        network plans with Bluesky's published limits and says so in `offline_note`."""
        self._interactive = interactive
        try:
            identity = self._resolve()
            client = self._client()
            described = self._describe(client)
        except (Unreachable, XrpcError) as exc:
            if not dry_run:
                raise exc if isinstance(exc, Unreachable) else to_target_error(exc, "read the server's limits") from None
            self.offline_note = (f"Bluesky could not be reached ({exc.message}): "
                                 "planned with Bluesky's published limits")
            self._refine_caps(None)
            return
        self.video.plan(identity.pds, described.get("did"))
        self._refine_caps(described.get("blobUploadLimit"))
        self._password = self.setting("app_password") or None
        saved = self._store.load() if self._store else None
        if saved is not None and saved.did == identity.did and saved.pds == identity.pds:
            client.session = saved
            try:
                client.ensure_fresh()
            except XrpcError as exc:
                if exc.status == 0 or exc.status == 429 or exc.status >= 500:
                    raise to_target_error(exc, "renew the saved login") from None
                client.session = None  # revoked or expired, and no password: ask when it's needed
        if client.session is None and (self._password or interactive):
            self._login()
        if self.video.active and client.session is not None:
            left = self.video.look_ahead()  # today's allowance, into the budgets the plan shows
            if not self.video.active:  # the service can't be reached: the PDS's own video limit again
                self._refine_caps(described.get("blobUploadLimit"))
            elif left:  # none left today: the first video meets the service's own words, not a budget
                self.caps = self.caps.refined(rate_budgets=(*self.caps.rate_budgets, RateBudget("videos", left, DAY)))

    def account(self) -> str:
        if self.identity is None and self.offline_note:
            return self.handle  # an offline dry run: no DID to key a journal by
        return self._resolve().did  # the DID survives handle changes: it keys the journal

    def notes(self) -> list[str]:
        return [self.video.told] if self.video.told else []  # videos sent the direct road, and why

    def where(self) -> str | None:
        return f"{self.app_url}/profile/{self.identity.handle if self.identity else self.handle}"

    def finish(self) -> None:
        if self.client is not None:
            self.client.close()  # the upload-ahead thread's connections too
        self._http.close()

    # -- media ------------------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        data = _read_prepared(media)
        is_video = media.mime in self.caps.video_mime_types
        if not is_video and media.mime not in self.caps.image_mime_types:
            raise PostFailed(f"Bluesky doesn't take {media.mime} files ({media.source_path})")
        limit = self.caps.video_max_bytes if is_video else self.caps.image_max_bytes
        if limit is not None and len(data) > limit:
            raise PostFailed(f"{media.source_path} is {len(data):,} bytes, over Bluesky's {limit:,}")
        width, height = media.width, media.height
        if is_video:
            width, height = checked_video_size(media, self.caps.video_max_seconds)
            blob, via_service = self.video.store(data, str(media.source_path), self._upload)
        else:
            blob, via_service = self._upload(data, media.mime), False
        sent_kind, got = media.mime.split("/")[0], str(blob.get("mimeType", ""))
        if not got.startswith(sent_kind + "/"):  # the server sniffs the bytes: trust its verdict
            raise PostFailed(f"Bluesky read {media.source_path} as {got or 'unknown data'}, not {media.mime}")
        extra = {"cid": _cid(blob), "mime": got, "size": str(blob.get("size", len(data))),
                 "path": str(media.path), "sha256": media.sha256}
        if width and height:
            extra |= {"width": str(width), "height": str(height)}
        if via_service:  # its CID is the service's output, not the prepared file's
            extra["via"] = "video-service"
        if is_video:  # subtitles go as the video's captions (text/vtt blobs)
            extra |= upload_captions(media, self._upload)
        return RemoteRef(extra["cid"], None, extra)

    def _upload(self, data: bytes, mime: str) -> dict[str, Any]:
        try:
            answer = self._authed().upload("com.atproto.repo.uploadBlob", data, mime)
        except XrpcError as exc:
            raise to_target_error(exc, "upload a file") from None
        blob = answer.get("blob")
        if not isinstance(blob, dict) or not _cid(blob):
            raise TransientError("Bluesky's answer to an upload had no blob reference")
        return blob

    # -- posts ------------------------------------------------------------------------------
    def create_post(self, request: PostRequest) -> RemoteRef:
        rkey = derive_rkey(request.key, request.created_at)
        for attempt in (1, 2):
            record = self._record(request)
            try:
                answer = self._authed().procedure("com.atproto.repo.createRecord", {
                    "repo": self._did(), "collection": POST, "rkey": rkey, "validate": True, "record": record})
                return self._ref(rkey, str(answer["uri"]), str(answer["cid"]))
            except XrpcError as exc:
                if exc.status >= 500 or exc.status == 0:
                    # The reference PDS answers a create on an existing key with a bare 500, and a
                    # timeout may hide a create that landed: ask the server what is there now.
                    found = self._existing(rkey, request)
                    if found is not None:
                        return found
                if exc.error == "BlobNotFound" and attempt == 1:
                    # Uploaded blobs the server dropped before use (a run resumed long after its
                    # uploads): same bytes give the same CID, so upload again and retry once.
                    request = replace(request, media=self._reupload(request.media))
                    continue
                raise to_target_error(exc, "publish a post") from None
            except (KeyError, TypeError):
                raise TransientError("Bluesky's answer to a new post had no uri/cid") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        return self._existing(derive_rkey(request.key, request.created_at), request)

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        did, collection, rkey = _split_uri(ref.id)
        got = self._get_record(did, collection, rkey)
        if got is None:
            return None
        value = got.get("value") or {}
        embed = value.get("embed") or {}
        images = embed.get("images") or embed.get("items") or []  # embed.images / embed.gallery
        video = embed.get("video")
        blobs = [(item.get("image") or {}) for item in images] + ([video] if isinstance(video, dict) else [])
        return {
            "text": value.get("text", ""), "media": len(blobs), "uri": got.get("uri"), "cid": got.get("cid"),
            "created_at": value.get("createdAt"), "langs": value.get("langs"), "facets": value.get("facets") or [],
            "embed_type": embed.get("$type"), "alts": [item.get("alt", "") for item in images]
            + ([embed.get("alt", "")] if video else []),
            "aspect_ratios": [item.get("aspectRatio") for item in images] + ([embed.get("aspectRatio")] if video else []),
            "reply": value.get("reply"),
            "blobs": [{"cid": _cid(b), "mime": b.get("mimeType"), "size": b.get("size"),
                       "url": self.blob_url(did, _cid(b))} for b in blobs],
        }

    def delete_post(self, ref: RemoteRef) -> None:
        did, collection, rkey = _split_uri(ref.id)
        if did != self._did() or collection != POST:
            raise PostFailed(f"{ref.id} is not a post of this account; not deleted")
        try:
            self._authed().procedure("com.atproto.repo.deleteRecord", {"repo": did, "collection": collection, "rkey": rkey})
        except XrpcError as exc:
            raise to_target_error(exc, "delete a post") from None

    # -- reading blobs back (verify, tests) -----------------------------------------------------
    def blob_url(self, did: str, cid: str) -> str:
        return f"{self._client().base_url}/xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}"

    def download_blob(self, cid: str) -> bytes:
        try:
            return self._client().get_bytes("com.atproto.sync.getBlob", {"did": self._did(), "cid": cid})
        except XrpcError as exc:
            raise to_target_error(exc, "download a file") from None

    # -- building records -------------------------------------------------------------------
    def _record(self, request: PostRequest) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST, "text": request.text, "createdAt": iso_time(request.created_at)}
        facets = detect_facets(request.text)
        if facets:
            record["facets"] = facets
        if self.langs:
            record["langs"] = list(self.langs)
        embed = _embed(request, gallery=self.gallery)
        if embed:
            record["embed"] = embed
        # A part whose parent was left out (all its files refused) still joins the thread.
        parent = request.reply_to or request.root
        root = request.root or request.reply_to
        if parent is not None and root is not None:
            record["reply"] = {"root": _strong(root), "parent": _strong(parent)}
        return record

    def _existing(self, rkey: str, request: PostRequest) -> RemoteRef | None:
        """The part at its record key, if it is there; a different post there is an error."""
        got = self._get_record(self._did(), POST, rkey)
        if got is None:
            return None
        created = (got.get("value") or {}).get("createdAt")
        if created != iso_time(request.created_at):
            raise PostFailed(f"the record key {rkey} is already used by another post (made {created})")
        return self._ref(rkey, str(got.get("uri")), str(got.get("cid")))

    def _get_record(self, did: str, collection: str, rkey: str) -> dict[str, Any] | None:
        try:
            return self._client().query("com.atproto.repo.getRecord",
                                        {"repo": did, "collection": collection, "rkey": rkey})
        except XrpcError as exc:
            if exc.error == "RecordNotFound" or exc.status == 404:
                return None
            raise to_target_error(exc, "read a post") from None

    def _reupload(self, media: tuple[RemoteRef, ...]) -> tuple[RemoteRef, ...]:
        """The same media uploaded again (straight to the PDS); a video the service had made
        comes back as the prepared file itself, under its own CID."""
        fresh = []
        for ref in media:
            path = Path(ref.extra.get("path", ""))
            try:
                data = path.read_bytes()
            except OSError:
                raise PostFailed("an uploaded file expired on the server and its prepared copy is gone; "
                                 "run `pindah retry-failed` to prepare it again") from None
            if hashlib.sha256(data).hexdigest() != ref.extra.get("sha256"):
                raise PostFailed("an uploaded file expired on the server and its prepared copy changed")
            blob = self._upload(data, ref.extra.get("mime", "application/octet-stream"))
            if ref.extra.get("via") == "video-service":
                ref = RemoteRef(_cid(blob), None, {k: v for k, v in ref.extra.items() if k != "via"}
                                | {"cid": _cid(blob), "size": str(blob.get("size", len(data)))})
            elif _cid(blob) != ref.id:
                raise PostFailed("an uploaded file came back with a different identity on re-upload")
            reupload_captions(ref, self._upload)
            fresh.append(ref)
        return tuple(fresh)

    def _ref(self, rkey: str, uri: str, cid: str) -> RemoteRef:
        return RemoteRef(uri, f"{self.app_url}/profile/{self._did()}/post/{rkey}", {"cid": cid, "rkey": rkey})

    @staticmethod
    def _describe(client: XrpcClient) -> dict[str, Any]:
        """describeServer: the blob limit and the server's own DID; {} when the server does not
        say (no answer at all is an error: the caller decides whether a dry run may go on)."""
        try:
            return client.query("com.atproto.server.describeServer", {})
        except XrpcError as exc:
            if exc.status == 0:
                raise
            return {}

    def _refine_caps(self, limit: Any) -> None:
        """The server's own blob limit (self-hosted PDSes differ), within the lexicon's."""
        wanted = _int(self.setting("image_max_bytes")) or DEFAULT_IMAGE_BYTES
        image = min(wanted, LEXICON_IMAGE_BYTES)
        video = DEFAULT_VIDEO_BYTES
        if isinstance(limit, int) and limit > 0:
            image, video = min(image, limit), min(LEXICON_VIDEO_BYTES, limit)
        if self.video.active:  # the service stores its own (smaller) output: the PDS limit is not the file's
            video = SERVICE_VIDEO_BYTES
        seconds = _int(self.setting("video_max_seconds")) or DEFAULT_VIDEO_SECONDS
        self.caps = self.caps.refined(image_max_bytes=image, video_max_bytes=video, video_max_seconds=float(seconds),
                                      max_media_per_post=GALLERY_ITEMS if self.gallery else self.caps.max_media_per_post)


# -- helpers --------------------------------------------------------------------------------
def _embed(request: PostRequest, *, gallery: bool = False) -> dict[str, Any] | None:
    if not request.media:
        return None
    alts = list(request.media_alt) + [None] * (len(request.media) - len(request.media_alt))
    videos = [i for i, ref in enumerate(request.media) if ref.extra.get("mime", "").startswith("video/")]
    if videos:
        if len(request.media) != 1:
            raise PostFailed("a Bluesky post holds either images or one video")
        ref, alt = request.media[0], alts[0]
        embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": _blob(ref)}
        if alt:
            embed["alt"] = alt
        if captions := caption_entries(ref):
            embed["captions"] = captions
        return embed | _aspect(ref)
    if len(request.media) > 4:
        # Up to 4 stay the classic embed every app shows; more need the gallery (opt-in).
        if not gallery or len(request.media) > GALLERY_ITEMS:
            raise PostFailed(f"a Bluesky post holds at most {GALLERY_ITEMS if gallery else 4} images, "
                             f"not {len(request.media)}")
        if not all(_aspect(ref) for ref in request.media):
            raise PostFailed("a gallery needs every picture's size, and one is unknown")
        return {"$type": "app.bsky.embed.gallery", "items": [
            {"$type": "app.bsky.embed.gallery#image", "image": _blob(ref), "alt": alt or ""} | _aspect(ref)
            for ref, alt in zip(request.media, alts)]}
    return {"$type": "app.bsky.embed.images",
            "images": [{"image": _blob(ref), "alt": alt or ""} | _aspect(ref) for ref, alt in zip(request.media, alts)]}


def _blob(ref: RemoteRef) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": ref.id}, "mimeType": ref.extra.get("mime", ""),
            "size": int(ref.extra.get("size", "0"))}


def _aspect(ref: RemoteRef) -> dict[str, Any]:
    width, height = _int(ref.extra.get("width")), _int(ref.extra.get("height"))
    return {"aspectRatio": {"width": width, "height": height}} if width and height else {}


def _strong(ref: RemoteRef) -> dict[str, str]:
    cid = ref.extra.get("cid")
    if not cid:
        raise PostFailed("the post this part replies to has no content id; run `pindah retry-failed`")
    return {"uri": ref.id, "cid": cid}


def _cid(blob: dict[str, Any]) -> str:
    ref = blob.get("ref")
    return str(ref.get("$link", "")) if isinstance(ref, dict) else ""


def _split_uri(uri: str) -> tuple[str, str, str]:
    parts = uri.removeprefix("at://").split("/")
    if not uri.startswith("at://") or len(parts) != 3:
        raise PostFailed(f"{uri!r} is not the address of a Bluesky record")
    return parts[0], parts[1], parts[2]


def _read_prepared(media: PreparedMedia) -> bytes:
    try:
        data = media.path.read_bytes()
    except OSError as exc:
        raise PostFailed(f"the prepared file for {media.source_path} can't be read ({exc.strerror})",
                         "run `pindah retry-failed` to prepare it again") from None
    if hashlib.sha256(data).hexdigest() != media.sha256:
        raise PostFailed(f"the prepared file for {media.source_path} changed on disk",
                         "run `pindah retry-failed` to prepare it again")
    return data


def _langs(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    langs = tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))
    bad = [lang for lang in langs if not _LANG.match(lang)]
    if bad:  # the server would refuse every post for it: say so before the run starts
        raise PindahError(f"{bad[0]!r} is not a language tag", "use tags like \"id\", \"en\" or \"pt-BR\" in `langs`")
    if len(langs) > MAX_LANGS:
        raise PindahError(f"Bluesky takes at most {MAX_LANGS} languages per post, not {len(langs)} ({', '.join(langs)})")
    return langs


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        raise PindahError(f"expected a whole number in the Bluesky settings, got {value!r}") from None

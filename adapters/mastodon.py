"""The Mastodon-API target: an artist's Instagram history as quiet posts on Mastodon, Pixelfed or GoToSocial.

Room: turning the engine's requests (`PreparedMedia`, `PostRequest`) into Mastodon client-API
calls and reading them back. Splitting captions, fitting images, retrying, pacing and the
journal are the engine's; the wire is `mastodon_api`, the server's flavour and limits
`mastodon_flavour`, logins and tokens `mastodon_auth`, status text and matching `mastodon_status`.

    --to mastodon:https://example.social        after `pindah login mastodon:https://example.social`
    [targets.mastodon]   every key also as PINDAH_MASTODON_<KEY>:
      visibility         unlisted (default: on the profile, not in public timelines), public, private
      language           e.g. "id": only what the artist says; omitted otherwise
      backdate           GoToSocial only: keep original dates with a past scheduled_at (default true)
      defuse_mentions    true: an Instagram @name never mentions a stranger here (see mastodon_status)
      flavour            mastodon | pixelfed | gotosocial, when detection gets it wrong
      token_store        auto | keyring | file;  media_wait: seconds to wait for a video's processing
    PINDAH_MASTODON_TOKEN   a token for this run only (a personal access token), never stored

Exactly once: every part carries an `Idempotency-Key` derived from its key. Mastodon answers a
repeat with the original status; Pixelfed answers 400 "Duplicate idempotency key." and
GoToSocial ignores the key (a repeat with the same media fails "media already attached"), so
after any unknown outcome the status is looked up in the account's statuses (`find_post`) —
on Mastodon too, because its keys are forgotten after an hour. A key the server noted on a
refused attempt (Pixelfed notes it before its checks) is replaced, never reused.

Never claim a deletion: `delete_post` returns only when the server no longer shows the post.
A 404/410 answer is checked by reading the post back (snac answers 404 and keeps it); when it
is still there, `PostFailed` says "the post is still on the server", which rollback reports
as such (the journal keeps the post). Reads and deletes survive a server that closes pooled
connections without saying so (the toolkit's HTTP layer re-sends them on a fresh one).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from pindah.adapters.contract import PindahError, PostFailed, RunStopped, TransientError
from pindah.adapters.toolkit.http import RateObserver
from pindah.adapters.toolkit.textcount import text_length

from .contract import Adapter, Option, PostRequest, PreparedMedia, RemoteRef
from .mastodon_api import UPLOAD_TIMEOUT, ApiClient, ApiError, check_url
from .mastodon_auth import (
    TOKEN_ENV,
    LoginIO,
    login,
    store_for,
    who,
)
from .mastodon_auth import logout as forget_login
from .mastodon_flavour import (
    MASTODON_DEFAULTS,
    MEDIA_REUSE_SECONDS,
    Flavour,
    InstanceInfo,
    capabilities,
    read_instance,
)
from .mastodon_status import (
    defuse_mentions,
    matches,
    ref_of,
    restore_mentions,
    status_text,
    ulid_before,
)

__all__ = ["MastodonAdapter"]

log = logging.getLogger("pindah.mastodon")

VISIBILITIES = ("public", "unlisted", "private", "direct")
LOOKUP_PAGE = 40  # the most statuses one page may hold on all three servers
DEFAULT_LOOKUP_PAGES = 3
DEFAULT_MEDIA_WAIT = 600.0  # a long video on a busy server


class MastodonAdapter(Adapter):
    name = "mastodon"
    description = "Mastodon, Pixelfed or GoToSocial (any Mastodon-API server): quiet posts, threads, alt text"
    example = "mastodon:https://example.social"
    title = "Mastodon, Pixelfed or GoToSocial"
    sign_in = "oauth"
    location_prompt = "Your server's address"
    capabilities = MASTODON_DEFAULTS
    options = (
        Option("server", str, None, "your server, when --to does not name it: https://example.social"),
        Option("visibility", str, "unlisted", "public, unlisted (not in public timelines), private or direct"),
        Option("language", str, "", "the language of your captions (ISO 639-1, e.g. id); empty: not stated"),
        Option("backdate", bool, True, "GoToSocial 0.18+: keep the original dates (scheduled in the past)"),
        Option("defuse_mentions", bool, True, "keep Instagram @names from notifying strangers here"),
        Option("flavour", str, "", "mastodon, pixelfed or gotosocial, when detection guesses wrong"),
        Option("token_store", str, "auto", "where the login is kept: auto, keyring or file"),
        Option("media_wait", float, DEFAULT_MEDIA_WAIT, "seconds to wait for the server to process a video"),
        Option("lookup_pages", int, DEFAULT_LOOKUP_PAGES, "pages of recent posts searched for one that arrived"),
    )

    def __init__(self, location: str | None, config: dict[str, Any], *, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 io: LoginIO | None = None) -> None:
        super().__init__(location, config)
        server = location or self.setting("server")
        if not server:
            raise PindahError("the Mastodon target needs the server's address",
                              "write it like --to mastodon:https://example.social")
        # "mastodon.art", as people write it (and the app's address field takes it), means https.
        self.server = check_url(str(server) if "://" in str(server) else f"https://{str(server).strip()}")
        self.visibility = str(self.setting("visibility") or "unlisted").strip().lower()
        if self.visibility not in VISIBILITIES:
            raise PindahError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {self.visibility!r}")
        self.language = str(self.setting("language") or "").strip() or None
        self.backdate = _flag(self.setting("backdate"), True)
        self.defuse = _flag(self.setting("defuse_mentions"), True)
        self.media_wait = float(self.setting("media_wait") or DEFAULT_MEDIA_WAIT)
        self.lookup_pages = int(self.setting("lookup_pages") or DEFAULT_LOOKUP_PAGES)
        self.clock, self.sleep, self.io = clock, sleep, io or LoginIO()
        # The engine's pacer may listen to every answer's rate-limit headers (toolkit.http.RateReport).
        self.rate_observers: list[RateObserver] = []
        self.offline_note: str | None = None  # set when a dry run planned without reaching the server
        self.api = ApiClient(self.server, http=http, clock=clock, sleep=sleep, observers=self.rate_observers)
        self.info: InstanceInfo | None = None
        self.me: dict[str, Any] | None = None
        self._media_v1 = False  # the server has no /api/v2/media (Mastodon before 3.1.3)
        self._key_generation: dict[str, int] = {}  # part key -> how many of its keys were burnt
        # A burnt key's successor must be new to the server even if an earlier run burnt keys
        # too (a migrate after a rollback, within the hour the server remembers keys).
        self._run_salt = secrets.token_hex(4)

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        """Read the server's flavour and limits; find the saved login (or log in when asked).

        A dry run (interactive=False) only reads: without a saved login it plans against the
        server's limits and nothing fails; a real run then stops at its first write. A dry run
        (`dry_run=True`) that cannot reach the server at all plans with Mastodon's published
        limits and says so in `offline_note`."""
        try:
            self.info = read_instance(self.api, forced=self.setting("flavour") or None)
        except TransientError as exc:
            if not dry_run:
                raise
            self.offline_note = (f"{self.api.host} could not be reached ({exc.one_line().rstrip('.')}): "
                                 "planned with Mastodon's published limits")
            self.caps = MASTODON_DEFAULTS
            return
        if self.info.flavour is Flavour.PIXELFED and self.visibility == "direct":
            raise PindahError("Pixelfed does not take direct posts", "set visibility to unlisted or private")
        token = os.environ.get(TOKEN_ENV) or None
        if token is None:
            record = store_for(self.config).load(self.api.base)
            token = record.token if record else None
        if token is None and interactive:
            self.io.say(f"pindah is not logged in to {self.api.host} yet.")
            record, where = login(self.api.base, self.config, self.io, api=self.api)
            self.io.say(f"Logged in as @{record.acct}; the login is kept in {where}.")
            token = record.token
        alt_limit = None
        if token is not None:
            self.api.token = token
            self.me = who(self.api)
            if self.info.flavour is Flavour.PIXELFED:
                alt_limit = self._pixelfed_alt_limit()
        self.caps = capabilities(self.info, alt_limit=alt_limit, backdate=self.backdate)

    def account(self) -> str:
        acct = str(self.me.get("acct") or self.me.get("username")) if self.me else "not-logged-in"
        return f"{acct}@{self.api.host}"

    def where(self) -> str | None:
        return str(self.me["url"]) if self.me and self.me.get("url") else None

    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        record, where = login(self.api.base, self.config, self.io, use_token=paste_token, browser=browser,
                              api=self.api)
        return f"Logged in to {self.api.host} as @{record.acct}. The login is kept in {where}."

    def logout(self) -> list[str]:
        removed, note = forget_login(self.api.base, self.config, api=self.api)
        host = self.api.host
        return [f"Logged out of {host}." if removed else f"pindah had no saved login for {host}.",
                *([f"Note: {note}."] if note else [])]

    def finish(self) -> None:
        self.api.close()

    # -- remote operations ----------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        self._logged_in()
        reply = self._send_file(media)
        item = reply.data if isinstance(reply.data, dict) else {}
        if "id" not in item:
            raise TransientError(f"{self.api.host} accepted a file but did not say its id")
        media_id = str(item["id"])
        # Pixelfed answers 202 for every upload and attaches media whatever their processing
        # state, so waiting there would only spend calls.
        if reply.status == 202 and self._flavour() is not Flavour.PIXELFED:
            self._await_processing(media_id)
        # The upload time goes with the id: an upload left unattached too long is deleted.
        return RemoteRef(media_id, item.get("url") or None, {"uploaded_at": f"{self.clock():.0f}"})

    def create_post(self, request: PostRequest) -> RemoteRef:
        self._logged_in()
        text = self._outgoing(request.text)
        self._check_uploads_alive(request.media)
        form: list[tuple[str, str]] = [("status", text), ("visibility", self.visibility)]
        form += [("media_ids[]", m.id) for m in request.media]
        if request.reply_to is not None:
            form.append(("in_reply_to_id", request.reply_to.id))
        if self.language:
            form.append(("language", self.language))
        if self.caps.backdating:  # GoToSocial: a past scheduled_at is a quiet, backdated post
            form.append(("scheduled_at", _iso_ms(request.created_at)))
        try:
            reply = self.api.call("POST", "/api/v1/statuses", family="posts", data=form,
                                  headers={"Idempotency-Key": self._idempotency_key(request.key)})
        except ApiError as exc:
            return self._after_refusal(exc, request, text)
        status = reply.data
        if not isinstance(status, dict) or "id" not in status:
            raise TransientError(f"{self.api.host} answered the new post without its id")
        return ref_of(status)

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        self._logged_in()
        return self._lookup(request, self._outgoing(request.text))

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        self._logged_in()
        status = self._get_or_none(f"/api/v1/statuses/{ref.id}", "reading a post back")
        if not isinstance(status, dict):
            return None
        text = status.get("text") or status.get("content_text")
        if not text and self._flavour() is Flavour.MASTODON:
            # The exact source text (Mastodon 3.5+), not the HTML rendering of it.
            source = self._get_or_none(f"/api/v1/statuses/{ref.id}/source", "reading a post back")
            text = source.get("text") if isinstance(source, dict) else None
        return {"text": restore_mentions(str(text) if text else status_text(status)),
                "media": len(status.get("media_attachments") or []), "url": status.get("url")}

    def delete_post(self, ref: RemoteRef) -> None:
        """Delete one status; return only when the server no longer has it.

        A 404 or 410 is not taken at its word: some servers (snac) answer 404 to a delete and
        keep the post. The status is read back, and when it is still there this raises
        `PostFailed` whose message says the post is still on the server, so a rollback never
        reports a deletion that did not happen (and the journal keeps the post)."""
        self._logged_in()
        try:
            self.api.call("DELETE", f"/api/v1/statuses/{ref.id}", family="deletes")
            return
        except ApiError as exc:
            if exc.status not in (404, 410):
                raise exc.as_target_error("deleting a post") from None
            refused = exc
        if self._get_or_none(f"/api/v1/statuses/{ref.id}", "checking a deleted post") is not None:
            raise PostFailed(f"the post is still on the server: {self.api.host} answered {refused.status} "
                             f"to deleting it but still shows it ({ref.url or ref.id})",
                             "delete it by hand there, or try again later")

    # -- posting, in detail ---------------------------------------------------------------------
    def _after_refusal(self, exc: ApiError, request: PostRequest, text: str) -> RemoteRef:
        """What a refused create means on each server; returns the post when it exists after all."""
        host = self.api.host
        if exc.status == 400 and exc.says("duplicate idempotency key"):
            # Pixelfed noted this key within the hour: an earlier attempt got there. Either it
            # posted (find it) or it was refused after the key was noted (post with a new key).
            found = self._lookup(request, text)
            if found is not None:
                return found
            self._burn(request.key)
            raise TransientError(f"{host} saw this post's key before but does not show the post yet")
        if exc.status in (400, 422) and exc.says("already attached"):
            # GoToSocial: these uploads are already in a status, so an earlier attempt posted.
            found = self._lookup(request, text)
            if found is not None:
                return found
            raise PostFailed(f"{host} says this post's files are already in another post, which pindah "
                             "cannot find among your recent posts", "check your profile there")
        if exc.status == 422 and exc.says("processing", "not ready", "not_ready"):
            raise TransientError(f"{host} is still processing a video of this post", retry_after=30.0)
        if exc.status == 404 and self._key_generation.get(request.key, 0) == 0:
            # Mastodon keeps a key for an hour; if its status was deleted since (a rollback),
            # the repeat finds nothing. A new key makes a new post. (For a reply, a 404 may
            # also mean its parent is gone: then the new key gets a 404 too, and the post fails.)
            self._burn(request.key)
            raise TransientError(f"{host} remembered this post's key for a post that is gone",
                                 retry_after=0.0)  # the next attempt has a new key: no need to wait
        if exc.status == 429:
            self._burn(request.key)  # Pixelfed noted the key before refusing: never reuse it
            if exc.retry_after is None and self._flavour() is Flavour.PIXELFED:
                raise RunStopped(f"{host} has taken its daily maximum of posts from this account "
                                 "(Pixelfed: 1,000 a day)",
                                 "run the same command again in a few hours; everything done so far is kept")
        if self._flavour() is Flavour.GOTOSOCIAL and exc.status in (406, 501) and self.caps.backdating:
            raise PostFailed(f"{host} refused to backdate this post ({exc.message})",
                             "set backdate = false under [targets.mastodon] to post with a date line instead")
        raise exc.as_target_error("publishing a post") from None

    def _lookup(self, request: PostRequest, text: str) -> RemoteRef | None:
        """The status this part became, if the server has it: replies among their parent's
        replies, first parts among the account's latest (GoToSocial: around the original date)."""
        account_id = str(self.me["id"]) if self.me else None
        if request.reply_to is not None:
            context = self._get_or_none(f"/api/v1/statuses/{request.reply_to.id}/context", "looking for a post")
            for status in (context or {}).get("descendants", []) if isinstance(context, dict) else []:
                if matches(status, request, account_id, text, backdated=self.caps.backdating):
                    return ref_of(status)
        params: dict[str, Any] = {"limit": LOOKUP_PAGE}
        if self.caps.backdating:  # ids are ULIDs of the backdated time
            params["max_id"] = ulid_before(request.created_at + timedelta(seconds=1))
        for _ in range(self.lookup_pages):
            try:
                page = self.api.call("GET", f"/api/v1/accounts/{account_id}/statuses", params=params).data
            except ApiError as exc:
                raise exc.as_target_error("looking for a post") from None
            if not isinstance(page, list) or not page:
                return None
            for status in page:
                if matches(status, request, account_id, text, backdated=self.caps.backdating):
                    return ref_of(status)
            params["max_id"] = str(page[-1].get("id"))
        return None

    def _idempotency_key(self, part_key: str) -> str:
        generation = self._key_generation.get(part_key, 0)
        digest = hashlib.sha256(part_key.encode()).hexdigest()[:40]
        return f"pindah-{digest}" + (f"-{generation}-{self._run_salt}" if generation else "")

    def _burn(self, part_key: str) -> None:
        self._key_generation[part_key] = self._key_generation.get(part_key, 0) + 1

    def _outgoing(self, text: str) -> str:
        """The text as sent: @names defused, unless that would push the part over the limit
        (Pixelfed and GoToSocial count the joiner, Mastodon does not)."""
        if not self.defuse:
            return text
        quiet = defuse_mentions(text)
        if quiet != text and self.caps.max_text is not None and text_length(quiet, self.caps) > self.caps.max_text:
            log.warning("an @name in a post is sent as typed: defusing it would exceed %s characters",
                        self.caps.max_text)
            return text
        return quiet

    # -- media, in detail -----------------------------------------------------------------------
    def _send_file(self, media: PreparedMedia) -> Any:
        form = {"description": media.alt_text} if media.alt_text else {}
        for path in (["/api/v1/media"] if self._media_v1 else ["/api/v2/media", "/api/v1/media"]):
            try:
                with open(media.path, "rb") as fh:
                    return self.api.call("POST", path, family="media", data=form, timeout=UPLOAD_TIMEOUT,
                                         files={"file": (media.path.name, fh, media.mime)})
            except OSError as exc:
                raise PostFailed(f"cannot read the prepared file {media.path.name} ({exc.strerror})") from None
            except ApiError as exc:
                if exc.status == 404 and path == "/api/v2/media":
                    self._media_v1 = True
                    continue
                if exc.status == 429 and exc.retry_after is None and self._flavour() is Flavour.PIXELFED:
                    raise RunStopped(f"{self.api.host} has taken its daily maximum of uploads from this account "
                                     "(Pixelfed: 1,250 a day)",
                                     "run the same command again in a few hours; everything done so far is kept")
                if exc.status in (400, 415, 422):
                    raise PostFailed(f"{self.api.host} refused {media.source_path} ({exc.message})") from None
                raise exc.as_target_error("uploading a file") from None
        raise AssertionError("unreachable")

    def _await_processing(self, media_id: str) -> None:
        """Poll until the server has processed an upload (206 = still working, 200 = ready).
        After `media_wait` the post is tried anyway: a not-ready answer is retried later."""
        deadline = self.clock() + self.media_wait
        delay = 1.0
        while self.clock() < deadline:
            self.sleep(delay)
            try:
                reply = self.api.call("GET", f"/api/v1/media/{media_id}")
            except ApiError as exc:
                if exc.status == 422:
                    raise PostFailed(f"{self.api.host} could not process this file ({exc.message})") from None
                raise exc.as_target_error("waiting for an upload to be processed") from None
            if reply.status == 200:
                return
            delay = min(delay * 2, 10.0)
        log.warning("%s is still processing upload %s after %.0f s", self.api.host, media_id, self.media_wait)

    def _check_uploads_alive(self, media: tuple[RemoteRef, ...]) -> None:
        """An upload older than the server keeps unattached ones may be gone; Mastodon would then
        post the text without it, silently. Ask before posting, and refuse rather than lose it."""
        reuse = MEDIA_REUSE_SECONDS[self._flavour()]
        for ref in media:
            uploaded = float(ref.extra.get("uploaded_at") or 0)
            stale = bool(uploaded) and self.clock() - uploaded > reuse
            if stale and self._get_or_none(f"/api/v1/media/{ref.id}", "checking an earlier upload") is None:
                raise PostFailed(f"a file uploaded to {self.api.host} "
                                 f"{(self.clock() - uploaded) / 3600:.0f} h ago was deleted there before "
                                 "it could be attached", "it has to be uploaded again")

    # -- helpers --------------------------------------------------------------------------------
    def _get_or_none(self, path: str, doing: str) -> Any:
        try:
            return self.api.call("GET", path).data
        except ApiError as exc:
            if exc.status in (404, 410):
                return None
            raise exc.as_target_error(doing) from None

    def _pixelfed_alt_limit(self) -> int | None:
        """Pixelfed's alt-text limit is only in its compose settings (needs the login)."""
        try:
            settings = self.api.call("GET", "/api/v1.1/compose/settings").data
        except ApiError as exc:
            if exc.login_page or exc.status in (401, 403):
                raise exc.as_target_error("reading the compose settings") from None
            return None
        value = settings.get("max_altext_length") if isinstance(settings, dict) else None
        return int(value) if isinstance(value, (int, str)) and str(value).isdigit() and int(value) > 0 else None

    def _flavour(self) -> Flavour:
        return self.info.flavour if self.info else Flavour.MASTODON

    def _logged_in(self) -> None:
        if self.me is None:
            raise RunStopped(f"pindah is not logged in to {self.api.host}",
                             f"run `pindah login mastodon:{self.api.base}` first (or set {TOKEN_ENV})")



def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def _iso_ms(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


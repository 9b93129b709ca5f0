"""Simulated Mastodon, Pixelfed and GoToSocial servers for the Mastodon-API adapter's tests.

One `SimServer` answers through `responses` the way each server was observed or documented to
answer (shared/reference anchors-fediverse.md §4, gotosocial-api.md):

* Mastodon: images 200, videos 202 then 206 while processing and 200 when ready; a repeated
  Idempotency-Key returns the original status; media ids already attached or unknown are
  silently dropped (the status is posted without them); images and video never mixed (422);
  ISO-8601 `X-RateLimit-Reset`; a bad token is a 401.
* Pixelfed: every upload 202 (usable at once); a repeated key is 400 "Duplicate idempotency
  key." and the key is noted *before* the other checks; a status needs media unless it is a
  reply (403); a bad token redirects to the HTML login page.
* GoToSocial: uploads 200; Idempotency-Key ignored; a media id attaches once (400 "media
  already attached to status"); a past `scheduled_at` backdates and the id is a ULID of that time.

* snac (a real server run in CI, tests/snac_server.py; its quirks as observed there, see
  shared/reference snac-mastodon-api.md): a DELETE answers 404 and keeps the status; the
  attachments of a status get ids other than the upload ids; Idempotency-Key is ignored; a
  bad token gets 422 with an empty HTML page on verify_credentials; no rate-limit headers;
  the account's statuses come all at once, whatever `limit` and `max_id` say.

`faults` inject failures: before handling (e.g. a 429) or after the change was made (the answer
is lost: a dropped connection). `log` lists every request as "METHOD /path".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from pindah.adapters.mastodon_status import ulid_before

TOKEN = "sim-token-s3cr3t-0123456789"
T_NOW = 1_750_000_000.0  # the simulated "now" (2025-06-15)


@dataclass
class Fault:
    """When a request matches `method` and `path` (a regex), answer `reply` instead (before the
    server acts) or, with `after=True`, act and then lose the answer (`reply` is raised)."""

    method: str
    path: str
    reply: Any  # (status, headers, body) or an Exception
    after: bool = False
    times: int = 1


@dataclass
class SimServer:
    flavour: str = "mastodon"
    base: str = "https://social.example"
    token: str = TOKEN
    clock: Callable[[], float] = lambda: T_NOW
    video_polls: int = 2  # 206 answers before a video is ready (Mastodon)
    v2_instance: bool = True
    max_chars: int | None = None
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    forms: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    apps: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri it was made for
    revoked: list[str] = field(default_factory=list)
    remaining: int = 299
    _seq: int = 0

    def install(self, rsps: responses.RequestsMock) -> SimServer:
        for method in ("GET", "POST", "PUT", "DELETE"):
            rsps.add_callback(method, re.compile(re.escape(self.base) + r"/.*"), callback=self._handle)
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def limit(self) -> int:
        return self.max_chars or {"mastodon": 500, "pixelfed": 500, "gotosocial": 5000, "snac": 120_000}[self.flavour]

    # -- dispatch ---------------------------------------------------------------------------
    def _handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(request.url)
        path, method = parts.path, request.method or "GET"
        self.log.append(f"{method} {path}")
        query = dict(parse_qsl(parts.query))
        form = self._form(request)
        if method == "POST":
            self.forms.append((path, form, {k: v for k, v in request.headers.items() if k == "Idempotency-Key"}))
        fault = self._fault(method, path)
        if fault is not None and not fault.after:
            return self._reply(fault.reply)
        status, headers, body = self._route(method, path, query, form, request)
        if fault is not None:
            return self._reply(fault.reply)  # the change happened; the answer is lost
        headers = {**self._rate_headers(), **headers}
        if isinstance(body, (dict, list)):
            return status, {"Content-Type": "application/json", **headers}, json.dumps(body)
        return status, headers, body

    def _route(self, method: str, path: str, query: dict[str, str], form: list[tuple[str, str]],
               request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        if path in ("/api/v2/instance", "/api/v1/instance"):
            if path.endswith("v2/instance") and (not self.v2_instance or self.flavour == "snac"):
                return 404, {}, {"error": "Record not found"}
            return 200, {}, self.instance(v2=path.startswith("/api/v2"))
        if path == "/.well-known/nodeinfo":
            return 200, {}, {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                                        "href": f"{self.base}/nodeinfo/2.0"}]}
        if path == "/nodeinfo/2.0":
            return 200, {}, {"version": "2.0", "software": {"name": self.flavour, "version": "0.19.2"}}
        if path == "/api/v1/apps" and method == "POST":
            app = {"client_id": f"cid{len(self.apps)}", "client_secret": f"csecret{len(self.apps)}",
                   "redirect_uri": dict(form)["redirect_uris"]}
            self.apps.append(app)
            return 200, {}, {"id": str(len(self.apps)), "name": "pindah", **app}
        if path == "/oauth/token" and method == "POST":
            data = dict(form)
            if self.codes.get(data.get("code", "")) != data.get("redirect_uri") or not data.get("code_verifier"):
                return 400, {}, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"}
            return 200, {}, {"access_token": self.token, "token_type": "Bearer", "scope": "read write"}
        if path == "/oauth/revoke" and method == "POST":
            self.revoked.append(dict(form)["token"])
            return 200, {}, {}
        if not self._authorized(request):
            if self.flavour == "pixelfed":  # Laravel sends unauthenticated API calls to its login page
                return 302, {"Location": f"{self.base}/login"}, ""
            if self.flavour == "snac" and path == "/api/v1/accounts/verify_credentials":
                return 422, {"Content-Type": "text/html"}, ""
            return 401, {}, {"error": "The access token is invalid"}
        if path == "/api/v1/accounts/verify_credentials":
            return 200, {}, self.account()
        if path == "/api/v1.1/compose/settings":
            return 200, {}, {"max_altext_length": 1000, "max_caption_length": 500, "max_media_attachments": 4}
        if path in ("/api/v2/media", "/api/v1/media") and method == "POST":
            return self._upload(path, request)
        m = re.fullmatch(r"/api/v1/media/([^/]+)", path)
        if m and method == "GET":
            item = self.media.get(m.group(1))
            if item is None:
                return 404, {}, {"error": "Record not found"}
            if item["left"] > 0:
                item["left"] -= 1
                return 206, {}, self._media_json(item, ready=False)
            return 200, {}, self._media_json(item)
        if path == "/api/v1/statuses" and method == "POST":
            return self._create(form, request.headers.get("Idempotency-Key"))
        m = re.fullmatch(r"/api/v1/statuses/([^/]+)(/context|/source)?", path)
        if m:
            status = self.statuses.get(m.group(1))
            if status is None:
                return 404, {}, {"error": "Record not found"}
            if method == "DELETE":
                if self.flavour == "snac":  # answers 404 and keeps the post
                    return 404, {"Content-Type": "text/html"}, "<html><body>404</body></html>"
                del self.statuses[m.group(1)]
                return 200, {}, self._status_json(status)
            if m.group(2) == "/source":
                return 200, {}, {"id": status["id"], "text": status["text"], "spoiler_text": ""}
            if m.group(2) == "/context":
                return 200, {}, {"ancestors": [], "descendants": [self._status_json(s) for s in self._sorted()
                                                                   if s["in_reply_to_id"] == status["id"]][::-1]}
            return 200, {}, self._status_json(status)
        m = re.fullmatch(r"/api/v1/accounts/([^/]+)/statuses", path)
        if m:
            if self.flavour == "snac":  # every status at once, limit and max_id ignored
                return 200, {}, [self._status_json(s) for s in self._sorted()]
            limit = int(query.get("limit", 20))
            found = [s for s in self._sorted() if "max_id" not in query or self._key(s["id"]) < self._key(query["max_id"])]
            return 200, {}, [self._status_json(s) for s in found[:limit]]
        return 404, {}, {"error": "Record not found"}

    # -- media and statuses -----------------------------------------------------------------
    def _upload(self, path: str, request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        mime = re.search(rb"Content-Type: ([\w/.+-]+)", body)
        desc = re.search(rb'name="description"\r\n\r\n(.*?)\r\n--', body, re.DOTALL)
        media_id = self._new_id(media=True)
        kind = "video" if mime and mime.group(1).startswith(b"video/") else "image"
        item = {"id": media_id, "type": kind, "status": None, "description": desc.group(1).decode() if desc else None,
                "left": self.video_polls if (self.flavour == "mastodon" and kind == "video") else 0}
        self.media[media_id] = item
        if self.flavour == "pixelfed" or (item["left"] and path == "/api/v2/media"):
            return 202, {}, self._media_json(item, ready=self.flavour == "pixelfed")
        return 200, {}, self._media_json(item)

    def _create(self, form: list[tuple[str, str]], key: str | None) -> tuple[int, dict[str, str], Any]:
        data = dict(form)
        media_ids = [v for k, v in form if k == "media_ids[]"]
        if key and self.flavour == "mastodon" and key in self.keys:
            original = self.statuses.get(self.keys[key])
            return (200, {}, self._status_json(original)) if original else (404, {}, {"error": "Record not found"})
        if key and self.flavour == "pixelfed":
            if key in self.keys:
                return 400, {}, {"message": "Duplicate idempotency key."}
            self.keys[key] = ""  # noted before any other check, as statusCreate does
        text = data.get("status", "")
        if len(text) > self.limit:  # the tests' texts count the same in code points and graphemes
            if self.flavour == "gotosocial":
                return 400, {}, {"error": f"Bad Request: text with spoiler exceed max chars ({self.limit})"}
            return 422, {}, {"error": f"Validation failed: Text character limit of {self.limit} exceeded"}
        if self.flavour == "gotosocial":
            for mid in media_ids:
                if self.media.get(mid, {}).get("status"):
                    return 400, {}, {"error": f"Bad Request: media already attached to status: {mid}"}
        else:  # Mastodon and Pixelfed only take unattached media of this account; the rest is dropped
            media_ids = [m for m in media_ids if m in self.media and not self.media[m]["status"]]
        if self.flavour == "mastodon":
            kinds = {self.media[m]["type"] for m in media_ids}
            if len(kinds) > 1 or sum(self.media[m]["type"] == "video" for m in media_ids) > 1:
                return 422, {}, {"error": "Validation failed: Cannot attach a video to a post that already contains images"}
            if any(self.media[m]["left"] for m in media_ids):
                return 422, {}, {"error": "Validation failed: Media attachments Cannot attach files that have not "
                                          "finished processing. Try again in a moment!"}
        if self.flavour == "pixelfed" and not media_ids and not data.get("in_reply_to_id"):
            return 403, {}, {"message": "Empty statuses are not allowed"}
        if not text and not media_ids:
            return 422, {}, {"error": "Validation failed: Text can't be blank"}
        created = datetime.fromtimestamp(self.clock(), tz=UTC)
        if self.flavour == "gotosocial" and data.get("scheduled_at"):
            created = datetime.fromisoformat(data["scheduled_at"])
        status = {"id": self._new_id(at=created), "text": text, "created_at": created, "media": media_ids,
                  "in_reply_to_id": data.get("in_reply_to_id"), "visibility": data.get("visibility", "public"),
                  "language": data.get("language")}
        self.statuses[status["id"]] = status
        for mid in media_ids:
            self.media[mid]["status"] = status["id"]
        if key and self.flavour not in ("gotosocial", "snac"):
            self.keys[key] = status["id"]
        return 200, {}, self._status_json(status)

    def _status_json(self, s: dict[str, Any]) -> dict[str, Any]:
        html = "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in s["text"].split("\n\n")) if s["text"] else ""
        out = {"id": s["id"], "created_at": s["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
               "in_reply_to_id": s["in_reply_to_id"], "visibility": s["visibility"],
               "url": f"{self.base}/@artist/{s['id']}", "uri": f"{self.base}/users/artist/statuses/{s['id']}",
               "content": html.replace("&", "&amp;"), "account": self.account(),
               "media_attachments": [self._media_json(self.media[m]) for m in s["media"]]}
        if self.flavour == "snac":  # attachments get their own ids, not the upload ids
            out["media_attachments"] = [dict(a, id=f"att-{s['id']}-{i}") for i, a in enumerate(out["media_attachments"])]
        if self.flavour == "gotosocial":
            out["text"] = s["text"]  # GoToSocial returns the source text of one's own statuses
        return out

    def _media_json(self, item: dict[str, Any], ready: bool = True) -> dict[str, Any]:
        return {"id": item["id"], "type": item["type"], "description": item["description"],
                "url": f"{self.base}/media/{item['id']}" if ready else None}

    def account(self) -> dict[str, Any]:
        return {"id": "42", "username": "artist", "acct": "artist", "url": f"{self.base}/@artist"}

    def instance(self, v2: bool) -> dict[str, Any]:
        version, source, media = {
            "mastodon": ("4.3.2", "https://github.com/mastodon/mastodon",
                         {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/heic", "image/webp",
                                                   "image/avif", "video/mp4", "video/quicktime", "video/webm"],
                          "description_limit": 1500, "image_size_limit": 16777216,
                          "image_matrix_limit": 33177600, "video_size_limit": 103809024}),
            "pixelfed": ("3.5.3 (compatible; Pixelfed 0.12.4)", "https://github.com/pixelfed/pixelfed",
                         {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/jpg"],
                          "image_size_limit": 15360000, "image_matrix_limit": 3686400, "video_size_limit": 15360000}),
            "gotosocial": ("0.19.2+git-fa7c5a5", None,
                           {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"],
                            "description_limit": 1500, "image_size_limit": 41943040,
                            "image_matrix_limit": 2147483647, "video_size_limit": 41943040}),
            "snac": ("4.0.0 (not true; really snac/2.75)", None,
                     {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"]}),
        }[self.flavour]
        statuses = {"max_characters": self.limit, "max_media_attachments": 6 if self.flavour == "gotosocial" else 4,
                    "characters_reserved_per_url": 25 if self.flavour == "gotosocial" else 23}
        doc: dict[str, Any] = {"version": version, "configuration": {"statuses": statuses, "media_attachments": media}}
        doc["domain" if v2 else "uri"] = self.host
        if source and v2:
            doc["source_url"] = source
        return doc

    # -- helpers ----------------------------------------------------------------------------
    def _authorized(self, request: requests.PreparedRequest) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.fullmatch(fault.path, path):
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _reply(reply: Any) -> tuple[int, dict[str, str], Any]:
        if isinstance(reply, Exception):
            return 0, {}, reply
        status, headers, body = reply
        return status, {"Content-Type": "application/json", **headers}, json.dumps(body)

    def _rate_headers(self) -> dict[str, str]:
        if self.flavour in ("pixelfed", "snac"):
            return {}
        reset = datetime.fromtimestamp(self.clock() + 300, tz=UTC)
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "Date": format_datetime(datetime.fromtimestamp(self.clock(), tz=UTC), usegmt=True)}

    def _new_id(self, *, media: bool = False, at: datetime | None = None) -> str:
        self._seq += 1
        if self.flavour == "gotosocial":
            moment = at or datetime.fromtimestamp(self.clock(), tz=UTC)
            return ulid_before(moment)[:10] + f"{self._seq:016d}"
        if self.flavour == "pixelfed" and media:
            return str(self._seq)
        return str((int(self.clock() * 1000) << 16) + self._seq)

    def _key(self, status_id: str) -> Any:
        return status_id if self.flavour == "gotosocial" else int(status_id)

    def _sorted(self) -> list[dict[str, Any]]:
        return sorted(self.statuses.values(), key=lambda s: self._key(s["id"]), reverse=True)

    @staticmethod
    def _form(request: requests.PreparedRequest) -> list[tuple[str, str]]:
        if "x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
            return []
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        return parse_qsl(body, keep_blank_values=True)

    def status_of(self, ref_id: str) -> dict[str, Any]:
        return self.statuses[ref_id]

"""A simulated DeviantArt (OAuth 2 + the `/api/v1/oauth2` API) for the DeviantArt adapter's tests.

One `DeviantArtSim` answers `requests.PreparedRequest`s, through `responses` (`install`) or over
real HTTP on 127.0.0.1 (`tests/sim_http.py`), with the shapes DeviantArt documents
(deviantart.com/developers: authentication, errors, stash, gallery, deviation):

* OAuth: `/oauth2/authorize` approves at once and redirects to the registered loopback address
  with `code` and `state`; `/oauth2/token` checks the client id and secret (none for the "Public"
  client `PUBLIC_CLIENT_ID`), the code's redirect address and its PKCE verifier; access tokens last `token_life` seconds (DeviantArt: 3600);
  refresh tokens rotate (the old one is refused with 400 `invalid_request`, as DeviantArt does).
* Every API call needs a User-Agent and HTTP compression (else a 403 HTML page, like DeviantArt's
  load balancer) and a live bearer token (else 401 `invalid_token`).
* Errors are `{"error", "error_description", "status": "error"}`: 400 for validation and "not
  found" (DeviantArt's errors page lists 400, 429, 500, 503), 429 `user_api_threshold` when more
  than `burst` writes arrive within `burst_window` seconds (no rate-limit headers: DeviantArt
  sends none; `retry_after` adds a Retry-After).
* `stash/submit` takes a file (a new item) or an `itemid` (its title, `artist_comments`, `tags[]`);
  titles over 50 characters and more than 30 tags are refused. `stash/publish` needs
  `agree_submission` and `agree_tos`, moves the item out of Sta.sh into a deviation in its
  `galleryids[]`, and records `is_ai_generated`. There is no call that deletes a deviation.
* `/deviation/metadata` refuses more than 10 ids.

`faults` answer chosen requests with an error (before the change) or lose the answer after it.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
import responses

CLIENT_ID = "4711"
CLIENT_SECRET = "sim-client-s3cr3t-6e1f"
PUBLIC_CLIENT_ID = "4712"  # a "Public" client: no secret, PKCE alone
USERNAME = "harbour-ink"
T_NOW = 1_750_000_000.0
_NOT_FOUND = {"error": "invalid_request", "error_description": "Deviation not found.", "status": "error"}


@dataclass
class Fault:
    """Answer `reply` (status, body) to requests matching `method` and `path` (a regex) instead of
    handling them; with `after=True` handle them and then answer `reply` (the answer is lost)."""

    method: str
    path: str
    reply: tuple[int, Any]
    after: bool = False
    times: int = 1


@dataclass
class DeviantArtSim:
    base: str = "https://www.deviantart.com"
    clock: Callable[[], float] = time.time
    token_life: float = 3600.0
    burst: int = 10_000
    burst_window: float = 60.0
    retry_after: float | None = None
    clients: dict[str, str | None] = field(default_factory=lambda: {CLIENT_ID: CLIENT_SECRET,
                                                                    PUBLIC_CLIENT_ID: None})
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # token -> expiry
    refresh: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    folders: list[dict[str, Any]] = field(default_factory=lambda: [{"folderid": "F0", "parent": None,
                                                                   "name": "Featured"}])
    stash: dict[str, dict[str, Any]] = field(default_factory=dict)
    deviations: dict[str, dict[str, Any]] = field(default_factory=dict)  # in publishing order
    faults: list[Fault] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    forms: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # every POST's fields
    refused: int = 0  # writes answered 429 for the rate
    writes: list[float] = field(default_factory=list)
    issued: list[str] = field(default_factory=lambda: [CLIENT_SECRET])  # every secret it ever handed out
    _serial: int = 0

    def install(self, rsps: responses.RequestsMock) -> DeviantArtSim:
        for method in ("GET", "POST"):
            rsps.add_callback(method, re.compile(re.escape(self.base) + r"/.*"), callback=self.handle)
        return self

    # -- logins the tests hand out ------------------------------------------------------------
    def issue_tokens(self) -> dict[str, Any]:
        """A fresh token pair, as the token endpoint would answer it."""
        access, refresh = "at-" + secrets.token_hex(12), "rt-" + secrets.token_hex(12)
        self.access[access] = self.clock() + self.token_life
        self.refresh.add(refresh)
        self.issued += [access, refresh]
        return {"expires_in": int(self.token_life), "status": "success", "access_token": access,
                "token_type": "Bearer", "refresh_token": refresh, "scope": "browse gallery publish stash user"}

    def last_form(self, path: str) -> list[tuple[str, str]]:
        return next(form for sent, form in reversed(self.forms) if sent == path)

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(request.url)
        method, path = request.method or "GET", parts.path
        self.log.append(f"{method} {path}")
        fault = next((f for f in self.faults if f.times > 0 and f.method == method and re.fullmatch(f.path, path)),
                     None)
        if fault is not None:
            fault.times -= 1
            if not fault.after:
                return self._json(*fault.reply)
        query = parse_qsl(parts.query)
        form = self._form(request)
        if method == "POST":
            self.forms.append((path, form))
        status, body = self._route(method, path, query, form, request)
        if fault is not None:
            return self._json(*fault.reply)
        if status == 302:
            return 302, {"Location": body, "Date": self._date()}, ""
        return self._json(status, body)

    def _route(self, method: str, path: str, query: list[tuple[str, str]], form: list[tuple[str, str]],
               request: requests.PreparedRequest) -> tuple[int, Any]:
        if path == "/oauth2/authorize":
            return self._authorize(dict(query))
        if path == "/oauth2/token" and method == "POST":
            return self._token(dict(form))
        if path == "/oauth2/revoke" and method == "POST":
            token = dict(form).get("token", "")
            self.refresh.discard(token)
            self.access.pop(token, None)
            self.revoked.append(token)
            return 200, {"status": "success"}
        if not path.startswith("/api/v1/oauth2/"):
            return 404, {"error": "invalid_request", "error_description": "Api endpoint not found.", "status": "error"}
        headers = request.headers
        if not headers.get("User-Agent") or "gzip" not in (headers.get("Accept-Encoding") or ""):
            return 403, "<html><body>403 Forbidden</body></html>"
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.access.get(token, 0) <= self.clock():
            return 401, {"error": "invalid_token", "error_description": "Expired oAuth2 user token. The client "
                         "should request a new one with an access code or a refresh token.", "status": "error"}
        if method == "POST" and self._too_fast():
            self.refused += 1
            return 429, {"error": "user_api_threshold", "error_description": "User request limit reached.",
                         "status": "error"}
        return self._api(method, path.removeprefix("/api/v1/oauth2"), query, form, request)

    def _api(self, method: str, path: str, query: list[tuple[str, str]], form: list[tuple[str, str]],
             request: requests.PreparedRequest) -> tuple[int, Any]:
        q, f = dict(query), dict(form)
        if path == "/user/whoami":
            return 200, {"userid": "U-1", "username": USERNAME, "usericon": f"{self.base}/icon.png", "type": "regular"}
        if path == "/gallery/folders" and method == "GET":
            return 200, self._page(self.folders, q, 50)
        if path == "/gallery/folders/create" and method == "POST":
            if not f.get("folder"):
                return 400, _invalid({"folder": "folder is required"})
            folder = {"folderid": f"F{len(self.folders)}", "parent": None, "name": f["folder"]}
            self.folders.append(folder)
            return 200, folder
        if path == "/stash/submit" and method == "POST":
            return self._submit(f, form, request)
        if path == "/stash/publish" and method == "POST":
            return self._publish(f, form)
        if path == "/deviation/metadata":
            ids = [v for k, v in query if k == "deviationids[]"]
            if not ids or len(ids) > 10:
                return 400, _invalid({"deviationids": "between 1 and 10 ids"})
            return 200, {"metadata": [self._metadata(d) for d in ids if d in self.deviations]}
        if path.startswith("/gallery/") and method == "GET":
            folder = path.removeprefix("/gallery/")
            if folder not in {x["folderid"] for x in self.folders}:
                return 400, {"error": "invalid_request", "error_description": "Folder not found.", "status": "error"}
            newest = [self._public(d) for d in reversed(list(self.deviations.values())) if folder in d["galleries"]]
            return 200, self._page(newest, q, 24)
        if path.startswith("/deviation/") and method == "GET":
            found = self.deviations.get(path.removeprefix("/deviation/"))
            return (200, self._public(found)) if found else (400, _NOT_FOUND)
        return 404, {"error": "invalid_request", "error_description": "Api endpoint not found.", "status": "error"}

    # -- OAuth ------------------------------------------------------------------------------------
    def _authorize(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("client_id") not in self.clients or q.get("response_type") != "code":
            return 400, {"error": "invalid_request", "error_description": "Invalid client.", "status": "error"}
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE (S256) is required.",
                         "status": "error"}
        code = "code-" + secrets.token_hex(8)
        self.issued.append(code)
        self.codes[code] = {"redirect_uri": q.get("redirect_uri", ""), "challenge": q["code_challenge"]}
        return 302, f"{q.get('redirect_uri')}?{urlencode({'code': code, 'state': q.get('state', '')})}"

    def _token(self, f: dict[str, str]) -> tuple[int, Any]:
        if f.get("client_id") not in self.clients or self.clients[f["client_id"]] != f.get("client_secret"):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed.",
                         "status": "error"}
        if f.get("grant_type") == "authorization_code":
            issued = self.codes.pop(f.get("code", ""), None)
            verifier = f.get("code_verifier", "")
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if issued is None or issued["redirect_uri"] != f.get("redirect_uri") or issued["challenge"] != expected:
                return 400, {"error": "invalid_grant", "error_description": "Invalid code.", "status": "error"}
            return 200, self.issue_tokens()
        if f.get("grant_type") == "refresh_token":
            if f.get("refresh_token") not in self.refresh:
                return 400, {"error": "invalid_request", "error_description": "Invalid refresh token.",
                             "status": "error"}
            self.refresh.discard(f["refresh_token"])  # rotated: the old one is spent
            return 200, self.issue_tokens()
        return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant.", "status": "error"}

    # -- Sta.sh --------------------------------------------------------------------------------
    def _submit(self, f: dict[str, str], form: list[tuple[str, str]],
                request: requests.PreparedRequest) -> tuple[int, Any]:
        tags = [v for k, v in form if k == "tags[]"]
        if len(f.get("title", "")) > 50:
            return 400, _invalid({"title": "title can be at most 50 characters"})
        if len(tags) > 30:
            return 400, _invalid({"tags": "at most 30 tags"})
        if f.get("itemid"):
            item = self.stash.get(f["itemid"])
            if item is None:
                return 400, {"error": "invalid_request", "error_description": "Invalid item.", "status": "error"}
        else:
            upload = _file_part(request)
            if upload is None:
                return 400, _invalid({"file": "a file is required for a new item"})
            self._serial += 1
            item = {"itemid": str(1000 + self._serial), "file": upload[0], "mime": upload[1], "title": "",
                    "artist_comments": "", "tags": []}
            self.stash[item["itemid"]] = item
        for key in ("title", "artist_comments"):
            if key in f:
                item[key] = f[key]
        if tags or any(k == "tags[]" for k, _ in form):
            item["tags"] = tags
        return 200, {"status": "success", "itemid": int(item["itemid"]), "stack": "Sta.sh Uploads", "stackid": 7}

    def _publish(self, f: dict[str, str], form: list[tuple[str, str]]) -> tuple[int, Any]:
        item = self.stash.get(f.get("itemid", ""))
        if item is None:
            return 400, {"error": "invalid_request", "error_description": "Invalid item.", "status": "error"}
        if f.get("agree_submission") != "true" or f.get("agree_tos") != "true":
            return 400, _invalid({"agree_tos": "you must agree to the terms"})
        galleries = [v for k, v in form if k == "galleryids[]"]
        known = {x["folderid"] for x in self.folders}
        if any(g not in known for g in galleries):
            return 400, _invalid({"galleryids": "unknown folder"})
        if not item["title"]:
            return 400, _invalid({"title": "title is required"})
        self._serial += 1
        deviation_id = f"{self._serial:08X}-0000-4000-8000-{secrets.token_hex(6).upper()}"
        slug = re.sub(r"[^A-Za-z0-9]+", "-", item["title"]).strip("-") or "Untitled"
        self.deviations[deviation_id] = {
            "deviationid": deviation_id, "url": f"{self.base}/{USERNAME}/art/{slug}-{self._serial}",
            "title": item["title"], "published_time": str(int(self.clock())), "galleries": ["F0", *galleries],
            "description": item["artist_comments"], "tags": item["tags"], "file": item["file"], "mime": item["mime"],
            "is_ai_generated": f.get("is_ai_generated"), "is_mature": f.get("is_mature")}
        del self.stash[item["itemid"]]  # published: it leaves Sta.sh
        return 200, {"status": "success", "url": self.deviations[deviation_id]["url"], "deviationid": deviation_id}

    # -- shapes -----------------------------------------------------------------------------------
    def _public(self, d: dict[str, Any]) -> dict[str, Any]:
        return {"deviationid": d["deviationid"], "printid": None, "url": d["url"], "title": d["title"],
                "category": "", "is_favourited": False, "is_deleted": False, "published_time": d["published_time"],
                "allows_comments": True, "author": {"userid": "U-1", "username": USERNAME},
                "content": {"src": f"{self.base}/files/{d['deviationid']}", "height": 0, "width": 0,
                            "transparency": False, "filesize": len(d["file"])},
                "is_mature": False, "is_downloadable": False}

    def _metadata(self, deviation_id: str) -> dict[str, Any]:
        d = self.deviations[deviation_id]
        return {"deviationid": deviation_id, "printid": None, "author": {"username": USERNAME}, "is_watching": False,
                "title": d["title"], "description": d["description"], "license": "No License",
                "allows_comments": True, "tags": [{"tag_name": t, "sponsored": False, "sponsor": ""}
                                                  for t in d["tags"]], "is_favourited": False, "is_mature": False}

    @staticmethod
    def _page(items: list[Any], q: dict[str, str], most: int) -> dict[str, Any]:
        offset, limit = int(q.get("offset") or 0), min(int(q.get("limit") or most), most)
        chunk = items[offset:offset + limit]
        more = offset + limit < len(items)
        return {"has_more": more, "next_offset": offset + limit if more else None, "results": chunk}

    def _too_fast(self) -> bool:
        now = self.clock()
        self.writes = [t for t in self.writes if t > now - self.burst_window]
        if len(self.writes) >= self.burst:
            return True
        self.writes.append(now)
        return False

    def _json(self, status: int, body: Any) -> tuple[int, dict[str, str], Any]:
        headers = {"Date": self._date()}
        if status == 429 and self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        if isinstance(body, str):
            return status, {"Content-Type": "text/html", **headers}, body
        return status, {"Content-Type": "application/json; charset=utf-8", **headers}, json.dumps(body)

    def _date(self) -> str:
        return formatdate(self.clock(), usegmt=True)

    @staticmethod
    def _form(request: requests.PreparedRequest) -> list[tuple[str, str]]:
        body = request.body or b""
        raw = body if isinstance(body, bytes) else body.encode()
        kind = request.headers.get("Content-Type") or ""
        if kind.startswith("multipart/"):
            return [(name, value.decode()) for name, value, filename, _ in _parts(kind, raw) if filename is None]
        return parse_qsl(raw.decode(), keep_blank_values=True) if raw else []


def _invalid(details: dict[str, str]) -> dict[str, Any]:
    return {"error": "invalid_request", "error_description": "Request field validation failed.",
            "error_details": details, "status": "error"}


def _parts(content_type: str, body: bytes) -> list[tuple[str, bytes, str | None, str]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return [(part.get_param("name", header="content-disposition") or "", part.get_payload(decode=True) or b"",
             part.get_filename(), part.get_content_type()) for part in message.iter_parts()]


def _file_part(request: requests.PreparedRequest) -> tuple[bytes, str] | None:
    kind = request.headers.get("Content-Type") or ""
    if not kind.startswith("multipart/"):
        return None
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    for _name, value, filename, mime in _parts(kind, body):
        if filename is not None:
            return value, mime
    return None

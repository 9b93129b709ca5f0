"""A simulated Tumblr API v2, served over real HTTP on 127.0.0.1 (tests/sim_http.py), for the Tumblr adapter's tests.

Built from the shapes tumblr/docs documents (api.md, npf-spec.md), never from pindah's code:

* every answer is the `{"meta": {"status", "msg"}, "response": ...}` envelope; errors carry
  `errors: [{"title", "code", "detail"}]` with Tumblr's subcodes (400.8001 bad NPF, 403.8004 no
  more media today, 403.8011 no more videos today, 403.8022 queue full, 403.8023 daily posting
  limit); a missing or unknown bearer token is a 401;
* `POST /v2/blog/{blog}/posts` takes multipart: a `json` part with NPF `content` (media named by
  `identifier`, each a part of that name), `state` (published | queue), `publish_on`, `date`
  (backdates the post) and comma-separated `tags`; at most 30 images and 1 video; it answers
  201 with the id as a string;
* `GET /v2/blog/{blog}/posts?tag=` lists published posts with that tag, newest first (20 a page);
  `/posts/queue` the queued ones with `scheduled_publish_time`; `GET /posts/{id}` one post in NPF
  (any state); `POST /post/delete` (form `id`) deletes; `GET /v2/user/info` the user's blogs;
* `POST /v2/oauth2/token`: authorization_code and refresh_token grants, client id and secret
  checked, the refresh token rotated at every use, access tokens that expire (`expires_in`);
* per-app rate headers on every answer (`X-Ratelimit-Perhour-*`, `-Perday-*`, seconds to the
  reset, as clients in the wild read them) and a 429 once the hour's calls are spent.

`received` keeps every request (method, path, headers, body bytes) so tests can grep what
pindah sent; `files_of(post)` gives a post's files as uploaded, in content order.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import requests

from tests.sim_http import SimHttp

TOKEN = "tumblr-sim-access-9f8e7d6c5b4a"
CLIENT_ID = "sim-consumer-key-123"
CLIENT_SECRET = "sim-consumer-secret-s3cr3t"
BLOG = "inkandwash"
_MSG = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        429: "Limit Exceeded", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Limits:
    """Per user per day, and per app per hour (api.md "Rate Limits"); the queue cap per blog."""

    posts: int = 250
    media: int = 150
    videos: int = 10
    calls_per_hour: int = 1000
    queue: int = 300


@dataclass
class TumblrSim:
    clock: Callable[[], float] = time.time
    limits: Limits = field(default_factory=Limits)
    blogs: tuple[str, ...] = (BLOG,)
    token_life: float = 2520.0  # the docs' example `expires_in`
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expires at
    refresh_tokens: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri
    used_today: dict[str, int] = field(default_factory=lambda: {"posts": 0, "media": 0, "videos": 0})
    calls_this_hour: int = 0
    faults: list[tuple[str, str, int, dict[str, Any]]] = field(default_factory=list)  # method, path part, status, body
    _seq: int = 700_000_000_000

    def __post_init__(self) -> None:
        self.tokens.setdefault(TOKEN, float("inf"))

    # -- one request -----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], Any]:
        self.calls_this_hour += 1
        rate = self._rate_headers()
        if self.calls_this_hour > self.limits.calls_per_hour:
            return 429, rate, _error(429, "Limit Exceeded", 0)
        for n, (m, part, status, payload) in enumerate(self.faults):
            if m == method and part in path:
                del self.faults[n]
                return status, rate, payload
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if path == "/v2/oauth2/token" and method == "POST":
            return (*self._token(dict(parse_qsl(body.decode()))),)
        if not self._authorized(headers.get("Authorization", "")):
            return 401, rate, _error(401, "Unauthorized", 0)
        status, payload = self._route(method, path, params, headers, body)
        return status, rate, payload

    def _route(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if path == "/v2/user/info" and method == "GET":
            return 200, _ok({"user": {"name": "sim-artist", "blogs": [
                {"name": b, "url": f"https://{b}.tumblr.com/", "uuid": f"t:{b}", "primary": i == 0}
                for i, b in enumerate(self.blogs)]}})
        if len(parts) < 4 or parts[:2] != ["v2", "blog"]:
            return 404, _error(404, "Not Found", 0)
        blog = parts[2].removesuffix(".tumblr.com")
        if blog not in self.blogs:
            return 404, _error(404, "Not Found", 0, "no such blog")
        rest = parts[3:]
        if rest == ["posts"] and method == "POST":
            return self._create(blog, headers.get("Content-Type", ""), body)
        if rest == ["posts"] and method == "GET":
            found = [p for p in self._of(blog, "published") if not params.get("tag") or params["tag"] in p["tags"]]
            found.sort(key=lambda p: (p["timestamp"], p["id"]), reverse=True)
            return 200, _ok({"posts": self._page(found, params), "total_posts": len(found)})
        if rest == ["posts", "queue"] and method == "GET":
            found = sorted(self._of(blog, "queued"), key=lambda p: p["scheduled_publish_time"])
            return 200, _ok({"posts": self._page(found, params)})
        if len(rest) == 2 and rest[0] == "posts" and method == "GET":
            post = self.posts.get(rest[1])
            return (200, _ok(self._public(post))) if post and post["blog"] == blog else \
                (404, _error(404, "Not Found", 0))
        if rest == ["post", "delete"] and method == "POST":
            post_id = dict(parse_qsl(body.decode())).get("id", "")
            if post_id not in self.posts or self.posts[post_id]["blog"] != blog:
                return 404, _error(404, "Not Found", 0)
            del self.posts[post_id]
            return 200, _ok({"id": post_id})
        return 404, _error(404, "Not Found", 0)

    # -- creating a post -------------------------------------------------------------------------
    def _create(self, blog: str, content_type: str, body: bytes) -> tuple[int, Any]:
        fields, files = _multipart(content_type, body) if "multipart" in content_type else ({}, {})
        try:
            params = json.loads(fields["json"]) if "json" in fields else json.loads(body or b"{}")
        except ValueError:
            return 400, _error(400, "Bad Request", 8001, "the json part is not JSON")
        content = params.get("content")
        if not isinstance(content, list) or not content:
            return 400, _error(400, "Bad Request", 8001, "'content' must be an array")
        images = [b for b in content if b.get("type") == "image"]
        videos = [b for b in content if b.get("type") == "video"]
        if len(images) > 30 or len(videos) > 1:
            return 400, _error(400, "Bad Request", 8001, "too many media blocks")
        for block in images + videos:
            if _identifier(block) not in files:
                return 400, _error(400, "Bad Request", 8001, "a media identifier has no file")
        state = params.get("state", "published")
        used = self.used_today
        if state == "published" and used["posts"] >= self.limits.posts:
            return 403, _error(403, "Forbidden", 8023, "daily posting limit")
        if used["media"] + len(images) + len(videos) > self.limits.media:
            return 403, _error(403, "Forbidden", 8004, "no more media today")
        if videos and used["videos"] >= self.limits.videos:
            return 403, _error(403, "Forbidden", 8011, "no more videos today")
        if state == "queue" and len(self._of(blog, "queued")) >= self.limits.queue:
            return 403, _error(403, "Forbidden", 8022, "queue limit reached")
        now = self.clock()
        stamp = _parse_iso(params["date"]) if state == "published" and params.get("date") else now
        self._seq += 1
        post_id = str(self._seq)
        self.posts[post_id] = {
            "id": int(post_id), "id_string": post_id, "blog": blog, "blog_name": blog, "content": content,
            "layout": params.get("layout", []), "state": "queued" if state == "queue" else "published",
            "tags": [t.strip() for t in str(params.get("tags") or "").split(",") if t.strip()],
            "timestamp": int(stamp), "created": now,
            "scheduled_publish_time": int(_parse_iso(params["publish_on"])) if state == "queue" and
            params.get("publish_on") else None,
            "files": {_identifier(b): files[_identifier(b)] for b in images + videos}}
        used["posts"] += state == "published"
        used["media"] += len(images) + len(videos)
        used["videos"] += len(videos)
        return 201, _ok({"id": post_id})

    # -- OAuth 2 ---------------------------------------------------------------------------------
    def new_code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(12)
        self.codes[code] = redirect_uri
        return code

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code" and self.codes.pop(form.get("code", ""), None) is not None:
            pass
        elif grant == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            self.refresh_tokens.discard(form["refresh_token"])  # rotated: each one works once
        else:
            return 400, {}, {"error": "invalid_grant"}
        access, refresh = "acc-" + secrets.token_hex(12), "ref-" + secrets.token_hex(12)
        self.tokens[access] = self.clock() + self.token_life
        self.refresh_tokens.add(refresh)
        return 200, {}, {"access_token": access, "expires_in": int(self.token_life), "id_token": False,
                         "refresh_token": refresh, "scope": "basic write offline_access", "token_type": "bearer"}

    def _authorized(self, header: str) -> bool:
        token = header.removeprefix("Bearer ").strip()
        return token in self.tokens and self.tokens[token] > self.clock()

    # -- reading the blog back -------------------------------------------------------------------
    def _of(self, blog: str, state: str) -> list[dict[str, Any]]:
        return [p for p in self.posts.values() if p["blog"] == blog and p["state"] == state]

    def _page(self, posts: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
        offset, limit = int(params.get("offset") or 0), min(20, int(params.get("limit") or 20))
        return [self._public(p) for p in posts[offset:offset + limit]]

    def _public(self, post: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in post.items() if k not in ("files", "created", "blog")}
        shown["date"] = datetime.fromtimestamp(post["timestamp"], tz=UTC).strftime("%Y-%m-%d %H:%M:%S GMT")
        shown["post_url"] = f"https://{post['blog']}.tumblr.com/post/{post['id_string']}"
        shown["content"] = [_served(b) for b in post["content"]]
        if post["scheduled_publish_time"] is None:
            del shown["scheduled_publish_time"]
        return shown

    def files_of(self, post: dict[str, Any]) -> list[bytes]:
        """The post's files as uploaded, in the order of its content blocks."""
        found = []
        for block in post["content"]:
            if block.get("type") in ("image", "video"):
                found.append(post["files"][_identifier(block)])
        return found

    def _rate_headers(self) -> dict[str, str]:
        left = max(0, self.limits.calls_per_hour - self.calls_this_hour)
        return {"X-Ratelimit-Perhour-Limit": str(self.limits.calls_per_hour),
                "X-Ratelimit-Perhour-Remaining": str(left), "X-Ratelimit-Perhour-Reset": "1800",
                "X-Ratelimit-Perday-Limit": "5000", "X-Ratelimit-Perday-Remaining": "4000",
                "X-Ratelimit-Perday-Reset": "43200"}


def _identifier(block: dict[str, Any]) -> str | None:
    media = block.get("media")
    media = media[0] if isinstance(media, list) and media else media
    return media.get("identifier") if isinstance(media, dict) else None


def _ok(response: Any) -> dict[str, Any]:
    return {"meta": {"status": 200, "msg": "OK"}, "response": response}


def _error(status: int, title: str, code: int, detail: str = "") -> dict[str, Any]:
    error = {"title": title, **({"code": code} if code else {}), **({"detail": detail} if detail else {})}
    return {"meta": {"status": status, "msg": _MSG.get(status, title)}, "response": [], "errors": [error]}


def _served(block: dict[str, Any]) -> dict[str, Any]:
    """A block as Tumblr serves it back: media get a URL in place of the upload identifier."""
    if block.get("type") == "image":
        return {**block, "media": [{**m, "url": f"https://64.media.tumblr.com/{m.get('identifier')}.jpg"}
                                   for m in block["media"]]}
    if block.get("type") == "video":
        return {**block, "media": {**block["media"], "url": "https://va.media.tumblr.com/v.mp4"}}
    return block


def _parse_iso(text: str) -> float:
    return datetime.fromisoformat(str(text)).timestamp()  # 3.11 reads "Z"


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            fields[str(name)] = data.decode("utf-8")
        else:
            files[str(name)] = data
    return fields, files


class TumblrHttp(SimHttp):
    """The simulation behind the shared loopback HTTP server (tests/sim_http.py)."""

    def __init__(self, **sim_kw: Any) -> None:
        self.sim = TumblrSim(**sim_kw)
        super().__init__(self._answer)

    @property
    def token(self) -> str:
        return TOKEN

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        url = urlsplit(request.url or "")
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        status, headers, payload = self.sim.handle(request.method or "GET", url.path, url.query,
                                                   dict(request.headers), body)
        return status, {**headers, "Content-Type": "application/json"}, json.dumps(payload)

    def blog_posts(self, blog: str = BLOG) -> list[dict[str, Any]]:
        """Every post of the blog (published and queued), oldest first by creation."""
        with self.lock:
            return sorted((dict(p) for p in self.sim.posts.values() if p["blog"] == blog),
                          key=lambda p: (p["created"], p["id"]))

    def files_of(self, post: dict[str, Any]) -> list[bytes]:
        with self.lock:
            return self.sim.files_of(post)


__all__ = ["BLOG", "CLIENT_ID", "CLIENT_SECRET", "TOKEN", "Limits", "TumblrHttp", "TumblrSim"]

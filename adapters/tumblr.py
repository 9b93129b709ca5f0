"""The Tumblr target: an artist's Instagram history as posts on their Tumblr blog (Neue Post Format).

Room: turning the engine's requests into Tumblr API v2 calls and reading them back. The wire is
`tumblr_api`, the post format `tumblr_npf`, the drip-feed queue `tumblr_queue`, the login
`tumblr_auth`.

    --to tumblr:BLOG         BLOG is the blog's name (NAME in NAME.tumblr.com) or its address
    [targets.tumblr]         every key also as PINDAH_TARGETS_TUMBLR_<KEY>:
      queue      true: add posts to the blog's queue, `per_day` a day, instead of publishing them
      per_day    posts a day when queueing (default 10)
      client_id / client_secret   your Tumblr app (tumblr.com/oauth/apps), for `pindah login tumblr`
      api_base   Tumblr's API address (a local simulation in tests); token_store: auto|keyring|file
    PINDAH_TUMBLR_TOKEN      an OAuth 2 access token for this run only, never stored

One post per Instagram post: its pictures and videos in the carousel's order (Tumblr takes 30
pictures and one uploaded video per post; `threads` is off, so extra videos are left out with a
note), alt text on every picture, the caption as text blocks with links, the hashtags as tags,
and the Instagram time as the post's `date`. That date holds in the blog's archive, not on the
dashboard: backdated posts still reach followers' dashboards as new, which is what `queue`
avoids. There is no upload call: the files travel in the create request itself (multipart,
one part per file named by its block's `identifier`), so `upload_media` only notes the
prepared file.

Exactly once: Tumblr takes no idempotency key, so each post carries a tag `pindah-<hash of its
key>`; after an unknown outcome `find_post` asks the blog for posts with that tag (and, when
queueing, looks through the queue). Rollback never claims a deletion: `delete_post` returns
only when reading the post back says it is gone.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import requests

from pindah.adapters.contract import (
    MIB,
    Capabilities,
    PindahError,
    PostFailed,
    RateBudget,
    RunStopped,
    TextCounting,
    TransientError,
)

from .contract import Adapter, Option, PostRequest, PreparedMedia, RemoteRef
from .tumblr_api import API_BASE, UPLOAD_TIMEOUT, TumblrApi, TumblrError
from .tumblr_auth import DEFAULT_REDIRECT_PORT, TOKEN_ENV, LoginIO, TumblrLogin
from .tumblr_npf import MediaFile, content_blocks, key_tag, media_count, post_text, tags_for
from .tumblr_queue import DEFAULT_CAP, DripSchedule, iso

__all__ = ["TUMBLR_DEFAULTS", "TumblrAdapter", "blog_identifier"]

DAY = 86400.0
PAGE = 20  # the most posts one page of /posts or /posts/queue holds
# tumblr/docs api.md "Rate Limits" (the revision pindah was built against; a later one raises
# pictures to 250, videos to 20 and the queue to 1,000): per user per day 250 posts, 150
# pictures, 10 videos; per app 1,000 calls an hour and 5,000 a day. Tumblr counts calendar
# days; the pacer's rolling 24 hours never lets more through than that.
DAILY = {"posts": 250, "media": 150, "videos": 10}  # per user; `posts_per_day` etc. when yours differ
BUDGETS = (*(RateBudget(name, limit, DAY) for name, limit in DAILY.items()),
           RateBudget("requests", 1000, 3600.0), RateBudget("requests", 5000, DAY))
TUMBLR_DEFAULTS = Capabilities(
    max_text=None,  # a post holds 1 MB of text; an Instagram caption is at most 2,200 characters
    text_counting=TextCounting.CODE_POINTS,
    max_media_per_post=30,  # npf-spec.md: 30 image blocks, 1 uploaded video block per post
    max_videos_per_post=1,
    image_max_bytes=10 * MIB,  # api.md legacy photo post: "limit 10MB"
    video_max_bytes=500 * MIB,  # api.md legacy video post: "limited to 500MB and 10 minutes"
    video_max_seconds=300.0,  # 5 minutes of video a day per user: a longer one never goes through
    image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
    video_mime_types=frozenset({"video/mp4"}),
    max_alt_text=4096,
    threads=False,
    backdating=True,
    rate_budgets=BUDGETS,
    typical_call_seconds=2.0,
    media_reuse_seconds=0.0,  # nothing is uploaded ahead: always note the file prepared in this run
)
NOTES = ("Tumblr: posts keep their Instagram date in your blog's archive, but reach your followers' "
         "dashboards as new posts{queue}. Tumblr's AI opt-out, \"Prevent third-party sharing for {blog}\", is "
         "a switch under Visibility in the blog's settings (tumblr.com/settings/blog/{blog}; in the app: "
         "the blog's gear icon → Visibility) that no app can set through Tumblr's API: turn it on yourself.")
SHARING = ("Turn on \"Prevent third-party sharing\" under Visibility in the blog's settings yourself: "
           "Tumblr's API cannot set it")
_BLOG_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def blog_identifier(text: str) -> str:
    """A blog as Tumblr's API names it: `name` for NAME.tumblr.com (or tumblr.com/NAME), else the
    custom hostname. Raises PindahError for anything else."""
    value = text.strip().lower().removeprefix("@")
    value = re.sub(r"^https?://", "", value).rstrip("/")
    if value.startswith(("www.tumblr.com/", "tumblr.com/")):
        value = value.split("/", 1)[1].removeprefix("@").split("/")[0]
    if value not in ("www.tumblr.com", "tumblr.com"):
        value = value.removesuffix(".tumblr.com")
    if _BLOG_NAME.fullmatch(value) or (_HOSTNAME.fullmatch(value) and not value.endswith("tumblr.com")):
        return value
    raise PindahError(f"{text!r} is not a Tumblr blog", "write it like tumblr:yourblog (as in yourblog.tumblr.com)")


class TumblrAdapter(Adapter):
    name = "tumblr"
    title = "Tumblr"
    description = "a Tumblr blog: one post per Instagram post, original dates in the archive, tags from hashtags"
    example = "tumblr:yourblog"
    sign_in = "oauth"
    location_prompt = "Your blog's name"
    capabilities = TUMBLR_DEFAULTS
    options = (
        Option("blog", str, None, "your blog's name, when --to does not name it"),
        Option("queue", bool, False, "add posts to the blog's queue, per_day a day, instead of publishing at once"),
        Option("per_day", int, 10, "how many queued posts Tumblr publishes a day"),
        Option("queue_cap", int, DEFAULT_CAP, "the most posts a blog's queue may hold (Tumblr's limit)"),
        Option("posts_per_day", int, DAILY["posts"], "new posts Tumblr takes from you a day"),
        Option("pictures_per_day", int, DAILY["media"], "pictures and videos Tumblr takes from you a day "
               "(a later revision of its docs says 250)"),
        Option("videos_per_day", int, DAILY["videos"], "videos Tumblr takes from you a day (later docs: 20)"),
        Option("client_id", str, "", "your Tumblr app's OAuth consumer key (tumblr.com/oauth/apps)"),
        Option("client_secret", str, "", "your Tumblr app's secret (better in the environment than the file)"),
        Option("api_base", str, API_BASE, "Tumblr's API address"),
        Option("web_base", str, "https://www.tumblr.com", "Tumblr's web address (where the login page is)"),
        Option("token_store", str, "auto", "where the login is kept: auto, keyring or file"),
        Option("redirect_port", int, DEFAULT_REDIRECT_PORT,
               "port of the login's redirect URL registered with your Tumblr app (http://127.0.0.1:PORT/callback)"),
    )

    def __init__(self, location: str | None, config: dict[str, Any], *, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, io: LoginIO | None = None) -> None:
        super().__init__(location, config)
        blog = location or self.setting("blog")
        self.blog = blog_identifier(str(blog)) if blog else ""  # only `pindah login tumblr` goes without
        self.queue = bool(self.setting("queue"))
        self.drip = DripSchedule(max(1, int(self.setting("per_day") or 10)), max(1, int(self.setting("queue_cap"))))
        self.clock = clock
        self.rate_observers: list[Any] = []  # the engine's pacer listens to every answer's rate headers
        self.api = TumblrApi(str(self.setting("api_base") or API_BASE), http=http, clock=clock,
                             observers=self.rate_observers)
        self.login_keeper = TumblrLogin(self.api, self.config, io or LoginIO(),
                                        web_base=str(self.setting("web_base") or "https://www.tumblr.com"))
        self.logged_in = False
        self.note: str | None = None  # what the artist must know (dates, sharing switch); set by prepare
        self.blog_url: str | None = None
        daily = {"posts": self.setting("posts_per_day"), "media": self.setting("pictures_per_day"),
                 "videos": self.setting("videos_per_day")}
        budgets = tuple(replace(b, limit=max(1, int(daily[b.name]))) if b.name in daily else b for b in BUDGETS)
        self.caps = TUMBLR_DEFAULTS.refined(backdating=not self.queue, rate_budgets=budgets)
        # The report's line for this target (JSON and HTML) carries what the artist must still do.
        self.description = (TumblrAdapter.description + ("; posts queued, a few a day" if self.queue else "")
                            + ". " + SHARING)

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        """Find the login (or log in when asked), check it may post to the blog, and when
        queueing read the blog's queue. A dry run only reads; without a login, or without a
        network, it plans with Tumblr's published limits and says so."""
        self._need_blog()
        drip = (f"; here they are queued, {self.drip.per_day} a day, and dated the day each goes out" if self.queue
                else f"; with queue = true Tumblr publishes {self.drip.per_day} a day instead")
        self.note = NOTES.format(blog=self.blog, queue=drip)  # in every report (`notes`)
        token = self.login_keeper.token()
        if token is None and interactive:
            self.login_keeper.interactive_login()
            token = self.login_keeper.token()
        if token is None:  # a dry run plans without; a real run stops at its first write
            self.offline_note = "not logged in to Tumblr: planned with its published limits"
            return
        try:
            self._check_blog()
            if self.queue and not dry_run:
                self._read_queue()
        except TransientError as exc:
            if not dry_run:
                raise
            self.offline_note = (f"{self.api.host} could not be reached ({exc.one_line().rstrip('.')}): "
                                 "planned with Tumblr's published limits")

    def notes(self) -> list[str]:
        return [self.note] if self.note else []

    def account(self) -> str:
        return f"{self.blog}@tumblr" + ("" if self.api.base == API_BASE else f"@{self.api.host}")

    def where(self) -> str | None:
        if self.blog_url:
            return self.blog_url
        return f"https://{self.blog}.tumblr.com/" if "." not in self.blog else f"https://{self.blog}/"

    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        where = self.login_keeper.interactive_login(paste_token=paste_token, browser=browser)
        if not self.blog:
            names = ", ".join(self._blogs()) or "none"
            return f"Logged in to Tumblr (your blogs: {names}; use --to tumblr:NAME). The login is kept in {where}."
        self._check_blog()
        return f"Logged in to Tumblr; pindah may post to {self.blog}. The login is kept in {where}."

    def logout(self) -> list[str]:
        return self.login_keeper.logout()

    def finish(self) -> None:
        self.api.close()

    # -- remote operations ----------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        """Nothing goes to Tumblr yet: the file travels with its post (see the module notes)."""
        if media.mime not in self.caps.image_mime_types | self.caps.video_mime_types:
            raise PostFailed(f"Tumblr does not take {media.mime} files ({media.source_path})")
        extra = {"path": str(media.path), "mime": media.mime, "sha256": media.sha256}
        extra |= {k: str(v) for k, v in (("width", media.width), ("height", media.height)) if v}
        return RemoteRef(f"file:{media.sha256[:32]}", None, extra)

    def create_post(self, request: PostRequest) -> RemoteRef:
        self._logged_in()
        files = [MediaFile(f"media{n}", ref.extra.get("mime", ""), _int(ref.extra.get("width")),
                           _int(ref.extra.get("height")), alt)
                 for n, (ref, alt) in enumerate(zip(request.media, request.media_alt))]
        params: dict[str, Any] = {"content": content_blocks(request.text, files),
                                  "tags": ",".join(tags_for(request.text, request.key))}
        slot = None
        if self.queue:
            slot = self.drip.next_slot(self.clock())
            params |= {"state": "queue", "publish_on": iso(slot)}
        else:
            taken = request.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params |= {"state": "published", "date": taken}  # the archive's date, not the dashboard's
        with ExitStack() as opened:
            body = json.dumps(params, ensure_ascii=False)
            parts: list[tuple[str, Any]] = [("json", (None, body, "application/json"))]  # first, as documented
            for item, ref in zip(files, request.media):
                path = Path(ref.extra.get("path", ""))
                try:
                    parts.append((item.identifier, (path.name, opened.enter_context(open(path, "rb")), item.mime)))
                except OSError:
                    raise PostFailed(f"the prepared file {path.name} is no longer in pindah's cache",
                                     "run `pindah retry-failed` with the same export and --to") from None
            reply = self._call("POST", f"/v2/blog/{self.blog}/posts", "publishing a post", files=parts,
                               family="posts", timeout=UPLOAD_TIMEOUT)
        post_id = str((reply.data or {}).get("id") or "") if isinstance(reply.data, dict) else ""
        if not post_id:
            raise TransientError("Tumblr answered the new post without its id")
        if slot is not None:
            self.drip.took(slot)
        return self._ref(post_id, queued=slot is not None)

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        """The post a lost answer made, found by its key tag among the blog's posts (and queue)."""
        self._logged_in()
        tag = key_tag(request.key)
        reply = self._call("GET", f"/v2/blog/{self.blog}/posts", "looking for a post",
                           params={"tag": tag, "npf": "true", "limit": PAGE})
        for post in _posts(reply.data):
            if tag in (post.get("tags") or []):
                return self._ref(str(post.get("id_string") or post.get("id")), queued=False)
        if self.queue:
            for offset in range(0, max(self.drip.cap, self.drip.queued) + PAGE, PAGE):
                page = _posts(self._call("GET", f"/v2/blog/{self.blog}/posts/queue", "looking through the queue",
                                         params={"offset": offset, "limit": PAGE, "npf": "true"}).data)
                for post in page:
                    if tag in (post.get("tags") or []):
                        slot = str(post.get("scheduled_publish_time") or "")
                        if slot.isdigit() and float(slot) not in self.drip.scheduled:  # queued in this run
                            self.drip.took(float(slot))
                        return self._ref(str(post.get("id_string") or post.get("id")), queued=True)
                if len(page) < PAGE:
                    break
        return None

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        self._logged_in()
        post = self._fetch(ref.id, "reading a post back")
        if post is None:
            return None
        return {"text": post_text(post), "media": media_count(post), "url": ref.url,
                "state": str(post.get("state") or "")}

    def delete_post(self, ref: RemoteRef) -> None:
        """Delete one post; return only when Tumblr no longer shows it."""
        self._logged_in()
        try:
            self._send("POST", f"/v2/blog/{self.blog}/post/delete", data={"id": ref.id}, family="deletes")
        except TumblrError as exc:
            if exc.status not in (400, 404):  # a refusal counts only if the post is still there
                raise self._mapped(exc, "deleting a post") from None
        if self._fetch(ref.id, "checking a deleted post") is not None:
            raise PostFailed(f"the post is still on Tumblr ({ref.url or ref.id}): the delete did not take",
                             "delete it there by hand, or run the rollback again later")

    # -- helpers --------------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kw: Any) -> Any:
        """One call; a 401 renews the login once (access tokens last about 40 minutes)."""
        try:
            return self.api.call(method, path, **kw)
        except TumblrError as exc:
            if exc.status == 401 and self.login_keeper.renew():
                return self.api.call(method, path, **kw)
            raise

    def _call(self, method: str, path: str, doing: str, **kw: Any) -> Any:
        """`_send`, with Tumblr's refusals as the engine's errors."""
        try:
            return self._send(method, path, **kw)
        except TumblrError as exc:
            raise self._mapped(exc, doing) from None

    def _mapped(self, exc: TumblrError, doing: str) -> Exception:
        return exc.as_target_error(doing, blog=self.blog, now=self.clock(), login_hint=self.login_keeper.hint())

    def _fetch(self, post_id: str, doing: str) -> dict[str, Any] | None:
        try:
            post = self._send("GET", f"/v2/blog/{self.blog}/posts/{post_id}").data
        except TumblrError as exc:
            if exc.status == 404:
                return None
            raise self._mapped(exc, doing) from None
        return post if isinstance(post, dict) else None

    def _blogs(self) -> dict[str, dict[str, Any]]:
        """The blogs this login may post to, by name (from /v2/user/info)."""
        info = self._call("GET", "/v2/user/info", "checking the login").data
        user = info.get("user") if isinstance(info, dict) else None
        blogs = user.get("blogs") if isinstance(user, dict) else None
        return {str(b.get("name")): b for b in blogs if isinstance(b, dict)} if isinstance(blogs, list) else {}

    def _check_blog(self) -> None:
        """The login works and may post to this blog."""
        blogs = self._blogs()
        for name, blog in blogs.items():
            url = str(blog.get("url") or "")
            if self.blog in (name.lower(), _host(url), str(blog.get("uuid") or "")):
                self.blog_url = url or None
                self.logged_in = True
                return
        names = ", ".join(blogs) or "none"
        raise RunStopped(f"this Tumblr login cannot post to {self.blog!r} (its blogs: {names})",
                         "check the name after tumblr:, or log in with the account that owns the blog")

    def _read_queue(self) -> None:
        """How full the blog's queue is and when its posts go out (at most cap/20 + 1 pages)."""
        for offset in range(0, self.drip.cap + PAGE, PAGE):
            page = _posts(self._call("GET", f"/v2/blog/{self.blog}/posts/queue", "reading the queue",
                                     params={"offset": offset, "limit": PAGE, "npf": "true"}).data)
            self.drip.queued += len(page)
            self.drip.scheduled += [float(p["scheduled_publish_time"]) for p in page
                                    if str(p.get("scheduled_publish_time") or "").isdigit()]
            if len(page) < PAGE:
                return

    def _ref(self, post_id: str, *, queued: bool) -> RemoteRef:
        base = self.blog_url or self.where() or ""
        return RemoteRef(post_id, base.rstrip("/") + f"/post/{post_id}", {"state": "queued" if queued else "published"})

    def _need_blog(self) -> None:
        if not self.blog:
            raise PindahError("the Tumblr target needs your blog's name", "write it like --to tumblr:yourblog")

    def _logged_in(self) -> None:
        if self.logged_in:
            return
        self._need_blog()
        if self.login_keeper.token() is None:
            raise RunStopped("pindah is not logged in to Tumblr",
                             f"run `pindah login tumblr:{self.blog}` first (or set {TOKEN_ENV})")
        self._check_blog()


def _posts(data: Any) -> list[dict[str, Any]]:
    posts = data.get("posts") if isinstance(data, dict) else None
    return [p for p in posts if isinstance(p, dict)] if isinstance(posts, list) else []


def _host(url: str) -> str:
    return re.sub(r"^https?://", "", url.strip().lower()).split("/")[0].removesuffix(".tumblr.com")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


"""The DeviantArt target: an artist's Instagram pictures as deviations in a gallery folder.

Room: turning the engine's requests (`PreparedMedia`, `PostRequest`) into DeviantArt API calls
and reading them back. Titles, tags and descriptions are `deviantart_post`; the wire is
`deviantart_api`; logins `deviantart_auth` (the client credentials and token refresh are the
toolkit's `oauth_code`).

    --to deviantart                 after `pindah login deviantart`
    [targets.deviantart]   every key also as PINDAH_TARGETS_DEVIANTART_<KEY>:
      client_id, client_secret   your registered application (deviantart.com/developers), whose
                                 redirect address is http://127.0.0.1:8913/callback (`redirect_port`)
      folder                     the gallery folder, found by name or created ("From Instagram")
      per_hour                   deviations per hour pindah allows itself (DeviantArt publishes no limit)
      token_store                auto | keyring | file;  api: DeviantArt's address (tests use 127.0.0.1)

How a part is published: the picture goes to Sta.sh (`stash/submit` with the file: the upload),
then the same Sta.sh item gets its title, description and tags (`stash/submit` with `itemid`) and
is published into the folder (`stash/publish`, `is_ai_generated=false`). DeviantArt's API takes one
file per deviation (multi-image deviations exist on the site, not in the API: DeviantArt-API #256),
so a carousel becomes one deviation per picture, each linking the one before; videos are not
taken (Sta.sh would keep an mp4 only as a download), and the planner leaves them out, saying so.
DeviantArt cannot backdate; the planner's date line says when the post was made on Instagram.

The API has no setting for the "third-party AI datasets" opt-out (#219, #208), and needs none:
DeviantArt labels every deviation "NoAI" unless its artist opts in (team journal "All Deviations
Are Opted Out of AI Datasets": `noai`/`noimageai` meta tags, an `X-Robots-Tag` header). The login
says so and where the label lives (`AI_NOTE`): DeviantArt Studio shows and bulk-edits it.

Exactly once: after an unknown outcome, `find_post` looks through the folder's newest deviations
for one published after this part's upload with this title, text and parent. Never claim a
deletion: the API cannot delete a published deviation, so `delete_post` returns only when a read
says it is gone, and otherwise says it is still there and where to delete it by hand.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pindah.adapters.contract import (
    MIB,
    Adapter,
    Capabilities,
    Option,
    PindahError,
    PostFailed,
    PostRequest,
    PreparedMedia,
    RateBudget,
    RemoteRef,
    TextCounting,
    TransientError,
)
from pindah.adapters.toolkit.http import RateObserver, check_url
from pindah.adapters.toolkit.oauth import LoginIO

from .deviantart_api import UPLOAD_TIMEOUT, ApiError, DeviantArtApi
from .deviantart_auth import (
    DEFAULT_REDIRECT_PORT,
    LOGIN_HINT,
    keeper_for,
    require_login,
    whoami,
)
from .deviantart_auth import login as browser_login
from .deviantart_auth import logout as forget_login
from .deviantart_post import (
    TITLE_MAX,
    Deviation,
    deviation_for,
    published_at,
    read_description,
    same_text,
)

__all__ = ["DeviantArtAdapter"]

DEFAULT_API = "https://www.deviantart.com"
DEFAULT_FOLDER = "From Instagram"
DEFAULT_PER_HOUR = 60
GALLERY_PAGE = 24  # the most one /gallery/{folderid} page holds
METADATA_BATCH = 10  # /deviation/metadata refuses more ids at once
CLOCK_SLACK = 5.0  # seconds between the upload's `Date` and a deviation's published_time
AI_NOTE = ("DeviantArt marks every deviation \"NoAI\" (not for third-party AI datasets) unless you opt in; "
           "pindah also sends \"not created with AI tools\". Check or change the NoAI label in DeviantArt "
           "Studio (deviantart.com/studio) or your default in Settings → General.")


def deviantart_capabilities(per_hour: int = DEFAULT_PER_HOUR) -> Capabilities:
    return Capabilities(
        max_text=None,  # no description limit is documented; Instagram captions stop at 2,200
        text_counting=TextCounting.CODE_POINTS,
        max_media_per_post=1,  # one file per deviation through the API
        mix_images_and_videos=False,
        requires_media=True,  # a deviation is a picture here; text alone would be a journal
        image_max_bytes=30 * MIB,
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        video_mime_types=frozenset(),
        max_alt_text=None,  # no alt field: the artist's alt text goes under the description
        threads=True,  # a carousel: deviations in order, each linking the one before
        backdating=False,
        rate_budgets=(RateBudget("media", per_hour, 3600), RateBudget("posts", per_hour, 3600)),
        typical_call_seconds=2.0,
    )


class DeviantArtAdapter(Adapter):
    name = "deviantart"
    title = "DeviantArt"
    description = "DeviantArt: one deviation per picture in a gallery folder, tags from your hashtags"
    example = "deviantart"
    capabilities = deviantart_capabilities()
    sign_in: ClassVar[str] = "oauth"
    location_prompt: ClassVar[str | None] = None
    options = (
        Option("client_id", str, "", "your registered application's client id (deviantart.com/developers)"),
        Option("client_secret", str, "", "its client secret (kept with the login, never shown)"),
        Option("folder", str, DEFAULT_FOLDER, "the gallery folder the deviations go to (created if missing)"),
        Option("per_hour", int, DEFAULT_PER_HOUR, "deviations per hour (DeviantArt publishes no limit)"),
        Option("token_store", str, "auto", "where the login is kept: auto, keyring or file"),
        Option("redirect_port", int, DEFAULT_REDIRECT_PORT,
               "the port of your app's redirect address, http://127.0.0.1:<port>/callback"),
        Option("api", str, DEFAULT_API, "DeviantArt's address (only tests change it)"),
        Option("lookup_pages", int, 3, "pages of the folder searched for a deviation that arrived"),
    )

    def __init__(self, location: str | None, config: dict[str, Any], *, http: Any = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 io: LoginIO | None = None) -> None:
        super().__init__(location, config)
        if location:
            raise PindahError(f"the DeviantArt target takes no location ({location!r})",
                              "write --to deviantart; the gallery folder is the `folder` setting")
        self.base = check_url(str(self.setting("api") or DEFAULT_API), "DeviantArt")
        self.folder_name = str(self.setting("folder") or DEFAULT_FOLDER).strip() or DEFAULT_FOLDER
        per_hour = int(self.setting("per_hour") or DEFAULT_PER_HOUR)
        if per_hour < 1:
            raise PindahError("per_hour must be at least 1")
        self.caps = deviantart_capabilities(per_hour)
        self.lookup_pages = max(1, int(self.setting("lookup_pages") or 3))
        self.clock, self.sleep, self.io, self.http = clock, sleep, io or LoginIO(), http
        self.rate_observers: list[RateObserver] = []
        self.offline_note: str | None = None
        self.api: DeviantArtApi | None = None
        self.username: str | None = None
        self.folder_id: str | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(self, *, interactive: bool, dry_run: bool = False) -> None:
        """Find the saved login (or log in when asked), whose account it is, and the folder
        (created on a real run). A dry run only reads, and without a login plans with the
        limits above; a real run then stops at its first write."""
        keeper = keeper_for(self.base, self.config, clock=self.clock, required=not dry_run)
        if (keeper is None or keeper.tokens is None) and interactive and not dry_run:
            self.io.say("pindah is not logged in to DeviantArt yet.")
            self.io.say(self.login())
            keeper = keeper_for(self.base, self.config, clock=self.clock)
        if keeper is None or keeper.tokens is None:
            if dry_run:
                self.offline_note = "not logged in to DeviantArt: planned with its published limits"
                return
            require_login(keeper)
        self.api = DeviantArtApi(self.base, keeper, login_hint=LOGIN_HINT, clock=self.clock, sleep=self.sleep,
                                 observers=self.rate_observers, session=self.http)
        try:
            self.username = str(whoami(self.api)["username"])
            self.folder_id = self._folder(create=not dry_run)
        except TransientError as exc:
            if not dry_run:
                raise
            self.offline_note = (f"DeviantArt could not be reached ({exc.one_line().rstrip('.')}): "
                                 "planned with its published limits")

    def account(self) -> str:
        return f"{self.username or 'not-logged-in'}@{self.base.split('://', 1)[1]}"

    def notes(self) -> list[str]:
        return [AI_NOTE]  # every report says where DeviantArt's own AI-dataset label lives

    def where(self) -> str | None:
        if not self.username:
            return None
        return f"{self.base}/{self.username}/gallery/{self.folder_id}" if self.folder_id \
            else f"{self.base}/{self.username}/gallery"

    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        if paste_token:
            raise PindahError("DeviantArt has no personal access tokens",
                              "use `pindah login deviantart` (the browser login)")
        username, where = browser_login(self.base, self.config, self.io, browser=browser,
                                        api_factory=lambda k: DeviantArtApi(self.base, k, login_hint=LOGIN_HINT,
                                                                            session=self.http))
        return f"Logged in to DeviantArt as {username}. The login is kept in {where}.\n{AI_NOTE}"

    def logout(self) -> list[str]:
        removed, note = forget_login(self.base, self.config)
        return ["Logged out of DeviantArt." if removed else "pindah had no saved login for DeviantArt.",
                *([f"Note: {note}."] if note else [])]

    def finish(self) -> None:
        if self.api is not None:
            self.api.close()

    # -- remote operations ----------------------------------------------------------------------
    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        api = self._api()
        if media.mime not in self.caps.image_mime_types:
            raise PostFailed(f"DeviantArt takes no {media.mime} through its API ({media.source_path})")
        try:
            with open(media.path, "rb") as fh:
                reply = api.call("POST", "/stash/submit", family="media", timeout=UPLOAD_TIMEOUT,
                                 data={"title": _stash_title(key), "is_dirty": "false"},
                                 files={"file": (Path(media.path).name, fh, media.mime)})
        except OSError as exc:
            raise PostFailed(f"cannot read the prepared file {media.path.name} ({exc.strerror})") from None
        except ApiError as exc:
            raise exc.as_target_error("uploading a picture to Sta.sh", LOGIN_HINT) from None
        item = reply.data if isinstance(reply.data, dict) else {}
        if item.get("itemid") is None:
            raise TransientError("DeviantArt accepted a picture but did not say its Sta.sh item")
        # The server's time of the upload: no deviation published before it can be this part's.
        at = reply.server_time if reply.server_time is not None else self.clock()
        return RemoteRef(str(item["itemid"]), None, {"uploaded_at": f"{at:.0f}"})

    def create_post(self, request: PostRequest) -> RemoteRef:
        api = self._api()
        if len(request.media) != 1:
            raise PostFailed(f"a deviation takes exactly one picture, not {len(request.media)}")
        item = request.media[0].id
        deviation = self._deviation(request)
        form: list[tuple[str, str]] = [("itemid", item), ("title", deviation.title),
                                       ("artist_comments", deviation.description)]
        form += [("tags[]", tag) for tag in deviation.tags]
        try:
            api.call("POST", "/stash/submit", family="posts", data=form)
            reply = api.call("POST", "/stash/publish", family="posts", data=[
                ("itemid", item), ("is_mature", "false"), ("agree_submission", "true"), ("agree_tos", "true"),
                ("allow_comments", "true"), ("is_ai_generated", "false"), ("galleryids[]", self._folder_id())])
        except ApiError as exc:
            raise exc.as_target_error("publishing a deviation", LOGIN_HINT) from None
        answer = reply.data if isinstance(reply.data, dict) else {}
        if not answer.get("deviationid"):
            raise TransientError("DeviantArt answered the publish without the deviation's id")
        return RemoteRef(str(answer["deviationid"]), str(answer.get("url") or "") or None, {"title": deviation.title})

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        """The deviation this part became, when an earlier attempt got there: in the folder's
        newest deviations, published after this part's upload, with its title, text and parent."""
        api = self._api()
        deviation = self._deviation(request)
        uploaded = float(request.media[0].extra.get("uploaded_at") or 0) if request.media else 0.0
        offset: int | None = 0
        for _page in range(self.lookup_pages):
            if offset is None:
                break
            page = self._get(api, f"/gallery/{self._folder_id()}", "looking for a deviation",
                             params={"username": self.username, "mode": "newest", "offset": offset,
                                     "limit": GALLERY_PAGE}) or {}
            candidates = [d for d in page.get("results") or [] if isinstance(d, dict)
                          and d.get("title") == deviation.title and not d.get("is_deleted")
                          and (published_at(d) or 0) >= uploaded - CLOCK_SLACK]
            for found in self._described(api, candidates):
                text, parent = read_description(found["description"])
                if same_text(text, request.text) and parent == deviation.parent_url:
                    return RemoteRef(str(found["deviationid"]), found.get("url"), {"title": deviation.title})
            offset = page.get("next_offset") if page.get("has_more") else None
        return None

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        api = self._api()
        deviation = self._get(api, f"/deviation/{ref.id}", "reading a deviation back")
        if not isinstance(deviation, dict) or deviation.get("is_deleted"):
            return None
        described = self._described(api, [deviation])
        if not described:
            return None
        text, _parent = read_description(described[0]["description"])
        return {"text": text, "media": 1 if deviation.get("content") else 0, "url": deviation.get("url"),
                "title": deviation.get("title"), "tags": described[0].get("tag_names", [])}

    def delete_post(self, ref: RemoteRef) -> None:
        """DeviantArt's API deletes Sta.sh items, never a published deviation: return only when a
        read says it is gone, else say it is still there and where to delete it by hand."""
        if self.read_post(ref) is None:
            return
        raise PostFailed(f"the deviation is still on DeviantArt ({ref.url or ref.id}): its API has no way "
                         "to delete a published deviation", "delete it yourself on DeviantArt (Edit → Delete)")

    # -- helpers --------------------------------------------------------------------------------
    def _deviation(self, request: PostRequest) -> Deviation:
        root_title = request.root.extra.get("title") if request.root is not None else None
        parent = request.reply_to
        return deviation_for(request.text, request.part_index, root_title, parent.url if parent else None,
                             parent.extra.get("title") if parent else None,
                             request.media_alt[0] if request.media_alt else None)

    def _described(self, api: DeviantArtApi, deviations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`deviations` with their description and tags (GET /deviation/metadata, 10 at a time)."""
        out: list[dict[str, Any]] = []
        by_id = {str(d.get("deviationid")): d for d in deviations}
        ids = list(by_id)
        for start in range(0, len(ids), METADATA_BATCH):
            batch = ids[start:start + METADATA_BATCH]
            meta = self._get(api, "/deviation/metadata", "reading descriptions",
                             params=[("deviationids[]", i) for i in batch]) or {}
            for item in meta.get("metadata") or []:
                if isinstance(item, dict) and str(item.get("deviationid")) in by_id:
                    tags = [t.get("tag_name") for t in item.get("tags") or [] if isinstance(t, dict)]
                    out.append({**by_id[str(item["deviationid"])], "description": str(item.get("description") or ""),
                                "tag_names": tags})
        return out

    def _folder(self, *, create: bool) -> str | None:
        """The gallery folder's id, found by name (any case); created when missing on a real run."""
        api = self._api()
        offset: int | None = 0
        wanted = self.folder_name.casefold()
        while offset is not None:
            page = self._get(api, "/gallery/folders", "reading your gallery folders",
                             params={"username": self.username, "offset": offset, "limit": 50}) or {}
            for folder in page.get("results") or []:
                if isinstance(folder, dict) and str(folder.get("name") or "").casefold() == wanted:
                    return str(folder["folderid"])
            offset = page.get("next_offset") if page.get("has_more") else None
        if not create:
            return None
        try:
            made = api.call("POST", "/gallery/folders/create", family="requests", data={"folder": self.folder_name})
        except ApiError as exc:
            raise exc.as_target_error(f"creating the gallery folder {self.folder_name!r}", LOGIN_HINT) from None
        if not isinstance(made.data, dict) or not made.data.get("folderid"):
            raise TransientError("DeviantArt made the gallery folder but did not say its id")
        return str(made.data["folderid"])

    def _get(self, api: DeviantArtApi, path: str, doing: str, params: Any = None) -> Any:
        try:
            return api.call("GET", path, params=params).data
        except ApiError as exc:
            if exc.status == 404 or (exc.status == 400 and exc.says("not found", "invalid deviation")):
                return None
            raise exc.as_target_error(doing, LOGIN_HINT) from None

    def _folder_id(self) -> str:
        if self.folder_id is None:
            self.folder_id = self._folder(create=True)
        assert self.folder_id is not None
        return self.folder_id

    def _api(self) -> DeviantArtApi:
        if self.api is None or self.username is None:
            require_login(None)
        assert self.api is not None
        return self.api


def _stash_title(key: str) -> str:
    """The Sta.sh item's working title until the part is published (then it gets its own):
    letters, digits and dashes only, so no title rule can refuse the upload."""
    return ("From Instagram " + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-"))[:TITLE_MAX]

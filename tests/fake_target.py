"""An in-memory target for engine tests: records what was created, can be told to fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pindah.adapters import contract as c
from pindah.adapters.contract import PostFailed, PostRequest, PreparedMedia, RemoteRef, TransientError


@dataclass
class Server:
    """The 'remote side': what exists there, independent of pindah's journal."""

    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> record
    media: dict[str, PreparedMedia] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail: Callable[[str, Any], Exception | None] = lambda op, arg: None


class FakeAdapter(c.Adapter):
    name = "fake"
    description = "in-memory test target"
    example = "fake:"
    capabilities = c.Capabilities(max_text=300, max_media_per_post=4, image_max_bytes=1_000_000,
                                  image_max_side=2000, backdating=True,
                                  rate_budgets=(c.RateBudget("posts", 1000, 3600),))

    def __init__(self, server: Server, caps: c.Capabilities | None = None) -> None:
        super().__init__("memory", {})
        self.server = server
        if caps is not None:
            self.caps = caps

    def account(self) -> str:
        return "fake-account"

    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        self.server.calls.append(f"upload {key}")
        self._maybe_fail("upload", key)
        self.server.media[key] = media
        return RemoteRef(f"m:{key}")

    def create_post(self, request: PostRequest) -> RemoteRef:
        self.server.calls.append(f"create {request.key}")
        error = self.server.fail("create", request)
        if isinstance(error, TransientError) and getattr(error, "after_landing", False):
            self._store(request)  # the post landed, but the answer was lost (timeout)
            raise error
        if error:
            raise error
        return self._store(request)

    def _store(self, request: PostRequest) -> RemoteRef:
        self.server.posts.setdefault(request.key, {
            "text": request.text, "media": [m.id for m in request.media],
            "reply_to": request.reply_to.id if request.reply_to else None,
            "created_at": request.created_at, "alt": list(request.media_alt)})
        return RemoteRef(f"p:{request.key}", f"https://fake.invalid/{request.key}")

    def find_post(self, request: PostRequest) -> RemoteRef | None:
        self.server.calls.append(f"find {request.key}")
        return RemoteRef(f"p:{request.key}", f"https://fake.invalid/{request.key}") \
            if request.key in self.server.posts else None

    def read_post(self, ref: RemoteRef) -> dict[str, Any] | None:
        record = self.server.posts.get(ref.id.removeprefix("p:"))
        return None if record is None else {"text": record["text"], "media": len(record["media"])}

    def delete_post(self, ref: RemoteRef) -> None:
        self.server.posts.pop(ref.id.removeprefix("p:"), None)

    def _maybe_fail(self, op: str, arg: Any) -> None:
        error = self.server.fail(op, arg)
        if error:
            raise error


def transient(after_landing: bool = False, retry_after: float | None = None) -> TransientError:
    error = TransientError("server answered 503", retry_after=retry_after)
    error.after_landing = after_landing  # type: ignore[attr-defined]
    return error


def permanent(message: str = "server answered 422: text too long") -> PostFailed:
    return PostFailed(message)

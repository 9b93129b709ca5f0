"""The wire to Tumblr's API v2: one call, its answer read honestly, Tumblr's refusals named.

Room: what only Tumblr needs on top of the toolkit's HTTP layer (https only except to this
computer, stale connections, error classes): the bearer token, Tumblr's answer envelope
(`meta`, `response`, `errors` with subcodes), its rate-limit headers, and what each refusal
means for the run (tumblr/docs api.md, "Rate Limits" and the NPF create route's "Errors and
Error Subcodes"):

    403.8023 daily posting limit   403.8004 no more media today   403.8011 no more videos today
        -> the run stops and says when it continues (Tumblr's days are calendar days)
    403.8022 the blog's queue is full  -> the run stops until queued posts have gone out
    403.8010 a video is still being processed  -> try again in a minute
    429 (1,000 calls per hour / 5,000 per day per app; 300 per minute per address)
        -> wait for the reset the answer's X-Ratelimit-Per{hour,day}-Reset headers give

The per-app headers (`X-Ratelimit-Perhour-*`, `-Perday-*`, seconds to the reset) are not in
Tumblr's docs; clients in the wild read them (gallery-dl, tumblr-utils). They are reported to the
engine's pacer as the "requests" budget, so a spent hour is waited out *before* a call.
A POST never waits or repeats here: only the engine knows whether an earlier attempt landed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from pindah.adapters.contract import PostFailed, RunStopped, TargetError, TransientError
from pindah.adapters.toolkit.http import (
    READ_TIMEOUT,
    HttpClient,
    HttpError,
    RateObserver,
    RateReport,
    check_url,
    error_text,
    to_target_error,
)

__all__ = ["API_BASE", "UPLOAD_TIMEOUT", "TumblrApi", "TumblrError", "next_tumblr_day"]

API_BASE = "https://api.tumblr.com"
UPLOAD_TIMEOUT = 600.0  # one post carries all its files: up to 30 pictures or a long video
SERVICE = "Tumblr"
DAILY = {8023: "posts", 8004: "pictures and videos", 8011: "videos"}
QUEUE_FULL = 8022
VIDEO_BUSY = 8010
_EASTERN = ZoneInfo("America/New_York")


def next_tumblr_day(now: float) -> datetime:
    """When Tumblr's next calendar day has begun everywhere it might be counted: its docs say
    only "per calendar day" on its servers' clocks, so the later of UTC and New York midnight."""
    moments = []
    for zone in (UTC, _EASTERN):
        local = datetime.fromtimestamp(now, tz=zone)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
        moments.append(midnight.astimezone(UTC))
    return max(moments)


class TumblrError(HttpError):
    """A Tumblr call that did not succeed; `code` is Tumblr's error subcode (0 when none)."""

    def __init__(self, status: int, message: str, *, host: str, code: int = 0,
                 retry_after: float | None = None) -> None:
        super().__init__(status, message, host=host, error=str(code) if code else "", retry_after=retry_after)
        self.code = code

    def as_target_error(self, doing: str, *, blog: str, now: float, login_hint: str) -> TargetError:
        """Retry, fail this post, or stop the run, in words an artist can act on."""
        what = DAILY.get(self.code)
        if self.status == 403 and what:
            resume = next_tumblr_day(now)
            return RunStopped(f"Tumblr's daily limit of new {what} is reached for today (it answered {self.status}."
                              f"{self.code})", f"run the same command again: it continues at {_local(resume)}, "
                              "and everything done so far is kept", resume_at=resume)
        if self.status == 403 and self.code == QUEUE_FULL:
            return RunStopped(f"the queue of {blog} is full (Tumblr keeps a limited number of queued posts)",
                              "run the same command again once some queued posts have been published",
                              resume_at=None)
        if self.status == 403 and self.code == VIDEO_BUSY:
            return TransientError("Tumblr is still processing an earlier video", retry_after=60.0)
        if self.status == 404:
            return RunStopped(f"Tumblr has no blog {blog!r} that this login can post to ({self.message})",
                              "check the name after tumblr: (your blog's name, as in NAME.tumblr.com)")
        if self.status == 403:
            return RunStopped(f"Tumblr refused pindah while {doing} on {blog} ({self.message or 'forbidden'})",
                              "check that this login may post to that blog, then " + login_hint)
        if self.status == 400:
            return PostFailed(f"Tumblr refused {doing} ({self.message or 'bad request'})")
        return to_target_error(self, doing, where="Tumblr", login_hint=login_hint)


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any  # the envelope's `response`
    headers: dict[str, str]


class TumblrApi:
    """Calls Tumblr's API with one bearer token; `base` may be a loopback simulation."""

    def __init__(self, base: str = API_BASE, *, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, observers: list[RateObserver] | None = None) -> None:
        self.wire = HttpClient(check_url(base, SERVICE, "https://api.tumblr.com"), service=SERVICE, session=http,
                               clock=clock, observers=observers)
        self.base = self.wire.base
        self.host = self.wire.host
        self.clock = clock
        self.token: str | None = None
        self.observers = self.wire.observers

    def call(self, method: str, path: str, *, params: Any = None, data: Any = None, files: Any = None,
             family: str = "requests", auth: bool = True, timeout: float = READ_TIMEOUT) -> Reply:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        try:
            response = self.wire.send(method, path, family=family, params=params, data=data, files=files,
                                      headers=headers, timeout=timeout)
        except HttpError as exc:
            raise TumblrError(0, exc.message, host=self.host) from None
        retry_after = self._read_rates(response)
        status = response.status_code
        if 300 <= status < 400:
            raise TumblrError(status, "redirected instead of answering", host=self.host)
        body = _json(response)
        if status >= 400:
            code, words = _error_of(body)
            raise TumblrError(status, self._clean(words or error_text(response)), host=self.host, code=code,
                              retry_after=retry_after if status == 429 else None)
        if not isinstance(body, dict):
            raise TumblrError(status, "answered with something that is not Tumblr's JSON", host=self.host)
        return Reply(status, body.get("response"), dict(response.headers))

    def close(self) -> None:
        self.wire.close()

    def _read_rates(self, response: requests.Response) -> float | None:
        """Tell the pacer the tighter of the hour and day windows; on a 429, how long to wait."""
        windows = []
        for span in ("Perhour", "Perday"):
            remaining = _int(response.headers.get(f"X-Ratelimit-{span}-Remaining"))
            reset = _int(response.headers.get(f"X-Ratelimit-{span}-Reset"))
            if remaining is not None and reset is not None:
                windows.append((remaining, float(reset)))
        spent = [w for w in windows if w[0] <= 0]
        refused = response.status_code == 429
        # A 429 with both app windows left is another limit (300 calls a minute per address):
        # its own Retry-After, else a minute.
        retry = max(w[1] for w in spent) if spent else float(_int(response.headers.get("Retry-After")) or 60)
        if windows:
            remaining, reset = max(spent, key=lambda w: w[1]) if spent else min(windows)
            # limit=None: the declared hourly and daily budgets keep their own limits; the pacer
            # only learns how many calls are left until when.
            report = RateReport(self.host, "requests", None, remaining, self.clock() + reset,
                                retry_after=retry if refused else None)
            for observer in self.observers:
                observer(report)
        return retry if refused else None

    def _clean(self, text: str) -> str:
        return text.replace(self.token, "[token]") if self.token else text


def _json(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def _error_of(body: Any) -> tuple[int, str]:
    """Tumblr's error subcode and words: `errors: [{"title", "code", "detail"}]`, else `meta.msg`."""
    if not isinstance(body, dict):
        return 0, ""
    errors = body.get("errors")
    if errors is None and isinstance(body.get("response"), dict):
        errors = body["response"].get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = _int(str(first.get("code", ""))) or 0
        return code, " ".join(str(first.get("detail") or first.get("title") or "").split())[:300]
    meta = body.get("meta")
    return 0, str(meta.get("msg") or "") if isinstance(meta, dict) else ""


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")

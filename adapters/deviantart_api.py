"""The wire to DeviantArt's API (`/api/v1/oauth2/...`): one call with a fresh token, read honestly.

Room: what only DeviantArt needs on top of the toolkit's HTTP layer (https-only, stale
connections, rate headers, error classes): the bearer token from the saved login (renewed
before it expires, and once after a 401, by `toolkit.oauth_code.TokenKeeper`), DeviantArt's
JSON errors (`{"error", "error_description", "error_code", "status": "error"}`), and its
rate limiting, which publishes no figures and sends no `X-RateLimit-*` headers: a 429 (its
errors page: "rate limit reached or service overloaded"), or from its load balancers a 403
with an HTML page (DeviantArt-API #20, #143: "treat it the same as a 429"). A 429 without a
`Retry-After` waits `DEFAULT_BACKOFF` seconds: DeviantArt's limiter is a velocity filter that
must be left to decay (#91), so retrying at once only extends the block.

Reads wait once for a rate limit here (verify and rollback have no retry loop of their own);
a POST never waits or repeats here: the engine decides, because only it knows whether an
earlier attempt may have landed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pindah.adapters.contract import PostFailed, RunStopped, TargetError, TransientError
from pindah.adapters.toolkit.http import (
    IDEMPOTENT,
    READ_TIMEOUT,
    HttpClient,
    HttpError,
    RateObserver,
    error_text,
    retry_after_seconds,
    server_time,
    to_target_error,
)
from pindah.adapters.toolkit.oauth_code import TokenKeeper

__all__ = ["API_PREFIX", "DEFAULT_BACKOFF", "ApiError", "DeviantArtApi", "Reply"]

log = logging.getLogger("pindah.deviantart")

API_PREFIX = "/api/v1/oauth2"
UPLOAD_TIMEOUT = 300.0
DEFAULT_BACKOFF = 60.0  # seconds, when DeviantArt refuses for the rate without saying how long
MAX_READ_WAIT = 900.0


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    server_time: float | None  # the answer's `Date`, epoch seconds


class ApiError(HttpError):
    """A DeviantArt call that did not succeed (never holds a token)."""

    def as_target_error(self, doing: str, login_hint: str) -> TargetError:
        where = "DeviantArt"
        if self.status == 403 and not self.error:  # the load balancer's HTML page: a rate limit
            return TransientError(f"{where} asks pindah to slow down while {doing}",
                                  retry_after=self.retry_after or DEFAULT_BACKOFF)
        if self.status == 403:
            return RunStopped(f"{where} refused pindah while {doing} ({self.message or self.error})",
                              "check the account is active, then " + login_hint)
        if self.status == 429 or (self.status == 400 and self.error == "user_api_threshold"):
            return TransientError(f"{where} asks pindah to slow down while {doing}",
                                  retry_after=self.retry_after or DEFAULT_BACKOFF)
        if self.status == 400 and self.error == "invalid_request" and self.says("unsupported", "file type"):
            return PostFailed(f"{where} refused the file while {doing} ({self.message})")
        return to_target_error(self, doing, where=where, login_hint=login_hint)


class DeviantArtApi:
    """Calls DeviantArt's API for one login; injected clock and sleep for tests."""

    def __init__(self, base_url: str, keeper: TokenKeeper | None, *, login_hint: str,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 observers: list[RateObserver] | None = None, session: Any = None) -> None:
        self.wire = HttpClient(base_url, service="DeviantArt", session=session, clock=clock, observers=observers)
        self.base = self.wire.base
        self.keeper = keeper
        self.login_hint = login_hint
        self.clock, self.sleep = clock, sleep

    def call(self, method: str, path: str, *, family: str = "requests", params: Any = None, data: Any = None,
             files: Any = None, timeout: float = READ_TIMEOUT) -> Reply:
        """One call to `API_PREFIX + path`. A 401 renews the login once and sends it again (a
        401 means the token was refused before anything was done); a read refused for the rate
        waits once."""
        if self.keeper is None:
            raise RunStopped("pindah is not logged in to DeviantArt", self.login_hint)
        token = self.keeper.access_token()
        renewed = waited = False
        while True:
            try:
                return self._send(method, path, token, family=family, params=params, data=data, files=files,
                                  timeout=timeout)
            except ApiError as exc:
                if exc.status == 401 and not renewed:
                    renewed = True
                    token = self.keeper.after_unauthorized(token)
                    _rewind(files)
                    continue
                if method in IDEMPOTENT and not waited and _rate_refusal(exc) \
                        and (exc.retry_after or DEFAULT_BACKOFF) <= MAX_READ_WAIT:
                    waited = True
                    log.warning("waiting %.0f s for DeviantArt's rate limit", exc.retry_after or DEFAULT_BACKOFF)
                    self.sleep(exc.retry_after or DEFAULT_BACKOFF)
                    continue
                raise

    def close(self) -> None:
        self.wire.close()

    def _send(self, method: str, path: str, token: str, *, family: str, params: Any, data: Any, files: Any,
              timeout: float) -> Reply:
        try:
            response = self.wire.send(method, API_PREFIX + path, family=family, params=params, data=data,
                                      files=files, headers={"Authorization": f"Bearer {token}",
                                                            "Accept-Encoding": "gzip, deflate"},
                                      timeout=timeout)
        except HttpError as exc:
            raise ApiError(0, exc.message, host=self.wire.host) from None
        status = response.status_code
        body: Any
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if status >= 400 or (isinstance(body, dict) and body.get("status") == "error"):
            error = str(body.get("error") or "") if isinstance(body, dict) else ""
            said = error_text(response).replace(token, "[token]")
            retry = retry_after_seconds(response.headers.get("Retry-After"), time.time()) if status in (429, 403) else None
            raise ApiError(max(status, 400), said, host=self.wire.host, error=error,
                           retry_after=retry)
        if body is None and status != 204:
            raise ApiError(status, "answered with something that is not JSON", host=self.wire.host)
        return Reply(status, body, server_time(response.headers.get("Date")))


def _rate_refusal(exc: ApiError) -> bool:
    return exc.status == 429 or (exc.status == 403 and not exc.error) or exc.error == "user_api_threshold"


def _rewind(files: Any) -> None:
    """A multipart body is read once; rewind its files before sending it again."""
    for value in (files or {}).values() if isinstance(files, dict) else ():
        handle = value[1] if isinstance(value, tuple) and len(value) > 1 else None
        if hasattr(handle, "seek"):
            handle.seek(0)

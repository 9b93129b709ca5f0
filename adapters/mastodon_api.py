"""The wire to a Mastodon-API server (Mastodon, Pixelfed, GoToSocial, snac): one call, read honestly.

Room: what only the Mastodon client API needs on top of the toolkit's HTTP layer
(`pindah.adapters.toolkit.http`: https-only, stale connections, rate headers, error classes):
the bearer token, a refusal the server already announced (its budget is spent until the
reset), the web sign-in page some servers send instead of an error, and JSON bodies.

Why requests and not Mastodon.py: Mastodon.py sleeps inside the library on 429s with one bucket
for every endpoint and a hidden cap, prints headers (the token) when debugging, and hides the
status codes this adapter must see (202/206 media, Pixelfed's 400 "Duplicate idempotency key.",
GoToSocial's 400 "media already attached", a login page served with 200).

Reads and deletes are idempotent, so they may wait for a reset here (verify and rollback call
them outside the engine's retry loop; the wait uses the adapter's injected `sleep`, never the
HTTP layer); a POST never waits or repeats here: the engine decides, because only it knows
whether an earlier attempt may have landed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from pindah.adapters.contract import PostFailed, RunStopped, TargetError
from pindah.adapters.toolkit.http import (
    IDEMPOTENT,
    READ_TIMEOUT,
    HttpClient,
    HttpError,
    RateObserver,
    error_text,
    parse_reset,
    to_target_error,
)
from pindah.adapters.toolkit.http import (
    check_url as _check_url,
)

__all__ = ["UPLOAD_TIMEOUT", "ApiClient", "ApiError", "Reply", "check_url", "login_hint", "parse_reset"]

log = logging.getLogger("pindah.mastodon")

UPLOAD_TIMEOUT = 300.0  # a 100 MB video over a slow home connection
MAX_IDEMPOTENT_WAIT = 1800.0  # Mastodon's delete budget resets after 30 min at worst
_LOGIN_PATHS = ("/login", "/auth/sign_in", "/oauth/authorize")


def check_url(url: str) -> str:
    return _check_url(url, "Mastodon, Pixelfed and GoToSocial", "mastodon:https://example.social")


def login_hint(server: str) -> str:
    return f"log in again with `pindah login mastodon:{server}`"


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    headers: dict[str, str]


class ApiError(HttpError):
    """A Mastodon-API call that did not succeed (never holds the token)."""

    def as_target_error(self, doing: str) -> TargetError:
        """Retry, fail this post, or stop the run; Mastodon's own 403s first."""
        where = self.host
        if self.status == 403 and self.says("size limit", "quota", "storage"):
            return RunStopped(f"{where} says your account's storage is full ({self.message})",
                              "free some space there or ask the admin, then run the command again")
        if self.status == 403 and self.says("empty status"):
            return PostFailed(f"{where} refused {doing}: {self.message}")
        if self.status == 403:
            return RunStopped(f"{where} refused pindah while {doing} ({self.message})",
                              "check the account is active, then " + login_hint(f"https://{where}")
                              + " (pindah needs read and write access)")
        if self.status == 401 and not self.login_page:
            return RunStopped(f"{where} did not accept pindah's login while {doing} "
                              "(the token is wrong, expired or was revoked)", login_hint(f"https://{where}"))
        return to_target_error(self, doing, where=where, login_hint=login_hint(f"https://{where}"))


class ApiClient:
    """Calls one server's client API with one token; injected clock and sleep for tests."""

    def __init__(self, base_url: str, *, token: str | None = None, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = MAX_IDEMPOTENT_WAIT, observers: list[RateObserver] | None = None) -> None:
        self.wire = HttpClient(check_url(base_url), service="Mastodon, Pixelfed and GoToSocial", session=http,
                               clock=clock, observers=observers)
        self.base = self.wire.base
        self.host = self.wire.host
        self.token = token
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait

    def call(self, method: str, path: str, *, family: str = "requests", params: Any = None, data: Any = None,
             files: Any = None, headers: dict[str, str] | None = None, auth: bool = True,
             timeout: float = READ_TIMEOUT) -> Reply:
        """One call. `family` names the server's budget it counts against ("media", "posts",
        "deletes", or "requests"): Mastodon's answers to POST /statuses describe the 3-hour
        status budget, those to POST /media the upload budget, the rest the 5-minute one."""
        idempotent = method in IDEMPOTENT
        for attempt in (1, 2):
            self._gate(family, idempotent)
            try:
                return self._send(method, path, params=params, data=data, files=files,
                                  headers=headers, auth=auth, timeout=timeout, family=family)
            except ApiError as exc:
                # A read or delete refused for the rate limit waits for the reset once, here:
                # verify and rollback have no retry loop of their own.
                if exc.status == 429 and idempotent and attempt == 1 and exc.retry_after is not None \
                        and exc.retry_after <= self.max_wait:
                    self._wait(exc.retry_after, family)
                    continue
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.wire.close()

    # -- internals -----------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, params: Any, data: Any, files: Any,
              headers: dict[str, str] | None, auth: bool, timeout: float, family: str) -> Reply:
        sent = dict(headers or {})
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.wire.send(method, path, family=family, params=params, data=data, files=files,
                                      headers=sent, timeout=timeout)
        except HttpError as exc:
            raise ApiError(0, exc.message, host=self.host) from None
        report = self.wire.rates.get(family)
        status = response.status_code
        if 300 <= status < 400:
            target = response.headers.get("Location", "")
            login = any(p in urlsplit(target).path for p in _LOGIN_PATHS)
            raise ApiError(status, "sent to its sign-in page" if login else f"redirected to {target[:120]}",
                           host=self.host, login_page=login)
        if status >= 400:
            retry_after = report.retry_after if report is not None and status == 429 else None
            if retry_after is None:
                retry_after = _seconds(response.headers.get("Retry-After"))
            raise ApiError(status, self._clean(error_text(response)), host=self.host, retry_after=retry_after)
        body = _json_or_none(response)
        if body is _NOT_JSON:
            # Pixelfed answers a bad or expired token with its HTML login page and a 200.
            html = "html" in response.headers.get("Content-Type", "").lower()
            raise ApiError(status, "answered with a web page (its sign-in page) instead of data" if html
                           else "answered with something that is not JSON", host=self.host, login_page=html)
        return Reply(status, body, dict(response.headers))

    def _gate(self, family: str, idempotent: bool) -> None:
        """Do not send what the server already said it would refuse until its reset."""
        wait = self.wire.refused_for(family)
        if wait is None:
            return
        if idempotent and wait <= self.max_wait:
            self._wait(wait, family)
            return
        raise ApiError(429, "its limit for these calls is used up until its reset", host=self.host,
                       retry_after=wait)

    def _wait(self, seconds: float, family: str) -> None:
        log.warning("waiting %.0f s for %s's rate limit (%s)", seconds, self.host, family)
        self.sleep(seconds)

    def _clean(self, text: str) -> str:
        """The server's words, one line, and never the token (a server may echo it)."""
        return text.replace(self.token, "[token]") if self.token else text


_NOT_JSON = object()


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None

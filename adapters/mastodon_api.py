"""The wire to a Mastodon-API server (Mastodon, Pixelfed, GoToSocial): one HTTP call, read honestly.

Room: sending one request and saying what came back. `ApiClient.call` adds the bearer token,
refuses plain http except to this computer, reads the `X-RateLimit-*` headers of every answer
(the reset is an ISO-8601 time on Mastodon and GoToSocial) and turns anything that is not a
JSON success into an `ApiError` that keeps the status and the server's own words. `ApiError
.as_target_error` maps it onto the engine's three outcomes (retry, fail this post, stop the run).

Why requests and not Mastodon.py: Mastodon.py sleeps inside the library on 429s with one bucket
for every endpoint and a hidden cap, prints headers (the token) when debugging, and hides the
status codes this adapter must see (202/206 media, Pixelfed's 400 "Duplicate idempotency key.",
GoToSocial's 400 "media already attached", a login page served with 200). Retrying and pacing
are the engine's; this room only refuses to send a call the server already said it would refuse.

Reads and deletes are idempotent, so they may wait for a reset here (verify and rollback call
them outside the engine's retry loop); a POST never waits or repeats here: the engine decides,
because only it knows whether an earlier attempt may have landed.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from pindah.adapters.toolkit import __version__
from pindah.adapters.contract import (
    PindahError,
    PostFailed,
    RunStopped,
    TargetError,
    TransientError,
)

log = logging.getLogger("pindah.mastodon")

USER_AGENT = f"pindah/{__version__} (Instagram history migration)"
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
UPLOAD_TIMEOUT = 300.0  # a 100 MB video over a slow home connection
MAX_IDEMPOTENT_WAIT = 1800.0  # Mastodon's delete budget resets after 30 min at worst
_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}
_LOGIN_PATHS = ("/login", "/auth/sign_in", "/oauth/authorize")
_IDEMPOTENT = {"GET", "HEAD", "DELETE"}


def check_url(url: str) -> str:
    """The server's origin (`https://host[:port]`), https only; plain http only to this computer,
    because a token sent over plain http to another machine is a token given away."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PindahError(f"{url!r} is not a server address",
                          "write it like mastodon:https://example.social")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise PindahError(f"refusing to talk to {url!r} over plain http",
                          "Mastodon, Pixelfed and GoToSocial servers are reached over https "
                          "(plain http only on this computer)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def is_loopback(host: str) -> bool:
    host = host.lower().strip("[]")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_reset(value: str | None, *, server_now: float | None, local_now: float) -> float | None:
    """Seconds until `X-RateLimit-Reset`: an ISO time (Mastodon, GoToSocial), epoch seconds,
    or a number of seconds (older GoToSocial). Measured against the server's own clock (its
    `Date` header) when known, so a wrong clock on this computer does not shorten the wait."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)  # 3.11 reads "Z"
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, moment.timestamp() - (server_now if server_now is not None else local_now))
    if number > 1e9:  # an epoch time
        return max(0.0, number - (server_now if server_now is not None else local_now))
    return max(0.0, number)


@dataclass
class RateState:
    """What the last answer of one call family said about its budget."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # local clock


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    headers: dict[str, str]


class ApiError(Exception):
    """A call that did not succeed, with the server's status and words (never the token)."""

    def __init__(self, status: int, message: str, *, host: str, retry_after: float | None = None,
                 login_page: bool = False) -> None:
        super().__init__(f"{status} {message}")
        self.status = status  # 0: no answer at all (timeout, dropped connection)
        self.message = message
        self.host = host
        self.retry_after = retry_after
        self.login_page = login_page

    def says(self, *words: str) -> bool:
        text = self.message.lower()
        return any(w in text for w in words)

    def as_target_error(self, doing: str) -> TargetError:
        """Retry, fail this post, or stop the run, in words an artist can act on."""
        where = self.host
        if self.status == 0:
            return TransientError(f"no answer from {where} while {doing} ({self.message})")
        if self.login_page or self.status == 401:
            return RunStopped(f"{where} did not accept pindah's login while {doing} "
                              "(the token is wrong, expired or was revoked)",
                              f"log in again with `pindah login mastodon:https://{where}`")
        if self.status == 403:
            if self.says("size limit", "quota", "storage"):
                return RunStopped(f"{where} says your account's storage is full ({self.message})",
                                  "free some space there or ask the admin, then run the command again")
            if self.says("empty status"):
                return PostFailed(f"{where} refused {doing}: {self.message}")
            return RunStopped(f"{where} refused pindah while {doing} ({self.message})",
                              "check the account is active, then log in again with "
                              f"`pindah login mastodon:https://{where}` (pindah needs read and write access)")
        if self.status in (408, 425, 429) or (self.status >= 500 and self.status != 501):
            return TransientError(f"{where} answered {self.status} while {doing}"
                                  + (f" ({self.message})" if self.message else ""), retry_after=self.retry_after)
        if self.status == 413:
            return PostFailed(f"{where} says the file is too large while {doing}")
        return PostFailed(f"{where} refused {doing} ({self.status}: {self.message or 'no reason given'})")


class ApiClient:
    """Calls one server's client API with one token; injected clock and sleep for tests."""

    def __init__(self, base_url: str, *, token: str | None = None, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = MAX_IDEMPOTENT_WAIT) -> None:
        self.base = check_url(base_url)
        self.host = urlsplit(self.base).netloc
        self.token = token
        self.http = http or new_http()
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.rates: dict[str, RateState] = {}

    def call(self, method: str, path: str, *, family: str = "requests", params: Any = None, data: Any = None,
             files: Any = None, headers: dict[str, str] | None = None, auth: bool = True,
             timeout: float = READ_TIMEOUT) -> Reply:
        """One call. `family` names the server's budget it counts against ("media", "posts",
        "deletes", or "requests"): Mastodon's answers to POST /statuses describe the 3-hour
        status budget, those to POST /media the upload budget, the rest the 5-minute one."""
        idempotent = method in _IDEMPOTENT
        for attempt in (1, 2):
            self._gate(family, idempotent)
            try:
                reply = self._send(method, path, params=params, data=data, files=files,
                                   headers=headers, auth=auth, timeout=timeout, family=family)
            except ApiError as exc:
                # A read or delete refused for the rate limit waits for the reset once, here:
                # verify and rollback have no retry loop of their own.
                if exc.status == 429 and idempotent and attempt == 1 and exc.retry_after is not None \
                        and exc.retry_after <= self.max_wait:
                    self._wait(exc.retry_after, family)
                    continue
                raise
            return reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.http.close()

    # -- internals -----------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, params: Any, data: Any, files: Any,
              headers: dict[str, str] | None, auth: bool, timeout: float, family: str) -> Reply:
        sent = {"Accept": "application/json", **(headers or {})}
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(method, self.base + path, params=params, data=data, files=files,
                                         headers=sent, timeout=(CONNECT_TIMEOUT, timeout),
                                         allow_redirects=False)
        except requests.Timeout:
            raise ApiError(0, "timed out", host=self.host) from None
        except requests.ConnectionError:
            raise ApiError(0, "connection failed or dropped", host=self.host) from None
        except requests.RequestException as exc:
            raise ApiError(0, type(exc).__name__, host=self.host) from None
        log.debug("%s %s -> %s", method, path, response.status_code)  # never headers: they hold the token
        retry_after = self._note_rate(family, response)
        status = response.status_code
        if 300 <= status < 400:
            target = response.headers.get("Location", "")
            login = any(p in urlsplit(target).path for p in _LOGIN_PATHS)
            raise ApiError(status, "sent to its sign-in page" if login else f"redirected to {target[:120]}",
                           host=self.host, login_page=login)
        body = self._body(response)
        if status >= 400:
            raise ApiError(status, self._clean(_error_text(body, response)), host=self.host,
                           retry_after=retry_after)
        if body is _NOT_JSON:
            # Pixelfed answers a bad or expired token with its HTML login page and a 200.
            html = "html" in response.headers.get("Content-Type", "").lower()
            raise ApiError(status, "answered with a web page (its sign-in page) instead of data" if html
                           else "answered with something that is not JSON", host=self.host, login_page=html)
        return Reply(status, body, dict(response.headers))

    def _gate(self, family: str, idempotent: bool) -> None:
        """Do not send what the server already said it would refuse until its reset."""
        state = self.rates.get(family)
        if state is None or state.remaining is None or state.remaining > 0 or state.reset_at is None:
            return
        wait = state.reset_at - self.clock()
        if wait <= 0:
            return
        if idempotent and wait <= self.max_wait:
            self._wait(wait, family)
            return
        raise ApiError(429, "its limit for these calls is used up until its reset", host=self.host,
                       retry_after=wait)

    def _wait(self, seconds: float, family: str) -> None:
        log.warning("waiting %.0f s for %s's rate limit (%s)", seconds, self.host, family)
        self.sleep(seconds)

    def _note_rate(self, family: str, response: requests.Response) -> float | None:
        """Remember the budget headers; return how long the server wants us to wait, if it said."""
        headers = response.headers
        local_now = self.clock()
        server_now = _server_time(headers.get("Date"))
        until_reset = parse_reset(headers.get("X-RateLimit-Reset"), server_now=server_now, local_now=local_now)
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        if remaining is not None or until_reset is not None:
            self.rates[family] = RateState(_int(headers.get("X-RateLimit-Limit")), remaining,
                                           None if until_reset is None else local_now + until_reset)
        retry_after = _float(headers.get("Retry-After"))
        if response.status_code == 429 and until_reset is not None:
            return max(until_reset, retry_after or 0.0) or 1.0
        return retry_after

    @staticmethod
    def _body(response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return _NOT_JSON

    def _clean(self, text: str) -> str:
        """The server's words, one line, short, and never the token (a server may echo it)."""
        text = " ".join(text.split())[:300]
        return text.replace(self.token, "[token]") if self.token else text


_NOT_JSON = object()


def _error_text(body: Any, response: requests.Response) -> str:
    if isinstance(body, dict):
        for key in ("error_description", "error", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    if body is _NOT_JSON:
        text = response.text
        return "" if "<html" in text[:500].lower() else text
    return ""


def _server_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def new_http() -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    return http

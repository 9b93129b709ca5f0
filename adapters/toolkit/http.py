"""One HTTP layer for every remote target: safe addresses, stale connections, rate headers, errors.

Room: sending a request to a target's server and saying honestly what came back. Each adapter
reads its own answers (Mastodon's JSON errors, XRPC error names); what every one of them needs
is here, once:

* `check_url` / `is_loopback`: https only, plain http only to this computer (a token sent over
  plain http to another machine is a token given away).
* Stale pooled connections. Some servers (snac, many proxies) close a connection after their
  answer without saying `Connection: close`; the next request sent on that socket fails with
  "connection dropped" although the server never saw it. Idempotent requests (GET, HEAD,
  DELETE, ...) are re-sent on a fresh connection by urllib3 (at once, no sleeping). A request
  that is not idempotent (a POST that creates a post) is sent on a pooled connection only
  while the server's own promise holds: its last answer said `Keep-Alive: timeout=N` and came
  less than N/2 seconds ago (`KEEP_ALIVE_SHARE`). Otherwise (snac says nothing) the idle
  sockets are dropped first and the POST opens a new one, so a dropped connection there is a
  real unknown outcome that the engine resolves with `find_post`, not an artefact of the pool.
  (A new connection per call cost ~4 ms against the reference PDS, a fifth of an upload.)
* Rate-limit headers (`X-RateLimit-*`, `RateLimit-*`, `Retry-After`) are read into a
  `RateReport` and given to every observer (the engine's pacer, for ETAs and pacing before a
  429). This layer never sleeps: `refused_for` says how long a budget the server declared spent
  stays spent, and the caller decides.
* `HttpError` (status 0 = no answer) and `to_target_error`: the engine's three outcomes, retry
  (`TransientError` with `retry_after`: 408/425/429/5xx, timeouts, dropped connections), fail
  this post (`PostFailed`: 400/413/422 and other refusals), stop the run (`RunStopped`: 401/403,
  a login that no longer works, with the adapter's own way to log in again).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from pindah.adapters.contract import (
    PindahError,
    PostFailed,
    RunStopped,
    TargetError,
    TransientError,
)
from pindah.adapters.toolkit import __version__
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

log = logging.getLogger("pindah.http")

USER_AGENT = f"pindah/{__version__} (Instagram history migration)"
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
STALE_RESENDS = 2  # a stale socket, then possibly a second one from the same pool
# A POST reuses a connection for this share of the idle time the server promised to keep it
# open (Keep-Alive: timeout=N), and never longer than KEEP_ALIVE_MAX seconds.
KEEP_ALIVE_SHARE = 0.5
KEEP_ALIVE_MAX = 30.0
_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


# -- addresses -----------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for this computer: localhost names and 127.0.0.0/8, ::1 (brackets allowed)."""
    host = host.lower().strip("[]")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, service: str = "These", example: str | None = None) -> str:
    """The server's origin (`https://host[:port]`); https only, plain http only to this computer."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PindahError(f"{url!r} is not a server address",
                          f"write it like {example}" if example else "write it like https://example.social")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise PindahError(f"refusing to talk to {url!r} over plain http",
                          f"{service} servers are reached over https (plain http only on this computer)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


# -- rate-limit headers --------------------------------------------------------------------------
@dataclass(frozen=True)
class RateReport:
    """What one answer said about one budget of the server. `reset_at` is on this computer's
    clock (corrected for the server's own `Date`); `retry_after` is set on a refusal (429)."""

    host: str
    family: str  # the adapter's name for the budget: "requests", "posts", "media", an XRPC method...
    limit: int | None
    remaining: int | None
    reset_at: float | None
    policy: str | None = None  # "1000;w=86400" (Bluesky's ratelimit-policy)
    retry_after: float | None = None


RateObserver = Callable[[RateReport], None]


def parse_reset(value: str | None, *, server_now: float | None, local_now: float) -> float | None:
    """Seconds until a rate-limit reset: an ISO time (Mastodon, GoToSocial), epoch seconds
    (Bluesky), or a number of seconds (IETF RateLimit-Reset, older GoToSocial). Measured
    against the server's clock (its `Date`) when known, so a wrong local clock waits right."""
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


def _header(headers: Any, *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def read_rate(host: str, family: str, response: requests.Response, local_now: float) -> RateReport | None:
    """The budget an answer describes, or None when it carries no rate-limit header."""
    h = response.headers
    server_now = server_time(h.get("Date"))
    if server_now is not None and abs(server_now - local_now) <= 2:
        server_now = local_now  # Date has whole seconds: only a real clock difference counts
    until = parse_reset(_header(h, "X-RateLimit-Reset", "RateLimit-Reset"), server_now=server_now, local_now=local_now)
    remaining = _int(_header(h, "X-RateLimit-Remaining", "RateLimit-Remaining"))
    limit = _int(_header(h, "X-RateLimit-Limit", "RateLimit-Limit"))
    retry_after = retry_after_seconds(h.get("Retry-After"), local_now)
    if response.status_code == 429 and until is not None:
        retry_after = max(until, retry_after or 0.0) or 1.0
    if until is None and remaining is None and limit is None and retry_after is None:
        return None
    return RateReport(host, family, limit, remaining, None if until is None else local_now + until,
                      _header(h, "RateLimit-Policy", "X-RateLimit-Policy"), retry_after)


# -- errors --------------------------------------------------------------------------------------
class HttpError(Exception):
    """A call that did not succeed: status (0: no answer at all), the server's words (never a
    token), and for a refusal how long to wait. `error` is a machine name when the server gives
    one (XRPC's "ExpiredToken"); `login_page` marks an answer that was the web sign-in page."""

    def __init__(self, status: int, message: str, *, host: str = "", error: str = "",
                 retry_after: float | None = None, policy: str | None = None, login_page: bool = False) -> None:
        super().__init__(f"{status} {error + ': ' if error else ''}{message}")
        self.status = status
        self.message = message
        self.host = host
        self.error = error
        self.retry_after = retry_after
        self.policy = policy
        self.login_page = login_page

    def says(self, *words: str) -> bool:
        text = f"{self.error} {self.message}".lower()
        return any(w in text for w in words)


def to_target_error(exc: HttpError, doing: str, *, where: str, login_hint: str) -> TargetError:
    """Retry, fail this post, or stop the run, in words an artist can act on. Adapters handle
    their servers' special answers first and leave the rest to this one mapping."""
    said = exc.message or exc.error
    if exc.status == 0:
        return TransientError(f"no answer from {where} while {doing} ({said})")
    if exc.login_page or exc.status in (401, 403):
        return RunStopped(f"{where} did not accept pindah's login while {doing}"
                          + (f" ({said})" if said else " (the login is wrong, expired or was revoked)"),
                          login_hint)
    if exc.status == 429:
        return TransientError(f"{where} asks pindah to slow down while {doing}", retry_after=exc.retry_after)
    if exc.status in (408, 425) or (exc.status >= 500 and exc.status != 501):
        return TransientError(f"{where} answered {exc.status} while {doing}" + (f" ({said})" if said else ""),
                              retry_after=exc.retry_after)
    if exc.status == 413:
        return PostFailed(f"{where} says the file is too large while {doing}")
    return PostFailed(f"{where} refused {doing} ({exc.status}: {said or 'no reason given'})")


# -- the client ----------------------------------------------------------------------------------
class _StaleRetry(Retry):
    """Re-send only what never reached the server: a dropped or reset connection, not a slow one
    (a read timeout may mean the server is busy with it)."""

    def _is_read_error(self, err: Exception) -> bool:
        return isinstance(err, ProtocolError)


def _pooled_adapter() -> HTTPAdapter:
    return HTTPAdapter(max_retries=_StaleRetry(total=STALE_RESENDS, connect=0, read=STALE_RESENDS, redirect=0,
                                               status=0, other=0, allowed_methods=IDEMPOTENT, backoff_factor=0,
                                               raise_on_status=False, raise_on_redirect=False))


# urllib3 logs each re-send as a warning, which would reach the artist's terminal: a re-sent
# read is the normal way to deal with a server that closes connections, not news.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


class _Session(requests.Session):
    """requests reads proxy and CA-bundle settings from the environment on every call, scanning
    `os.environ` (about 1 ms a call, on the runner's path between two calls): read once per
    server and call shape instead. A session lives for one run, whose environment is fixed."""

    def __init__(self) -> None:
        super().__init__()
        self._settings: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies:  # a call's own proxies: not this cache's business
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        if key not in self._settings:
            self._settings[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return dict(self._settings[key], proxies=dict(self._settings[key]["proxies"]))


def new_session() -> requests.Session:
    """A requests session with pindah's User-Agent and the stale-connection re-send."""
    session = _Session()
    session.headers["User-Agent"] = USER_AGENT
    for scheme in ("https://", "http://"):
        session.mount(scheme, _pooled_adapter())
    return session


class HttpClient:
    """Talks to one server (`base`), or to absolute https URLs (identity lookups). Reports rate
    headers to `observers`, remembers the last report per family, never sleeps.

    Safe to call from more than one thread (an adapter whose uploads run alongside its posts):
    each thread gets connections of its own (the given session is the creating thread's), so a
    POST's keep-alive reasoning below is about a socket only that thread used; rate reports are
    shared."""

    def __init__(self, base_url: str, *, service: str = "These", session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, observers: list[RateObserver] | None = None) -> None:
        self.base = check_url(base_url, service)
        self.service = service
        self.host = urlsplit(self.base).netloc
        self._session = session or new_session()
        self._owner = threading.get_ident()
        self._local = threading.local()  # another thread's session and keep-alive promises
        self._others: list[requests.Session] = []
        self.clock = clock
        self.observers: list[RateObserver] = observers if observers is not None else []
        self.rates: dict[str, RateReport] = {}
        self._owner_kept_until: dict[str, float] = {}

    @property
    def session(self) -> requests.Session:
        """This thread's requests session."""
        if threading.get_ident() == self._owner:
            return self._session
        own = getattr(self._local, "session", None)
        if own is None:
            own = self._local.session = new_session()
            self._others.append(own)
        return own

    @property
    def _kept_until(self) -> dict[str, float]:
        """host -> monotonic time the promised keep-alive of this thread's last answer ends."""
        if threading.get_ident() == self._owner:
            return self._owner_kept_until
        if not hasattr(self._local, "kept_until"):
            self._local.kept_until = {}
        return self._local.kept_until

    def send(self, method: str, target: str, *, family: str = "requests", params: Any = None, data: Any = None,
             json: Any = None, files: Any = None, headers: dict[str, str] | None = None,
             timeout: float = READ_TIMEOUT) -> requests.Response:
        """One request; `target` is a path on this server or an absolute URL (checked the same
        way). Any answer comes back, whatever its status; no answer is an `HttpError(0)`."""
        url = self.base + target if target.startswith("/") else target
        host = urlsplit(url).netloc
        if not target.startswith("/"):
            check_url(url, self.service)
        kept_until = self._kept_until.pop(host, 0.0)  # set again only by an answer
        if method.upper() not in IDEMPOTENT and time.monotonic() >= kept_until:
            self.session.close()  # no promise covers the idle sockets: this POST opens a new one
        sent = {"Accept": "application/json", **(headers or {})}
        try:
            response = self.session.request(method, url, params=params, data=data, json=json, files=files,
                                            headers=sent, timeout=(CONNECT_TIMEOUT, timeout), allow_redirects=False)
        except requests.Timeout:
            raise HttpError(0, "timed out", host=host, error="Timeout") from None
        except requests.ConnectionError:
            raise HttpError(0, "connection failed or dropped", host=host, error="NetworkError") from None
        except requests.RequestException as exc:
            raise HttpError(0, type(exc).__name__, host=host, error="NetworkError") from None
        # The socket this answer came on is the pool's next (LIFO): how long it may carry a POST.
        self._kept_until[host] = time.monotonic() + kept_alive_for(response)
        log.debug("%s %s -> %s", method, urlsplit(url).path, response.status_code)  # never headers: tokens
        report = read_rate(host, family, response, self.clock())
        if report is not None:
            if report.remaining is not None or report.reset_at is not None:
                self.rates[family] = report
            for observer in self.observers:
                observer(report)
        return response

    def refused_for(self, family: str) -> float | None:
        """Seconds until the server takes `family` calls again, when it said the budget is spent."""
        report = self.rates.get(family)
        if report is None or report.remaining is None or report.remaining > 0 or report.reset_at is None:
            return None
        wait = report.reset_at - self.clock()
        return wait if wait > 0 else None

    def close(self) -> None:
        self._session.close()
        for other in self._others:
            other.close()


def kept_alive_for(response: requests.Response) -> float:
    """How long a POST may trust this answer's connection to stay open: a share of the idle time
    the server promised (`Keep-Alive: timeout=N`), 0 when it promised nothing or closes it."""
    if "close" in response.headers.get("Connection", "").lower():
        return 0.0
    for param in response.headers.get("Keep-Alive", "").split(","):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "timeout":
            try:
                return min(max(0.0, float(value) * KEEP_ALIVE_SHARE), KEEP_ALIVE_MAX)
            except ValueError:
                return 0.0
    return 0.0


def error_text(response: requests.Response) -> str:
    """The server's own words from an error answer: a JSON error field, or a short plain text
    (an HTML error page says nothing an artist can use)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text
        return "" if "<html" in text[:500].lower() or "<!doctype" in text[:200].lower() else " ".join(text.split())[:300]
    if isinstance(body, dict):
        for key in ("error_description", "message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return " ".join(body[key].split())[:300]
    return ""


def server_time(value: str | None) -> float | None:
    """An HTTP date (`Date`, `Retry-After`) as epoch seconds, or None when there is none."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def retry_after_seconds(value: str | None, local_now: float) -> float | None:
    """Retry-After: seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        moment = server_time(value)
        return None if moment is None else max(0.0, moment - local_now)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None

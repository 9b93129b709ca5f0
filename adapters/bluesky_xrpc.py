"""Bluesky's wire: XRPC over `requests`, sessions kept on disk, and handle → DID → PDS lookup.

Room: everything `adapters.bluesky` needs to talk XRPC to a PDS, and nothing about posts. The
adapter builds records; this module sends them through the toolkit's HTTP layer
(`pindah.adapters.toolkit.http`: https-only, stale connections, `ratelimit-*` headers reported
to observers, status codes to error classes), keeps the login alive (refreshSession, never a
new login per post), and turns every failure into an `XrpcError` (the layer's `HttpError` with
the XRPC error name) that `to_target_error` maps onto the engine's error classes.

Why not the `atproto` SDK: its `send_post` stamps `createdAt` with the current time and defaults
`langs` to English (pindah backdates and only states languages it knows), and its request layer
turns 429 into a generic exception without the reset time. pindah builds records and paces
calls itself, so the SDK would save a few lines of JSON and cost the behaviour that matters.

Secrets: the app password and the tokens never reach a log, an exception message or a repr;
the session file is 0600 in a 0700 folder. Only https is spoken, except to loopback hosts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from pindah.adapters.contract import PindahError, PostFailed, RunStopped, TargetError
from pindah.adapters.toolkit.http import (
    READ_TIMEOUT,
    HttpClient,
    HttpError,
    RateObserver,
    is_loopback,
    new_session,
)
from pindah.adapters.toolkit.http import check_url as _check_url
from pindah.adapters.toolkit.http import (
    to_target_error as _mapped,
)
from pindah.adapters.toolkit.tokens import write_private

__all__ = [
    "Identity",
    "Session",
    "SessionStore",
    "Unreachable",
    "XrpcClient",
    "XrpcError",
    "check_url",
    "describe_policy",
    "is_loopback",
    "new_http",
    "resolve_identity",
    "to_target_error",
]

new_http = new_session  # a requests session with the toolkit's User-Agent and stale-connection re-send
REFRESH_MARGIN = 300.0  # refresh an access token this many seconds before it expires
LONG_WAIT = 3600.0  # a 429 longer than this stops the run (the engine's default max_wait too)
PUBLIC_RESOLVER = "https://public.api.bsky.app"  # resolves DNS-TXT handles for us (no dnspython)
PLC_DIRECTORY = "https://plc.directory"
# RFC 6761/6762 names never resolve on the public internet: don't ask anyone about them.
_RESERVED_TLDS = ("test", "local", "localhost", "invalid", "example", "internal", "arpa")
_LOGIN_HINT = ("log in again: run the same command in a terminal, or set "
               "PINDAH_BLUESKY_APP_PASSWORD to an app password")


# -- errors ---------------------------------------------------------------------------------
class XrpcError(HttpError):
    """A failed call: HTTP status (0 when no answer came), the XRPC error name and message;
    for a 429, how long to wait and the spent bucket's `ratelimit-policy` ("1000;w=86400")."""

    def __init__(self, status: int, error: str, message: str, *, retry_after: float | None = None,
                 policy: str | None = None) -> None:
        super().__init__(status, message, host="Bluesky", error=error, retry_after=retry_after, policy=policy)
        self.body: dict[str, Any] = {}  # the error answer's JSON (the video service puts a jobId there)


def to_target_error(exc: XrpcError, doing: str) -> TargetError:
    """The engine's reading of a failure: retry, fail this post, or stop the run."""
    said = f"{exc.error}: {exc.message}" if exc.message and exc.message != exc.error else exc.error
    if exc.status == 429 and exc.retry_after is not None and exc.retry_after > LONG_WAIT:
        # A daily budget (1,000 uploads, 35,000 write points) is spent: say which and until when,
        # rather than let the run sleep for hours (the engine would stop here too, less clearly).
        resume = datetime.fromtimestamp(time.time() + exc.retry_after, tz=UTC)
        return RunStopped(f"Bluesky's limit of {describe_policy(exc.policy)} is used up until "
                          f"{resume.astimezone().strftime('%Y-%m-%d %H:%M')} (while trying to {doing})",
                          "run the same command again after that time; everything done so far is kept",
                          resume_at=resume)
    if exc.error in ("ExpiredToken", "InvalidToken", "AuthMissing", "AccountTakedown", "AccountDeactivated",
                     "RepoDeactivated"):
        return RunStopped(f"Bluesky refused the login while trying to {doing} ({said})", _LOGIN_HINT)
    if exc.status == 413:
        return PostFailed(f"Bluesky refused to {doing}: the file is larger than this server accepts")
    return _mapped(exc, f"trying to {doing}", where="Bluesky", login_hint=_LOGIN_HINT)


# -- sessions -------------------------------------------------------------------------------
@dataclass
class Session:
    did: str
    handle: str
    pds: str
    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)

    def access_expires_at(self) -> float:
        return float(_jwt_claims(self.access_jwt).get("exp", 0))

    def scope(self) -> str:
        return str(_jwt_claims(self.access_jwt).get("scope", ""))


def describe_policy(policy: str | None) -> str:
    """"1000;w=86400" -> "1000 calls per 24 h" (the header's own words, made readable)."""
    try:
        points, window = (policy or "").split(";w=")
        seconds = int(window)
        span = f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"
        return f"{int(points)} calls per {span}"
    except ValueError:
        return "calls"


def _jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: only to read its expiry and scope (the server checks)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return data if isinstance(data, dict) else {}
    except (IndexError, ValueError):
        return {}


class SessionStore:
    """One JSON file per account and server: 0600, in a 0700 folder, written atomically."""

    def __init__(self, folder: Path, did: str, pds: str) -> None:
        self.folder = folder
        self.path = folder / (hashlib.sha256(f"{did}|{pds}".encode()).hexdigest()[:24] + ".json")

    def load(self) -> Session | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return Session(str(data["did"]), str(data["handle"]), str(data["pds"]),
                           str(data["accessJwt"]), str(data["refreshJwt"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, session: Session) -> None:
        write_private(self.path, json.dumps({"did": session.did, "handle": session.handle, "pds": session.pds,
                                             "accessJwt": session.access_jwt, "refreshJwt": session.refresh_jwt}))

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


# -- the client -----------------------------------------------------------------------------
class XrpcClient:
    """Calls one PDS. Authenticated calls refresh the session on their own when it runs out."""

    def __init__(self, base_url: str, *, http: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, observers: list[RateObserver] | None = None,
                 service: str = "Bluesky") -> None:
        check_url(base_url)
        self.wire = HttpClient(base_url, service=service, session=http, clock=clock, observers=observers)
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.session: Session | None = None
        self.on_session: Callable[[Session | None], None] = lambda s: None
        self.relogin: Callable[[], Session | None] = lambda: None  # a fresh login, if a password is known
        # Uploads may run on a second thread (Adapter.uploads_alongside): one renewal at a time,
        # or two threads would spend the same single-use refresh token and lose the login.
        self._renewing = threading.RLock()

    # -- calls --------------------------------------------------------------------------------
    def query(self, nsid: str, params: dict[str, Any], *, auth: bool = False, bearer: str | None = None) -> dict[str, Any]:
        return self._json(self._call("GET", nsid, params=params, auth=auth, bearer=bearer))

    def procedure(self, nsid: str, body: dict[str, Any] | None = None, *, auth: bool = True,
                  bearer: str | None = None) -> dict[str, Any]:
        return self._json(self._call("POST", nsid, json_body=body, auth=auth, bearer=bearer))

    def upload(self, nsid: str, data: bytes, mime: str) -> dict[str, Any]:
        # Large files take longer than a JSON call: allow ~10 s per MB on top of the usual.
        return self._json(self._call("POST", nsid, data=data, mime=mime, auth=True,
                                     read_timeout=READ_TIMEOUT + len(data) / 100_000))

    def send_bytes(self, nsid: str, data: bytes, mime: str, *, params: dict[str, Any], bearer: str) -> dict[str, Any]:
        """A procedure whose input is raw bytes, with query parameters and a token of its own
        (the video service's uploadVideo takes a service token, never the session's)."""
        return self._json(self._call("POST", nsid, params=params, data=data, mime=mime, auth=False, bearer=bearer,
                                     read_timeout=READ_TIMEOUT + len(data) / 100_000))

    def get_bytes(self, nsid: str, params: dict[str, Any]) -> bytes:
        return self._call("GET", nsid, params=params, auth=False).content

    # -- sessions -----------------------------------------------------------------------------
    def login(self, identifier: str, password: str) -> Session:
        answer = self._json(self._call("POST", "com.atproto.server.createSession",
                                       json_body={"identifier": identifier, "password": password}, auth=False))
        return self._adopt(answer)

    def refresh(self) -> Session:
        if self.session is None:
            raise XrpcError(401, "AuthMissing", "not logged in")
        answer = self._json(self._call("POST", "com.atproto.server.refreshSession", auth=False,
                                       bearer=self.session.refresh_jwt))
        return self._adopt(answer)

    def close(self) -> None:
        """Close the connections of every thread that called this server."""
        self.wire.close()

    def logout(self) -> None:
        """Revoke the session on the server (deleteSession) and forget it."""
        if self.session is not None:
            try:
                self._call("POST", "com.atproto.server.deleteSession", auth=False, bearer=self.session.refresh_jwt)
            except XrpcError:
                pass  # the tokens are dropped here either way
        self.session = None

    def ensure_login(self) -> bool:
        """Logged in, or logged in again now if a password is at hand (one thread at a time)?"""
        with self._renewing:
            return self.session is not None or self.relogin() is not None

    def ensure_fresh(self) -> None:
        """Refresh ahead of expiry: one refresh every ~2 hours instead of a failed call."""
        if self.session is not None and self.session.access_expires_at() - self.clock() < REFRESH_MARGIN:
            with self._renewing:  # another thread may have renewed it while this one waited
                if self.session is not None and self.session.access_expires_at() - self.clock() < REFRESH_MARGIN:
                    self._renew()

    def _adopt(self, answer: dict[str, Any]) -> Session:
        try:
            session = Session(str(answer["did"]), str(answer.get("handle", "")), self.base_url,
                              str(answer["accessJwt"]), str(answer["refreshJwt"]))
        except KeyError:
            raise XrpcError(502, "BadResponse", "the server's login answer has no tokens") from None
        self.session = session
        self.on_session(session)
        return session

    def _renew(self) -> None:
        try:
            self.refresh()
            return
        except XrpcError as exc:
            if exc.status == 0 or exc.status == 429 or exc.status >= 500:
                raise  # the server is unwell, the session may be fine
        self.session = None
        self.on_session(None)
        if self.relogin() is None:
            raise XrpcError(401, "ExpiredToken", "the saved Bluesky login has expired and no app password is set")

    # -- the one place requests are made -------------------------------------------------------
    def _call(self, method: str, nsid: str, *, params: dict[str, Any] | None = None,
              json_body: dict[str, Any] | None = None, data: bytes | None = None, mime: str | None = None,
              auth: bool, bearer: str | None = None, read_timeout: float = READ_TIMEOUT) -> requests.Response:
        self._gate(nsid)
        if auth:
            if not self.ensure_login():
                raise XrpcError(401, "AuthMissing", "not logged in to Bluesky")
            self.ensure_fresh()
        for attempt in (1, 2):
            headers = {}
            token = bearer or (self.session.access_jwt if auth and self.session else None)
            if token:
                headers["Authorization"] = f"Bearer {token}"
            if mime:
                headers["Content-Type"] = mime
            try:
                response = self.wire.send(method, f"{self.base_url}/xrpc/{nsid}", family=nsid, params=params,
                                          json=json_body, data=data, headers=headers, timeout=read_timeout)
            except HttpError as exc:
                name = "Timeout" if exc.error == "Timeout" else "NetworkError"
                raise XrpcError(0, name, f"no answer from {self.host} ({exc.message})") from None
            if response.status_code < 400:
                return response
            error = _error_of(response)
            if response.status_code == 429:
                report = self.wire.rates.get(nsid)
                error.retry_after = report.retry_after if report is not None else None
                error.policy = response.headers.get("ratelimit-policy")
            # An access token that ran out mid-run: renew once and repeat the call.
            if auth and attempt == 1 and error.error in ("ExpiredToken", "InvalidToken") and bearer is None:
                with self._renewing:
                    if self.session is None or self.session.access_jwt == token:  # not renewed meanwhile
                        self._renew()
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def rates(self) -> dict[str, Any]:
        return self.wire.rates

    def _gate(self, nsid: str) -> None:
        """Don't send a call the server already said it will refuse (remaining 0 until reset)."""
        wait = self.wire.refused_for(nsid)
        if wait is not None:
            policy = self.wire.rates[nsid].policy
            raise XrpcError(429, "RateLimitExceeded", f"limit {policy} used up", retry_after=wait + 1, policy=policy)

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise XrpcError(502, "BadResponse", "the server's answer is not JSON") from None
        return data if isinstance(data, dict) else {}


def _error_of(response: requests.Response) -> XrpcError:
    name, message, kept = f"HTTP{response.status_code}", response.reason or "", {}
    try:
        body = response.json()
        if isinstance(body, dict):
            kept = body
            name = str(body.get("error") or name)
            message = str(body.get("message") or message)
    except ValueError:
        pass
    error = XrpcError(response.status_code, name, " ".join(message.split())[:300])
    error.body = kept
    return error


# -- identity: handle → DID → PDS ---------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    did: str
    handle: str
    pds: str  # base URL of the account's PDS


def check_url(url: str) -> None:
    """https only; plain http only to this machine (a local or test PDS)."""
    _check_url(url, "Bluesky", "bluesky:yourname.bsky.social")


def normalise_handle(handle: str) -> str:
    handle = handle.strip().removeprefix("@").lower()
    if handle.startswith("did:"):
        return handle
    labels = handle.split(".")
    if len(labels) < 2 or len(handle) > 253 or not all(
            label and len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            and not label.startswith("-") and not label.endswith("-") for label in labels):
        raise PindahError(f"{handle!r} is not a Bluesky handle",
                          "write it like --to bluesky:yourname.bsky.social (without the @)")
    return handle


def resolve_identity(handle: str, http: requests.Session, *, pds_override: str | None = None,
                     handle_resolver: str | None = None, plc_directory: str = PLC_DIRECTORY) -> Identity:
    """Find an account's DID and PDS, checking both directions (the DID document must name the
    handle too), because the app password is about to be sent to whatever server this returns."""
    handle = normalise_handle(handle)
    if pds_override:
        check_url(pds_override)
        base = pds_override.rstrip("/")
        did = handle if handle.startswith("did:") else _did_via_xrpc(http, base, handle)
        return Identity(did, handle, base)
    did = handle if handle.startswith("did:") else _resolve_handle(http, handle, handle_resolver)
    doc = _did_document(http, did, plc_directory)
    if not handle.startswith("did:"):
        names = [str(a).lower() for a in doc.get("alsoKnownAs") or []]
        if f"at://{handle}" not in names:
            raise RunStopped(f"the Bluesky handle {handle} and its account {did} don't confirm each other",
                             "check the handle; if the account just changed handle, try again in a few minutes")
    else:
        handle = next((str(a)[5:] for a in doc.get("alsoKnownAs") or [] if str(a).startswith("at://")), handle)
    for service in doc.get("service") or []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds") \
                and service.get("type") == "AtprotoPersonalDataServer":
            endpoint = str(service.get("serviceEndpoint", "")).rstrip("/")
            check_url(endpoint)
            return Identity(did, handle, endpoint)
    raise RunStopped(f"the account {did} names no Bluesky server (PDS) in its DID document",
                     "give the server yourself with the `pds` setting or PINDAH_BLUESKY_PDS")


def _resolve_handle(http: requests.Session, handle: str, resolver: str | None) -> str:
    if resolver:
        return _did_via_xrpc(http, resolver.rstrip("/"), handle)
    if handle.rsplit(".", 1)[-1] in _RESERVED_TLDS:
        raise PindahError(f"{handle} is a local test name that can't be looked up",
                          "give its server with the `pds` setting or PINDAH_BLUESKY_PDS")
    try:  # the handle's own web server (handles set up with an HTTPS file)
        response = _get(http, f"https://{handle}/.well-known/atproto-did", timeout=15)
        did = response.text.strip() if response.status_code == 200 else ""
        if did.startswith("did:") and len(did) < 2048 and " " not in did:
            return did
    except HttpError:
        pass
    return _did_via_xrpc(http, PUBLIC_RESOLVER, handle)  # DNS TXT handles, resolved by Bluesky


def _did_via_xrpc(http: requests.Session, base: str, handle: str) -> str:
    check_url(base)
    try:
        response = _get(http, f"{base}/xrpc/com.atproto.identity.resolveHandle", params={"handle": handle})
    except HttpError as exc:
        raise Unreachable(f"cannot reach {urlsplit(base).netloc} to look up {handle} ({exc.message})",
                          "check the internet connection, then run the same command again") from None
    try:
        did = response.json().get("did") if response.status_code == 200 else None
    except (ValueError, AttributeError):
        did = None
    if not isinstance(did, str) or not did.startswith("did:"):
        raise RunStopped(f"the Bluesky handle {handle} was not found ({_error_of(response).message or response.status_code})",
                         "check the spelling of the handle")
    return did


class Unreachable(RunStopped):
    """The account could not be looked up because a server could not be reached at all (no
    network): a dry run may still plan with Bluesky's published limits."""


def _get(http: requests.Session, url: str, *, params: dict[str, str] | None = None,
         timeout: float = 30.0) -> requests.Response:
    """One lookup GET through the toolkit's HTTP layer (https only, stale connections re-sent)."""
    return HttpClient(url, service="Bluesky", session=http).send("GET", url, params=params, timeout=timeout)


def _did_document(http: requests.Session, did: str, plc_directory: str) -> dict[str, Any]:
    if did.startswith("did:plc:"):
        check_url(plc_directory)
        url = f"{plc_directory.rstrip('/')}/{quote(did)}"
    elif did.startswith("did:web:") and ":" not in did[8:]:
        url = f"https://{did[8:]}/.well-known/did.json"
    else:
        raise RunStopped(f"pindah can't read the account document of {did}", "use a did:plc or did:web account")
    try:
        response = _get(http, url)
    except HttpError as exc:
        raise Unreachable(f"cannot reach {urlsplit(url).netloc} to read the account document of {did} "
                          f"({exc.message})", "check the internet connection, then run the same command again") from None
    try:
        doc = response.json() if response.status_code == 200 else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("id") != did:
        raise RunStopped(f"the account document of {did} could not be read", "try again in a few minutes")
    return doc

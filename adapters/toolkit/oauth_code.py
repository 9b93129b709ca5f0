"""OAuth 2 authorization code with a registered client: tokens that expire and refresh tokens that rotate.

Room: what every target that logs in with its own registered client (DeviantArt, Tumblr) needs
once the browser has handed back a code: the client's credentials, the token exchange, the
refresh before an access token expires (and once after a 401), and keeping the tokens safe.
The browser part (loopback redirect, PKCE, `state`) is `toolkit.oauth.browser_login`.

    flow = CodeFlow("DeviantArt", authorize_url=".../oauth2/authorize", token_url=".../oauth2/token",
                    scopes=("user", "stash", "publish"), login_hint="run `pindah login deviantart`",
                    redirect_port=8913)            # the registered redirect address's port (0: any)
    client = ClientCredentials.from_settings(client_id, client_secret, flow=flow, register_url="...",
                                             id_setting="client_id", secret_setting="client_secret",
                                             saved=store.load(key), secret_required=False)  # public clients
    grant = CodeGrant(flow, client)
    tokens = grant.login(LoginIO())                # browser, loopback redirect, code -> TokenSet
    keeper = TokenKeeper(grant, SecretStore("deviantart"), key="https://www.deviantart.com")
    keeper.save(tokens)
    keeper.access_token()                          # refreshed first when it expires within a minute
    keeper.after_unauthorized(spent)               # a 401: refresh once, or stop with "log in again"

Why these rules:
* The client secret (none for a public client, which PKCE alone proves) and every token stay
  out of messages, logs and reprs (`field(repr=False)`, server words cleaned of them). They are kept only in the toolkit's `SecretStore` (the system
  keyring, else a 0600 file in a 0700 folder), with the tokens, so the artist types the secret once.
* Refresh tokens rotate (OAuth 2.1; Tumblr and new DeviantArt clients): the answer's new refresh
  token replaces the old one, and is saved *before* the new access token is used, so a crash
  right after a refresh never leaves a spent refresh token on disk. A refresh the server refuses
  because another pindah process already rotated the token is retried once with what that
  process saved.
* A refused refresh (`invalid_grant`, or DeviantArt's `invalid_request`) is a `RunStopped` that
  says how to log in again; a server that is down or busy is a `TransientError` (retry later).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from pindah.adapters.contract import PindahError, RunStopped, TransientError
from pindah.adapters.toolkit.http import HttpClient, HttpError, check_url, error_text
from pindah.adapters.toolkit.oauth import LoginIO, OAuthSteps, browser_login
from pindah.adapters.toolkit.tokens import SecretStore

__all__ = ["REFRESH_MARGIN", "ClientCredentials", "CodeFlow", "CodeGrant", "TokenKeeper", "TokenSet"]

REFRESH_MARGIN = 120.0  # refresh this many seconds before the access token expires (clock skew, slow uploads)


@dataclass(frozen=True)
class CodeFlow:
    """One provider's authorization-code endpoints and words for messages."""

    service: str  # "DeviantArt", in messages
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    login_hint: str  # "run `pindah login deviantart`"
    pkce: bool = True  # send an S256 challenge (required by OAuth 2.1 clients; harmless elsewhere)
    scope_separator: str = " "
    authorize_extra: Mapping[str, str] = field(default_factory=dict)
    # A fixed loopback port, for providers that match the registered redirect address exactly
    # (`http://127.0.0.1:<port>/callback`); 0: any free port.
    redirect_port: int = 0


@dataclass(frozen=True)
class ClientCredentials:
    """The registered client pindah logs in as: `client_secret` is a secret, never shown. An empty
    secret is a public client (OAuth 2.1, e.g. DeviantArt's "Public" desktop clients): PKCE alone
    proves the login, and no secret is sent."""

    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def from_settings(cls, client_id: Any, client_secret: Any, *, flow: CodeFlow, register_url: str,
                      id_setting: str, secret_setting: str, saved: Mapping[str, Any] | None = None,
                      secret_required: bool = True) -> ClientCredentials:
        """The client from the settings (file or environment), else from the saved login; a clear
        message naming the settings when one is missing (the secret may be left out where the
        provider has public clients: `secret_required=False`)."""
        saved = saved or {}
        cid = str(client_id or saved.get("client_id") or "").strip()
        secret = str(client_secret or saved.get("client_secret") or "").strip()
        needed = ((id_setting, cid), (secret_setting, secret)) if secret_required else ((id_setting, cid),)
        missing = [name for name, value in needed if not value]
        if missing:
            wanted = f"{id_setting} and {secret_setting}" if secret_required else \
                f"{id_setting} (and {secret_setting} for a confidential client)"
            raise PindahError(f"{flow.service} needs pindah's client id" + (" and secret" if secret_required else "")
                              + f" ({' and '.join(missing)} not set)",
                              f"register an application at {register_url}, then set {wanted}")
        return cls(cid, secret)


@dataclass(frozen=True)
class TokenSet:
    """One login: the access token, the refresh token, when the access token expires (epoch s)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    scope: str = ""

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - now <= seconds

    def record(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at, "scope": self.scope}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> TokenSet | None:
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            return None
        expires = data.get("expires_at")
        refresh = data.get("refresh_token")
        return cls(token, refresh if isinstance(refresh, str) and refresh else None,
                   float(expires) if isinstance(expires, (int, float)) else None, str(data.get("scope") or ""))


class CodeGrant:
    """The authorization-code grant of one provider, for one registered client."""

    def __init__(self, flow: CodeFlow, client: ClientCredentials, *, http: HttpClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.flow = flow
        self.client = client
        origin = check_url(flow.token_url, flow.service)
        self.http = http or HttpClient(origin, service=flow.service, clock=clock)
        self.token_path = flow.token_url[len(origin):] or "/"
        self.clock = clock

    # -- the browser step -----------------------------------------------------------------------
    def authorize_address(self, redirect_uri: str, challenge: str, state: str) -> str:
        query = {"response_type": "code", "client_id": self.client.client_id, "redirect_uri": redirect_uri,
                 "scope": self.flow.scope_separator.join(self.flow.scopes), "state": state,
                 **self.flow.authorize_extra}
        if self.flow.pkce:
            query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        return self.flow.authorize_url + ("&" if "?" in self.flow.authorize_url else "?") + urlencode(query)

    def login(self, io: LoginIO, *, browser: bool = True) -> TokenSet:
        """Through the artist's browser with a loopback redirect (no pasted code: these
        providers register exact redirect addresses, never an out-of-band one)."""
        steps = OAuthSteps(urlsplit(self.flow.authorize_url).netloc, lambda redirect: self.client,
                           lambda _client, redirect, challenge, state: self.authorize_address(redirect, challenge,
                                                                                             state),
                           lambda _client, redirect, code, verifier: self.exchange(code, redirect, verifier),
                           oob_redirect=None, retry_hint=self.flow.login_hint, redirect_port=self.flow.redirect_port)
        if browser and self.flow.redirect_port:
            _check_port_free(self.flow.redirect_port, self.flow.service)
        return browser_login(steps, io, browser=browser)

    # -- the token endpoint ---------------------------------------------------------------------
    def exchange(self, code: str, redirect_uri: str, verifier: str | None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if self.flow.pkce and verifier:
            form["code_verifier"] = verifier
        return self._token_call(form, "exchanging the login code", refused_hint=self.flow.login_hint
                                + " (a login code can be used only once)")

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """A new access token; the refresh token is replaced when the server rotates it."""
        if not tokens.refresh_token:
            raise RunStopped(f"the {self.flow.service} login has expired and cannot be renewed",
                             self.flow.login_hint)
        fresh = self._token_call({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
                                 "renewing the login", refused_hint=self.flow.login_hint)
        if fresh.refresh_token is None:  # not rotated: the old one stays good
            fresh = TokenSet(fresh.access_token, tokens.refresh_token, fresh.expires_at, fresh.scope or tokens.scope)
        return fresh

    def _token_call(self, form: dict[str, str], doing: str, *, refused_hint: str) -> TokenSet:
        sent = {**form, "client_id": self.client.client_id}
        if self.client.client_secret:  # a public client proves itself with PKCE alone
            sent["client_secret"] = self.client.client_secret
        service = self.flow.service
        try:
            response = self.http.send("POST", self.token_path, family="login", data=sent)
        except HttpError as exc:
            raise TransientError(f"no answer from {service} while {doing} ({exc.message})") from None
        said = self._clean(error_text(response), sent)
        if response.status_code == 429 or response.status_code >= 500:
            retry = self.http.rates.get("login")
            raise TransientError(f"{service} answered {response.status_code} while {doing}"
                                 + (f" ({said})" if said else ""),
                                 retry_after=retry.retry_after if retry else None)
        if response.status_code >= 400:
            if response.status_code == 401 or self._says_client(response):
                raise PindahError(f"{service} did not accept pindah's client id or secret while {doing}"
                                  + (f" ({said})" if said else ""),
                                  "check the client id and secret of your registered application")
            raise RunStopped(f"{service} refused the login while {doing}" + (f" ({said})" if said else ""),
                             refused_hint)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("access_token"):
            raise TransientError(f"{service} answered without a token while {doing}")
        expires_in = body.get("expires_in")
        expires_at = self.clock() + float(expires_in) if isinstance(expires_in, (int, float)) else None
        refresh = body.get("refresh_token")
        return TokenSet(str(body["access_token"]), str(refresh) if refresh else None, expires_at,
                        str(body.get("scope") or ""))

    @staticmethod
    def _says_client(response: Any) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") in ("invalid_client", "unauthorized_client")

    def _clean(self, text: str, sent: Mapping[str, str]) -> str:
        """The server's words without anything secret pindah sent (a server may echo it)."""
        for key in ("client_secret", "code", "refresh_token", "code_verifier"):
            value = sent.get(key)
            if value:
                text = text.replace(value, "[hidden]")
        return text


class TokenKeeper:
    """One saved login, kept fresh: the record in the `SecretStore` under `key` holds the client
    (id and secret) and the `TokenSet`; every change is saved before it is used."""

    def __init__(self, grant: CodeGrant, store: SecretStore, key: str, *, clock: Callable[[], float] = time.time,
                 margin: float = REFRESH_MARGIN) -> None:
        self.grant, self.store, self.key, self.clock, self.margin = grant, store, key, clock, margin
        self.tokens: TokenSet | None = None
        self.extra: dict[str, Any] = {}  # what the adapter keeps beside the tokens (the account's name)

    def load(self) -> TokenSet | None:
        data = self.store.load(self.key) or {}
        if data.get("client_id") and data.get("client_id") != self.grant.client.client_id:
            return None  # a login made with another registered client: its refresh token is not ours
        self.tokens = TokenSet.from_record(data)
        self.extra = {k: v for k, v in data.items() if k not in _RECORD_KEYS}
        return self.tokens

    def save(self, tokens: TokenSet, **extra: Any) -> str:
        """Keep `tokens` (and the client) privately; returns where, in words for the artist."""
        self.tokens = tokens
        self.extra |= extra
        record = {**self.extra, **tokens.record(), "client_id": self.grant.client.client_id,
                  "client_secret": self.grant.client.client_secret}
        return self.store.save(self.key, record)

    def forget(self) -> bool:
        self.tokens = None
        return self.store.delete(self.key)

    def access_token(self) -> str:
        """A usable access token: the saved one, renewed first when it expires within the margin."""
        tokens = self.tokens or self.load()
        if tokens is None:
            raise RunStopped(f"pindah is not logged in to {self.grant.flow.service}", self.grant.flow.login_hint)
        if tokens.expires_within(self.margin, self.clock()):
            tokens = self._renew(tokens)
        return tokens.access_token

    def after_unauthorized(self, spent: str) -> str:
        """The server refused `spent` (401): renew once and return the new access token. When
        another process renewed it meanwhile, its saved token is used without a new refresh."""
        current = self.tokens or self.load()
        if current is None:
            raise RunStopped(f"pindah is not logged in to {self.grant.flow.service}", self.grant.flow.login_hint)
        if current.access_token != spent:
            return current.access_token
        return self._renew(current).access_token

    def _renew(self, tokens: TokenSet) -> TokenSet:
        try:
            fresh = self.grant.refresh(tokens)
        except RunStopped:
            saved = self.store.load(self.key) or {}
            other = TokenSet.from_record(saved)
            if other is None or other.refresh_token in (None, tokens.refresh_token):
                raise
            if not other.expires_within(self.margin, self.clock()):  # another pindah renewed it first
                self.tokens = other
                return other
            fresh = self.grant.refresh(other)  # ... and theirs is about to expire too
        self.save(fresh)  # before any use: the old refresh token may be spent now
        return fresh


def _check_port_free(port: int, service: str) -> None:
    """The registered redirect address needs this very port: say so when it is taken."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As the receiver itself does (HTTPServer): a port left in TIME_WAIT by the last login is free.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        raise PindahError(f"port {port} on this computer is in use, and {service} sends the login back to "
                          f"http://127.0.0.1:{port}/callback", "close what uses it and log in again") from None
    finally:
        probe.close()


_RECORD_KEYS = frozenset({"access_token", "refresh_token", "expires_at", "scope", "client_id", "client_secret"})

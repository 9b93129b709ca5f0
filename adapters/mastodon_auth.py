"""Logging pindah in to a Mastodon, Pixelfed or GoToSocial server, and keeping that login safe.

Room: `pindah login mastodon:https://server` and `pindah logout ...`, and the token they keep.

    pindah login mastodon:https://example.social            browser login (OAuth + PKCE)
    pindah login mastodon:https://example.social --no-browser   shows a code to paste instead
    pindah login mastodon:https://example.social --token    a personal access token instead
    PINDAH_MASTODON_TOKEN=...                               a token for one run, never stored

The browser login registers a "pindah" app on the server, then asks the artist's browser to
allow it, receiving the answer on a tiny web server on 127.0.0.1 (the loopback redirect, what
desktop apps do); where no browser can reach this computer, the server shows a code to paste
instead (out-of-band, `urn:ietf:wg:oauth:2.0:oob`). PKCE (S256) and a random `state` make a
code stolen on the way useless. Scopes: read (verify, finding a post after a crash) and write.

The flow itself (PKCE, loopback redirect, pasted code) is the toolkit's (`toolkit.oauth`); this
module gives it Mastodon's three steps: register the app, the authorize address, the token
exchange. The token is kept (`toolkit.tokens`) in the system keyring when the `keyring` package and a working backend are
there, else in a 0600 file in a 0700 folder under pindah's state directory. It is never
printed, logged or put in a message; `logout` deletes it and revokes it on the server when it
came from the browser login (a personal access token is revoked in the server's settings).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pindah.adapters.contract import PindahError, RunStopped
from pindah.adapters.toolkit.oauth import OOB, LoginIO, OAuthSteps, browser_login
from pindah.adapters.toolkit.tokens import SecretStore

from .mastodon_api import ApiClient, ApiError, check_url, login_hint

__all__ = ["KEYRING_SERVICE", "OOB", "LoginIO", "TokenRecord", "TokenStore", "login",
           "logout", "server_of", "store_for", "who"]

APP_NAME = "pindah"
SCOPES = "read write"
KEYRING_SERVICE = "pindah-mastodon"
TOKEN_ENV = "PINDAH_MASTODON_TOKEN"


@dataclass(frozen=True)
class TokenRecord:
    """One saved login. `token` and `client_secret` are secrets; the rest is not."""

    server: str  # https://host
    token: str = field(repr=False)
    account_id: str = ""
    acct: str = ""
    method: str = "oauth"  # "oauth" (browser login) | "personal" (pasted token)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)


class TokenStore:
    """Saved Mastodon logins, one per server, in the toolkit's keyring-or-private-file store."""

    def __init__(self, folder: Path | None = None, *, mode: str = "auto", keyring: Any = ...) -> None:
        self.secrets = SecretStore("mastodon", folder, mode=mode, keyring=keyring)

    def path(self, server: str) -> Path:
        return self.secrets.path(server)

    def load(self, server: str) -> TokenRecord | None:
        data = self.secrets.load(server) or {}
        try:
            record = TokenRecord(**{k: str(v) for k, v in data.items() if k in TokenRecord.__dataclass_fields__})
        except TypeError:
            return None
        return record if record.server == server and record.token else None

    def save(self, record: TokenRecord) -> str:
        """Keep `record`; returns where, in words for the artist."""
        return self.secrets.save(record.server, asdict(record))

    def delete(self, server: str) -> bool:
        return self.secrets.delete(server)


def store_for(config: dict[str, Any]) -> TokenStore:
    mode = os.environ.get("PINDAH_MASTODON_TOKEN_STORE") or str(config.get("token_store") or "auto")
    return TokenStore(mode=mode.strip().lower())


# -- the browser login (the flow itself is the toolkit's) ---------------------------------------
def oauth_login(api: ApiClient, io: LoginIO, *, browser: bool = True) -> TokenRecord:
    """Register pindah on the server and get a token through the artist's browser."""
    steps = OAuthSteps(api.host, lambda redirect: _register(api, redirect),
                       lambda app, redirect, challenge, state: _authorize_url(api, app["client_id"], redirect,
                                                                             challenge, state),
                       lambda app, redirect, code, verifier: _exchange(api, app, redirect, code, verifier))
    return browser_login(steps, io, browser=browser)


def _register(api: ApiClient, redirect_uri: str) -> dict[str, str]:
    try:
        app = api.call("POST", "/api/v1/apps", auth=False,
                       data={"client_name": APP_NAME, "redirect_uris": redirect_uri, "scopes": SCOPES}).data
    except ApiError as exc:
        hint = ("on a self-hosted Pixelfed, the admin must set OAUTH_ENABLED=true; or use "
                "`pindah login ... --token` with a personal access token") if exc.status in (404, 405) else None
        raise PindahError(f"{api.host} did not let pindah register as an app ({exc.status}: {exc.message})",
                          hint) from None
    if not isinstance(app, dict) or not app.get("client_id") or not app.get("client_secret"):
        raise PindahError(f"{api.host} answered the app registration without client credentials")
    return {"client_id": str(app["client_id"]), "client_secret": str(app["client_secret"])}


def _authorize_url(api: ApiClient, client_id: str, redirect_uri: str, challenge: str, state: str) -> str:
    return api.base + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})


def _exchange(api: ApiClient, app: dict[str, str], redirect_uri: str, code: str, verifier: str) -> TokenRecord:
    try:
        answer = api.call("POST", "/oauth/token", auth=False, data={
            "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "client_secret": app["client_secret"], "redirect_uri": redirect_uri, "scope": SCOPES,
            "code_verifier": verifier}).data
    except ApiError as exc:
        raise PindahError(f"{api.host} did not accept the login code ({exc.status}: {exc.message})",
                          "run `pindah login` again; a code can be used only once") from None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not token:
        raise PindahError(f"{api.host} answered the login without a token")
    return TokenRecord(api.base, str(token), method="oauth", client_id=app["client_id"],
                       client_secret=app["client_secret"])


def who(api: ApiClient) -> dict[str, Any]:
    """The account the token belongs to (GET verify_credentials), or a clear stop."""
    try:
        me = api.call("GET", "/api/v1/accounts/verify_credentials").data
    except ApiError as exc:
        if exc.status in (401, 403, 422) or exc.login_page:
            # A revoked or expired token: Mastodon says 401, snac 422 with an empty page,
            # Pixelfed sends its sign-in page. Either way the fix is a new login.
            raise RunStopped(f"{api.host} did not accept pindah's login (the token is wrong, expired or "
                             f"was revoked; it answered {exc.status})", login_hint(api.base)) from None
        raise exc.as_target_error("checking the login") from None
    if not isinstance(me, dict) or "id" not in me:
        raise PindahError(f"{api.host} did not say which account this login belongs to")
    return me


def with_account(record: TokenRecord, me: dict[str, Any]) -> TokenRecord:
    return TokenRecord(record.server, record.token, str(me["id"]), str(me.get("acct") or me.get("username") or ""),
                       record.method, record.client_id, record.client_secret)


def login(server: str, config: dict[str, Any], io: LoginIO, *, use_token: bool = False,
          browser: bool = True, api: ApiClient | None = None) -> tuple[TokenRecord, str]:
    """Log in (token or browser), check whom the token belongs to, keep it. -> (record, where)."""
    api = api or ApiClient(server)
    pasted = os.environ.get(TOKEN_ENV) or (io.ask_token() if use_token else "")
    if pasted:
        record = TokenRecord(api.base, pasted.strip(), method="personal")
    else:
        record = oauth_login(api, io, browser=browser)
    api.token = record.token
    record = with_account(record, who(api))
    return record, store_for(config).save(record)


def logout(server: str, config: dict[str, Any], *, api: ApiClient | None = None) -> tuple[bool, str | None]:
    """Forget the saved login and revoke it. -> (removed, a note when the server still has it)."""
    api = api or ApiClient(server)
    store = store_for(config)
    record = store.load(api.base)
    removed = store.delete(api.base)
    if record is None:
        return removed, None
    if record.method != "oauth" or not record.client_id:
        return removed, (f"the personal access token still works on {api.host}: delete it in the "
                         "server's settings (Development or Applications) if you no longer want it")
    try:
        api.call("POST", "/oauth/revoke", auth=False, data={
            "client_id": record.client_id, "client_secret": record.client_secret, "token": record.token})
    except ApiError:
        return removed, (f"{api.host} could not be told to revoke it: remove \"pindah\" under "
                         "Preferences → Account → Authorized apps there")
    return removed, None


def server_of(target: str) -> str:
    """`mastodon:https://example.social` (or just the URL) -> https://example.social."""
    name, sep, rest = target.partition(":")
    location = rest if sep and name.lower() == "mastodon" else target
    if not location.startswith(("http://", "https://")):
        raise PindahError(f"{target!r} does not name a server", "write it like mastodon:https://example.social")
    return check_url(location)

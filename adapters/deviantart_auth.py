"""Logging pindah in to DeviantArt with the artist's own registered application, and keeping it.

Room: `pindah login deviantart`, `pindah logout deviantart`, and the login a run uses.

DeviantArt lets only registered applications in (deviantart.com/developers, "Register your
Application"): the artist registers one, with the redirect address `http://127.0.0.1:8913/callback`
(pindah's loopback receiver), and gives pindah its client id and secret:

    [targets.deviantart]  client_id = "12345"        or PINDAH_TARGETS_DEVIANTART_CLIENT_ID
                          client_secret = "..."      or PINDAH_TARGETS_DEVIANTART_CLIENT_SECRET

A "Public" client (DeviantArt's type for desktop apps) has no secret: PKCE alone proves the login,
and only `client_id` is set. A "Confidential" client has a secret too.

The login is the authorization-code grant with PKCE through the artist's browser and a loopback
redirect on a fixed port (`redirect_port`, 8913: DeviantArt's new applications match the
registered redirect address exactly; `toolkit.oauth_code`); scopes `user` (whose account), `browse` (reading deviations back),
`stash` and `publish` (posting), `gallery` (the "From Instagram" folder). Access tokens last an
hour and are renewed with the refresh token, which DeviantArt may rotate; the client secret and
the tokens are kept together in the system keyring or a 0600 file (`toolkit.tokens`), never
printed. `logout` revokes the refresh token at DeviantArt and forgets the login.
"""

from __future__ import annotations

from typing import Any

from pindah.adapters.contract import PindahError, RunStopped
from pindah.adapters.toolkit.http import HttpError
from pindah.adapters.toolkit.oauth import LoginIO
from pindah.adapters.toolkit.oauth_code import (
    ClientCredentials,
    CodeFlow,
    CodeGrant,
    TokenKeeper,
)
from pindah.adapters.toolkit.tokens import SecretStore

from .deviantart_api import ApiError, DeviantArtApi

__all__ = ["DEFAULT_REDIRECT_PORT", "LOGIN_HINT", "REGISTER_URL", "SCOPES", "flow_for", "keeper_for", "login", "logout", "whoami"]

SCOPES = ("user", "browse", "stash", "publish", "gallery")
REGISTER_URL = "https://www.deviantart.com/developers/apps"
LOGIN_HINT = "log in again with `pindah login deviantart`"


DEFAULT_REDIRECT_PORT = 8913  # the app's registered redirect address: http://127.0.0.1:8913/callback


def flow_for(base: str, settings: dict[str, Any] | None = None) -> CodeFlow:
    port = (settings or {}).get("redirect_port")
    return CodeFlow("DeviantArt", f"{base}/oauth2/authorize", f"{base}/oauth2/token", SCOPES,
                    "run `pindah login deviantart`",
                    redirect_port=DEFAULT_REDIRECT_PORT if port is None or port == "" else int(port))


def keeper_for(base: str, settings: dict[str, Any], *, clock: Any = None, required: bool = True) -> TokenKeeper | None:
    """The saved login for `base`, with the client from the settings (else the one saved with it).
    None when nothing is saved and no client is set (a dry run plans without a login)."""
    store = SecretStore("deviantart", mode=str(settings.get("token_store") or "auto").strip().lower())
    saved = store.load(base) or {}
    flow = flow_for(base, settings)
    if not required and not saved and not settings.get("client_id"):
        return None
    client = ClientCredentials.from_settings(settings.get("client_id"), settings.get("client_secret"), flow=flow,
                                             register_url=REGISTER_URL, id_setting="client_id",
                                             secret_setting="client_secret", saved=saved,
                                             secret_required=False)  # a "Public" client has none
    kw = {"clock": clock} if clock is not None else {}
    keeper = TokenKeeper(CodeGrant(flow, client, **kw), store, base, **kw)
    keeper.load()
    return keeper


def whoami(api: DeviantArtApi) -> dict[str, Any]:
    """The account the login belongs to (GET /user/whoami), or a clear stop."""
    try:
        me = api.call("GET", "/user/whoami").data
    except ApiError as exc:
        raise exc.as_target_error("checking the login", LOGIN_HINT) from None
    if not isinstance(me, dict) or not me.get("username"):
        raise PindahError("DeviantArt did not say which account this login belongs to")
    return me


def login(base: str, settings: dict[str, Any], io: LoginIO, *, browser: bool = True,
          api_factory: Any = None) -> tuple[str, str]:
    """Log in through the browser, check whose account it is, keep it. -> (username, where kept)."""
    keeper = keeper_for(base, settings)
    assert keeper is not None
    tokens = keeper.grant.login(io, browser=browser)
    keeper.tokens = tokens
    api = (api_factory or (lambda k: DeviantArtApi(base, k, login_hint=LOGIN_HINT)))(keeper)
    try:
        me = whoami(api)
    finally:
        api.close()
    where = keeper.save(tokens, username=str(me["username"]))
    return str(me["username"]), where


def logout(base: str, settings: dict[str, Any]) -> tuple[bool, str | None]:
    """Revoke the refresh token at DeviantArt and forget the login. -> (removed, a note when
    DeviantArt could not be told)."""
    try:
        keeper = keeper_for(base, settings, required=False)
    except PindahError:
        keeper = None
    if keeper is None or keeper.tokens is None:
        store = SecretStore("deviantart", mode=str(settings.get("token_store") or "auto").strip().lower())
        return store.delete(base), None
    tokens = keeper.tokens
    note = None
    try:
        answer = keeper.grant.http.send("POST", "/oauth2/revoke", family="login",
                                        data={"token": tokens.refresh_token or tokens.access_token})
        if answer.status_code >= 400:
            note = "DeviantArt could not be told to revoke it"
    except HttpError:
        note = "DeviantArt could not be reached to revoke it"
    removed = keeper.forget()
    if note:
        note += ": remove pindah's application under Settings → Apps & Authorizations on DeviantArt"
    return removed, note


def require_login(keeper: TokenKeeper | None) -> TokenKeeper:
    if keeper is None or keeper.tokens is None:
        raise RunStopped("pindah is not logged in to DeviantArt", "run `pindah login deviantart` first")
    return keeper

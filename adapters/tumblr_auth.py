"""Logging pindah in to Tumblr (OAuth 2), and keeping that login fresh and safe.

Room: `pindah login tumblr:BLOG`, `pindah logout tumblr:BLOG` and the token every call carries.

    pindah login tumblr:yourblog      browser login; needs your Tumblr app's client id and secret
    PINDAH_TUMBLR_TOKEN=...           an access token for one run, never stored (and never renewed)

Tumblr's OAuth 2 (tumblr/docs api.md "OAuth2 Authorization"): the artist registers an app at
tumblr.com/oauth/apps (its consumer key and secret are the client id and secret, and its OAuth2
redirect URL must be pindah's loopback address), allows pindah at www.tumblr.com/oauth2/authorize
with the scopes `basic write offline_access`, and the code becomes tokens at
api.tumblr.com/v2/oauth2/token. Access tokens last about 40 minutes (`expires_in` 2520 in the
docs' example); `offline_access` brings a refresh token, which Tumblr rotates. All of that is
the toolkit's (`toolkit.oauth_code`): the exchange, the refresh before expiry and after a 401,
saving a rotated refresh token before it is used, the keyring or 0600 file. Only the documented
parameters are sent (no PKCE: Tumblr's docs do not mention it).

Tumblr documents no revocation call: `logout` forgets the login here and says where to remove
the app's access on Tumblr.
"""

from __future__ import annotations

import os
from typing import Any

from pindah.adapters.contract import PindahError, RunStopped
from pindah.adapters.toolkit.oauth import LoginIO
from pindah.adapters.toolkit.oauth_code import ClientCredentials, CodeFlow, CodeGrant, TokenKeeper
from pindah.adapters.toolkit.tokens import SecretStore

from .tumblr_api import TumblrApi

__all__ = ["REGISTER_URL", "SCOPES", "TOKEN_ENV", "LoginIO", "TumblrLogin"]

TOKEN_ENV = "PINDAH_TUMBLR_TOKEN"
SCOPES = ("basic", "write", "offline_access")
REGISTER_URL = "https://www.tumblr.com/oauth/apps"
ID_SETTING = "client_id under [targets.tumblr] (or PINDAH_TARGETS_TUMBLR_CLIENT_ID)"
DEFAULT_REDIRECT_PORT = 8914  # the app's redirect URL: http://127.0.0.1:8914/callback
SECRET_SETTING = "client_secret (best as PINDAH_TARGETS_TUMBLR_CLIENT_SECRET)"


class TumblrLogin:
    """The login of one adapter: the run's token from the environment, else the saved login."""

    def __init__(self, api: TumblrApi, config: dict[str, Any], io: LoginIO, *, web_base: str) -> None:
        self.api = api
        self.config = config
        self.io = io
        mode = str(config.get("token_store") or "auto").strip().lower()
        self.store = SecretStore("tumblr", mode=mode)
        self.flow = CodeFlow("Tumblr", authorize_url=web_base.rstrip("/") + "/oauth2/authorize",
                             token_url=api.base + "/v2/oauth2/token", scopes=SCOPES,
                             login_hint="run `pindah login tumblr` again", pkce=False,
                             # Tumblr matches the app's registered redirect URL: one fixed address
                             redirect_port=int(config.get("redirect_port") or DEFAULT_REDIRECT_PORT))
        self.keeper: TokenKeeper | None = None

    def hint(self) -> str:
        return "set a fresh PINDAH_TUMBLR_TOKEN" if os.environ.get(TOKEN_ENV) else "run `pindah login tumblr` again"

    def token(self) -> str | None:
        """The access token for this run (renewed first when about to expire), or None when
        pindah has no Tumblr login at all."""
        pasted = os.environ.get(TOKEN_ENV, "").strip()
        if pasted:
            self.api.token = pasted
            return pasted
        keeper = self._keeper(saved_only=True)
        if keeper is None:
            return None
        self.api.token = keeper.access_token()
        return self.api.token

    def renew(self) -> bool:
        """After a 401: a renewed token (True), or False when there is none to renew."""
        if os.environ.get(TOKEN_ENV) or self.keeper is None or self.api.token is None:
            return False
        self.api.token = self.keeper.after_unauthorized(self.api.token)
        return True

    def interactive_login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        """Log in through the browser and keep the login. -> where it is kept, in words."""
        if paste_token:
            raise PindahError("Tumblr has no personal access tokens to paste",
                              f"log in through the browser, or set {TOKEN_ENV} for a single run")
        keeper = self._keeper(saved_only=False)
        assert keeper is not None
        tokens = keeper.grant.login(self.io, browser=browser)
        where = keeper.save(tokens)
        self.api.token = tokens.access_token
        return where

    def logout(self) -> list[str]:
        removed = self.store.delete(self.api.base)
        self.keeper = None
        note = ("Note: Tumblr has no call to revoke it from here: remove the app under Settings → Apps on "
                "tumblr.com if you no longer want it to post.")
        return ["Logged out of Tumblr." if removed else "pindah had no saved Tumblr login.", note]

    def _keeper(self, *, saved_only: bool) -> TokenKeeper | None:
        if self.keeper is not None:
            return self.keeper
        saved = self.store.load(self.api.base)
        if saved_only and not saved:
            return None
        try:
            client = ClientCredentials.from_settings(self.config.get("client_id"), self.config.get("client_secret"),
                                                     flow=self.flow, register_url=REGISTER_URL,
                                                     id_setting=ID_SETTING, secret_setting=SECRET_SETTING,
                                                     saved=saved)
        except PindahError:
            if saved_only:
                raise RunStopped("the saved Tumblr login lacks its app's client id and secret",
                                 "run `pindah login tumblr` again") from None
            raise
        self.keeper = TokenKeeper(CodeGrant(self.flow, client, clock=self.api.clock), self.store, self.api.base,
                                  clock=self.api.clock)
        if saved_only and self.keeper.load() is None:
            self.keeper = None
        return self.keeper

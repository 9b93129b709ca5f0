"""The account half of the Bluesky target: who the artist is there, and the login that lets pindah post.

Room: handle → DID → PDS (once per run), the XRPC client for that PDS, and the session:
made from an APP password (asked for in a terminal, or from the environment/config, never
stored), refreshed on its own, kept in a 0600 file (never the password), revoked on logout.
The main password is recognised by its token scope and refused (its session is revoked at
once). `BlueskyAdapter` (adapters/bluesky.py) inherits this; it sets the attributes used
here in its `__init__` (handle, identity, client, _store, _password, _interactive, _http).
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pindah.adapters.contract import RunStopped
from pindah.adapters.toolkit.http import RateObserver, RateReport
from pindah.adapters.toolkit.paths import state_dir

from .bluesky_xrpc import (
    PLC_DIRECTORY,
    Identity,
    Session,
    SessionStore,
    XrpcClient,
    XrpcError,
    check_url,
    resolve_identity,
    to_target_error,
)

MAIN_PASSWORD_SCOPE = "com.atproto.access"  # app passwords get com.atproto.appPass[Privileged]
# XRPC methods -> the budget names of `capabilities.rate_budgets`, for rate reports.
_BUDGET_OF = {"com.atproto.repo.uploadBlob": "media", "com.atproto.repo.createRecord": "posts",
              "com.atproto.repo.deleteRecord": "deletes"}


class BlueskyAccount:
    """Identity and login of one Bluesky account (a mixin of `BlueskyAdapter`)."""

    handle: str
    identity: Identity | None
    client: XrpcClient | None
    rate_observers: list[RateObserver]
    _store: SessionStore | None
    _password: str | None
    _interactive: bool
    _http: Any

    # Also used here, from the adapter itself: `setting(key)` (the Adapter base class) and `prepare`.

    def login(self, *, paste_token: bool = False, browser: bool = True) -> str:
        """`pindah login bluesky:HANDLE`: log in now (an app password, asked for unless in the
        environment or config) and keep the session, never the password."""
        self.prepare(interactive=True)
        handle = self._resolve().handle
        if self._client().session is None:
            raise RunStopped(f"not logged in to Bluesky as {handle}", "run the command in a terminal to be asked "
                             "for an app password, or set PINDAH_TARGETS_BLUESKY_APP_PASSWORD")
        return f"Logged in to Bluesky as @{handle}. The session (never the password) is kept, readable only by you."

    def logout(self) -> list[str]:
        """Revoke the kept session on the server and forget it."""
        handle, store, client = self._resolve().handle, self._store, self._client()
        saved = store.load() if store else None
        if store is None or saved is None:
            return [f"pindah had no saved login for @{handle}."]
        client.session = saved
        client.logout()  # deleteSession: the app password's session ends on the server too
        store.delete()
        return [(f"Logged out of Bluesky (@{handle}). The app password itself stays valid until you "
                 "revoke it under Settings → Privacy and security → App passwords.")]

    def _resolve(self) -> Identity:
        if self.identity is None:
            self.identity = resolve_identity(
                self.handle, self._http, pds_override=self.setting("pds") or None,
                handle_resolver=self.setting("handle_resolver") or None,
                plc_directory=str(self.setting("plc_directory") or PLC_DIRECTORY))
            self._store = SessionStore(state_dir() / "sessions" / "bluesky", self.identity.did, self.identity.pds)
        return self.identity

    def _did(self) -> str:
        return self._resolve().did

    def _client(self) -> XrpcClient:
        if self.client is None:
            identity = self._resolve()
            check_url(identity.pds)
            self.client = XrpcClient(identity.pds, http=self._http, observers=[self._report_rate])
            self.client.on_session = self._session_changed
            self.client.relogin = self._relogin
        return self.client

    def _authed(self) -> XrpcClient:
        client = self._client()
        if not client.ensure_login():  # client.relogin is self._relogin
            raise RunStopped(f"not logged in to Bluesky as {self.handle}",
                             "run the command in a terminal to be asked for an app password, or set "
                             "PINDAH_BLUESKY_APP_PASSWORD (Settings → Privacy and security → App passwords)")
        return client

    def _session_changed(self, session: Session | None) -> None:
        if self._store is None:
            return
        if session is None:
            self._store.delete()
        elif session.scope() != MAIN_PASSWORD_SCOPE:
            self._store.save(session)

    def _relogin(self) -> Session | None:
        if self._password is None and not self._interactive:
            return None
        return self._login()

    def _login(self) -> Session:
        identity, client = self._resolve(), self._client()
        if self._password is None:
            self._password = _ask_password(identity.handle)
        try:
            session = client.login(identity.did, self._password)
        except XrpcError as exc:
            self._password = None
            if exc.status == 429:
                resume = datetime.fromtimestamp(client.clock() + (exc.retry_after or 300), tz=UTC)
                raise RunStopped("Bluesky has had too many logins for this account; it takes new ones again "
                                 f"from {resume.astimezone().strftime('%Y-%m-%d %H:%M')}",
                                 "run the same command again after that time", resume_at=resume) from None
            if exc.status in (400, 401):
                raise RunStopped(f"Bluesky did not accept the app password for {identity.handle} ({exc.error})",
                                 "create an app password under Settings → Privacy and security → App passwords "
                                 "and use that, never your main password") from None
            raise to_target_error(exc, "log in") from None
        if session.scope() == MAIN_PASSWORD_SCOPE:
            client.logout()  # revoke what the main password just opened
            self._password = None
            raise RunStopped("that is your main Bluesky password; pindah only takes an app password",
                             "create one under Settings → Privacy and security → App passwords, so you can "
                             "revoke pindah's access at any time without changing your password")
        if session.did != identity.did:
            client.logout()
            raise RunStopped(f"the server logged in a different account than {identity.handle}")
        return session

    def _report_rate(self, report: RateReport) -> None:
        budget = _BUDGET_OF.get(report.family)
        for observer in self.rate_observers:
            observer(replace(report, family=budget) if budget else report)


def _ask_password(handle: str) -> str:
    if not sys.stdin.isatty():
        raise RunStopped(f"no app password for {handle}", "set PINDAH_BLUESKY_APP_PASSWORD, or run in a terminal")
    print(f"Log in to Bluesky as {handle} with an APP password, never your main password.\n"
          "Create one under Settings → Privacy and security → App passwords; you can revoke it "
          "there at any time.", file=sys.stderr)
    password = getpass.getpass("App password (not shown): ").strip()
    if not password:
        raise RunStopped("no app password given", "run the same command again when you have one")
    return password

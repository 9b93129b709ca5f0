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

The token is kept in the system keyring when the `keyring` package and a working backend are
there, else in a 0600 file in a 0700 folder under pindah's state directory. It is never
printed, logged or put in a message; `logout` deletes it and revokes it on the server when it
came from the browser login (a personal access token is revoked in the server's settings).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import secrets
import tempfile
import time
import webbrowser
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import click

from pindah.adapters.toolkit.paths import state_dir
from pindah.adapters.contract import PindahError, RunStopped

from .mastodon_api import ApiClient, ApiError, check_url, log, login_hint

APP_NAME = "pindah"
SCOPES = "read write"
OOB = "urn:ietf:wg:oauth:2.0:oob"
KEYRING_SERVICE = "pindah-mastodon"
TOKEN_ENV = "PINDAH_MASTODON_TOKEN"
LOOPBACK_WAIT = 300.0


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


# -- where tokens live -------------------------------------------------------------------------
def _usable_keyring() -> Any:
    """The keyring module when it has a real backend (not the 'fail' or 'null' one), else None."""
    try:
        import keyring  # optional: pindah works without it
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        return keyring if float(getattr(backend, "priority", 0)) > 0 else None
    except Exception:  # noqa: BLE001 - a broken desktop keyring must never break pindah
        return None


class TokenStore:
    """Saved logins, one per server: the keyring when usable (mode "auto"/"keyring"), else files."""

    def __init__(self, folder: Path | None = None, *, mode: str = "auto", keyring: Any = ...) -> None:
        if mode not in ("auto", "keyring", "file"):
            raise PindahError(f"token_store must be auto, keyring or file, not {mode!r}")
        self.folder = folder or state_dir() / "tokens" / "mastodon"
        self.keyring = None if mode == "file" else (_usable_keyring() if keyring is ... else keyring)
        if mode == "keyring" and self.keyring is None:
            raise PindahError("token_store = \"keyring\" but no usable system keyring was found",
                              "install the `keyring` package, or set token_store = \"auto\"")

    def path(self, server: str) -> Path:
        return self.folder / (hashlib.sha256(server.encode()).hexdigest()[:24] + ".json")

    def load(self, server: str) -> TokenRecord | None:
        text = None
        if self.keyring is not None:
            try:
                text = self.keyring.get_password(KEYRING_SERVICE, server)
            except Exception:  # noqa: BLE001 - locked or broken keyring: try the file
                text = None
        if text is None:
            try:
                text = self.path(server).read_text("utf-8")
            except OSError:
                return None
        try:
            data = json.loads(text)
            record = TokenRecord(**{k: str(v) for k, v in data.items() if k in TokenRecord.__dataclass_fields__})
        except (ValueError, TypeError):
            return None
        return record if record.server == server and record.token else None

    def save(self, record: TokenRecord) -> str:
        """Keep `record`; returns where, in words for the artist."""
        text = json.dumps(asdict(record))
        if self.keyring is not None:
            try:
                self.keyring.set_password(KEYRING_SERVICE, record.server, text)
                self.path(record.server).unlink(missing_ok=True)  # one place only
                return "your system keyring"
            except Exception as exc:  # noqa: BLE001 - fall back to the private file
                log.info("keyring refused the login (%s); keeping it in a private file", type(exc).__name__)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".token-", suffix=".json")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.path(record.server))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(self.path(record.server))

    def delete(self, server: str) -> bool:
        removed = False
        if self.keyring is not None:
            try:
                if self.keyring.get_password(KEYRING_SERVICE, server) is not None:
                    self.keyring.delete_password(KEYRING_SERVICE, server)
                    removed = True
            except Exception as exc:  # noqa: BLE001 - the file below is still removed
                log.info("keyring could not remove the login (%s)", type(exc).__name__)
        path = self.path(server)
        if path.exists():
            path.unlink()
            removed = True
        return removed


def store_for(config: dict[str, Any]) -> TokenStore:
    mode = os.environ.get("PINDAH_MASTODON_TOKEN_STORE") or str(config.get("token_store") or "auto")
    return TokenStore(mode=mode.strip().lower())


# -- the browser login -------------------------------------------------------------------------
@dataclass
class LoginIO:
    """How the login talks to the artist; tests replace every part."""

    say: Callable[[str], None] = field(default=lambda text: click.echo(text, err=True))
    open_browser: Callable[[str], bool] = field(default=webbrowser.open)
    ask_code: Callable[[], str] = field(
        default=lambda: click.prompt("Paste the code the server showed you", hide_input=True).strip())
    ask_token: Callable[[], str] = field(
        default=lambda: click.prompt("Personal access token (not shown)", hide_input=True).strip())
    wait_seconds: float = LOOPBACK_WAIT


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 wants them: 43-128 unreserved characters."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class LoopbackReceiver:
    """A one-shot web server on 127.0.0.1 that catches the browser's redirect with the code."""

    def __init__(self) -> None:
        receiver = self
        self.result: dict[str, str] | None = None

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                receiver.result = {k: v[0] for k, v in parse_qs(parts.query).items()}
                ok = "code" in receiver.result
                body = ("<!doctype html><meta charset=utf-8><title>pindah</title><p>"
                        + ("pindah is logged in. You can close this tab." if ok
                           else "The login was not completed. You can close this tab.") + "</p>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # the query holds the code: never logged
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 0.5
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def wait(self, seconds: float) -> dict[str, str] | None:
        deadline = time.monotonic() + seconds
        while self.result is None and time.monotonic() < deadline:
            self.server.handle_request()
        return self.result

    def close(self) -> None:
        self.server.server_close()


def oauth_login(api: ApiClient, io: LoginIO, *, browser: bool = True) -> TokenRecord:
    """Register pindah on the server and get a token through the artist's browser."""
    receiver = None
    if browser:
        try:
            receiver = LoopbackReceiver()
        except OSError:
            receiver = None  # no local port: the pasted code still works
    try:
        if receiver is not None:
            app = _register(api, receiver.redirect_uri)
            verifier, challenge = pkce_pair()
            state = secrets.token_urlsafe(24)
            url = _authorize_url(api, app["client_id"], receiver.redirect_uri, challenge, state)
            io.say(f"Opening your browser to log in to {api.host}. If it does not open, visit:\n  {url}")
            if io.open_browser(url):
                answer = receiver.wait(io.wait_seconds)
                if answer is not None:
                    if answer.get("state") != state:
                        raise PindahError("the login answer did not match this login (state differs)",
                                          "run `pindah login` again")
                    if "code" not in answer:
                        raise PindahError(f"the login was not allowed on {api.host} "
                                          f"({answer.get('error_description') or answer.get('error') or 'no code'})")
                    return _exchange(api, app, receiver.redirect_uri, answer["code"], verifier)
                io.say("No answer from the browser; using a code to paste instead.")
    finally:
        if receiver is not None:
            receiver.close()
    app = _register(api, OOB)
    verifier, challenge = pkce_pair()
    url = _authorize_url(api, app["client_id"], OOB, challenge, secrets.token_urlsafe(24))
    io.say(f"Open this address in a browser, log in, allow pindah, then paste the code shown:\n  {url}")
    code = io.ask_code()
    if not code:
        raise PindahError("no code was given", "run `pindah login` again")
    return _exchange(api, app, OOB, code, verifier)


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


# -- commands (attached to the CLI by migrator.cli) ----------------------------------------------
@click.command()
@click.argument("target", metavar="TARGET")
@click.option("--token", "use_token", is_flag=True,
              help="Use a personal access token (made in the server's settings) instead of the browser.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser: show a code to paste instead.")
@click.pass_obj
def login_command(config: dict[str, Any] | None, target: str, use_token: bool, no_browser: bool) -> None:
    """Log in to a Mastodon, Pixelfed or GoToSocial server (TARGET: mastodon:https://server)."""
    record, where = login(server_of(target), (config or {}).get("targets", {}).get("mastodon", {}) or {},
                          LoginIO(), use_token=use_token, browser=not no_browser)
    click.echo(f"Logged in to {urlsplit(record.server).netloc} as @{record.acct}. "
               f"The login is kept in {where}.")


@click.command()
@click.argument("target", metavar="TARGET")
@click.pass_obj
def logout_command(config: dict[str, Any] | None, target: str) -> None:
    """Forget pindah's login to a Mastodon, Pixelfed or GoToSocial server and revoke it."""
    server = server_of(target)
    removed, note = logout(server, (config or {}).get("targets", {}).get("mastodon", {}) or {})
    host = urlsplit(server).netloc
    click.echo(f"Logged out of {host}." if removed else f"pindah had no saved login for {host}.")
    if note:
        click.echo(f"Note: {note}.")

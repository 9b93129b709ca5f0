"""snac (Debian `snac2`), a real Mastodon-API server, started on 127.0.0.1 for the tests.

    with SnacServer(tmp_path / "snac") as snac:
        snac.url, snac.token      # http://127.0.0.1:PORT and a user token for the account "artist"

Set up as shared/reference snac-mastodon-api.md says (snac 2.75): `snac init` answered on stdin
with the host name *including the port*, `server.json` switched to plain http and quick queue
timeouts (snac delivers every public post to its own inbox), one user from `snac adduser`, the
server started with `snac httpd`, and a token got through the OAuth form exactly as a browser
would: register an app, post the login form to /oauth/x-snac-login with the out-of-band
redirect, exchange the code. snac's log prints tokens in clear: it stays in the throwaway folder.

`snac_missing()` says why the tests cannot run here (no `snac` on PATH): in CI (`CI=true`) that
is a failure, elsewhere a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

SNAC = "snac"
USER = "artist"
OOB = "urn:ietf:wg:oauth:2.0:oob"
START_TIMEOUT = 20.0


def snac_missing() -> str | None:
    if shutil.which(SNAC) is None:
        return ("snac is not installed (Debian: apt-get install -t bookworm-backports snac2); "
                "the real-server Mastodon tests need it")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SnacServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder  # must not exist yet: `snac init` makes it
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.password = ""
        self.token = ""
        self._apps: dict[str, dict[str, str]] = {}  # token -> the app it was made for

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> SnacServer:
        self._init()
        try:
            self._start()
            self.token = self.new_token()
        except BaseException:
            self.stop()  # never leave a server running behind a failed start
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # snac stops about 4 s after SIGTERM
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _run(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run([SNAC, *args], input=stdin.encode(), capture_output=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"snac {args[0]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        return done.stdout.decode() + done.stderr.decode()

    def _init(self) -> None:
        host = f"127.0.0.1:{self.port}"  # with the port, or every URL snac makes points at port 80
        self._run("init", str(self.folder), stdin=f"127.0.0.1\n{self.port}\n{host}\n\nadmin@example.org\n")
        config_path = self.folder / "server.json"
        config: dict[str, Any] = json.loads(config_path.read_text("utf-8"))
        config.update(protocol="http", num_threads=16, queue_timeout=1, queue_timeout_2=1, queue_retry_max=0)
        config_path.write_text(json.dumps(config, indent=1), "utf-8")
        said = self._run("adduser", str(self.folder), USER)
        found = re.search(r"password is (\S+)", said)
        if not found:
            raise RuntimeError("snac adduser did not say the new user's password")
        self.password = found.group(1)

    def _start(self) -> None:
        log = open(self.folder / "httpd.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen([SNAC, "httpd", str(self.folder)], stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"snac httpd exited with {self.process.returncode}")
            try:
                if requests.get(self.url + "/api/v1/instance", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"snac did not answer on {self.url} within {START_TIMEOUT:.0f} s")

    # -- the OAuth flow, as a browser would do it -----------------------------------------------
    def new_token(self) -> str:
        # One connection per request (requests.request): snac closes every connection anyway.
        app = requests.post(self.url + "/api/v1/apps", data={"client_name": "pindah-tests", "redirect_uris": OOB,
                                                              "scopes": "read write"}, timeout=10).json()
        form = requests.get(self.url + "/oauth/authorize", params={
            "response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB,
            "scope": "read write", "state": "s"}, timeout=10).text
        hidden = dict(re.findall(r'name="(redir|cid|state)"[^>]*value="([^"]*)"', form))
        answer = requests.post(self.url + "/oauth/x-snac-login", data={"login": USER, "passwd": self.password, **hidden},
                               allow_redirects=False, timeout=10)
        code = answer.text.strip().split("&", 1)[0]
        if answer.status_code != 200 or not code or "<" in code:
            raise RuntimeError(f"snac's login form did not give a code ({answer.status_code})")
        token = str(requests.post(self.url + "/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "client_secret": app["client_secret"], "redirect_uri": OOB}, timeout=10).json()["access_token"])
        self._apps[token] = app
        return token

    def revoke(self, token: str) -> int:
        app = self._apps[token]
        return requests.post(self.url + "/oauth/revoke", timeout=10, data={
            "client_id": app["client_id"], "client_secret": app["client_secret"], "token": token}).status_code

    # -- reading the server back ----------------------------------------------------------------
    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def statuses(self) -> list[dict[str, Any]]:
        """Every status of the account, oldest first (snac sends them all at once)."""
        me = self.api("GET", "/api/v1/accounts/verify_credentials").json()
        page = self.api("GET", f"/api/v1/accounts/{me['id']}/statuses").json()
        return sorted(page, key=lambda s: s["created_at"])

    def file(self, url: str) -> bytes:
        return requests.get(url, timeout=30).content


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

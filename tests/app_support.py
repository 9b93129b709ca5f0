"""What the tests of `pindah app` share: a private home with the sample export in Downloads,
private state/cache folders, and a TestClient that talks to the app as its own page would."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import warnings

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

"""`pindah app` as a command: loopback only, the printed address with its token, --port,
a clean stop on Ctrl-C; and Stop in the page as a clean stop that Continue picks up."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from pindah.migrator import journal as J
from tests.app_support import AppClient, private_home

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_app_listens_on_loopback_prints_its_token_and_stops_cleanly_on_ctrl_c(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    private_home(monkeypatch, tmp_path)
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from pindah.migrator.cli import main; main()", "app",
                             "--no-browser", "--port", str(port)], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert first.startswith(f"pindah is open at http://127.0.0.1:{port}/?token=")
        address = first.split(" at ", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        assert requests.get(base + "/choose", timeout=10).status_code == 403
        session = requests.Session()
        assert "Find your Instagram download" in session.get(address, timeout=10).text
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert [line.split()[3] for line in listening.splitlines()] == [f"127.0.0.1:{port}"]  # loopback only
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "pindah stopped. Everything done so far is kept." in out
    assert "Traceback" not in out and address.split("token=")[1] not in out.replace(first, "")


def test_a_taken_port_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    private_home(monkeypatch, tmp_path)
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-c", "from pindah.migrator.cli import main; main()", "app",
                               "--no-browser", "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "is taken" in done.stderr and "Traceback" not in done.stderr


def test_stop_in_the_page_is_a_clean_stop_and_continue_finishes_without_duplicates(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.exportbuilder.corpus import big_export_posts
    from tests.exportbuilder.meta_json import write_meta_json

    home = private_home(monkeypatch, tmp_path)

    def picture(post: object, index: int, media: object) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (640, 480), (getattr(post, "taken_at") // 3600 % 256, 60, 90)).save(out, "JPEG")
        return out.getvalue()

    write_meta_json(home / "big", big_export_posts(120, 1.0), media_content=picture)
    app = AppClient()
    app.post("/export/choose", {"path": str(home / "big")})
    app.post("/places/folder", {"kind": "folder", "path": str(home / "site")})
    app.post("/run/start")
    runs = app.app.state.runs
    while runs.running and (not runs.targets or runs.targets[0].done < 3):
        time.sleep(0.005)  # placed by progress: stop once a few posts are through
    app.post("/run/stop")
    snapshot = app.wait_for_run()
    target = snapshot["targets"][0]
    assert target["state"] == "stopped" and 3 <= target["done"] < 120
    states = J.peek_post_states(app.app.state.workspace.target_state(app.app.state.workspace.session.targets[0]).journal)
    assert sum(s == J.POSTED for s, _ in states.values()) == target["done"]  # nothing half-done
    assert app.app.state.workspace.session.running is False  # a stop is not a crash: no auto-continue
    app.post("/run/start")
    assert app.wait_for_run()["targets"][0]["state"] == "done"
    states = J.peek_post_states(app.app.state.workspace.target_state(app.app.state.workspace.session.targets[0]).journal)
    assert len(states) == 120 and all(s == J.POSTED for s, _ in states.values())
    assert "120 published, 0 to do, 0 failed" in app.get("/run").text

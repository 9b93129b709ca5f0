"""Every file of the folder site is published, so it follows the umask (0644 by default): a web
server running as another user, or an upload that keeps file modes (`rsync -a`, `scp -p`), can
read it. Only state and credentials are private (they live in pindah's state folder)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from pindah.adapters.folder import FolderAdapter
from tests.test_folder_site import publish


@pytest.fixture
def site(tmp_path: Path) -> FolderAdapter:
    adapter = FolderAdapter(str(tmp_path / "site"), {"title": "Sekar's drawings"})
    adapter.prepare(interactive=False)
    return adapter


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


def test_every_file_of_the_site_follows_the_umask(site: FolderAdapter, tmp_path: Path, umask_022) -> None:
    publish(site, tmp_path, "p1")
    site.finish()
    found = modes(site.site)
    for name in ("index.html", "posts/p1.html", "posts.json", "robots.txt", "ai.txt", ".htaccess", "_headers",
                 ".well-known/tdmrep.json"):
        assert found.pop(name) == 0o644, name
    media = [n for n in found if n.startswith(("media/", "thumbs/")) and "." in n]
    assert len(media) == 2 and all(found[n] == 0o644 for n in media)
    assert {found[n] for n in found if (site.site / n).is_dir()} == {0o755}


def test_files_an_older_pindah_wrote_0600_become_readable_again(site: FolderAdapter, tmp_path: Path,
                                                                  umask_022) -> None:
    publish(site, tmp_path, "p1")
    site.finish()
    for path in site.site.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
    FolderAdapter(site.location, {"title": "Sekar's drawings"}).finish()
    assert {mode for name, mode in modes(site.site).items() if (site.site / name).is_file()} == {0o644}


def _python_for(user: list[str]) -> str | None:
    """An interpreter the other user may run (pyenv's often lives in root's private home)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([*user, candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.integration
def test_a_web_server_running_as_another_user_serves_every_page_and_image(tmp_path: Path, umask_022) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (to run a server as nobody) and setpriv")
    user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    python = _python_for(user)
    if python is None:
        pytest.skip("no Python that the user nobody may run")
    # Not under tmp_path: pytest makes its folders 0700, which no other user could enter anyway.
    root = Path(tempfile.mkdtemp(prefix="pindah-site-", dir="/tmp"))
    try:
        root.chmod(0o755)
        adapter = FolderAdapter(str(root / "site"), {"title": "Served"})
        adapter.prepare(interactive=False)
        ref = publish(adapter, tmp_path, "p1")
        adapter.finish()
        files = ["index.html", "posts/p1.html", "posts.json", "robots.txt", "ai.txt", ".well-known/tdmrep.json",
                 *(str(p.relative_to(adapter.site)) for p in adapter.site.glob("media/*")),
                 *(str(p.relative_to(adapter.site)) for p in adapter.site.glob("thumbs/*"))]
        assert any(f.startswith("media/") for f in files) and any(f.startswith("thumbs/") for f in files)
        server = subprocess.Popen([*user, python, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                                   "--directory", str(adapter.site)], stdout=subprocess.PIPE, text=True)
        try:
            port = int(re.search(r"port (\d+)", server.stdout.readline())[1])  # type: ignore[union-attr,index]
            for name in files:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{name}") as answer:
                    assert answer.status == 200, name
                    assert answer.read() == (adapter.site / name).read_bytes(), name
        finally:
            server.terminate()
            server.wait(timeout=10)
        assert ref.url
    finally:
        shutil.rmtree(root, ignore_errors=True)

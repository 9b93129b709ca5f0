"""`pindah app`'s locks: the launch token, the Host check, POST with CSRF from the app's own
origin, and secrets that never reach a page or an event."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pindah.migrator.app.security import Keys
from pindah.migrator.app.server import build_app
from tests.app_support import PORT, AppClient, TestClient, private_home


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return private_home(monkeypatch, tmp_path)


def bare_client() -> tuple[TestClient, Keys]:
    keys = Keys(PORT)
    guarded, _ = build_app({}, port=PORT, keys=keys)
    return TestClient(guarded, base_url=f"http://127.0.0.1:{PORT}"), keys


def test_every_route_refuses_a_request_without_the_token(home: Path) -> None:
    client, keys = bare_client()
    for path in ("/", "/choose", "/export", "/plan", "/run", "/events", "/run/state", "/after",
                 "/static/app.css", "/thumb/x/0", "/kit/0", "/browse"):
        assert client.get(path).status_code == 403, path
    assert client.post("/run/start", headers={"origin": f"http://127.0.0.1:{PORT}"}).status_code == 403


def test_a_wrong_token_is_refused_and_sets_no_cookie(home: Path) -> None:
    client, keys = bare_client()
    answer = client.get("/?token=not-the-token", follow_redirects=False)
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


def test_the_token_in_the_address_becomes_a_strict_httponly_cookie_and_leaves_the_address(home: Path) -> None:
    client, keys = bare_client()
    answer = client.get(f"/choose?token={keys.token}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/choose"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"pindah_app_{PORT}={keys.token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/choose").status_code == 200  # the cookie now opens every page


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1:1", f"127.0.0.2:{PORT}", ""])
def test_a_host_header_other_than_the_loopback_address_and_port_is_refused(home: Path, host: str) -> None:
    app = AppClient()
    answer = app.get("/choose", headers={"host": host})
    assert answer.status_code in (400, 403)
    assert "Find your Instagram download" not in answer.text


def test_localhost_with_the_port_is_accepted(home: Path) -> None:
    app = AppClient()
    assert app.get("/choose", headers={"host": f"localhost:{PORT}"}).status_code == 200


def test_a_cross_site_post_is_refused_and_changes_nothing(home: Path) -> None:
    app = AppClient()
    sample = str(home / "Downloads" / "instagram-export")
    for headers in ({"origin": "https://evil.example"}, {"origin": "null"}, {},
                    {"referer": "https://evil.example/page"}):
        answer = app.http.post("/export/choose", data={"csrf": app.keys.csrf, "path": sample}, headers=headers)
        assert answer.status_code == 403, headers
    assert app.app.state.workspace.session.export == []


def test_a_post_without_the_csrf_token_is_refused_even_from_the_app_origin(home: Path) -> None:
    app = AppClient()
    sample = str(home / "Downloads" / "instagram-export")
    answer = app.http.post("/export/choose", data={"path": sample}, headers=app.origin)
    assert answer.status_code == 403
    answer = app.http.post("/export/choose", data={"path": sample, "csrf": "wrong"}, headers=app.origin)
    assert answer.status_code == 403
    upload = app.http.post("/export/upload", content=b"PK", headers={**app.origin, "x-file-name": "a.zip"})
    assert upload.status_code == 403
    assert app.app.state.workspace.session.export == []


def test_changing_requests_other_than_post_are_refused(home: Path) -> None:
    app = AppClient()
    for method in ("PUT", "DELETE", "PATCH"):
        assert app.http.request(method, "/run/start", headers=app.origin).status_code == 403


def test_pages_forbid_framing_and_foreign_scripts(home: Path) -> None:
    page = AppClient().get("/choose")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "http" not in re.sub(r"https://bsky\.app[^\"]*", "", "".join(re.findall(r'(?:src|href)="([^"]+)"', page.text)))


def test_a_bluesky_app_password_never_appears_in_a_page_an_event_or_the_session(home: Path, tmp_path: Path) -> None:
    app = AppClient()
    app.choose_sample(home)
    secret = "zq7x-s3cr-etpw-9k2m"
    # No Bluesky server here: the login fails, and the failure is shown without the password.
    answer = app.post("/places/password/bluesky", {"location": "rina.invalid", "password": secret})
    assert answer.status_code == 200
    assert "Could not log in to Bluesky: " in answer.text
    seen = [answer.text]
    for path in ("/choose", "/export", "/places", "/plan", "/run", "/after", "/run/state"):
        seen.append(app.get(path).text)
    seen.append(json.dumps(app.app.state.runs.snapshot()))
    assert all(secret not in text for text in seen)
    on_disk = [p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert all(secret.encode() not in data for data in on_disk)


def test_the_chooser_never_lists_a_folder_outside_the_home(home: Path) -> None:
    app = AppClient()
    page = app.get("/browse", params={"folder": "/etc"})
    assert str(home) in page.text
    assert "passwd" not in page.text and "/etc" not in page.text.replace(str(home), "")
    (home.parent / "outside-home.zip").write_bytes(b"PK")
    up = app.get("/browse", params={"folder": str(home / "..")})
    assert "outside-home.zip" not in up.text and "Downloads" in up.text  # back at the home folder


def test_a_file_outside_a_folder_site_is_never_served(home: Path) -> None:
    app = AppClient()
    app.choose_sample(home)
    app.post("/places/folder", {"kind": "folder", "path": str(home / "site")})
    (home / "secret.txt").write_text("private")
    for path in ("/files/0/../secret.txt", "/files/0/%2e%2e/secret.txt", "/files/0/..%2fsecret.txt"):
        answer = app.get(path)
        assert answer.status_code == 404 and "private" not in answer.text

"""Secrets and privacy: full migrations (folder, Bluesky's reference PDS, the simulated Mastodon
server) with known fake secrets and known GPS coordinates, then every byte pindah wrote or sent is
searched for them:

* every file under the state, cache and site folders and the reports, and stdout/stderr of every
  command (migrate, verify, status);
* every request body that reached the servers (a recording loopback proxy in front of the PDS;
  the Mastodon server records its own), the records/statuses they hold and the media files
  downloaded back from them.

The app password may only travel in the login request; tokens only in the credential file and
Authorization headers. Coordinates (from the export JSON's exif_data and from EXIF, XMP, PNG text
and WebP EXIF inside the pictures) may appear nowhere. Credential and journal files are 0600 in
0700 folders, even under a umask of 000. Plain http to anything but this computer is refused.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.bluesky_pds import LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import base_env
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.faultproxy import FaultProxy
from tests.mastodon_http import MastodonHttp
from tests.privacy import (
    GPS_TEXT,
    LAT,
    LNG,
    T,
    Search,
    check_state_modes,
    files_under,
    gps_export,
    located_video,
    pindah,
)

pytestmark = pytest.mark.integration


# -- every registered target (tests/targets/) ------------------------------------------------------------
def test_no_target_keeps_or_shows_a_location_or_a_secret_anywhere(target, request, tmp_path: Path):
    """The published site, kit, records or statuses and their files; the journal, the media
    cache, the reports and every line pindah printed: no coordinate and no credential anywhere
    but the credential store itself, which is 0600 in a 0700 folder."""
    export = gps_export(tmp_path / "export")
    env = base_env(tmp_path, **target.env)
    state, cache = tmp_path / "state", tmp_path / "cache"
    reports = ["--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")]
    runs = [pindah(["migrate", str(export), "--to", target.spec, *reports], env, tmp_path),
            pindah(["verify", "--to", target.spec], env, tmp_path),
            pindah(["status"], env, tmp_path)]
    assert runs[0].returncode == 0 and runs[2].returncode == 0, runs[0].stdout + runs[0].stderr
    assert all("Traceback" not in done.stderr for done in runs)
    published = target.read()
    assert sum(len(item.media) for item in published) == 5  # every picture of the export arrived

    search = Search()
    for n, done in enumerate(runs):
        search.text(f"run {n} output", done.stdout + done.stderr, target.secrets + GPS_TEXT)
    credentials = files_under(state / "sessions", state / "tokens")
    for f in files_under(state, cache, tmp_path / "r.json", tmp_path / "r.html"):
        search.text(str(f.relative_to(tmp_path)), f.read_bytes(), [] if f in credentials else target.secrets)
        search.media(str(f.relative_to(tmp_path)), f.read_bytes())
    search.text("published texts", "\n".join(item.text for item in published), GPS_TEXT)
    for name, data in target.stored_files().items():
        search.text(f"on the target: {name}", data, target.secrets)
        search.media(f"on the target: {name}", data)
    search.done(request)
    assert check_state_modes(state, cache) == []


# -- Bluesky ----------------------------------------------------------------------------------------------
@pytest.mark.bluesky
def test_a_bluesky_migration_sends_and_keeps_no_secret_and_no_location(bluesky_pds: LocalPds, request, tmp_path):
    export = gps_export(tmp_path / "export")
    account = bluesky_pds.create_account("private")
    with FaultProxy(bluesky_pds.pds_port, rate=0.0, keep_bodies=True) as wire:
        env = base_env(tmp_path, PINDAH_BLUESKY_PDS=wire.url, PINDAH_BLUESKY_APP_PASSWORD=account.app_password)
        target = f"bluesky:{account.handle}"
        runs = [pindah(["migrate", str(export), "--to", target, "--json", str(tmp_path / "r.json"),
                        "--html", str(tmp_path / "r.html")], env, tmp_path),
                pindah(["verify", "--to", target], env, tmp_path),
                pindah(["status"], env, tmp_path)]
    assert [r.returncode for r in runs] == [0, 0, 0], runs[0].stdout + runs[0].stderr
    sessions = files_under(tmp_path / "state" / "sessions")
    assert len(sessions) == 1
    session = json.loads(sessions[0].read_text())
    tokens = [session["accessJwt"], session["refreshJwt"]]
    passwords = [account.app_password, account.password]

    search = Search()
    for n, done in enumerate(runs):
        search.text(f"run {n} output", done.stdout + done.stderr, passwords + tokens + GPS_TEXT)
    for f in files_under(tmp_path / "state", tmp_path / "cache", tmp_path / "r.json", tmp_path / "r.html"):
        search.text(str(f.relative_to(tmp_path)), f.read_bytes(), passwords + ([] if f == sessions[0] else tokens))
        search.media(str(f.relative_to(tmp_path)), f.read_bytes())
    logins = 0
    for seen in wire.log:  # every request body that left pindah
        if seen.path.endswith("createSession"):
            logins += 1
            search.text(f"{seen.path} body", seen.body, tokens + GPS_TEXT)
        else:
            search.text(f"{seen.path} body", seen.body, passwords + tokens)
            search.media(f"{seen.path} body", seen.body)
    assert logins == 1  # logged in once; the session was reused after that
    records = bluesky_pds.list_records(account.did)
    assert len(records) == 4
    search.text("records", json.dumps(records), GPS_TEXT + ["latitude", "longitude"])
    blobs = 0
    for record in records:
        for image in record["value"]["embed"]["images"]:
            blobs += 1
            search.media(f"blob {image['image']['ref']['$link']}", bluesky_pds.get_blob(account.did, image["image"]["ref"]["$link"]))
    assert blobs == 5
    search.done(request)
    assert check_state_modes(tmp_path / "state", tmp_path / "cache") == []


# -- Mastodon ------------------------------------------------------------------------------------------------
@pytest.mark.mastodon
def test_a_mastodon_migration_sends_and_keeps_no_secret_and_no_location(request, tmp_path):
    export = gps_export(tmp_path / "export")
    token = "fake-mastodon-token-" + secrets.token_hex(16)
    with MastodonHttp(token=token) as server:
        target = f"mastodon:{server.url}"
        env = base_env(tmp_path)
        login = pindah(["login", target, "--token"], env | {"PINDAH_MASTODON_TOKEN": token}, tmp_path)
        assert login.returncode == 0, login.stdout + login.stderr
        runs = [login,
                pindah(["migrate", str(export), "--to", target, "--json", str(tmp_path / "r.json"),
                        "--html", str(tmp_path / "r.html")], env, tmp_path),
                pindah(["verify", "--to", target], env, tmp_path),
                pindah(["status"], env, tmp_path)]
        assert [r.returncode for r in runs] == [0, 0, 0, 0], runs[1].stdout + runs[1].stderr
        received = list(server.received)
        uploads = dict(server.uploads)
        statuses = server.statuses()
    token_files = files_under(tmp_path / "state" / "tokens")
    assert len(token_files) == 1 and token in token_files[0].read_text()

    search = Search()
    for n, done in enumerate(runs):
        search.text(f"run {n} output", done.stdout + done.stderr, [token] + GPS_TEXT)
    for f in files_under(tmp_path / "state", tmp_path / "cache", tmp_path / "r.json", tmp_path / "r.html"):
        search.text(str(f.relative_to(tmp_path)), f.read_bytes(), [] if f == token_files[0] else [token])
        search.media(str(f.relative_to(tmp_path)), f.read_bytes())
    for method, path, headers, body in received:
        search.text(f"{method} {path} body", body, [token])
        search.media(f"{method} {path} body", body)
        leaked_headers = {k: v for k, v in headers.items() if token in v and k.lower() != "authorization"}
        assert not leaked_headers, leaked_headers
    assert len(uploads) == 5
    for media_id, data in uploads.items():
        search.media(f"upload {media_id}", data)
    search.text("statuses", json.dumps(statuses, default=str), GPS_TEXT)
    search.done(request)
    modes = check_state_modes(tmp_path / "state", tmp_path / "cache")
    assert modes == []


def test_the_location_inside_a_video_never_reaches_the_target(request, tmp_path):
    root = tmp_path / "export"
    clip = located_video()
    write_meta_json(root, [SynthPost(T, "Clip from the square", [SynthMedia("mp4")], latitude=LAT, longitude=LNG)],
                    media_content=lambda post, i, media: clip)
    done = pindah(["migrate", str(root), "--to", f"folder:{tmp_path / 'site'}"], base_env(tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    published = files_under(tmp_path / "site" / "media")
    assert len(published) == 1
    assert b"+106.8271" not in published[0].read_bytes()


# -- plain http ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, setting", [
    (["migrate", "EXPORT", "--to", "mastodon:http://social.example"], {}),
    (["migrate", "EXPORT", "--to", "mastodon:http://10.0.0.5:3000"], {}),
    (["migrate", "EXPORT", "--to", "mastodon:http://127.0.0.1.nip.io"], {}),
    (["login", "mastodon:http://social.example", "--token"], {"PINDAH_MASTODON_TOKEN": "tok-" + "x" * 20}),
    (["migrate", "EXPORT", "--to", "bluesky:rina.example.com"], {"PINDAH_BLUESKY_PDS": "http://pds.example.com"}),
    (["migrate", "EXPORT", "--to", "bluesky:rina.example.com"], {"PINDAH_BLUESKY_PDS": "http://192.168.1.20:2583"}),
    (["migrate", "EXPORT", "--to", "bluesky:rina.example.com"], {"PINDAH_BLUESKY_HANDLE_RESOLVER": "http://resolver.example"}),
])
def test_plain_http_to_another_computer_is_refused_with_a_clear_message(tmp_path, args, setting):
    export = gps_export(tmp_path / "export")
    env = base_env(tmp_path, PINDAH_BLUESKY_APP_PASSWORD="abcd-efgh-ijkl-mnop", **setting)
    done = pindah([str(export) if a == "EXPORT" else a for a in args], env, tmp_path)
    said = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in said and said.startswith("Error: ")
    assert "http" in said and ("https" in said or "plain http" in said), said
    assert not files_under(tmp_path / "state" / "sessions") and not files_under(tmp_path / "state" / "tokens")
    assert "abcd-efgh" not in done.stdout + done.stderr

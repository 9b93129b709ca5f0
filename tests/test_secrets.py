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

import io
import json
import os
import secrets
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests import figures
from tests.bluesky_pds import LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import CHILD, VIDEO, base_env
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.faultproxy import FaultProxy
from tests.mastodon_http import MastodonHttp

pytestmark = pytest.mark.integration

LAT, LNG = -6.175392, 106.827153  # Monas, Jakarta: in the export JSON and in the pictures
GPS_TEXT = ["6.175392", "106.827153", "6.1753", "106.8271", "106,49", "6,10.52", "GPSLatitude", "GPSLongitude"]
T = 1_560_000_000


# -- the export: coordinates everywhere they can hide ------------------------------------------------
def _exif_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 12 Pro"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (6.0, 10.0, 31.41), 3: "E", 4: (106.0, 49.0, 37.75), 5: 0, 6: 12.0})
    return exif.tobytes()


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="6,10.5235S" '
       b'exif:GPSLongitude="106,49.6292E" exif:GPSAltitude="12">-6.175392,106.827153</rdf:Description>'
       b"</rdf:RDF></x:xmpmeta>")


def _picture(fmt: str, width: int, height: int) -> bytes:
    img = Image.new("RGB", (width, height), (width % 255, 90, height % 255))
    out = io.BytesIO()
    if fmt == "jpg":
        img.save(out, "JPEG", quality=90, exif=_exif_gps(), xmp=XMP)
    elif fmt == "webp":
        img.save(out, "WEBP", exif=_exif_gps(), xmp=XMP)
    elif fmt == "png":
        img.save(out, "PNG", exif=_exif_gps())
        data = out.getvalue()
        text = b"Comment\x00Taken at -6.175392, 106.827153"
        chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
        return data[:-12] + chunk + data[-12:]  # before IEND
    return out.getvalue()


def gps_export(root: Path) -> Path:
    posts = [SynthPost(T, "Monas at dawn #jakarta", [SynthMedia("jpg", width=40, height=30)], latitude=LAT, longitude=LNG),
             SynthPost(T + 3600, "PNG with a note", [SynthMedia("png", width=41, height=30)], latitude=LAT, longitude=LNG),
             SynthPost(T + 7200, "WebP from the phone", [SynthMedia("webp", width=42, height=30)], latitude=LAT, longitude=LNG),
             SynthPost(T + 9000, "Carousel, all located", [SynthMedia("jpg", width=43, height=30),
                                                           SynthMedia("jpg", width=44, height=30)], latitude=LAT, longitude=LNG)]
    write_meta_json(root, posts, media_content=lambda post, i, media: _picture(media.fmt, media.width, media.height))
    raw = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    assert b"106.827153" in raw and b"GPSLatitude" in raw  # the export really carries them
    return root


def located_video() -> bytes:
    """The sample clip with its `udta` box replaced by one holding a `©xyz` location atom of the
    same size, so no offset moves."""
    data = bytearray(VIDEO.read_bytes())
    start = data.find(b"udta") - 4
    (size,) = struct.unpack_from(">I", data, start)
    where = b"+06.1753+106.8271/"
    xyz = struct.pack(">I", 12 + len(where)) + b"\xa9xyz" + struct.pack(">HH", len(where), 0x15C7) + where
    free = size - 8 - len(xyz)
    data[start:start + size] = struct.pack(">I", size) + b"udta" + xyz + struct.pack(">I", free) + b"free" + b"\0" * (free - 8)
    return bytes(data)


# -- searching ----------------------------------------------------------------------------------------
def _hits(data: bytes, needles: list[str]) -> list[str]:
    return [n for n in needles if n.encode() in data]


def _image_location(data: bytes) -> list[str]:
    """Location a picture still carries, read by Pillow (EXIF GPS IFD, XMP, PNG text)."""
    found = []
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            if 0x8825 in exif or exif.get_ifd(0x8825):
                found.append("EXIF GPS")
            if any(k in exif for k in (0x010F, 0x0110)):
                found.append("camera make/model")
            info = " ".join(str(v) for v in img.info.values() if isinstance(v, (str, bytes)))
            if "GPS" in info or "106.82" in info:
                found.append("text/XMP location")
    except Exception:  # noqa: BLE001 - not a picture: the byte search covers it
        pass
    return found


def files_under(*places: Path) -> list[Path]:
    return [f for place in places if place.exists()
            for f in ([place] if place.is_file() else place.rglob("*")) if f.is_file() and not f.is_symlink()]


class Search:
    """Collects every leak found, with where; `figures` gets the count."""

    def __init__(self) -> None:
        self.leaks: list[str] = []

    def text(self, where: str, data: bytes | str, needles: list[str]) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.leaks += [f"{where}: {n}" for n in _hits(raw, needles)]

    def media(self, where: str, data: bytes) -> None:
        self.text(where, data, GPS_TEXT)
        self.leaks += [f"{where}: {what}" for what in _image_location(data)]

    def done(self, request) -> None:
        figures.add(request, "secrets found", len(self.leaks))
        assert self.leaks == [], "\n".join(self.leaks[:40])


def private(path: Path, mode: int) -> str | None:
    got = stat.S_IMODE(path.stat().st_mode)
    return None if got == mode else f"{path}: {oct(got)}, not {oct(mode)}"


def check_state_modes(state: Path, cache: Path) -> list[str]:
    """Journals, locks, sessions and tokens 0600 in 0700 folders; the media cache too."""
    problems = []
    sensitive = [f for f in files_under(state) if f.suffix in (".sqlite", ".json", ".lock", ".sqlite-wal", ".sqlite-shm")
                 or f.name.endswith((".lock", "-wal", "-shm"))]
    assert sensitive, "no journal or credential file found"
    for f in sensitive + files_under(cache):
        problems += [p for p in (private(f, 0o600), private(f.parent, 0o700)) if p]
    return problems


def pindah(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI under umask 000: private files must not rely on the artist's umask."""
    return subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True, timeout=300,
                          cwd=cwd, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0))


# -- folder ---------------------------------------------------------------------------------------------
def test_the_portfolio_site_and_every_file_pindah_writes_carry_no_location(request, tmp_path):
    export = gps_export(tmp_path / "export")
    env = base_env(tmp_path)
    runs = [pindah(["migrate", str(export), "--to", f"folder:{tmp_path / 'site'}", "--json", str(tmp_path / "r.json"),
                    "--html", str(tmp_path / "r.html")], env, tmp_path),
            pindah(["verify", "--to", f"folder:{tmp_path / 'site'}"], env, tmp_path),
            pindah(["status"], env, tmp_path)]
    assert [r.returncode for r in runs] == [0, 0, 0], runs[0].stderr
    search = Search()
    for n, done in enumerate(runs):
        search.text(f"run {n} output", done.stdout + done.stderr, GPS_TEXT)
    written = files_under(tmp_path / "site", tmp_path / "state", tmp_path / "cache", tmp_path / "r.json", tmp_path / "r.html")
    assert len(files_under(tmp_path / "site" / "media")) == 5
    for f in written:
        search.media(str(f.relative_to(tmp_path)), f.read_bytes())
    search.done(request)
    assert check_state_modes(tmp_path / "state", tmp_path / "cache") == []


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

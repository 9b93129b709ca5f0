"""Bluesky: `pindah migrate` against the real reference PDS on 127.0.0.1, plus offline unit tests.

`pytest -m bluesky` runs just these. The integration tests start one PDS per session
(tests/bluesky_pds.py; npm packages installed on first use) with the production rate limits
switched on, create accounts on it, and run the real command line in subprocesses. What they
check is read back from the server (listRecords, getRecord, getBlob), never from pindah's
journal, which could be wrong too.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from PIL import Image

from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from pindah.adapters.bluesky import BlueskyAdapter
from pindah.adapters.bluesky_record import (
    TID_ALPHABET,
    derive_rkey,
    detect_facets,
    iso_time,
    tid,
)
from pindah.adapters.bluesky_xrpc import XrpcError, check_url, to_target_error
from pindah.migrator.errors import PindahError, PostFailed, RunStopped, TransientError
from pindah.adapters.toolkit.mp4 import mp4_info, strip_user_data
from pindah.migrator.planner import PlanOptions, PostPlan, plan_posts
from pindah.migrator.sources import read_export
from tests.bluesky_pds import Account, LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import CHILD
from tests.exportbuilder.instaloader import write_instaloader_dump
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.faultproxy import LoopbackService

pytestmark = pytest.mark.bluesky
integration = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT / "tests" / "exportbuilder" / "assets" / "sample-loop.mp4"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
BLOB_LIMIT = 2_000_000  # app.bsky.embed.images maxSize in the reference PDS's lexicon (pindah's default)
T0 = int(datetime(2019, 3, 2, 9, 15, tzinfo=UTC).timestamp())


# ==========================================================================================
# The synthetic export: 30 posts with everything Bluesky tools get wrong
# ==========================================================================================
FACET_CAPTION = "🎨👩🏽‍🎨 #art https://rina.art/x"
LONG_CAPTION = ("Nine pages from the sketchbook I carried through Yogyakarta 🌋✍️. " * 3
                + "Every page took an afternoon at a warung, coffee going cold beside me ☕. " * 4
                + "More at https://rina.art/sketchbooks — thank you for looking! #sketchbook #yogyakarta")
THREAD_CAPTION = ("A thread about how I ink: brushes first, then pens, then the scanner 🖌️. " * 6
                  + "Notes: https://example.com/process-notes #inktober #process 🙏")


def _noise_jpeg(width: int, height: int, seed: int, *, gps: bool = False) -> bytes:
    """A photo that doesn't compress (random pixels), optionally carrying a GPS position."""
    img = Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd.update({1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 0.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def _noise_heic(width: int, height: int, seed: int) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    rnd = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
    out = io.BytesIO()
    Image.blend(base, noise, 0.5).save(out, "HEIF", quality=90)
    return out.getvalue()


def _sideways_jpeg() -> bytes:
    """Upright it is 300×400 with a red band at the top; stored turned, with EXIF orientation 6."""
    upright = Image.new("RGB", (300, 400), (30, 60, 200))
    upright.paste((220, 20, 20), (0, 0, 300, 80))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a phone writes for orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


@dataclass
class Synth:
    posts: list[SynthPost]
    content: dict[tuple[int, int], bytes] = field(default_factory=dict)  # (taken_at, index) -> bytes

    def media_content(self, post: SynthPost, index: int, media: SynthMedia) -> bytes:
        data = self.content.get((post.taken_at, index))
        if data is not None:
            return data
        if media.is_video:
            return VIDEO.read_bytes()
        shade = (post.taken_at // 3600 + index * 40) % 200
        img = Image.new("RGB", (64, 48), (40 + shade, 90, 220 - shade))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90)
        return out.getvalue()


def thirty_posts() -> Synth:
    day = 86400
    img, vid = SynthMedia, lambda: SynthMedia("mp4")
    s = Synth([])

    def add(caption: str, media: list[SynthMedia], content: dict[int, bytes] | None = None) -> int:
        taken = T0 + len(s.posts) * 17 * day + len(s.posts) * 61
        s.posts.append(SynthPost(taken, caption, media))
        for index, data in (content or {}).items():
            s.content[(taken, index)] = data
        return taken

    add(FACET_CAPTION, [img()])
    add("Big scan of the mural at full resolution 🖼️ #mural", [img()], {0: _noise_jpeg(3000, 2200, 1, gps=True)})
    add("Straight from the phone, HEIC and all #wip", [img("heic")], {0: _noise_heic(900, 700, 2)})
    add("A sideways phone photo that must stand upright #process", [img()], {0: _sideways_jpeg()})
    add("Six studies of hands ✋ #figuredrawing #studies", [img() for _ in range(6)])
    add(LONG_CAPTION, [img() for _ in range(9)])
    add("Timelapse of the koi painting 🎥 #timelapse", [vid()])
    add("Photos and a clip from the studio #behindthescenes", [img(), img(), vid(), img(), img()])
    add(THREAD_CAPTION, [img()])
    add("Collab with @friend.art and @budi_draws 🤝 #collab", [img()])
    add("Commissions open: rina.art/commissions — DM me! #commissionsopen", [img()])
    add("Read more (https://en.wikipedia.org/wiki/Batik_(textile)). Thanks!", [img()])
    add("新しい作品です #日本 #イラスト", [img(), img()])
    add("", [img(), img(), img()])
    for n in range(14, 30):
        add(f"Daily sketch {n} 🌿 #dailysketch" + (" #ink" if n % 3 == 0 else ""), [img() for _ in range(1 + n % 3)])
    return s


@pytest.fixture(scope="module")
def export30(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Synth]:
    synth = thirty_posts()
    root = tmp_path_factory.mktemp("export30")
    write_meta_json(root, synth.posts, media_content=synth.media_content)
    return root, synth


def write_export(root: Path, posts: list[SynthPost]) -> Path:
    """A meta-JSON export of `posts` in `root`, each image with its own colours."""
    synth = Synth(posts)
    write_meta_json(root, synth.posts, media_content=synth.media_content)
    return root


def expected_plans(export: Path) -> list[PostPlan]:
    """What pindah must publish, planned with the adapter's declared capabilities."""
    with read_export([export]) as exp:
        return plan_posts(exp.posts, BlueskyAdapter.capabilities, PlanOptions())


# ==========================================================================================
# Running pindah
# ==========================================================================================
@pytest.fixture(scope="session")
def media_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Prepared media are content-addressed, so every test may share them (as artists' runs do).
    return tmp_path_factory.mktemp("media-cache")


def pindah_env(state: Path, cache: Path, pds_url: str | None, password: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(state), "PINDAH_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(state / "config")}  # never the developer's own config file
    if pds_url:
        env["PINDAH_BLUESKY_PDS"] = pds_url
    if password:
        env["PINDAH_BLUESKY_APP_PASSWORD"] = password
    return env | extra


def pindah(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def migrate(export: Path, account: Account, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}"], env)


def no_secrets(run: subprocess.CompletedProcess[str], account: Account) -> None:
    for secret in (account.password, account.app_password):
        assert secret not in run.stdout + run.stderr


def by_rkey(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        out[record["uri"].rsplit("/", 1)[1]] = record
    return out


def check_exactly_once(pds: LocalPds, account: Account, plans: list[PostPlan]) -> dict[str, dict[str, Any]]:
    """Every planned part is on the server once, under its derived key, and nothing else is."""
    records = pds.list_records(account.did)
    expected = {derive_rkey(part.key, part.created_at): part for plan in plans for part in plan.parts}
    found = by_rkey(records)
    assert len(records) == len(expected), f"{len(records)} records for {len(expected)} planned parts"
    assert set(found) == set(expected)
    times = Counter(r["value"]["createdAt"] for r in records)
    assert max(times.values()) == 1  # no post twice under another key either
    return found


# ==========================================================================================
# Integration: the whole migration
# ==========================================================================================
@integration
def test_thirty_post_export_arrives_complete_and_faithful(bluesky_pds: LocalPds, export30, media_cache, tmp_path):
    export, synth = export30
    account = bluesky_pds.create_account("rina")
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password, PINDAH_BLUESKY_LANGS="id,en")
    run = migrate(export, account, env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Published 30 post(s)" in run.stdout
    assert f"bsky.app/profile/{account.handle}" in run.stdout
    no_secrets(run, account)

    plans = expected_plans(export)
    assert not any(plan.skipped for plan in plans)
    records = check_exactly_once(bluesky_pds, account, plans)
    spec_by_time = {post.taken_at: post for post in synth.posts}
    blobs_checked = 0
    for plan in plans:
        spec = spec_by_time[int(plan.post.taken_at.timestamp())]
        uris: list[tuple[str, str]] = []
        for part in plan.parts:
            record = records[derive_rkey(part.key, part.created_at)]
            value = record["value"]
            assert value["text"] == part.text
            assert value["createdAt"] == iso_time(plan.post.taken_at + timedelta(seconds=part.index))
            assert value["langs"] == ["id", "en"]
            _check_facets(value)
            if part.index == 0:
                assert "reply" not in value
            else:  # a chain: each part answers the one before, all under the first
                assert value["reply"]["parent"] == {"uri": uris[-1][0], "cid": uris[-1][1]}
                assert value["reply"]["root"] == {"uri": uris[0][0], "cid": uris[0][1]}
            uris.append((record["uri"], record["cid"]))
            blobs_checked += _check_embed(bluesky_pds, account, value, [spec.media[i] for i in part.media],
                                          [synth.media_content(spec, i, spec.media[i]) for i in part.media])
    assert blobs_checked == sum(len(p.media) for plan in plans for p in plan.parts)

    # The carousel of 9 with a long caption is a thread of at least 3 parts, none over 300.
    nine = next(plan for plan in plans if len(plan.post.media) == 9)
    assert len(nine.parts) >= 3 and [len(p.media) for p in nine.parts][:3] == [4, 4, 1]
    # The mixed carousel (image, image, clip, image, image) keeps Instagram's order without a gallery.
    mixed = next(plan for plan in plans if plan.post.caption.startswith("Photos and a clip"))
    kinds = [records[derive_rkey(p.key, p.created_at)]["value"]["embed"]["$type"] for p in mixed.parts]
    assert kinds == ["app.bsky.embed.images", "app.bsky.embed.video", "app.bsky.embed.images"]

    # Facets at exact UTF-8 byte offsets: 🎨 is 4 bytes, 👩🏽‍🎨 15, so "#art" spans 20..24.
    first = records[derive_rkey(plans[0].parts[0].key, plans[0].parts[0].created_at)]["value"]
    assert first["text"] == FACET_CAPTION
    assert [(f["index"]["byteStart"], f["index"]["byteEnd"], f["features"][0]) for f in first["facets"]] == [
        (20, 24, {"$type": "app.bsky.richtext.facet#tag", "tag": "art"}),
        (25, 43, {"$type": "app.bsky.richtext.facet#link", "uri": "https://rina.art/x"})]
    collab = _value_with(records, "Collab with")
    assert "@friend.art" in collab["text"] and {f["features"][0]["tag"] for f in collab["facets"]} == {"collab"}
    bare = _value_with(records, "Commissions open")
    assert {"$type": "app.bsky.richtext.facet#link", "uri": "https://rina.art/commissions"} in \
        [f["features"][0] for f in bare["facets"]]
    wiki = _value_with(records, "Read more")
    assert wiki["facets"][0]["features"][0]["uri"] == "https://en.wikipedia.org/wiki/Batik_(textile)"
    cjk = _value_with(records, "新しい作品")
    assert [f["features"][0]["tag"] for f in cjk["facets"]] == ["日本", "イラスト"]

    verify = pindah(["verify", "--to", f"bluesky:{account.handle}"], env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "everything is there" in verify.stdout


def _value_with(records: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    return next(r["value"] for r in records.values() if r["value"]["text"].startswith(prefix))


def _check_facets(value: dict[str, Any]) -> None:
    data = value["text"].encode("utf-8")
    for facet in value.get("facets", []):
        piece = data[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode("utf-8")  # raises if mid-character
        feature = facet["features"][0]
        assert feature["$type"] != "app.bsky.richtext.facet#mention"  # Instagram @names are not Bluesky accounts
        if feature["$type"].endswith("#tag"):
            assert piece == "#" + feature["tag"]
        else:
            assert feature["uri"] in (piece, "https://" + piece)


def _as_sent(video: bytes) -> bytes:
    """The source video as pindah sends it: picture and sound untouched, user-data boxes
    (location, device, encoder) blanked."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        tmp.write(video)
        tmp.flush()
        strip_user_data(Path(tmp.name))
        return Path(tmp.name).read_bytes()


def _check_embed(pds: LocalPds, account: Account, value: dict[str, Any], specs: list[SynthMedia],
                 sources: list[bytes]) -> int:
    embed = value.get("embed")
    if not specs:
        assert embed is None
        return 0
    if specs[0].is_video:
        assert embed["$type"] == "app.bsky.embed.video" and len(specs) == 1
        assert embed["video"]["mimeType"] == "video/mp4"
        assert embed["aspectRatio"] == {"width": 480, "height": 600}
        assert pds.get_blob(account.did, embed["video"]["ref"]["$link"]) == _as_sent(sources[0])
        return 1
    assert embed["$type"] == "app.bsky.embed.images"
    assert len(embed["images"]) == len(specs) <= 4
    for item, spec, source in zip(embed["images"], specs, sources):
        assert item["alt"] == ""  # Meta's JSON export carries no alt text (see the alt test)
        data = pds.get_blob(account.did, item["image"]["ref"]["$link"])
        assert len(data) == item["image"]["size"] <= BLOB_LIMIT
        with Image.open(io.BytesIO(data)) as got:
            assert item["aspectRatio"] == {"width": got.width, "height": got.height}
            assert max(got.size) <= 2000
            exif = got.getexif()
            assert 0x8825 not in exif and not exif.get_ifd(0x8825)  # no GPS
            assert 0x010F not in exif  # no camera
            assert exif.get(0x0112, 1) == 1  # upright pixels, nothing left for a viewer to turn
            if spec.fmt == "heic":
                assert got.format == "JPEG"  # converted: Bluesky apps don't show HEIC
            if len(source) > 5_000_000:  # the big scan: over the server's 5 MiB upload cap
                assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)  # it did carry GPS
                assert got.width < 3000
            if source == _sideways_jpeg():
                assert got.size == (300, 400)
                red = got.convert("RGB").getpixel((150, 20))
                blue = got.convert("RGB").getpixel((150, 380))
                assert red[0] > 180 and red[2] < 80 and blue[2] > 150  # the red band is on top
    return len(specs)


@integration
def test_second_run_creates_nothing_even_when_the_journal_is_lost(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Post {i} #again", [SynthMedia() for _ in range(1 + i % 5)])
             for i in range(6)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("again")
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password)
    assert migrate(export, account, env).returncode == 0
    plans = expected_plans(export)
    before = check_exactly_once(bluesky_pds, account, plans)

    again = migrate(export, account, env)
    assert again.returncode == 0 and "Nothing new to migrate" in again.stdout
    assert by_rkey(bluesky_pds.list_records(account.did)) == before

    # Even with the journal gone, the derived record keys make the server refuse duplicates:
    # pindah finds each post where it belongs and adopts it.
    for journal in (tmp_path / "state" / "journals").rglob("*.sqlite*"):
        journal.unlink()
    lost = migrate(export, account, env)
    assert lost.returncode == 0, lost.stdout + lost.stderr
    assert by_rkey(bluesky_pds.list_records(account.did)) == before

    # verify reads every part back from the server: a post deleted there is reported.
    gone = next(iter(before))
    bluesky_pds.xrpc("POST", "com.atproto.repo.deleteRecord", token=account.access_jwt, json={
        "repo": account.did, "collection": "app.bsky.feed.post", "rkey": gone}).raise_for_status()
    check = pindah(["verify", "--to", f"bluesky:{account.handle}", "--json"], env)
    assert check.returncode == 1
    assert [d["problem"] for d in json.loads(check.stdout)["differences"]] == ["missing on the target"]


@integration
def test_rollback_removes_exactly_what_pindah_made(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"To be rolled back {i} #bye", [SynthMedia() for _ in range(1 + 2 * i)])
             for i in range(4)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("undo")
    by_hand = bluesky_pds.xrpc("POST", "com.atproto.repo.createRecord", token=account.access_jwt, json={
        "repo": account.did, "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "made by hand, before pindah",
                   "createdAt": "2024-01-01T00:00:00.000Z"}})
    by_hand.raise_for_status()
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password)
    assert migrate(export, account, env).returncode == 0
    plans = expected_plans(export)
    assert len(bluesky_pds.list_records(account.did)) == 1 + sum(len(p.parts) for p in plans)

    undo = pindah(["rollback", "--to", f"bluesky:{account.handle}", "--yes"], env)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    left = bluesky_pds.list_records(account.did)
    assert [r["uri"] for r in left] == [by_hand.json()["uri"]]

    # The journal forgot the deleted posts: migrating again puts them back, once.
    assert migrate(export, account, env).returncode == 0
    assert len(bluesky_pds.list_records(account.did)) == 1 + sum(len(p.parts) for p in plans)


@integration
def test_alt_texts_from_an_instaloader_dump_reach_the_images(bluesky_pds: LocalPds, media_cache, tmp_path):
    export = tmp_path / "dump"
    posts = [SynthPost(T0, "Koi at dusk #koi", [SynthMedia(alt_text="Ink drawing of two orange koi circling in blue water")]),
             SynthPost(T0 + 86400, "Market day", [SynthMedia(alt_text="May be an image of 1 person and food"),
                                                  SynthMedia(alt_text="Batik cloth, indigo on white, a repeating flower")])]
    write_instaloader_dump(export, "rina.draws", posts)
    account = bluesky_pds.create_account("alts")
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password)
    run = migrate(export, account, env)
    assert run.returncode == 0, run.stdout + run.stderr
    alts = sorted(tuple(i["alt"] for i in r["value"]["embed"]["images"]) for r in bluesky_pds.list_records(account.did))
    # Instagram's own "May be an image of ..." is not the artist's words: left out by default.
    assert alts == [("", "Batik cloth, indigo on white, a repeating flower"),
                    ("Ink drawing of two orange koi circling in blue water",)]
    assert all("langs" not in r["value"] for r in bluesky_pds.list_records(account.did))  # not known: not said


@integration
def test_opt_in_gallery_keeps_a_big_carousel_in_one_post(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0, "Nine panels of one comic #comic", [SynthMedia() for _ in range(9)]),
             SynthPost(T0 + 86400, "Three sketches", [SynthMedia() for _ in range(3)])]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("gallery")
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password, PINDAH_BLUESKY_GALLERY="1")
    run = migrate(export, account, env)
    assert run.returncode == 0, run.stdout + run.stderr
    embeds = {r["value"]["text"]: r["value"]["embed"] for r in bluesky_pds.list_records(account.did)}
    assert len(embeds) == 2  # no thread needed
    comic = embeds["Nine panels of one comic #comic"]
    assert comic["$type"] == "app.bsky.embed.gallery" and len(comic["items"]) == 9
    assert all(item["$type"] == "app.bsky.embed.gallery#image" and item["aspectRatio"] for item in comic["items"])
    assert embeds["Three sketches"]["$type"] == "app.bsky.embed.images"  # what every app shows
    verify = pindah(["verify", "--to", f"bluesky:{account.handle}"], env)
    assert verify.returncode == 0, verify.stdout + verify.stderr


# -- rate limits ----------------------------------------------------------------------------
class LimitingProxy(LoopbackService):
    """A loopback HTTP proxy in front of the PDS that answers chosen calls with a 429 (real
    `ratelimit-*` headers, reset in epoch seconds) and logs when every call arrived."""

    def __init__(self, upstream_port: int, rule: Callable[[str, int], float | None]) -> None:
        self.upstream_port = upstream_port
        self.rule = rule  # (nsid, how many times it was seen) -> seconds until reset, or None
        self.seen: Counter[str] = Counter()
        self.log: list[tuple[float, str, int, float | None]] = []  # (time, nsid, status, reset)
        self.lock = threading.Lock()
        super().__init__()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        nsid = handler.path.split("?", 1)[0].removeprefix("/xrpc/")
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.seen[nsid] += 1
            wait = self.rule(nsid, self.seen[nsid])
        now = time.time()
        if wait is not None:
            reset = int(now + wait)
            self.log.append((now, nsid, 429, reset))
            payload = b'{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}'
            handler.send_response(429)
            for key, value in (("ratelimit-limit", "3000"), ("ratelimit-remaining", "0"),
                               ("ratelimit-reset", str(reset)), ("ratelimit-policy", "3000;w=300"),
                               ("Content-Type", "application/json"), ("Content-Length", str(len(payload)))):
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(handler.command, handler.path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        upstream.close()
        self.log.append((now, nsid, answer.status, None))
        handler.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "keep-alive", "content-length"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@integration
def test_a_429_with_reset_headers_is_waited_out(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Paced post {i} #slow", [SynthMedia(), SynthMedia()]) for i in range(5)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("paced")

    def rule(nsid: str, count: int) -> float | None:
        if nsid == "com.atproto.repo.createRecord" and count == 2:
            return 3.0
        if nsid == "com.atproto.repo.uploadBlob" and count == 5:
            return 2.0
        return None

    with LimitingProxy(bluesky_pds.pds_port, rule) as proxy:
        env = pindah_env(tmp_path / "state", media_cache, proxy.url, account.app_password)
        started = time.time()
        run = migrate(export, account, env)
        took = time.time() - started
    assert run.returncode == 0, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    assert "waiting 3 s for the target's limit" in said and "asks pindah to slow down" in said
    limited = [(t, nsid, reset) for t, nsid, status, reset in proxy.log if status == 429]
    assert [nsid for _, nsid, _ in limited] == ["com.atproto.repo.createRecord", "com.atproto.repo.uploadBlob"]
    for at, nsid, reset in limited:
        later = [t for t, n, status, _ in proxy.log if n == nsid and t > at]
        assert later and min(later) >= reset - 0.05, f"{nsid} was called again before its reset"
    assert took >= 3
    check_exactly_once(bluesky_pds, account, expected_plans(export))


@integration
def test_a_spent_daily_budget_stops_cleanly_with_the_time_to_continue(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Budget post {i}", [SynthMedia()]) for i in range(4)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("budget")
    env = pindah_env(tmp_path / "state", media_cache, None, account.app_password)

    with LimitingProxy(bluesky_pds.pds_port,
                       lambda nsid, n: 7 * 3600.0 if nsid == "com.atproto.repo.uploadBlob" and n >= 3 else None) as proxy:
        stopped = migrate(export, account, env | {"PINDAH_BLUESKY_PDS": proxy.url})
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "limit of 3000 calls per 5 min is used up until" in " ".join(stopped.stderr.split())
    assert "Traceback" not in stopped.stderr
    assert len(bluesky_pds.list_records(account.did)) == 2  # what was done is kept

    resumed = migrate(export, account, env | {"PINDAH_BLUESKY_PDS": bluesky_pds.url})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    check_exactly_once(bluesky_pds, account, expected_plans(export))


@integration
def test_the_servers_own_login_limit_is_read_from_its_headers(bluesky_pds: LocalPds, media_cache, tmp_path):
    export = write_export(tmp_path / "export", [SynthPost(T0, "One post")])
    account = bluesky_pds.create_account("limited")
    # 30 failed logins per 5 minutes (identifier + IP): pindah logs in by DID, so use that.
    for _ in range(30):
        wrong = requests.post(f"{bluesky_pds.url}/xrpc/com.atproto.server.createSession",
                              json={"identifier": account.did, "password": "wrong-password"}, timeout=30)
        assert wrong.status_code == 401
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, account.app_password)
    run = migrate(export, account, env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "too many logins" in run.stderr and re.search(r"from \d{4}-\d\d-\d\d \d\d:\d\d", run.stderr)
    no_secrets(run, account)


# -- logins and discovery -------------------------------------------------------------------
@integration
def test_pds_is_found_from_the_handle_and_the_login_is_kept_and_reused(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 86400, f"Found {i}", [SynthMedia()]) for i in range(3)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("found")
    state = tmp_path / "state"
    # No server given: handle -> DID (resolveHandle) -> DID document (the local PLC) -> PDS.
    env = pindah_env(state, media_cache, None, account.app_password,
                     PINDAH_BLUESKY_HANDLE_RESOLVER=bluesky_pds.url, PINDAH_BLUESKY_PLC_DIRECTORY=bluesky_pds.plc_url)
    first = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}", "--limit", "1"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    sessions = list((state / "sessions" / "bluesky").glob("*.json"))
    assert len(sessions) == 1
    assert stat.S_IMODE(sessions[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(sessions[0].parent.stat().st_mode) == 0o700
    assert account.app_password not in sessions[0].read_text()

    # No password at all now: the saved session (refreshed as needed) carries the run.
    env.pop("PINDAH_BLUESKY_APP_PASSWORD")
    rest = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}"], env)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert len(bluesky_pds.list_records(account.did)) == 3

    # A revoked session and no password: a clean stop that says how to log in.
    sessions[0].write_text(json.dumps({**json.loads(sessions[0].read_text()), "accessJwt": "x.e30.y",
                                       "refreshJwt": "x.e30.y"}))
    revoked = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}"], env)
    assert revoked.returncode == 0  # nothing left to write, so no login was needed
    rollback = pindah(["rollback", "--to", f"bluesky:{account.handle}", "--yes"], env)
    assert rollback.returncode == 3 and "PINDAH_BLUESKY_APP_PASSWORD" in rollback.stderr, rollback.stderr


@integration
def test_the_main_password_and_a_wrong_password_are_refused(bluesky_pds: LocalPds, media_cache, tmp_path):
    export = write_export(tmp_path / "export", [SynthPost(T0, "Hello")])
    account = bluesky_pds.create_account("careful")
    state = tmp_path / "state"
    main = migrate(export, account, pindah_env(state, media_cache, bluesky_pds.url, account.password))
    assert main.returncode == 3 and "main Bluesky password" in main.stderr, main.stderr
    wrong = migrate(export, account, pindah_env(state, media_cache, bluesky_pds.url, "abcd-efgh-ijkl-mnop"))
    assert wrong.returncode == 3 and "app password" in wrong.stderr
    for run in (main, wrong):
        no_secrets(run, account)
        assert "Traceback" not in run.stderr
    assert not list(state.rglob("sessions/**/*.json"))  # nothing kept from either attempt
    assert bluesky_pds.list_records(account.did) == []


@integration
def test_a_dry_run_needs_no_login_and_counts_the_daily_upload_budget(bluesky_pds: LocalPds, media_cache, tmp_path):
    posts = [SynthPost(T0 + i * 3600, f"Carousel {i}", [SynthMedia() for _ in range(4)]) for i in range(300)]
    export = write_export(tmp_path / "export", posts)
    account = bluesky_pds.create_account("dryrun")
    env = pindah_env(tmp_path / "state", media_cache, bluesky_pds.url, None)
    plan = pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}", "--dry-run", "--json",
                   str(tmp_path / "plan.json")], env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    report = json.loads((tmp_path / "plan.json").read_text())
    # 1,200 images at 1,000 uploads a day: the estimate must span more than a day.
    assert report["eta_seconds"] >= 86400
    assert bluesky_pds.list_records(account.did) == []


@integration
def test_the_local_server_never_tried_to_leave_the_machine(bluesky_pds: LocalPds):
    assert bluesky_pds.info["bind"] == "127.0.0.1"
    assert bluesky_pds.refusals() == []


# ==========================================================================================
# Offline unit tests
# ==========================================================================================
def _utf8_slice(text: str, facet: dict[str, Any]) -> str:
    return text.encode()[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode()


@pytest.mark.parametrize("text, expected", [
    ("#art", [("#art", "tag", "art")]),
    ("é #art", [("#art", "tag", "art")]),
    ("🎨👩🏽‍🎨 #art https://rina.art/x", [("#art", "tag", "art"), ("https://rina.art/x", "link", "https://rina.art/x")]),
    ("See https://example.com/a. Next", [("https://example.com/a", "link", "https://example.com/a")]),
    ("(https://en.wikipedia.org/wiki/Batik_(textile)).",
     [("https://en.wikipedia.org/wiki/Batik_(textile)", "link", "https://en.wikipedia.org/wiki/Batik_(textile)")]),
    ("shop: rina.art/prints!", [("rina.art/prints", "link", "https://rina.art/prints")]),
    ("file.jpg and notes.txt and e.g. this", []),
    ("https://x.com/#anchor #real", [("https://x.com/#anchor", "link", "https://x.com/#anchor"),
                                     ("#real", "tag", "real")]),
    ("mail me@rina.art or @rina.art #日本語", [("#日本語", "tag", "日本語")]),
    ("#1 #a1 #_x_ café#not", [("#a1", "tag", "a1"), ("#_x_", "tag", "_x_")]),
    ("#" + "a" * 65 + " #ok", [("#ok", "tag", "ok")]),
])
def test_facets_use_utf8_byte_offsets(text, expected):
    facets = detect_facets(text)
    got = [(_utf8_slice(text, f), f["features"][0]["$type"].rsplit("#", 1)[1],
            f["features"][0].get("tag") or f["features"][0].get("uri")) for f in facets]
    assert got == expected
    assert all(f["features"][0]["$type"] != "app.bsky.richtext.facet#mention" for f in facets)


def test_record_keys_are_valid_tids_stable_distinct_and_in_time_order():
    moment = datetime(2020, 5, 17, 10, 30, tzinfo=UTC)
    key = derive_rkey("abc#0", moment)
    assert TID_RE.match(key) and key == derive_rkey("abc#0", moment)
    assert key == derive_rkey("abc#0", moment.astimezone(timezone(timedelta(hours=7))))  # same instant
    same_second = {derive_rkey(f"post{i}#0", moment) for i in range(2000)}
    assert len(same_second) == 2000
    later = derive_rkey("abc#1", moment + timedelta(seconds=1))
    earlier = derive_rkey("zzz#0", moment - timedelta(seconds=1))
    assert earlier < key < later  # the repository lists posts in their Instagram order
    assert tid(0, 0) == "2" * 13
    assert tid((1 << 53) - 1, 1023)[0] in TID_ALPHABET[:16]
    # The TID's time is the post's time (to the second).
    value = sum(TID_ALPHABET.index(c) << (5 * (12 - i)) for i, c in enumerate(key))
    assert (value >> 10) // 1_000_000 == int(moment.timestamp())
    with pytest.raises(ValueError):
        iso_time(datetime(2020, 1, 1))


def test_iso_time_is_utc_milliseconds_with_z():
    assert iso_time(datetime(2019, 6, 1, 19, 34, 56, 789000, tzinfo=timezone(timedelta(hours=7)))) \
        == "2019-06-01T12:34:56.789Z"


def test_mp4_facts_come_from_the_moov_box(tmp_path):
    assert mp4_info(VIDEO) == type(mp4_info(VIDEO))(2.0, 480, 600)
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x10mdat" + b"\x00" * 8)
    assert mp4_info(fake).seconds is None


def test_languages_are_checked_before_any_post_is_sent():
    assert BlueskyAdapter("rina.bsky.social", {"langs": "id, en"}).langs == ("id", "en")
    assert BlueskyAdapter("rina.bsky.social", {"langs": ["pt-BR"]}).langs == ("pt-BR",)
    with pytest.raises(PindahError, match="not a language tag"):
        BlueskyAdapter("rina.bsky.social", {"langs": ["Bahasa Indonesia"]})
    with pytest.raises(PindahError, match="at most 3"):
        BlueskyAdapter("rina.bsky.social", {"langs": "id,en,ja,nl"})


def test_only_https_except_loopback():
    for ok in ("https://bsky.social", "http://localhost:2583", "http://127.0.0.1:9", "http://[::1]:80"):
        check_url(ok)
    for bad in ("http://bsky.social", "http://10.0.0.5", "ftp://x.org", "https://"):
        with pytest.raises(PindahError):
            check_url(bad)


# -- error mapping, with a simulated server ---------------------------------------------------
PDS = "https://pds.example.org"
DID = "did:plc:abcdefghijklmnopqrstuvwx"
HANDLE = "rina.example.org"


def _jwt(scope: str, exp: float) -> str:
    import base64

    payload = base64.urlsafe_b64encode(json.dumps({"scope": scope, "exp": exp, "sub": DID}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"


def _session_json(scope: str = "com.atproto.appPass", exp: float | None = None) -> dict[str, Any]:
    exp = exp if exp is not None else time.time() + 7200
    return {"did": DID, "handle": HANDLE, "accessJwt": _jwt(scope, exp), "refreshJwt": _jwt("com.atproto.refresh", exp + 1e6)}


@pytest.fixture
def sim(monkeypatch, tmp_path):
    """An adapter logged in to a simulated PDS (the `responses` library)."""
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    for name in ("PDS", "APP_PASSWORD", "LANGS", "HANDLE_RESOLVER", "PLC_DIRECTORY"):
        monkeypatch.delenv(f"PINDAH_BLUESKY_{name}", raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle", json={"did": DID})
        mock.get(f"{PDS}/xrpc/com.atproto.server.describeServer", json={"blobUploadLimit": 900_000})
        mock.post(f"{PDS}/xrpc/com.atproto.server.createSession", json=_session_json())
        adapter = BlueskyAdapter(HANDLE, {"pds": PDS, "app_password": "abcd-efgh-ijkl-mnop"})
        adapter.prepare(interactive=False)
        yield adapter, mock


def _request(key: str = "p1#0", text: str = "hello", media: tuple[RemoteRef, ...] = ()) -> PostRequest:
    return PostRequest(key=key, text=text, media=media, media_alt=tuple("" for _ in media),
                       created_at=datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), reply_to=None, root=None,
                       post_id=key.split("#")[0], part_index=0, part_count=1)


def test_server_limits_and_the_session_file(sim, tmp_path):
    adapter, _ = sim
    assert adapter.caps.image_max_bytes == 900_000  # describeServer's blob limit wins over 1 MB
    assert adapter.account() == DID
    saved = list((tmp_path / "state" / "sessions" / "bluesky").glob("*.json"))
    assert len(saved) == 1 and stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    assert "abcd-efgh-ijkl-mnop" not in saved[0].read_text()
    assert "abcd-efgh" not in repr(adapter.client.session) and "abcd-efgh" not in repr(vars(adapter.client))


def test_429_becomes_a_transient_error_with_the_reset_time(sim):
    adapter, mock = sim
    reset = int(time.time()) + 42
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=429,
              json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
              headers={"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
                       "ratelimit-policy": "5000;w=3600"})
    with pytest.raises(TransientError) as caught:
        adapter.create_post(_request())
    assert 40 <= caught.value.retry_after <= 44
    # The next call isn't even sent before the reset: the server already said no.
    calls = len(mock.calls)
    with pytest.raises(TransientError) as again:
        adapter.create_post(_request())
    assert len(mock.calls) == calls and again.value.retry_after > 30


def test_a_500_on_create_is_checked_with_get_record(sim):
    adapter, mock = sim
    request = _request()
    rkey = derive_rkey(request.key, request.created_at)
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=500,
              json={"error": "InternalServerError", "message": "Internal Server Error"})
    mock.get(f"{PDS}/xrpc/com.atproto.repo.getRecord", json={
        "uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafyexisting",
        "value": {"text": "hello", "createdAt": iso_time(request.created_at)}})
    ref = adapter.create_post(request)  # it was there already: adopted, not duplicated
    assert ref.id.endswith(rkey) and ref.extra["cid"] == "bafyexisting"
    sent = json.loads(next(c.request.body for c in mock.calls if c.request.url.endswith("createRecord")))
    assert sent["rkey"] == rkey and sent["validate"] is True
    assert sent["record"]["createdAt"] == "2020-01-02T03:04:05.000Z" and "langs" not in sent["record"]


def test_a_500_with_nothing_there_is_transient_and_a_foreign_record_is_refused(sim):
    adapter, mock = sim
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=502, body="bad gateway")
    mock.get(f"{PDS}/xrpc/com.atproto.repo.getRecord", status=400,
              json={"error": "RecordNotFound", "message": "Could not locate record"})
    with pytest.raises(TransientError):
        adapter.create_post(_request())
    assert adapter.find_post(_request()) is None
    mock.replace(responses.GET, f"{PDS}/xrpc/com.atproto.repo.getRecord",
                 json={"uri": "at://x/app.bsky.feed.post/y", "cid": "c", "value": {"createdAt": "2001-01-01T00:00:00.000Z"}})
    with pytest.raises(PostFailed):
        adapter.find_post(_request())


@pytest.mark.parametrize("status, error, expected", [
    (400, "InvalidRequest", PostFailed), (413, "PayloadTooLarge", PostFailed), (503, "Unavailable", TransientError),
    (401, "AccountTakedown", RunStopped), (0, "Timeout", TransientError), (429, "RateLimitExceeded", TransientError)])
def test_error_classes(status, error, expected):
    assert isinstance(to_target_error(XrpcError(status, error, "m"), "publish a post"), expected)


def test_a_daily_limit_stops_the_run_saying_which_and_until_when():
    spent = to_target_error(XrpcError(429, "RateLimitExceeded", "m", retry_after=5 * 3600, policy="1000;w=86400"),
                            "upload a file")
    assert isinstance(spent, RunStopped) and 4.9 * 3600 < spent.resume_at.timestamp() - time.time() < 5.1 * 3600
    assert "limit of 1000 calls per 24 h is used up until" in spent.one_line()


def test_a_permanent_refusal_names_the_reason(sim):
    adapter, mock = sim
    mock.post(f"{PDS}/xrpc/com.atproto.repo.createRecord", status=400, json={
        "error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301)"})
    with pytest.raises(PostFailed, match="grapheme too big"):
        adapter.create_post(_request())


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(sim):
    adapter, mock = sim
    mock.post(f"{PDS}/xrpc/com.atproto.repo.deleteRecord", status=400,
              json={"error": "ExpiredToken", "message": "Token has expired"})
    mock.post(f"{PDS}/xrpc/com.atproto.repo.deleteRecord", json={})
    mock.post(f"{PDS}/xrpc/com.atproto.server.refreshSession", json=_session_json())
    old_refresh = adapter.client.session.refresh_jwt
    adapter.delete_post(RemoteRef(f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"))
    names = [c.request.url.split("/xrpc/")[1].split("?")[0] for c in mock.calls][-3:]
    assert names == ["com.atproto.repo.deleteRecord", "com.atproto.server.refreshSession", "com.atproto.repo.deleteRecord"]
    refresh = next(c for c in mock.calls if "refreshSession" in c.request.url)
    assert refresh.request.headers["Authorization"] == f"Bearer {old_refresh}"  # the refresh token, not the access one


def test_a_refresh_that_fails_without_a_password_stops_the_run(sim, monkeypatch):
    adapter, mock = sim
    adapter._password = None
    mock.post(f"{PDS}/xrpc/com.atproto.repo.deleteRecord", status=400, json={"error": "ExpiredToken", "message": "expired"})
    mock.post(f"{PDS}/xrpc/com.atproto.server.refreshSession", status=400, json={"error": "ExpiredToken", "message": "x"})
    with pytest.raises(RunStopped, match="login"):
        adapter.delete_post(RemoteRef(f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"))


def test_the_main_password_is_refused_and_its_session_revoked(monkeypatch, tmp_path):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle", json={"did": DID})
        mock.get(f"{PDS}/xrpc/com.atproto.server.describeServer", json={})
        mock.post(f"{PDS}/xrpc/com.atproto.server.createSession", json=_session_json(scope="com.atproto.access"))
        revoke = mock.post(f"{PDS}/xrpc/com.atproto.server.deleteSession", json={})
        adapter = BlueskyAdapter(HANDLE, {"pds": PDS, "app_password": "the-main-one"})
        with pytest.raises(RunStopped, match="main Bluesky password") as caught:
            adapter.prepare(interactive=False)
        assert revoke.call_count == 1
        assert "the-main-one" not in caught.value.one_line()
    assert not list(tmp_path.rglob("*.json"))


def test_media_become_image_and_video_embeds_with_aspect_ratio_and_alt(sim, tmp_path):
    adapter, mock = sim
    picture = tmp_path / "p.jpg"
    Image.new("RGB", (40, 30)).save(picture, "JPEG")
    import hashlib

    prepared = PreparedMedia(picture, "image/jpeg", 40, 30, "alt", hashlib.sha256(picture.read_bytes()).hexdigest(), "a.jpg")
    mock.post(f"{PDS}/xrpc/com.atproto.repo.uploadBlob", json={
        "blob": {"$type": "blob", "ref": {"$link": "bafkimage"}, "mimeType": "image/jpeg", "size": picture.stat().st_size}})
    ref = adapter.upload_media(prepared, "p1#0/m0")
    assert ref.id == "bafkimage" and ref.extra["width"] == "40"
    record = adapter._record(PostRequest(
        key="p1#1", text="", media=(ref,), media_alt=("An alt text",), created_at=datetime(2020, 1, 1, tzinfo=UTC),
        reply_to=RemoteRef("at://d/app.bsky.feed.post/a", extra={"cid": "c1"}), root=None, post_id="p1",
        part_index=1, part_count=2))
    assert record["embed"] == {"$type": "app.bsky.embed.images", "images": [{
        "image": {"$type": "blob", "ref": {"$link": "bafkimage"}, "mimeType": "image/jpeg", "size": picture.stat().st_size},
        "alt": "An alt text", "aspectRatio": {"width": 40, "height": 30}}]}
    # A parent without a root (the first part had nothing to post) still makes a valid reply.
    assert record["reply"] == {"root": {"uri": "at://d/app.bsky.feed.post/a", "cid": "c1"},
                               "parent": {"uri": "at://d/app.bsky.feed.post/a", "cid": "c1"}}
    video = tmp_path / "v.mp4"
    video.write_bytes(VIDEO.read_bytes())
    adapter.caps = adapter.caps.refined(video_max_seconds=1.0)
    with pytest.raises(PostFailed, match="2 s long"):
        adapter.upload_media(PreparedMedia(video, "video/mp4", None, None, None,
                                           hashlib.sha256(video.read_bytes()).hexdigest(), "v.mp4"), "p2#0/m0")

"""Bluesky: `pindah migrate` against the real reference PDS on 127.0.0.1 publishes a whole export
faithfully and exactly once: facets, threads, embeds, GPS stripped, a second run or a lost journal
adds nothing, rollback removes only pindah's posts, alt texts and the opt-in gallery arrive.

`pytest -m bluesky` runs these; the setup is described in tests/bluesky_support.py.
"""

from __future__ import annotations

import io
import json
import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pindah.adapters.bluesky_record import derive_rkey, iso_time
from pindah.adapters.toolkit.mp4 import strip_user_data
from tests.bluesky_pds import Account, LocalPds, bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.exportbuilder.instaloader import write_instaloader_dump
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.bluesky_support import (Synth, T0, by_rkey, check_exactly_once, expected_plans, integration, migrate,
                                   no_secrets, pindah, pindah_env, write_export)
from tests.bluesky_support import media_cache_fixture  # noqa: F401 - the session fixture

pytestmark = pytest.mark.bluesky


BLOB_LIMIT = 2_000_000  # app.bsky.embed.images maxSize in the reference PDS's lexicon (pindah's default)
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

"""Tests of the synthetic-export builder itself, independent of pindah's readers.

If the builder drifted from `instagram-formats.md`, every reader test built on it would
prove the wrong thing; these pin the builder to the reference.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from pathlib import Path

import pytest

from tests.exportbuilder import container
from tests.exportbuilder.corpus import big_export_posts, quirky_posts
from tests.exportbuilder.media_json import write_media_json
from tests.exportbuilder.meta_json import VARIANT_DIRS, map_strings, write_meta_json
from tests.exportbuilder.sample import write_sample
from tests.exportbuilder.spec import SynthMedia, SynthPost

T0 = 1_700_000_000


def _posts_file(root: Path, variant: str = "new", n: int = 1) -> Path:
    return root / VARIANT_DIRS[variant] / f"posts_{n}.json"


def _demojibake(value):
    return map_strings(value, lambda s: s.encode("latin-1").decode("utf-8"))


# -- Meta JSON ----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant,folder,info", [
    ("new", "your_instagram_activity/media", "personal_information/personal_information/personal_information.json"),
    ("2024", "your_instagram_activity/content", "personal_information/personal_information/personal_information.json"),
    ("old", "content", "account_information/personal_information.json"),
])
def test_each_variant_writes_valid_ascii_json_in_its_era_folders(tmp_path, variant, folder, info):
    write_meta_json(tmp_path, quirky_posts(), variant)
    written = {p.name for p in (tmp_path / folder).iterdir()}
    assert written == {"posts_1.json", "reels.json", "igtv_videos.json", "stories.json",
                       "archived_posts.json", "profile_photos.json", "other_content.json"}
    for path in [*(tmp_path / folder).iterdir(), tmp_path / info]:
        json.loads(path.read_bytes().decode("ascii"))
    assert list(tmp_path.rglob("no-data.txt"))


def test_only_kinds_present_get_a_metadata_file(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "x")])
    assert [p.name for p in (tmp_path / VARIANT_DIRS["new"]).iterdir()] == ["posts_1.json"]


def test_a_page_with_one_post_is_a_bare_object_only_when_asked(tmp_path):
    write_meta_json(tmp_path / "bare", [SynthPost(T0, "x")])
    write_meta_json(tmp_path / "list", [SynthPost(T0, "x")], bare_object_when_single=False)
    assert isinstance(json.loads(_posts_file(tmp_path / "bare").read_text()), dict)
    assert isinstance(json.loads(_posts_file(tmp_path / "list").read_text()), list)


def test_posts_are_paged_over_numbered_files(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0 + i, f"p{i}") for i in range(5)], posts_per_file=2)
    pages = [json.loads(_posts_file(tmp_path, n=n).read_text()) for n in (1, 2, 3)]
    assert [len(p) for p in pages[:2]] == [2, 2] and isinstance(pages[2], dict)
    assert not _posts_file(tmp_path, n=4).exists()


def test_mojibake_escapes_every_utf8_byte_of_values_and_keys(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "Café ☕ 🌸")], personal_info_labels="nl")
    raw = _posts_file(tmp_path).read_text("ascii")
    assert r"Caf\u00c3\u00a9 \u00e2\u0098\u0095 \u00f0\u009f\u008c\u00b8" in raw
    assert json.loads(raw)["media"][0]["title"] == "CafÃ© â\x98\x95 ð\x9f\x8c¸"
    info = (tmp_path / "personal_information/personal_information/personal_information.json").read_text("ascii")
    assert r"Priv\u00c3\u00a9account" in info  # a key, not only values
    fields = _demojibake(json.loads(info))["profile_user"][0]["string_map_data"]
    assert {"Gebruikersnaam", "Naam", "Privéaccount"} <= set(fields)


def test_without_mojibake_text_is_plain_utf8(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "Café ☕")], mojibake=False)
    assert json.loads(_posts_file(tmp_path).read_text("utf-8"))["media"][0]["title"] == "Café ☕"


def test_text_typed_as_backslash_u_stays_an_escaped_backslash(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "typed \\u00e9")])
    assert r"typed \\u00e9" in _posts_file(tmp_path).read_text()
    assert json.loads(_posts_file(tmp_path).read_text())["media"][0]["title"] == "typed \\u00e9"


def test_single_media_post_keeps_caption_and_time_on_its_item(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "solo")])
    post = json.loads(_posts_file(tmp_path).read_text())
    assert set(post) == {"media"}
    assert (post["media"][0]["title"], post["media"][0]["creation_timestamp"]) == ("solo", T0)


def test_carousel_has_post_caption_and_items_two_seconds_earlier(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "slides", [SynthMedia(), SynthMedia(fmt="mp4")])])
    post = json.loads(_posts_file(tmp_path).read_text())
    assert (post["title"], post["creation_timestamp"]) == ("slides", T0)
    assert [(m["title"], m["creation_timestamp"]) for m in post["media"]] == [("", T0 - 2)] * 2
    assert post["media"][1]["dubbing_info"] == [] and "video_metadata" in post["media"][1]["media_metadata"]


def test_gps_goes_into_the_first_items_exif(tmp_path):
    write_meta_json(tmp_path, [SynthPost(T0, "here", latitude=-6.17, longitude=106.82)])
    exif = json.loads(_posts_file(tmp_path).read_text())["media"][0]["media_metadata"]["photo_metadata"]["exif_data"][0]
    assert (exif["latitude"], exif["longitude"]) == (-6.17, 106.82)


def test_media_files_follow_names_extensions_and_missing_flags(tmp_path):
    post = SynthPost(T0, "", [SynthMedia(fmt="mp4", ext=""), SynthMedia(fmt="webp"), SynthMedia(missing=True),
                              SynthMedia(name="my_own_name")])
    paths = [m["path"] for m in write_meta_json(tmp_path, [post])[0]["media"]]
    assert all(p.startswith("media/posts/202311/") for p in paths)
    assert re.fullmatch(r"AQ[\w-]{76}_\d{17}", paths[0].rsplit("/", 1)[1])
    assert re.fullmatch(r"\d{9}_\d{16}_\d{19}_n_\d{17}\.webp", paths[1].rsplit("/", 1)[1])
    assert paths[3].endswith("/my_own_name.jpg")
    assert [(tmp_path / p).exists() for p in paths] == [True, True, False, True]
    assert (tmp_path / paths[0]).read_bytes()[4:8] == b"ftyp"


def test_media_names_do_not_depend_on_post_order_or_caption(tmp_path):
    posts = quirky_posts()
    first = {(r["taken_at"], r["kind"], i): m["path"] for r in write_meta_json(tmp_path / "a", posts)
             for i, m in enumerate(r["media"])}
    for post in posts:
        post.caption += " (edited)"
    second = {(r["taken_at"], r["kind"], i): m["path"] for r in write_meta_json(tmp_path / "b", posts[::-1])
              for i, m in enumerate(r["media"])}
    same_second = {k for k in first if k[0] == "2022-01-15T12:00:00Z"}
    assert {k: v for k, v in first.items() if k not in same_second} == \
           {k: v for k, v in second.items() if k not in same_second}


def test_expected_rows_follow_input_order(tmp_path):
    posts = quirky_posts()
    rows = write_meta_json(tmp_path, posts)
    assert [(r["taken_at"], r["caption"]) for r in rows] == [(p.iso, p.caption) for p in posts]


def test_flat_kinds_take_exactly_one_media(tmp_path):
    with pytest.raises(ValueError):
        write_meta_json(tmp_path, [SynthPost(T0, "", [SynthMedia(), SynthMedia()], kind="story")])


# -- media.json ---------------------------------------------------------------------------------
def test_media_json_flattens_a_carousel_into_entries_sharing_caption_and_time(tmp_path):
    post = SynthPost(T0, "Mix ☕", [SynthMedia(fmt="mp4"), SynthMedia(), SynthMedia(fmt="mp4"), SynthMedia()],
                     location_name="Pantai Kuta")
    row = write_media_json(tmp_path, [post])[0]
    data = json.loads((tmp_path / "media.json").read_text("utf-8"))
    assert "Mix ☕" in (tmp_path / "media.json").read_text("utf-8")  # real UTF-8, no mojibake
    assert len(data["photos"]) == len(data["videos"]) == 2
    assert {(e["caption"], e["taken_at"], e["location"]) for e in data["photos"] + data["videos"]} == \
           {("Mix ☕", "2023-11-14T22:13:20+00:00", "Pantai Kuta")}
    assert all(re.fullmatch(r"photos/202311/[0-9a-f]{32}\.jpg", e["path"]) for e in data["photos"])
    # Images in original order, then videos in original order.
    assert [m["type"] for m in row["media"]] == ["image", "image", "video", "video"]
    assert [m["path"] for m in row["media"]] == [e["path"] for e in data["photos"] + data["videos"]]


def test_media_json_can_write_naive_times(tmp_path):
    write_media_json(tmp_path, [SynthPost(T0, "x")], naive_times=True)
    assert json.loads((tmp_path / "media.json").read_text())["photos"][0]["taken_at"] == "2023-11-14T22:13:20"


def test_media_json_refuses_kinds_its_era_did_not_have(tmp_path):
    with pytest.raises(ValueError):
        write_media_json(tmp_path, [SynthPost(T0, "", [SynthMedia(fmt="mp4")], kind="reel")])


# -- containers ---------------------------------------------------------------------------------
@pytest.fixture
def export_folder(tmp_path) -> Path:
    write_meta_json(tmp_path / "export", quirky_posts())
    return tmp_path / "export"


def _files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_zip_folder_writes_directory_entries_under_an_optional_wrapper(export_folder, tmp_path):
    with zipfile.ZipFile(container.zip_folder(export_folder, tmp_path / "e.zip", wrapper="instagram-x-2025")) as zf:
        names = zf.namelist()
    assert "instagram-x-2025/" in names and "instagram-x-2025/media/posts/" in names
    files = {n.split("/", 1)[1] for n in names if not n.endswith("/")}
    assert files == _files_under(export_folder)


def test_zip_parts_put_metadata_in_part_one_and_media_elsewhere(export_folder, tmp_path):
    parts = container.zip_parts(export_folder, tmp_path / "parts", 3, wrappers=True)
    contents = []
    for number, part in enumerate(parts, 1):
        with zipfile.ZipFile(part) as zf:
            prefix = f"instagram-rina.wulandari_-2025-10-29_part_{number}/"
            assert all(n.startswith(prefix) for n in zf.namelist())
            contents.append({n[len(prefix):] for n in zf.namelist() if not n.endswith("/")})
    assert "your_instagram_activity/media/posts_1.json" in contents[0]
    assert not any(n.startswith("media/") for n in contents[0])
    assert all(n.startswith("media/") for n in contents[1] | contents[2]) and contents[1] and contents[2]
    assert set().union(*contents) == _files_under(export_folder)


def test_zip_bomb_declares_a_huge_member_from_a_small_file(export_folder, tmp_path):
    path = container.zip_bomb(tmp_path / "bomb.zip", base=export_folder)
    with zipfile.ZipFile(path) as zf:
        assert "your_instagram_activity/media/posts_1.json" in zf.namelist()
        info = zf.infolist()[0]
        with zf.open(info) as fh:
            assert fh.read(4 << 20) == b"\0" * (4 << 20)  # the stream really inflates
    assert path.stat().st_size < 1 << 20
    # pindah's exportfs refuses members over 64 MiB expanding more than 200x.
    assert info.file_size >= 512 << 20 and info.file_size > 200 * info.compress_size


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/x"])
def test_zip_with_member_keeps_the_hostile_name(export_folder, tmp_path, name):
    with zipfile.ZipFile(container.zip_with_member(tmp_path / "slip.zip", name, base=export_folder)) as zf:
        assert name in zf.namelist() and "your_instagram_activity/media/posts_1.json" in zf.namelist()


def test_encrypted_zip_sets_the_flag_in_local_and_central_headers(export_folder, tmp_path):
    good = container.zip_folder(export_folder, tmp_path / "good.zip")
    bad = container.encrypted_zip(good, tmp_path / "locked.zip", "your_instagram_activity/media/posts_1.json")
    with zipfile.ZipFile(bad) as zf:
        flagged = [i.filename for i in zf.infolist() if i.flag_bits & 1]
        info = zf.getinfo(flagged[0])
        with pytest.raises(RuntimeError, match="encrypted"):
            zf.read(info)
    assert flagged == ["your_instagram_activity/media/posts_1.json"]
    assert bad.read_bytes()[info.header_offset + 6] & 1


def test_truncated_and_corrupt_zips_are_unreadable(export_folder, tmp_path):
    good = container.zip_folder(export_folder, tmp_path / "good.zip")
    for broken in (container.truncated_zip(good, tmp_path / "cut.zip"), container.corrupt_zip(tmp_path / "junk.zip")):
        with pytest.raises(zipfile.BadZipFile):
            zipfile.ZipFile(broken)


# -- corpora and the sample ---------------------------------------------------------------------
def test_quirky_corpus_holds_every_listed_quirk():
    posts = quirky_posts()
    text = "\n".join(p.caption for p in posts)
    media = [m for p in posts for m in p.media]
    for needle in ("é", "☕", "🌸", "Â£12", "\\u00e9", "👩\u200d🎨", "🏳️\u200d🌈", "ש", "ل", "#", "@"):
        assert needle in text
    assert max(len(p.caption) for p in posts) == 2200 and "" in {p.caption for p in posts}
    assert any(len(p.media) == 20 and {m.fmt for m in p.media} >= {"jpg", "mp4"} for p in posts)
    times = [p.taken_at for p in posts if p.kind == "post"]
    assert len(times) > len(set(times))  # two posts in one second
    assert any(m.missing for m in media) and any(m.ext == "" and m.is_video for m in media)
    assert {"webp", "heic"} <= {m.fmt for m in media}
    assert {p.kind for p in posts} == {"post", "reel", "igtv", "story", "archived", "profile_photo", "other"}


def test_quirky_corpus_files_all_differ(tmp_path):
    write_meta_json(tmp_path, [p for p in quirky_posts() if not any(m.is_video for m in p.media)])
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert len(digests) == len(set(digests))


def test_big_export_posts_have_the_requested_average_media_count(tmp_path):
    posts = big_export_posts(200, 2.5)
    assert sum(len(p.media) for p in posts) == 500 and min(len(p.media) for p in posts) >= 1
    assert len(write_meta_json(tmp_path, posts[:20])) == 20


@pytest.mark.slow
def test_big_export_of_20000_posts_and_50000_media_writes_in_well_under_a_minute(tmp_path):
    started = time.monotonic()
    rows = write_meta_json(tmp_path, big_export_posts(20_000, 2.5), link_duplicates=True)
    assert sum(len(r["media"]) for r in rows) == 50_000
    assert time.monotonic() - started < 45
    assert sum(1 for _ in (tmp_path / "media" / "posts").rglob("*.jpg")) == 50_000


def test_linked_duplicates_are_the_same_bytes(tmp_path):
    rows = write_meta_json(tmp_path, big_export_posts(3, 2), link_duplicates=True)
    paths = [tmp_path / m["path"] for r in rows for m in r["media"]]
    assert len({p.read_bytes() for p in paths}) == 1 and paths[0].stat().st_nlink == len(paths)


def test_sample_is_deterministic_small_and_matches_the_shipped_metadata(tmp_path):
    write_sample(tmp_path / "a")
    write_sample(tmp_path / "b")
    files = _files_under(tmp_path / "a")
    assert files == _files_under(tmp_path / "b")
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert sum((tmp_path / "a" / f).stat().st_size for f in files) < 1 << 20
    jpegs = [f for f in files if f.endswith(".jpg")]
    assert len(jpegs) >= 10 and all(15_000 < (tmp_path / "a" / f).stat().st_size < 70_000 for f in jpegs)
    shipped = Path(__file__).resolve().parent.parent / "sample" / "instagram-export"
    stale = "sample/ is stale: python -m tests.exportbuilder.sample sample/instagram-export --force"
    if shipped.exists():  # JPEG bytes may vary with the Pillow build; names and JSON may not
        assert _files_under(shipped) == files, stale
        for f in files:
            if f.endswith(".json"):
                assert (shipped / f).read_bytes() == (tmp_path / "a" / f).read_bytes(), stale

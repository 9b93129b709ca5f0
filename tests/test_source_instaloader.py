"""The instaloader folder reader: every node shape, folder and ZIP, quirks, kinds, damage."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from pindah.migrator import exportfs
from pindah.migrator.errors import InputError
from pindah.migrator.exportfs import ExportTree
from pindah.migrator.model import AltOrigin, MediaType, Post, PostKind, make_post_id
from pindah.migrator.sources import read_export
from pindah.migrator.sources.base import ReadContext
from pindah.migrator.sources.instaloader import InstaloaderReader
from tests.exportbuilder.container import zip_folder
from tests.exportbuilder.corpus import long_caption, quirky_posts
from tests.exportbuilder.instaloader import (
    load_structure,
    normalize_post_data,
    owner_of,
    raw_item,
    save_structure,
    stem,
    write_instaloader_dump,
    xz_bomb,
)
from tests.exportbuilder.spec import SynthMedia, SynthPost

PROFILE = "rina.wulandari_"
ALL_KINDS = frozenset(PostKind)
SHAPES = ("graphql", "new", "iphone", "mixed")
USER_ALT = "Dua cangkir kopi di meja kayu, digambar dengan tinta."
GENERATED_ALT = "Photo by Rina on June 12, 2020. Image may contain: 2 people, indoor."
T = 1592000000  # 2020-06-12 22:13:20 UTC


def instaloader_corpus() -> list[SynthPost]:
    """The shared quirky corpus, minus what an instaloader folder cannot hold: Meta-only kinds
    and a second post in the same second (instaloader skips it as already downloaded)."""
    posts, seconds = [], set()
    for post in quirky_posts():
        if post.kind in ("archived", "other") or post.taken_at in seconds:
            continue
        seconds.add(post.taken_at)
        posts.append(post)
    return posts


def row(post: Post) -> dict:
    return {"kind": post.kind.value, "taken_at": post.as_dict()["taken_at"], "caption": post.caption,
            "media": [{"path": m.path, "type": m.type.value, "missing": m.missing} for m in post.media]}


def by_time(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["taken_at"], r["kind"]))


def read_rows(paths: list[Path], kinds: frozenset[PostKind] = ALL_KINDS) -> list[dict]:
    with read_export(paths, kinds) as export:
        assert export.layout == "instaloader"
        assert export.problems == []
        return [row(p) for p in export.posts]


def read_posts(root: Path, kinds: frozenset[PostKind] = ALL_KINDS) -> tuple[list[Post], ReadContext]:
    """Run the reader directly, to see its context (problems, files read, kinds left out)."""
    ctx = ReadContext(kinds=kinds)
    with ExportTree.from_paths([root]) as tree:
        posts = list(InstaloaderReader().read(tree, ctx))
        for media in (m for post in posts for m in post.media):
            _ = media.type, media.missing  # sniff while the tree is open; cached afterwards
    return posts, ctx


def one(posts: list[Post], caption: str) -> Post:
    [found] = [p for p in posts if p.caption == caption]
    return found


# -- the whole corpus, every shape, every container ---------------------------------------------
@pytest.mark.parametrize("compress", [True, False], ids=["json.xz", "json"])
@pytest.mark.parametrize("shape", SHAPES)
def test_reads_every_node_shape_to_exactly_the_expected_rows(tmp_path: Path, shape: str, compress: bool) -> None:
    expected = write_instaloader_dump(tmp_path, PROFILE, instaloader_corpus(), node_shape=shape, compress=compress)
    assert by_time(read_rows([tmp_path / PROFILE])) == by_time(expected)


@pytest.mark.parametrize("given", ["profile folder", "parent folder", "zip", "zip of parent", "one folder deep"])
def test_reads_the_dump_however_it_is_handed_over(tmp_path: Path, given: str) -> None:
    expected = write_instaloader_dump(tmp_path / "dl", PROFILE, instaloader_corpus(), node_shape="mixed")
    prefix = ""
    if given == "profile folder":
        paths = [tmp_path / "dl" / PROFILE]
    elif given == "parent folder":
        paths = [tmp_path / "dl"]
    elif given == "zip":
        paths = [zip_folder(tmp_path / "dl" / PROFILE, tmp_path / "rina.zip")]
    elif given == "zip of parent":
        paths = [zip_folder(tmp_path / "dl", tmp_path / "rina.zip", wrapper="instaloader")]
    else:  # the parent holds other things too, so the profile folder stays one level down
        (tmp_path / "dl" / "notes.txt").write_text("instaloader rina.wulandari_ --geotags\n")
        paths, prefix = [tmp_path / "dl"], f"{PROFILE}/"
    for r in expected:
        for m in r["media"]:
            m["path"] = prefix + m["path"]
    assert by_time(read_rows(paths)) == by_time(expected)


def test_folders_of_two_profiles_are_refused_not_merged(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "a")])
    write_instaloader_dump(tmp_path, "budi.santoso", [SynthPost(T + 1, "b")])
    with pytest.raises(InputError) as err:
        read_export([tmp_path])
    assert "several profiles (budi.santoso, rina.wulandari_)" in err.value.one_line()
    assert "one profile folder at a time" in err.value.one_line()


# -- quirks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_captions_survive_exactly_zwj_emoji_rtl_nfd_and_2200_characters(tmp_path: Path, shape: str) -> None:
    write_instaloader_dump(tmp_path, PROFILE, instaloader_corpus(), node_shape=shape)
    posts, _ = read_posts(tmp_path)
    captions = {p.caption for p in posts}
    for text in ["Studio day 👩‍🎨 with pride 🏳️‍🌈 and 👍🏽", "لوحة جديدة في المرسم", "ציור חדש בסטודיו",
                 long_caption(), "Cafe\u0301 in NFD, kept as typed", "Typed by hand: \\u00e9 is not é",
                 "Line one\nLine two\n\n\nLine five\t(tab)"]:
        assert text in captions


@pytest.mark.parametrize("shape", SHAPES)
def test_a_twenty_item_carousel_keeps_numeric_order_and_pairs_videos_with_covers(tmp_path: Path, shape: str) -> None:
    items = [SynthMedia("mp4") if i % 4 == 3 else SynthMedia(("jpg", "webp", "png")[i % 3], width=8 + i)
             for i in range(20)]
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "Twenty frames", items)], node_shape=shape)
    [post], _ = read_posts(tmp_path)
    base = stem(T)
    assert [m.path for m in post.media] == [
        f"{base}_{i + 1}.{'mp4' if i % 4 == 3 else ('jpg', 'webp', 'png')[i % 3]}" for i in range(20)]
    videos = [m for m in post.media if m.type is MediaType.VIDEO]
    assert len(videos) == 5
    assert all(v.thumbnail_path == v.path.replace(".mp4", ".jpg") for v in videos)
    assert all(m.thumbnail_path is None for m in post.media if m.type is MediaType.IMAGE)


def test_extension_follows_content_type_and_the_bytes_agree(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "new phone", [SynthMedia("heic"), SynthMedia("webp")])])
    with read_export([tmp_path]) as export:
        [post] = export.posts
        assert [(m.path.rsplit(".", 1)[1], m.mime) for m in post.media] == [
            ("heic", "image/heic"), ("webp", "image/webp")]


@pytest.mark.parametrize("shape", SHAPES)
def test_media_the_json_lists_but_the_folder_lacks_are_missing_under_instaloaders_names(
        tmp_path: Path, shape: str) -> None:
    post = SynthPost(T, "half gone", [SynthMedia(), SynthMedia(missing=True), SynthMedia("mp4", missing=True)])
    single = SynthPost(T + 60, "all gone", [SynthMedia("webp", missing=True)])
    write_instaloader_dump(tmp_path, PROFILE, [post, single], node_shape=shape)
    posts, ctx = read_posts(tmp_path)
    assert [(m.path, m.missing, m.type) for m in one(posts, "half gone").media] == [
        (f"{stem(T)}_1.jpg", False, MediaType.IMAGE), (f"{stem(T)}_2.jpg", True, MediaType.IMAGE),
        (f"{stem(T)}_3.mp4", True, MediaType.VIDEO)]
    assert [(m.path, m.missing) for m in one(posts, "all gone").media] == [(f"{stem(T + 60)}.jpg", True)]
    assert ctx.problems == []


def test_a_video_downloaded_without_its_file_keeps_the_cover_and_is_missing(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "reel", [SynthMedia("mp4")], kind="reel")])
    (tmp_path / PROFILE / f"{stem(T)}.mp4").unlink()  # --no-videos keeps only the cover
    [post], _ = read_posts(tmp_path)
    [video] = post.media
    assert (video.path, video.missing, video.type, video.thumbnail_path) == (
        f"{stem(T)}.mp4", True, MediaType.VIDEO, f"{stem(T)}.jpg")


# -- alt text ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_alt_text_is_read_per_item_and_marked_user_or_instagram(tmp_path: Path, shape: str) -> None:
    posts = [
        SynthPost(T, "single, own words", [SynthMedia(alt_text=USER_ALT)]),
        SynthPost(T + 1, "single, generated", [SynthMedia(alt_text=GENERATED_ALT)]),
        SynthPost(T + 2, "carousel", [SynthMedia(alt_text=GENERATED_ALT), SynthMedia(),
                                      SynthMedia(alt_text=USER_ALT), SynthMedia("mp4")]),
        SynthPost(T + 3, "", [SynthMedia(alt_text="May be an image of text that says 'OPEN'")], kind="story"),
    ]
    write_instaloader_dump(tmp_path, PROFILE, posts, node_shape=shape)
    got, _ = read_posts(tmp_path)

    def alts(caption: str) -> list[tuple[str | None, AltOrigin | None]]:
        return [(m.alt_text, m.alt_origin) for m in one(got, caption).media]

    assert alts("single, own words") == [(USER_ALT, AltOrigin.USER)]
    assert alts("single, generated") == [(GENERATED_ALT, AltOrigin.INSTAGRAM)]
    # A GraphQL carousel repeats its first item's alt at post level; it must not spread to the others.
    assert alts("carousel") == [
        (GENERATED_ALT, AltOrigin.INSTAGRAM), (None, None), (USER_ALT, AltOrigin.USER), (None, None)]
    assert alts("") == [("May be an image of text that says 'OPEN'", AltOrigin.INSTAGRAM)]


# -- location -------------------------------------------------------------------------------------
def test_location_comes_from_the_json_with_coordinates(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "at Monas", location_name="Monumen Nasional",
                                                         latitude=-6.175392, longitude=106.827153)])
    (tmp_path / PROFILE / f"{stem(T)}_location.txt").unlink()
    [post], _ = read_posts(tmp_path)
    assert post.location is not None
    assert post.location.as_dict() == {"name": "Monumen Nasional", "latitude": -6.175392, "longitude": 106.827153}


@pytest.mark.parametrize("coordinates", [True, False])
def test_location_falls_back_to_the_geotags_file(tmp_path: Path, coordinates: bool) -> None:
    post = SynthPost(T, "at Monas", location_name="Monumen Nasional",
                     latitude=-6.175392 if coordinates else None, longitude=106.827153 if coordinates else None)
    write_instaloader_dump(tmp_path, PROFILE, [post], save_metadata=False)
    [got], _ = read_posts(tmp_path)
    assert got.location is not None
    assert got.location.as_dict() == {"name": "Monumen Nasional", "latitude": -6.175392 if coordinates else None,
                                      "longitude": 106.827153 if coordinates else None}


# -- kinds ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_kinds_come_from_node_type_and_product_type(tmp_path: Path, shape: str) -> None:
    posts = [SynthPost(T, "feed video", [SynthMedia("mp4")]),
             SynthPost(T + 1, "reel", [SynthMedia("mp4")], kind="reel"),
             SynthPost(T + 2, "igtv", [SynthMedia("mp4")], kind="igtv"), SynthPost(T + 3, "story", kind="story"),
             SynthPost(T + 4, kind="profile_photo"), SynthPost(T + 5, "photo")]
    write_instaloader_dump(tmp_path, PROFILE, posts, node_shape=shape)
    got, _ = read_posts(tmp_path)
    assert [(p.caption, p.kind) for p in got] == [
        ("feed video", PostKind.POST), ("reel", PostKind.REEL), ("igtv", PostKind.REEL), ("story", PostKind.STORY),
        ("", PostKind.PROFILE_PHOTO), ("photo", PostKind.POST)]


def test_only_the_asked_kinds_are_read_and_the_rest_is_reported(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, instaloader_corpus())
    with read_export([tmp_path]) as export:
        assert {p.kind for p in export.posts} == {PostKind.POST}
        assert set(export.not_included) == {PostKind.REEL, PostKind.STORY, PostKind.PROFILE_PHOTO}
        assert export.not_included[PostKind.PROFILE_PHOTO] == [
            f"{stem(1514764801)}_profile_pic.jpg", f"{stem(1704067201)}_profile_pic.jpg"]


def test_highlights_comments_resume_files_and_old_captions_are_not_posts(tmp_path: Path) -> None:
    posts = [SynthPost(T, "the only post")]
    write_instaloader_dump(tmp_path, PROFILE, posts)
    folder = tmp_path / PROFILE
    assert (folder / "Sketchbook 🖍").is_dir() and list(folder.glob("iterator_*.json.xz"))
    assert (folder / f"{stem(T)}_comments.json").is_file() and (folder / f"{stem(T)}_old_01.txt").is_file()
    got, ctx = read_posts(tmp_path)
    assert [p.caption for p in got] == ["the only post"]
    assert ctx.problems == [] and ctx.files_read == [f"{stem(T)}.json.xz"]


def test_an_undated_profile_picture_is_reported_not_guessed(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "post")])
    (tmp_path / PROFILE / "_UTC_profile_pic.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    got, ctx = read_posts(tmp_path)
    assert [p.kind for p in got] == [PostKind.POST]
    assert [str(p) for p in ctx.problems] == [
        "_UTC_profile_pic.jpg: profile picture without a date in its name (Instagram sent none); skipped"]


# -- what the JSON says, and when there is none -----------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_post_ids_come_from_the_shortcode_whatever_the_shape(tmp_path: Path, shape: str) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "hello", shortcode="CBSiAJmB-tI")], node_shape=shape)
    [post], _ = read_posts(tmp_path)
    assert post.id == make_post_id(["CBSiAJmB-tI"])


def test_a_dump_without_metadata_json_still_lists_its_posts(tmp_path: Path) -> None:
    expected = write_instaloader_dump(tmp_path, PROFILE, instaloader_corpus(), save_metadata=False)
    with read_export([tmp_path], ALL_KINDS) as export:
        assert [str(p) for p in export.problems] == [
            "2022-03-03_03-03-03_UTC.txt: a caption file without any picture or video; skipped"]
        assert by_time([row(p) for p in export.posts]) == by_time(expected)
        first = export.posts[1]
        assert first.id == make_post_id([stem(quirky_posts()[0].taken_at)])


def test_caption_prefers_the_graphql_edge_then_caption_text_then_the_txt_file(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "from the edge")], node_shape="new")
    meta = tmp_path / PROFILE / f"{stem(T)}.json.xz"
    data = load_structure(meta)
    data["node"]["caption"]["text"] = "from caption.text"
    save_structure(meta, data)
    assert read_posts(tmp_path)[0][0].caption == "from the edge"
    del data["node"]["edge_media_to_caption"]
    save_structure(meta, data)
    assert read_posts(tmp_path)[0][0].caption == "from caption.text"
    del data["node"]["caption"]
    save_structure(meta, data)
    (tmp_path / PROFILE / f"{stem(T)}.txt").write_text("from the txt file\n", encoding="utf-8")
    assert read_posts(tmp_path)[0][0].caption == "from the txt file"


def test_a_post_without_caption_in_the_json_does_not_borrow_a_txt_file(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "")], node_shape="new")
    # e.g. `--post-metadata-txt "{likes} likes"`: the .txt is not a caption
    (tmp_path / PROFILE / f"{stem(T)}.txt").write_text("42 likes\n", encoding="utf-8")
    assert read_posts(tmp_path)[0][0].caption == ""


def test_time_falls_back_to_the_file_name_when_the_json_has_none(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "timeless")])
    meta = tmp_path / PROFILE / f"{stem(T)}.json.xz"
    data = load_structure(meta)
    del data["node"]["taken_at_timestamp"]
    save_structure(meta, data)
    [post], _ = read_posts(tmp_path)
    assert post.as_dict()["taken_at"] == "2020-06-12T22:13:20Z"


def test_tagged_users_are_read_from_the_graphql_edge(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "with @budi.santoso")])
    [post], _ = read_posts(tmp_path)
    assert post.tagged_users == ("budi.santoso",)


# -- damage --------------------------------------------------------------------------------------------
def _damaged(tmp_path: Path, damage) -> tuple[list[Post], ReadContext, str]:
    posts = [SynthPost(T, "kept from its files", [SynthMedia(), SynthMedia("mp4")]), SynthPost(T + 60, "untouched")]
    write_instaloader_dump(tmp_path, PROFILE, posts)
    meta = tmp_path / PROFILE / f"{stem(T)}.json.xz"
    damage(meta)
    got, ctx = read_posts(tmp_path)
    return got, ctx, meta.name


@pytest.mark.parametrize("damage, why", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "is cut off (truncated)"),
    (lambda p: p.write_bytes(b"<html>not xz</html>"), "is not a readable .xz file"),
    (lambda p: p.write_bytes(lzma.compress(b'{"node": {"shortcode": ', check=lzma.CHECK_NONE)), "is not valid JSON"),
    (lambda p: p.write_bytes(lzma.compress(b"\xff\xfe not utf-8")), "is not UTF-8 text"),
    (lambda p: p.write_bytes(lzma.compress(b'["a list"]')), "is not an instaloader metadata file"),
], ids=["truncated", "not-xz", "bad-json", "not-utf8", "not-instaloader"])
def test_a_broken_metadata_file_costs_only_its_own_details(tmp_path: Path, damage, why: str) -> None:
    got, ctx, name = _damaged(tmp_path, damage)
    assert [p.caption for p in got] == ["kept from its files", "untouched"]
    kept = got[0]
    assert [(m.path, m.type, m.thumbnail_path) for m in kept.media] == [
        (f"{stem(T)}_1.jpg", MediaType.IMAGE, None), (f"{stem(T)}_2.mp4", MediaType.VIDEO, f"{stem(T)}_2.jpg")]
    assert kept.id == make_post_id([stem(T)])
    [problem] = ctx.problems
    assert problem.where == name and why in problem.what
    assert problem.what.endswith("the post is listed from its files alone")


def test_an_xz_bomb_is_refused_before_it_fills_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exportfs, "MAX_POST_METADATA_BYTES", 4 << 20)  # same code path, a bomb that builds fast
    got, ctx, name = _damaged(tmp_path, lambda p: xz_bomb(p, 64 << 20))
    assert (tmp_path / PROFILE / name).stat().st_size < 64 << 10
    assert [p.caption for p in got] == ["kept from its files", "untouched"]
    [problem] = ctx.problems
    assert problem.where == name and "would expand to more than 4 MB" in problem.what


@pytest.mark.slow
def test_an_xz_bomb_past_the_real_limit_is_a_problem_not_memory_exhaustion(tmp_path: Path) -> None:
    got, ctx, name = _damaged(tmp_path, lambda p: xz_bomb(p, exportfs.MAX_POST_METADATA_BYTES + (1 << 20)))
    assert [p.caption for p in got] == ["kept from its files", "untouched"]
    assert "would expand to more than 32 MB" in ctx.problems[0].what


def test_broken_metadata_with_no_files_left_is_a_problem_not_a_post(tmp_path: Path) -> None:
    posts = [SynthPost(T, "gone", [SynthMedia(missing=True)]), SynthPost(T + 60, "ok")]
    write_instaloader_dump(tmp_path, PROFILE, posts)
    (tmp_path / PROFILE / f"{stem(T)}.json.xz").write_bytes(b"garbage")
    got, ctx = read_posts(tmp_path)
    assert [p.caption for p in got] == ["ok"]
    assert [p.where for p in ctx.problems] == [f"{stem(T)}.json.xz", f"{stem(T)}.json.xz"]
    assert "skipped" in ctx.problems[1].what


def test_an_uncompressed_json_rescues_a_broken_xz_of_the_same_post(tmp_path: Path) -> None:
    write_instaloader_dump(tmp_path, PROFILE, [SynthPost(T, "twice saved")], compress=False)
    (tmp_path / PROFILE / f"{stem(T)}.json.xz").write_bytes(b"garbage")
    [post], ctx = read_posts(tmp_path)
    assert post.caption == "twice saved"
    assert [p.where for p in ctx.problems] == [f"{stem(T)}.json.xz"]


# -- the builder is what instaloader writes ---------------------------------------------------------------
def test_builder_new_shape_matches_instaloaders_own_normaliser() -> None:
    instaloader = pytest.importorskip("instaloader")
    normalise = getattr(instaloader.Post, "_normalize_post_data", None)
    if normalise is None:
        pytest.skip("this instaloader predates the normalised node shape")
    for number, post in enumerate(instaloader_corpus()):
        if post.kind in ("post", "reel", "igtv"):
            raw = raw_item(post, number, owner_of(PROFILE))
            assert normalize_post_data(raw) == normalise(raw)


@pytest.mark.parametrize("shape", SHAPES)
def test_builder_files_load_offline_in_instaloader_itself(tmp_path: Path, shape: str) -> None:
    instaloader = pytest.importorskip("instaloader")
    posts = [p for p in instaloader_corpus() if p.kind != "profile_photo"]
    write_instaloader_dump(tmp_path, PROFILE, posts, node_shape=shape)
    context = instaloader.InstaloaderContext(sleep=False, quiet=True, max_connection_attempts=1)
    for post in posts:
        item = instaloader.load_structure_from_file(context, str(tmp_path / PROFILE / f"{stem(post.taken_at)}.json.xz"))
        assert isinstance(item, instaloader.StoryItem if post.kind == "story" else instaloader.Post)
        if post.kind != "story":
            assert item.mediacount == len(post.media)
            assert item.get_is_videos() == [m.is_video for m in post.media]
            assert (item.caption or "") == instaloader.structures._optional_normalize(post.caption)

"""Writes instaloader profile folders (`instagram-formats.md` §5) for tests and samples.

`write_instaloader_dump(root, profile, posts)` writes `root/<profile>/` the way instaloader
4.x does with its default patterns: the `id` file, `<profile>_<id>.json.xz`, one
`<date>_UTC` file group per post (metadata JSON in the `{"node", "instaloader"}` envelope,
`.txt` caption, media named `<stem>.jpg`, `<stem>_1.webp` ..., a video next to its `.jpg`
cover), `_location.txt` files, the profile picture, and the clutter a real folder collects
(an `iterator_*.json.xz` resume file, a `_comments.json`, an `_old_01.txt` caption and a
highlights subfolder), which readers must ignore.

The metadata comes in the node shapes instaloader has written over the years:
`graphql` (up to 4.15.1), `new` (4.15.5+: the raw web item plus the GraphQL-era keys),
`iphone` (a logged-in 4.9+ run: caption as a plain string, `date`, the raw item under
`iphone_struct`), or `mixed` (the three in turn, as in a folder refreshed over the years).

instaloader names files by the HTTP Content-Type, so `SynthMedia.ext` does not apply here: a
webp is always `.webp`. A missing file is reported under the name instaloader would have
given it (`.jpg`, or `.mp4` for a video). Paths in the returned rows are relative to the
profile folder, which is the export root once a reader peels the `root/` wrapper off.
"""

from __future__ import annotations

import base64
import json
import lzma
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .media import image_bytes, media_bytes
from .spec import SynthMedia, SynthPost, expected_row

NODE_SHAPES = ("graphql", "new", "iphone")
SHAPE_VERSION = {"graphql": "4.10", "new": "4.16", "iphone": "4.13"}
KINDS = {"post", "reel", "igtv", "story", "profile_photo"}  # Meta-only kinds cannot occur
PRODUCT_TYPE = {"reel": "clips", "igtv": "igtv"}
PROFILE_ID = "4238058567"
CDN = "https://scontent-sin6-1.cdninstagram.com/v/t51.2885-15"


def stem(taken_at: int) -> str:
    """instaloader's default `{date_utc}_UTC` file name stem."""
    return datetime.fromtimestamp(taken_at, tz=timezone.utc).strftime("%Y-%m-%d_%H-%M-%S") + "_UTC"


def shortcode_of(media_id: int) -> str:
    """Instagram's shortcode for a media id (as instaloader's `Post.mediaid_to_shortcode`)."""
    return base64.b64encode(media_id.to_bytes(9, "big"), b"-_").decode().replace("A", " ").lstrip().replace(" ", "A")


def save_structure(path: Path, data: dict[str, Any]) -> None:
    """Write JSON as instaloader's `save_structure_to_file`: compact xz (no checksum) or
    indented, key-sorted `.json`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".xz"):
        with lzma.open(path, "wt", check=lzma.CHECK_NONE, encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
    else:
        path.write_text(json.dumps(data, indent=4, sort_keys=True), encoding="utf-8")


def load_structure(path: Path) -> dict[str, Any]:
    opener = lzma.open if path.name.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        return json.load(fh)


def xz_bomb(path: Path, expanded: int) -> Path:
    """A small, valid .xz file that expands to `expanded` bytes of zeros."""
    compressor = lzma.LZMACompressor(check=lzma.CHECK_NONE, preset=0)
    zeros = b"\0" * (1 << 20)
    with open(path, "wb") as fh:
        for _ in range(expanded // len(zeros)):
            fh.write(compressor.compress(zeros))
        fh.write(compressor.compress(b"\0" * (expanded % len(zeros))))
        fh.write(compressor.flush())
    return path


def write_instaloader_dump(root: Path, profile: str, posts: list[SynthPost], *, compress: bool = True,
                           node_shape: str = "graphql", save_metadata: bool = True,
                           extras: bool = True) -> list[dict]:
    """Write `root/<profile>/`; return each post's expected row, in input order.

    `save_metadata=False` is `--no-metadata-json`: media and captions only, so the rows say
    what is left to know (every post is a feed post, missing media vanish, a post with no file
    left has no row, the caption is the `.txt` one: NFC-normalised and stripped, as instaloader
    writes it).
    """
    if node_shape not in (*NODE_SHAPES, "mixed"):
        raise ValueError(f"unknown node shape {node_shape!r}")
    folder = Path(root) / profile
    folder.mkdir(parents=True, exist_ok=True)
    owner = owner_of(profile)
    seen: set[str] = set()
    rows: list[dict] = []
    for number, post in enumerate(posts):
        if post.kind not in KINDS:
            raise ValueError(f"instaloader has no {post.kind!r} posts")
        base = stem(post.taken_at)
        if base in seen:
            raise ValueError(f"two items at {base}: instaloader keeps only the first of a second")
        seen.add(base)
        if post.kind == "profile_photo":
            picture = post.media[0]
            (folder / f"{base}_profile_pic.jpg").write_bytes(image_bytes("jpg", picture.width, picture.height))
            rows.append(expected_row(post, [f"{base}_profile_pic.jpg"]))
            continue
        shape = NODE_SHAPES[number % 3] if node_shape == "mixed" else node_shape
        paths = _write_media(folder, base, post)
        _write_texts(folder, base, post)
        if save_metadata:
            node = _node(post, number, shape, owner)
            node_type = "StoryItem" if post.kind == "story" else "Post"
            save_structure(folder / f"{base}.json{'.xz' if compress else ''}",
                           {"node": node, "instaloader": {"version": SHAPE_VERSION[shape], "node_type": node_type}})
            rows.append(expected_row(post, paths))
        else:
            kept = [(p, m) for p, m in zip(paths, post.media) if not m.missing]
            if not kept:
                continue  # only a caption file is left: nothing a reader can list
            caption = unicodedata.normalize("NFC", post.caption).strip() if post.kind != "story" else ""
            row = expected_row(post, [p for p, _ in kept], media=[m for _, m in kept], caption=caption)
            rows.append({**row, "kind": "post"})
    if extras:
        _write_extras(folder, profile, posts, compress, owner)
    return rows


# -- files ----------------------------------------------------------------------------------
def _write_media(folder: Path, base: str, post: SynthPost) -> list[str]:
    """Media files; the export-relative path of each item (the video, not its cover)."""
    paths = []
    for index, media in enumerate(post.media, start=1):
        name = f"{base}_{index}" if len(post.media) > 1 else base
        if media.is_video:
            if not media.missing:
                (folder / f"{name}.jpg").write_bytes(image_bytes("jpg", media.width, media.height))
                (folder / f"{name}.mp4").write_bytes(media_bytes("mp4"))
            paths.append(f"{name}.mp4")
        elif media.missing:
            paths.append(f"{name}.jpg")
        else:
            paths.append(f"{name}.{media.fmt}")
            (folder / paths[-1]).write_bytes(media_bytes(media.fmt, media.width, media.height))
    return paths


def _write_texts(folder: Path, base: str, post: SynthPost) -> None:
    # save_caption writes the NFC-normalised caption, stripped, plus "\n"; stories get none.
    text = unicodedata.normalize("NFC", post.caption).strip()
    if text and post.kind != "story":
        (folder / f"{base}.txt").write_bytes((text + "\n").encode("utf-8"))
    if post.location_name:
        body = post.location_name
        if post.latitude is not None and post.longitude is not None:
            body += (f"\nhttps://maps.google.com/maps?q={post.latitude},{post.longitude}"
                     f"&ll={post.latitude},{post.longitude}\n")
        (folder / f"{base}_location.txt").write_bytes(body.encode("utf-8"))


def _write_extras(folder: Path, profile: str, posts: list[SynthPost], compress: bool, owner: dict) -> None:
    (folder / "id").write_text(PROFILE_ID + "\n")
    profile_node = {**owner, "biography": "Illustrator · ilustrator 🎨", "followed_by_viewer": False,
                    "profile_pic_url_hd": owner["profile_pic_url"], "edge_followed_by": {"count": 1234},
                    "edge_follow": {"count": 321}, "external_url": None, "is_business_account": False,
                    "blocked_by_viewer": False, "has_blocked_viewer": False, "is_verified": False}
    save_structure(folder / f"{profile}_{PROFILE_ID}.json{'.xz' if compress else ''}",
                   {"node": profile_node, "instaloader": {"version": "4.16", "node_type": "Profile"}})
    # An interrupted run's resume file is always .json.xz, whatever --no-compress-json says.
    save_structure(folder / "iterator_Tm9EYXRhQ2h.json.xz", {
        "node": {"query_hash": None, "query_variables": {"id": PROFILE_ID}, "query_referer": None,
                 "context_username": None, "total_index": 3, "best_before": 1900000000.0,
                 "remaining_data": {"edges": [], "page_info": {"has_next_page": True, "end_cursor": "QVFE"}},
                 "first_node": None, "doc_id": "28904005159232689"},
        "instaloader": {"version": "4.16", "node_type": "FrozenNodeIterator"}})
    captioned = next((p for p in posts if p.caption.strip() and p.kind not in ("story", "profile_photo")), None)
    if captioned is not None:
        base = stem(captioned.taken_at)
        comments = [{"id": 17900000000000001, "created_at": captioned.taken_at + 60, "text": "Keren banget! 🔥",
                     "owner": {"id": "99", "username": "budi.santoso"}, "likes_count": 2, "answers": []}]
        (folder / f"{base}_comments.json").write_text(json.dumps(comments, indent=4))
        (folder / f"{base}_old_01.txt").write_text("An earlier wording of the caption\n", encoding="utf-8")
    # --highlights: one subfolder per highlight, named like the profile folder's own files.
    highlight = folder / "Sketchbook 🖍"
    highlight.mkdir(exist_ok=True)
    (highlight / "2020-02-02_02-02-02_UTC.jpg").write_bytes(image_bytes("jpg", 9, 9))
    (highlight / "2020-02-02_02-02-02_UTC_cover.jpg").write_bytes(image_bytes("jpg", 9, 9))
    save_structure(highlight / "2020-02-02_02-02-02_UTC.json.xz", {
        "node": _story_node(SynthPost(1580608922, kind="story"), 9, "graphql", owner),
        "instaloader": {"version": "4.16", "node_type": "StoryItem"}})


# -- metadata nodes -----------------------------------------------------------------------------
def owner_of(profile: str) -> dict[str, Any]:
    """The owner fields Instagram repeats in every media item."""
    return {"id": PROFILE_ID, "username": profile, "full_name": "Rina Wulandari ✨", "is_private": False,
            "profile_pic_url": f"{CDN}/{PROFILE_ID}_profile_n.jpg"}


def _media_id(post: SynthPost, number: int) -> int:
    # Instagram ids grow with time; the list position keeps same-minute posts apart.
    return 1_500_000_000_000_000_000 + post.taken_at * 1_000_000 + number * 100


def _url(media_id: int, ext: str) -> str:
    return (f"{CDN}/{media_id}_1234567890123456_n.{ext}"
            "?stp=dst-jpg_e35&_nc_ht=scontent-sin6-1.cdninstagram.com&oe=67AD72B9")


def _node(post: SynthPost, number: int, shape: str, owner: dict) -> dict[str, Any]:
    if post.kind == "story":
        return _story_node(post, number, shape, owner)
    raw = raw_item(post, number, owner)
    if shape == "graphql":
        return _graphql_node(post, raw, owner)
    if shape == "new":
        return normalize_post_data(raw)
    return _iphone_node(raw, owner)


def _location(post: SynthPost) -> dict[str, Any] | None:
    if not post.location_name:
        return None
    return {"id": "213131048", "pk": 213131048, "name": post.location_name, "slug": "monumen-nasional",
            "has_public_page": True, "lat": post.latitude, "lng": post.longitude}


def _candidates(media_id: int, media: SynthMedia) -> dict[str, Any]:
    return {"candidates": [{"url": _url(media_id, "jpg"), "width": media.width, "height": media.height}]}


def raw_item(post: SynthPost, number: int, owner: dict) -> dict[str, Any]:
    """Instagram's web API media item (what 4.15.5+ fetches and normalises); `number` is the
    post's position in its list, which keeps ids of posts made in one second apart."""
    pk = _media_id(post, number)
    code = post.shortcode or shortcode_of(pk)
    first = post.media[0]
    carousel = len(post.media) > 1
    item: dict[str, Any] = {
        "pk": str(pk), "id": f"{pk}_{PROFILE_ID}", "code": code, "taken_at": post.taken_at,
        "media_type": 8 if carousel else (2 if first.is_video else 1),
        "product_type": PRODUCT_TYPE.get(post.kind, "carousel_container" if carousel else "feed"),
        "caption": ({"pk": str(pk + 1), "text": post.caption, "created_at": post.taken_at}
                    if post.caption else None),
        "accessibility_caption": None if carousel else first.alt_text,
        "original_width": first.width, "original_height": first.height,
        "image_versions2": _candidates(pk, first), "like_count": 42, "comment_count": 1,
        "has_liked": False, "usertags": None, "location": _location(post),
        "user": {"pk": owner["id"], "username": owner["username"], "full_name": owner["full_name"],
                 "is_private": False, "profile_pic_url": owner["profile_pic_url"]},
    }
    if not carousel and first.is_video:
        item.update(video_versions=[{"type": 101, "url": _url(pk, "mp4"), "width": 720, "height": 1280}],
                    video_duration=12.5, view_count=321)
    if carousel:
        item["carousel_media_count"] = len(post.media)
        item["carousel_media"] = []
        for index, media in enumerate(post.media, start=1):
            child: dict[str, Any] = {
                "pk": str(pk + index), "id": f"{pk + index}_{PROFILE_ID}", "media_type": 2 if media.is_video else 1,
                "original_width": media.width, "original_height": media.height,
                "image_versions2": _candidates(pk + index, media), "carousel_parent_id": f"{pk}_{PROFILE_ID}",
                "accessibility_caption": media.alt_text,
            }
            if media.is_video:
                child["video_versions"] = [{"type": 101, "url": _url(pk + index, "mp4"), "width": 720, "height": 1280}]
            item["carousel_media"].append(child)
    return item


def _graphql_node(post: SynthPost, raw: dict[str, Any], owner: dict) -> dict[str, Any]:
    """The GraphQL `shortcode_media` node instaloader saved until 4.15.1."""
    first = post.media[0]
    carousel = len(post.media) > 1
    node: dict[str, Any] = {
        "__typename": "GraphSidecar" if carousel else ("GraphVideo" if first.is_video else "GraphImage"),
        "id": raw["pk"], "shortcode": raw["code"],
        "dimensions": {"height": first.height, "width": first.width},
        "display_url": raw["image_versions2"]["candidates"][0]["url"],
        "is_video": not carousel and first.is_video,
        "edge_media_to_caption": {"edges": [{"node": {"text": post.caption}}] if post.caption else []},
        "caption_is_edited": False, "comments_disabled": False, "taken_at_timestamp": post.taken_at,
        "edge_media_preview_like": {"count": 42, "edges": []}, "edge_media_to_comment": {"count": 1},
        "edge_media_to_tagged_user": {"edges": [{"node": {"user": {"username": "budi.santoso"}}}]
                                      if "@budi.santoso" in post.caption else []},
        "location": _location(post), "owner": {**owner, "edge_followed_by": {"count": 1234}},
    }
    # A GraphQL carousel repeats its first item's alt text at the post level.
    if first.alt_text is not None:
        node["accessibility_caption"] = first.alt_text
    if not carousel and first.is_video:
        node.update(video_url=raw["video_versions"][0]["url"], video_view_count=321, product_type=raw["product_type"])
    if carousel:
        edges = []
        for media, child in zip(post.media, raw["carousel_media"]):
            entry: dict[str, Any] = {
                "__typename": "GraphVideo" if media.is_video else "GraphImage", "id": child["pk"],
                "shortcode": shortcode_of(int(child["pk"])),
                "dimensions": {"height": media.height, "width": media.width},
                "display_url": child["image_versions2"]["candidates"][0]["url"], "is_video": media.is_video,
            }
            if media.is_video:
                entry["video_url"] = child["video_versions"][0]["url"]
            if media.alt_text is not None:
                entry["accessibility_caption"] = media.alt_text
            edges.append({"node": entry})
        node["edge_sidecar_to_children"] = {"edges": edges}
    return node


def normalize_post_data(media: dict[str, Any]) -> dict[str, Any]:
    """The node 4.15.5+ saves: the raw item plus the GraphQL-era keys (§5.2; mirrors
    instaloader's `Post._normalize_post_data`, which a test compares it with)."""
    types = {1: "GraphImage", 2: "GraphVideo", 8: "GraphSidecar"}
    node = dict(media)
    node.update(shortcode=media["code"], id=media["pk"], __typename=types[media["media_type"]],
                is_video=media["media_type"] == 2, taken_at_timestamp=media["taken_at"])
    node["owner"] = {"id": media["user"]["pk"], "username": media["user"].get("username", ""),
                     "full_name": media["user"].get("full_name", "")}
    candidates = (media.get("image_versions2") or {}).get("candidates") or []
    node["display_url"] = candidates[0]["url"] if candidates else None
    videos = media.get("video_versions") or []
    node["video_url"] = videos[0]["url"] if videos else None
    node["video_duration"] = media.get("video_duration")
    node["video_view_count"] = media.get("view_count")
    node["video_play_count"] = media.get("play_count")
    text = media["caption"].get("text") if isinstance(media.get("caption"), dict) else None
    node["edge_media_to_caption"] = {"edges": [{"node": {"text": text}}]} if text is not None else {"edges": []}
    node["edge_media_preview_like"] = {"count": media.get("like_count") or 0}
    node["edge_media_to_parent_comment"] = {"count": media.get("comment_count") or 0, "edges": []}
    if media.get("has_liked") is not None:
        node["viewer_has_liked"] = media["has_liked"]
    children = []
    for item in media.get("carousel_media") or []:
        child: dict[str, Any] = {"shortcode": item.get("code", ""),
                                 "__typename": types.get(item.get("media_type", 1), "GraphImage"),
                                 "is_video": item.get("media_type", 1) == 2}
        item_candidates = (item.get("image_versions2") or {}).get("candidates") or []
        child["display_url"] = item_candidates[0]["url"] if item_candidates else ""
        item_videos = item.get("video_versions") or []
        child["video_url"] = item_videos[0]["url"] if item_videos else None
        if item.get("accessibility_caption") is not None:
            child["accessibility_caption"] = item["accessibility_caption"]
        children.append({"node": child})
    if children:
        node["edge_sidecar_to_children"] = {"edges": children}
    return node


def _iphone_node(raw: dict[str, Any], owner: dict) -> dict[str, Any]:
    """What a logged-in run saves (`Post.from_iphone_struct` plus the owner Profile)."""
    types = {1: "GraphImage", 2: "GraphVideo", 8: "GraphSidecar"}
    typename = types[raw["media_type"]]
    node: dict[str, Any] = {
        "shortcode": raw["code"], "id": raw["pk"], "__typename": typename, "is_video": typename == "GraphVideo",
        "date": raw["taken_at"], "caption": raw["caption"].get("text") if raw["caption"] is not None else None,
        "title": None, "viewer_has_liked": False, "edge_media_preview_like": {"count": raw["like_count"]},
        "accessibility_caption": raw.get("accessibility_caption"), "comments": raw["comment_count"],
        "iphone_struct": raw, "display_url": raw["image_versions2"]["candidates"][0]["url"],
    }
    if raw.get("video_versions"):
        node.update(video_url=raw["video_versions"][-1]["url"], video_duration=raw["video_duration"],
                    video_view_count=raw["view_count"])
    if raw.get("carousel_media"):
        # from_iphone_struct keeps only display_url/is_video/video_url per item: no alt text here.
        node["edge_sidecar_to_children"] = {"edges": [{"node": {
            "display_url": c["image_versions2"]["candidates"][0]["url"], "is_video": c["media_type"] == 2,
            **({"video_url": c["video_versions"][0]["url"]} if c.get("video_versions") else {})}}
            for c in raw["carousel_media"]]}
    node["owner"] = {"id": owner["id"], "username": owner["username"], "is_private": False,
                     "full_name": owner["full_name"], "profile_pic_url_hd": owner["profile_pic_url"],
                     "iphone_struct": raw["user"]}
    return node


def _story_node(post: SynthPost, number: int, shape: str, owner: dict) -> dict[str, Any]:
    """A StoryItem: GraphQL story nodes in every era; a logged-in run adds `iphone_struct`."""
    if len(post.media) != 1:
        raise ValueError("a story is one picture or video")
    media = post.media[0]
    pk = _media_id(post, number)
    node: dict[str, Any] = {
        "__typename": "GraphStoryVideo" if media.is_video else "GraphStoryImage", "id": str(pk),
        "taken_at_timestamp": post.taken_at, "expiring_at_timestamp": post.taken_at + 86400,
        "display_url": _url(pk, "jpg"),
        "display_resources": [{"src": _url(pk, "jpg"), "config_width": media.width, "config_height": media.height}],
        "is_video": media.is_video, "owner": {"id": owner["id"], "username": owner["username"]},
        "audience": "MediaAudience.DEFAULT",
    }
    if media.is_video:
        node.update(video_duration=5.0, video_resources=[{"src": _url(pk, "mp4"), "config_width": 720,
                                                          "config_height": 1280, "profile": "MAIN"}])
    if media.alt_text is not None:
        node["accessibility_caption"] = media.alt_text
    if post.caption:
        node["edge_media_to_caption"] = {"edges": [{"node": {"text": post.caption}}]}
    if shape == "iphone":
        node["iphone_struct"] = {"pk": pk, "taken_at": post.taken_at, "media_type": 2 if media.is_video else 1,
                                 "image_versions2": _candidates(pk, media)}
    return node

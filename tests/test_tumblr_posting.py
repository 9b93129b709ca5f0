"""The Tumblr adapter against the simulated Tumblr API over loopback HTTP (tests/tumblr_sim.py):
one NPF post per Instagram post with its files in one multipart request, the caption back
exactly, exactly once through the key tag, deletions read back, and Tumblr's refusals as the
engine's errors (daily limits stop the run with the time it continues; 429 waits for the reset).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from pindah.adapters.contract import PindahError, PostFailed, PostRequest, PreparedMedia, RunStopped, TransientError
from pindah.adapters.tumblr import TumblrAdapter, blog_identifier
from pindah.adapters.tumblr_npf import content_blocks, key_tag, tags_for
from tests.tumblr_sim import BLOG, TOKEN, Limits, TumblrHttp

TAKEN = datetime(2019, 3, 2, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_TARGETS_TUMBLR_TOKEN_STORE", "file")
    monkeypatch.setenv("PINDAH_TUMBLR_TOKEN", TOKEN)


def adapter_on(server: TumblrHttp, **config) -> TumblrAdapter:
    adapter = TumblrAdapter(BLOG, {"api_base": server.url, **config})
    adapter.prepare(interactive=False)
    return adapter


def picture(tmp: Path, name: str, size: tuple[int, int], mime: str = "image/jpeg") -> PreparedMedia:
    path = tmp / name
    if mime.startswith("image/"):
        Image.new("RGB", size, (20, 90, 160)).save(path, "JPEG")
    else:
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + name.encode())
    return PreparedMedia(path, mime, size[0], size[1], f"alt of {name}", "ab" * 32, f"media/{name}")


def part(key: str, text: str, media=(), alts=()) -> PostRequest:
    return PostRequest(key=key, text=text, media=tuple(media), media_alt=tuple(alts), created_at=TAKEN,
                       reply_to=None, root=None, post_id=key.split("#")[0], part_index=0, part_count=1)


def sent_json(server: TumblrHttp) -> tuple[dict, list[str]]:
    """The `json` part of the last create request, and the names of its file parts."""
    _, _, headers, body = [r for r in server.received if r[0] == "POST" and r[1].endswith("/posts")][-1]
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
    parts = list(message.iter_parts())
    assert parts[0].get_param("name", header="content-disposition") == "json"
    return json.loads(parts[0].get_payload(decode=True)), [p.get_param("name", header="content-disposition")
                                                          for p in parts[1:]]


def test_a_carousel_becomes_one_post_with_its_files_in_order_alt_text_tags_and_the_instagram_date(tmp_path):
    with TumblrHttp() as server:
        adapter = adapter_on(server)
        files = [picture(tmp_path, "a.jpg", (40, 30)), picture(tmp_path, "clip.mp4", (32, 32), "video/mp4"),
                 picture(tmp_path, "b.jpg", (50, 20))]
        refs = [adapter.upload_media(f, f"p1#0/m{n}") for n, f in enumerate(files)]
        assert server.received[-1][1] == "/v2/user/info"  # "uploading" sends nothing: files go with the post
        text = "Harbour at dawn #ink #Ink #sea, sketch"
        ref = adapter.create_post(part("p1#0", text, refs, ["a harbour", None, "boats"]))
        params, names = sent_json(server)
        post = server.blog_posts()[0]
    blocks = params["content"]
    assert [b["type"] for b in blocks] == ["image", "video", "image", "text"]
    assert [b["media"][0]["identifier"] if b["type"] == "image" else b["media"]["identifier"]
            for b in blocks[:3]] == names == ["media0", "media1", "media2"]
    assert [b.get("alt_text") for b in blocks[:3]] == ["a harbour", None, "boats"]
    assert server.files_of(post) == [f.path.read_bytes() for f in files]
    assert params["state"] == "published" and params["date"] == "2019-03-02T09:15:00Z"
    assert params["tags"].split(",") == ["ink", "sea", key_tag("p1#0")]
    assert post["timestamp"] == int(TAKEN.timestamp())  # the archive keeps the Instagram time
    assert ref.id == post["id_string"] and ref.url == f"https://{BLOG}.tumblr.com/post/{ref.id}"


def test_the_caption_comes_back_exactly_with_its_blank_lines_and_its_links_marked(tmp_path):
    text = "First line\n\nSecond paragraph: see https://example.com/shop and https://inkandwash.art/p?x=1.\nlast"
    with TumblrHttp() as server:
        adapter = adapter_on(server)
        ref = adapter.create_post(part("p2#0", text))
        params, _ = sent_json(server)
        back = adapter.read_post(ref)
    assert back == {"text": text, "media": 0, "url": ref.url, "state": "published"}
    links = [f["url"] for b in params["content"] for f in b.get("formatting", [])]
    assert links == ["https://example.com/shop", "https://inkandwash.art/p?x=1"]
    assert [b["text"] for b in params["content"]][1] == ""  # the blank line is an empty block between


def test_a_create_whose_answer_was_lost_is_found_by_its_key_tag_and_no_other_post_matches(tmp_path):
    with TumblrHttp() as server:
        first = adapter_on(server)
        ref = first.create_post(part("p3#0", "Lost answer #ink"))
        first.create_post(part("p4#0", "Lost answer #ink"))  # same words, another post
        fresh = adapter_on(server)  # another run: nothing shared but the blog
        found = fresh.find_post(part("p3#0", "Lost answer #ink"))
        assert found is not None and found.id == ref.id
        assert fresh.find_post(part("p5#0", "Lost answer #ink")) is None
        assert len(server.blog_posts()) == 2


def test_delete_returns_only_when_the_post_is_gone_and_a_delete_that_did_not_take_says_so(tmp_path):
    with TumblrHttp() as server:
        adapter = adapter_on(server)
        ref = adapter.create_post(part("p6#0", "to delete"))
        server.sim.faults.append(("POST", "/post/delete", 200, {"meta": {"status": 200, "msg": "OK"}, "response": {}}))
        with pytest.raises(PostFailed, match="still on Tumblr"):
            adapter.delete_post(ref)  # the server said OK and kept it
        assert adapter.read_post(ref) is not None
        adapter.delete_post(ref)
        assert adapter.read_post(ref) is None and server.blog_posts() == []
        adapter.delete_post(ref)  # already gone (404): gone is gone


@pytest.mark.parametrize("limit, code, words", [("posts", 8023, "new posts"),
                                                ("media", 8004, "new pictures and videos"),
                                                ("videos", 8011, "new videos")])
def test_a_daily_limit_stops_the_run_and_says_when_it_continues(tmp_path, limit, code, words):
    with TumblrHttp(limits=Limits(**{limit: 0})) as server:
        adapter = adapter_on(server)
        clip = adapter.upload_media(picture(tmp_path, "c.mp4", (8, 8), "video/mp4"), "p7#0/m0")
        with pytest.raises(RunStopped) as stopped:
            adapter.create_post(part("p7#0", "over the limit", [clip], [None]))
        assert server.blog_posts() == []
    said = stopped.value.one_line()
    assert f"daily limit of {words}" in said and f"403.{code}" in said and "continues at" in said
    assert stopped.value.resume_at is not None and stopped.value.resume_at > datetime.now(tz=UTC)


def test_a_spent_hour_is_a_429_with_the_reset_from_tumblrs_headers_and_the_pacer_hears_of_it(tmp_path):
    with TumblrHttp(limits=Limits(calls_per_hour=2)) as server:
        adapter = adapter_on(server)  # call 1: /user/info
        heard = []
        adapter.rate_observers.append(heard.append)
        adapter.create_post(part("p8#0", "the last call of the hour"))  # call 2
        with pytest.raises(TransientError, match="slow down") as slow:
            adapter.create_post(part("p9#0", "one too many"))
        assert len(server.blog_posts()) == 1
    assert slow.value.retry_after == 1800
    assert [(r.family, r.remaining) for r in heard] == [("requests", 0), ("requests", 0)]


def test_a_429_with_the_app_windows_left_waits_a_minute_not_the_hour(tmp_path):
    with TumblrHttp() as server:
        adapter = adapter_on(server)
        server.sim.faults.append(("POST", "/posts", 429, {"meta": {"status": 429, "msg": "Limit Exceeded"}}))
        with pytest.raises(TransientError) as slow:
            adapter.create_post(part("p12#0", "per-address limit"))
    assert slow.value.retry_after == 60


@pytest.mark.parametrize("status, error, expected", [(401, "Unauthorized", RunStopped),
                                                     (400, "Bad Request", PostFailed),
                                                     (503, "Service Unavailable", TransientError)])
def test_tumblrs_refusals_reach_the_engine_as_the_right_class_without_the_token(tmp_path, status, error, expected):
    with TumblrHttp() as server:
        adapter = adapter_on(server)
        body = {"meta": {"status": status, "msg": error}, "errors": [{"title": error, "detail": f"no {TOKEN}"}]}
        server.sim.faults.append(("POST", "/posts", status, body))
        with pytest.raises(expected) as raised:
            adapter.create_post(part("p10#0", "refused"))
    assert TOKEN not in raised.value.one_line() and "[token]" in raised.value.one_line()


def test_a_blog_this_login_cannot_post_to_stops_and_names_the_blogs_it_can(tmp_path):
    with TumblrHttp() as server:
        adapter = TumblrAdapter("someoneelse", {"api_base": server.url})
        with pytest.raises(RunStopped, match=f"cannot post to 'someoneelse' \\(its blogs: {BLOG}\\)"):
            adapter.prepare(interactive=False)


def test_without_a_login_a_dry_run_plans_and_a_real_run_stops_at_its_first_write(tmp_path, monkeypatch):
    monkeypatch.delenv("PINDAH_TUMBLR_TOKEN")
    with TumblrHttp() as server:
        adapter = TumblrAdapter(BLOG, {"api_base": server.url})
        adapter.prepare(interactive=False, dry_run=True)
        assert server.received == [] and "not logged in to Tumblr" in adapter.offline_note
        assert "Prevent third-party sharing" in adapter.notes()[0]
        with pytest.raises(RunStopped, match="not logged in to Tumblr"):
            adapter.create_post(part("p11#0", "no login"))


def test_tumblr_is_reached_over_https_only_except_on_this_computer():
    with pytest.raises(PindahError, match="plain http"):
        TumblrAdapter(BLOG, {"api_base": "http://api.tumblr.example"})
    assert TumblrAdapter(BLOG, {}).api.base == "https://api.tumblr.com"


@pytest.mark.parametrize("given, blog", [("inkandwash", "inkandwash"), ("InkAndWash.tumblr.com", "inkandwash"),
                                         ("https://inkandwash.tumblr.com/", "inkandwash"),
                                         ("https://www.tumblr.com/@inkandwash", "inkandwash"),
                                         ("www.davidslog.com", "www.davidslog.com")])
def test_a_blog_is_named_as_tumblr_names_it(given, blog):
    assert blog_identifier(given) == blog


@pytest.mark.parametrize("given", ["", "two words", "https://www.tumblr.com/", "-dash", "a/b"])
def test_what_is_not_a_blog_is_refused_in_words(given):
    with pytest.raises(PindahError, match="not a Tumblr blog"):
        blog_identifier(given)


def test_tags_follow_tumblrs_rules_and_the_key_tag_always_fits():
    many = " ".join(f"#tag{n}" for n in range(40))
    tags = tags_for(many, "p#0")
    assert len(tags) == 30 and tags[-1] == key_tag("p#0") and tags[0] == "tag0"
    assert tags_for("#Ink #ink #日本 #" + "x" * 200, None) == ["Ink", "日本", "x" * 140]
    assert key_tag("p#0") == key_tag("p#0") != key_tag("p#1")


def test_a_line_longer_than_a_text_block_holds_is_cut_into_blocks_of_4096_code_points():
    line = "🎨" * 5000  # one code point each: 5,000 of them
    blocks = content_blocks(line, [])
    assert [len(b["text"]) for b in blocks] == [4096, 904] and "".join(b["text"] for b in blocks) == line

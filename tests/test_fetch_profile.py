"""`pindah fetch-profile` against a stand-in Instagram: instaloader's real code, no network.

`FakeInstagram` answers, through `responses`, the requests instaloader 4.16 makes for a
logged-out profile download (the profile page with its embedded query results, the start
page's tokens, the web API's GraphQL posts, the CDN's files), built from the same `SynthPost`s
the instaloader folder builder writes. Every test also runs under a socket guard: any attempt
to open a real connection fails the test.
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from click.testing import CliRunner

from pindah.migrator.cli import cli
from pindah.migrator.errors import PindahError
from pindah.migrator.fetch import fetch_profile, normalise_username
from pindah.migrator.model import AltOrigin, PostKind
from pindah.migrator.sources import read_export
from tests.exportbuilder.instaloader import owner_of, raw_item, write_instaloader_dump
from tests.exportbuilder.media import image_bytes, media_bytes
from tests.exportbuilder.spec import SynthMedia, SynthPost

PROFILE = "rina.wulandari_"
GENERATED_ALT = "Photo by Rina on May 02, 2021. May be an image of drawing."
CONTENT_TYPE = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic", "mp4": "video/mp4"}
PASSWORD = "hunter2-Sekret!"


def artist_posts() -> list[SynthPost]:
    return [
        SynthPost(1556787000, "First sketch 🌱 #ink", [SynthMedia(alt_text="Ink sketch of a fern, by me")]),
        SynthPost(1588411800, "Studio day 👩‍🎨 and a timelapse",
                  [SynthMedia(width=9, alt_text=GENERATED_ALT), SynthMedia("mp4"), SynthMedia("webp", width=10)]),
        SynthPost(1620000000, "لوحة جديدة", [SynthMedia("heic", width=11)]),
        SynthPost(1650000000, "Inking timelapse 🎥 #reels", [SynthMedia("mp4")], kind="reel"),
        SynthPost(1700000000, "", [SynthMedia("webp", width=12)]),
    ]


PROFILE_PIC = SynthPost(1758326436, kind="profile_photo")  # 2025-09-20 00:00:36 UTC


class FakeInstagram:
    """www.instagram.com and its CDN, as instaloader 4.16 sees them logged out."""

    def __init__(self, posts: list[SynthPost], *, private: bool = False, profile_status: int = 200,
                 first_page: int = 2, broken_urls: tuple[int, ...] = (), rate_limited_queries: int = 0) -> None:
        self.rate_limited_queries = rate_limited_queries  # answer this many post queries with 429 first
        self.owner = owner_of(PROFILE)
        self.private = private
        self.profile_status = profile_status
        self.items = [raw_item(post, number, self.owner) for number, post in enumerate(posts)][::-1]  # newest first
        self.first_page = first_page
        self.files: dict[str, tuple[bytes, str]] = {}
        for post, item in zip(posts[::-1], self.items):
            children = item.get("carousel_media") or [item]
            for media, child in zip(post.media, children):
                cover = child["image_versions2"]["candidates"][0]["url"]
                if media.is_video:
                    self.files[cover] = (image_bytes("jpg", media.width, media.height), "image/jpeg")
                    self.files[child["video_versions"][0]["url"]] = (media_bytes("mp4"), "video/mp4")
                else:
                    self.files[cover] = (media_bytes(media.fmt, media.width, media.height), CONTENT_TYPE[media.fmt])
        self.broken = {url for i, url in enumerate(self.files) if i in broken_urls}
        self.login_attempts: list[dict] = []

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.GET, re.compile(r"https://www\.instagram\.com/([^?]*)"), callback=self.page)
        rsps.add_callback(responses.POST, "https://www.instagram.com/api/graphql", callback=self.graphql)
        rsps.add_callback(responses.POST, "https://www.instagram.com/api/v1/web/accounts/login/ajax/",
                          callback=self.login)
        rsps.add_callback(responses.GET, re.compile(r"https://scontent[^/]*\.cdninstagram\.com/.*"), callback=self.cdn)

    # -- pages --------------------------------------------------------------------------------
    def page(self, request):
        path = request.path_url.split("?")[0].strip("/")
        cookie = {"Set-Cookie": "csrftoken=Xq3lJ8testtoken; Path=/; Domain=.instagram.com"}
        if path == "":
            html = ('<html><head><script>requireLazy(["DTSG"]);["LSD",[],{"token":"AVq5testLSD"},323]'
                    ',{"IG_USER_EIMU":"0"}</script></head><body></body></html>')
            return 200, {**cookie, "Content-Type": "text/html"}, html
        if path != PROFILE or self.profile_status != 200:
            status = 404 if path != PROFILE else self.profile_status
            return status, {"Content-Type": "text/html"}, "<html><body>Sorry, this page isn't available.</body></html>"
        user = {"pk": self.owner["id"], "id": "profilepage_" + self.owner["id"], "username": PROFILE,
                "full_name": self.owner["full_name"], "is_private": self.private, "is_verified": False,
                "biography": "Illustrator 🎨", "profile_pic_url": self.owner["profile_pic_url"],
                "hd_profile_pic_url_info": {"url": self.owner["profile_pic_url"]},
                "media_count": len(self.items), "follower_count": 1234, "following_count": 321,
                "friendship_status": None}
        scripts = [self._script({"xig_user_by_username": user})]
        if not self.private:
            scripts.append(self._script({"xig_user_by_username": {
                "id": user["id"], "polaris_ordered_timeline_connection": self._timeline(0)}}))
        return 200, {**cookie, "Content-Type": "text/html"}, f"<html><body>{''.join(scripts)}</body></html>"

    @staticmethod
    def _script(data: dict) -> str:
        payload = {"require": [["ScheduledServerJS", "handle", None, [{"__bbox": {"require": [[
            "RelayPrefetchedStreamCache", "next", [], ["adp_PolarisProfilePageQuery", {
                "__bbox": {"complete": True, "result": {"data": data}}}]]]}}]]]}
        return f'<script type="application/json" data-sjs>{json.dumps(payload)}</script>'

    def _timeline(self, start: int) -> dict:
        end = self.first_page if start == 0 else len(self.items)
        return {"edges": [{"node": {"code": item["code"], "pk": item["pk"]}} for item in self.items[start:end]],
                "page_info": {"has_next_page": end < len(self.items),
                              "end_cursor": str(end) if end < len(self.items) else None}}

    # -- web API ------------------------------------------------------------------------------
    def graphql(self, request):
        form = {k: v[0] for k, v in _form(request).items()}
        variables = json.loads(form["variables"])
        if self.rate_limited_queries:
            self.rate_limited_queries -= 1
            return 429, {"Content-Type": "application/json"}, json.dumps({"message": "Please wait a few minutes",
                                                                        "status": "fail"})
        if form["doc_id"] == "27128499623469141":  # one post's metadata, by shortcode
            items = [i for i in self.items if i["code"] == variables["shortcode"]]
            data = {"xdt_api__v1__media__shortcode__web_info": {"items": items}}
        elif form["doc_id"] == "28904005159232689":  # the next page of the profile's posts
            data = {"node": {"polaris_ordered_timeline_connection": self._timeline(int(variables["after"]))}}
        else:
            return 400, {}, json.dumps({"message": "unknown query", "status": "fail"})
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})

    def login(self, request):
        self.login_attempts.append(_form(request))
        answer = {"authenticated": False, "user": True, "status": "ok"}  # Instagram's "wrong password"
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def cdn(self, request):
        url = request.url
        if url == self.owner["profile_pic_url"]:
            headers = {"Content-Type": "image/jpeg", "Last-Modified": "Sat, 20 Sep 2025 00:00:36 GMT"}
            return 200, headers, image_bytes("jpg")
        if url not in self.files or url in self.broken:
            return 404, {"Content-Type": "text/plain"}, "Not Found"
        body, content_type = self.files[url]
        return 200, {"Content-Type": content_type, "Content-Length": str(len(body))}, body


def _form(request) -> dict[str, list[str]]:
    body = request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No real connection can be opened, nothing sleeps, no real instaloader settings are read."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # instaloader's polite pauses
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield attempts
    assert attempts == [], f"something tried to reach the network: {attempts}"


@pytest.fixture
def instagram():
    """Install a FakeInstagram; requests to anything it does not answer fail (no passthrough)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        def make(posts: list[SynthPost], **kwargs) -> FakeInstagram:
            fake = FakeInstagram(posts, **kwargs)
            fake.install(rsps)
            return fake
        yield make


def rows(folder: Path) -> list[dict]:
    with read_export([folder], kinds=set(PostKind)) as export:
        return [{"kind": p.kind.value, "taken_at": p.as_dict()["taken_at"], "caption": p.caption,
                 "media": [{"path": m.path, "type": m.type.value, "missing": m.missing} for m in p.media]}
                for p in export.posts]


def expected(tmp_path: Path, posts: list[SynthPost]) -> list[dict]:
    """What the same posts look like as an instaloader folder, per the folder builder."""
    built = write_instaloader_dump(tmp_path / "expected", PROFILE, [*posts, PROFILE_PIC], node_shape="new")
    return sorted(built, key=lambda r: r["taken_at"])


def one_line_error(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


# -- downloading ------------------------------------------------------------------------------------
def test_fetched_folder_reads_back_as_the_profiles_posts(tmp_path: Path, instagram) -> None:
    posts = artist_posts()
    instagram(posts)
    problems: list[str] = []
    folder = fetch_profile(PROFILE, tmp_path / "dump", problems=problems)
    assert folder == tmp_path / "dump" / PROFILE
    assert problems == []
    assert rows(folder) == expected(tmp_path, posts)
    assert (folder / "id").read_text() == owner_of(PROFILE)["id"] + "\n"
    assert (folder / f"{PROFILE}_{owner_of(PROFILE)['id']}.json.xz").is_file()
    assert not list(folder.glob("iterator_*")), "a finished download leaves no resume file"


def test_fetched_alt_text_keeps_the_artists_words_apart_from_instagrams(tmp_path: Path, instagram) -> None:
    instagram(artist_posts())
    folder = fetch_profile(PROFILE, tmp_path)
    with read_export([folder]) as export:
        alts = {p.caption: [(m.alt_text, m.alt_origin) for m in p.media] for p in export.posts}
    assert alts["First sketch 🌱 #ink"] == [("Ink sketch of a fern, by me", AltOrigin.USER)]
    assert alts["Studio day 👩‍🎨 and a timelapse"] == [
        (GENERATED_ALT, AltOrigin.INSTAGRAM), (None, None), (None, None)]


def test_command_prints_a_one_line_summary_and_suggests_inspect(tmp_path: Path, instagram) -> None:
    instagram(artist_posts())
    result = CliRunner().invoke(cli, ["fetch-profile", f"@{PROFILE}", str(tmp_path / "dump")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [
        f"Downloaded @{PROFILE} into {tmp_path / 'dump' / PROFILE}: 4 posts, 1 reel, 1 profile photo (21 files). "
        f"Next: pindah inspect {tmp_path / 'dump' / PROFILE}"]
    assert result.stderr == ""


def test_a_file_instagram_fails_to_send_is_reported_and_the_rest_is_downloaded(tmp_path: Path, instagram) -> None:
    posts = artist_posts()
    fake = instagram(posts, broken_urls=(0,))  # the newest post's picture answers 404
    result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 item could not be downloaded" in result.stderr
    assert "run the same command again" in result.stderr
    got = rows(tmp_path / PROFILE)
    assert [r["caption"] for r in got if r["kind"] != "profile_photo"] == [p.caption for p in posts[:-1]]
    assert fake.broken


def test_a_pause_instagram_asks_for_is_announced_then_the_download_goes_on(tmp_path: Path, instagram) -> None:
    posts = artist_posts()
    instagram(posts, rate_limited_queries=1)
    result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Instagram asks for a pause: waiting") == 1, result.stderr
    assert rows(tmp_path / PROFILE) == expected(tmp_path, posts)


def test_running_again_keeps_what_is_there_and_reads_the_same(tmp_path: Path, instagram) -> None:
    instagram(artist_posts())
    folder = fetch_profile(PROFILE, tmp_path)
    first = rows(folder)
    assert fetch_profile(PROFILE, tmp_path) == folder
    assert rows(folder) == first
    assert not list(folder.glob("*_old_*.txt")), "unchanged captions are not rotated"


# -- errors the artist can act on ----------------------------------------------------------------
def test_a_profile_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path, instagram) -> None:
    instagram(artist_posts())
    result = CliRunner().invoke(cli, ["fetch-profile", "nobody.here_42", str(tmp_path)])
    assert result.exit_code == 2
    assert one_line_error(result) == ("Error: Instagram has no profile named @nobody.here_42. "
                                      "Check the spelling: it is the name after instagram.com/.")


def test_a_private_profile_asks_for_a_login(tmp_path: Path, instagram) -> None:
    instagram(artist_posts(), private=True)
    result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path)])
    assert result.exit_code == 2
    line = one_line_error(result)
    assert f"@{PROFILE} is private" in line and "--login" in line


def test_rate_limiting_is_one_line_with_advice_to_wait(tmp_path: Path, instagram) -> None:
    instagram(artist_posts(), profile_status=429)
    result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path)])
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line == ("Error: Instagram is limiting requests from this connection (HTTP 429). "
                    "Wait a few hours and run the same command again; what was downloaded is kept.")


def test_a_wrong_password_is_never_printed_or_stored(tmp_path: Path, instagram) -> None:
    fake = instagram(artist_posts())
    result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path / "dump"), "--login", "rina.wulandari_"],
                                input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "Error: Instagram did not accept the password for @rina.wulandari_." in result.output
    assert "Traceback" not in result.output
    assert PASSWORD not in result.output
    assert len(fake.login_attempts) == 1  # sent once, to (the stand-in of) Instagram, nowhere else
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or PASSWORD.encode() not in path.read_bytes(), path


def test_stories_without_login_are_refused_before_any_request(tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path), "--stories"])
        assert len(rsps.calls) == 0
    assert result.exit_code == 2
    assert "stories only to logged-in accounts" in one_line_error(result)


def test_a_missing_session_file_is_one_line(tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path), "--login", "rina",
                                                            "--session-file", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "session file" in one_line_error(result) and "does not exist" in result.output


@pytest.mark.parametrize("where", ["given", "saved by instaloader"])
def test_a_session_file_that_is_not_one_is_refused_without_asking_a_password(tmp_path: Path, where: str) -> None:
    session = tmp_path / "session-rina" if where == "given" else tmp_path / "config" / "instaloader" / "session-rina"
    session.parent.mkdir(parents=True, exist_ok=True)
    session.write_bytes(b"not a pickle")
    args = [PROFILE, str(tmp_path / "dump"), "--login", "rina"]
    if where == "given":
        args += ["--session-file", str(session)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        result = CliRunner().invoke(cli, ["fetch-profile", *args])
        assert len(rsps.calls) == 0
    assert result.exit_code == 2
    assert one_line_error(result) == (f"Error: {session} is not an instaloader session file (UnpicklingError). "
                                      "Create a new one with `instaloader --login NAME`.")


def test_no_internet_is_one_line_with_advice(tmp_path: Path) -> None:
    # Nothing answers: responses refuses every request, as a dead connection would.
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        result = CliRunner().invoke(cli, ["fetch-profile", PROFILE, str(tmp_path)])
    assert result.exit_code == 2
    assert one_line_error(result) == ("Error: could not reach Instagram. Check your internet connection and run "
                                      "the same command again; what was downloaded is kept.")


@pytest.mark.parametrize("given", ["rina.wulandari_", "@Rina.Wulandari_", "https://www.instagram.com/rina.wulandari_/",
                                   "instagram.com/rina.wulandari_?igsh=abc"])
def test_usernames_are_accepted_as_artists_write_them(given: str) -> None:
    assert normalise_username(given) == PROFILE


@pytest.mark.parametrize("given", ["", "rina wulandari", "a" * 31, "https://example.com/rina"])
def test_impossible_usernames_are_refused_before_any_request(given: str) -> None:
    with pytest.raises(PindahError, match="is not an Instagram username"):
        normalise_username(given)


def test_the_guard_really_blocks_connections(offline: list) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("www.instagram.com", 443), timeout=1)
    offline.clear()  # the attempt above was this test's own

"""What the Mastodon-API test modules share: one fake clock for adapter, pacer and simulated
server, a private state directory for every test, the simulated server and adapter builders, and
a 30-post mixed export run through the real Runner and journal.

Each server's observed behaviour (tests/mastodon_sim.py) is reproduced with `responses`: no
network, no real sleeping (clock and sleep are injected into the adapter, Runner and Pacer).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from pindah.adapters.mastodon import MastodonAdapter
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.runner import Runner
from pindah.migrator.sources import read_export

from tests.clock import Clock
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.mastodon_sim import T_NOW, TOKEN, SimServer

FLAVOURS = ("mastodon", "pixelfed", "gotosocial")
T0 = 1_500_000_000  # 2017-07-14


class FakeTime(Clock):
    """One clock for the adapter, the runner's pacer and the simulated server; sleeping moves it."""

    def __init__(self, start: float = T_NOW) -> None:
        super().__init__(start)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        super().sleep(max(0.0, seconds))


@pytest.fixture(autouse=True, name="_private_state")
def private_state_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("PINDAH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PINDAH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN", TOKEN)
    monkeypatch.setenv("PINDAH_MASTODON_TOKEN_STORE", "file")  # never the developer's real keyring


@pytest.fixture(name="rsps")
def rsps_fixture():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _server(rsps, flavour: str, t: FakeTime | None = None, **kw) -> SimServer:
    return SimServer(flavour=flavour, clock=(t or FakeTime()).clock, **kw).install(rsps)


def _adapter(sim: SimServer, t: FakeTime | None = None, config: dict | None = None,
             cls: type[MastodonAdapter] = MastodonAdapter) -> MastodonAdapter:
    t = t or FakeTime()
    adapter = cls(sim.base, config or {}, clock=t.clock, sleep=t.sleep)
    adapter.prepare(interactive=False)
    return adapter


def _file(tmp_path: Path, name: str = "a.jpg", mime: str = "image/jpeg", alt: str | None = "ink") -> PreparedMedia:
    path = tmp_path / name
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(64))
    return PreparedMedia(path, mime, 8, 6, alt, "0" * 64, f"media/{name}")


def _request(key: str = "p1#0", text: str = "Ink study #art", media: tuple[RemoteRef, ...] = (),
             reply_to: RemoteRef | None = None, when: datetime = datetime(2019, 6, 1, 12, 34, 56, tzinfo=UTC)
             ) -> PostRequest:
    post_id, part = key.split("#")
    return PostRequest(key, text, media, tuple(None for _ in media), when, reply_to, reply_to, post_id, int(part), 2)


def _mixed_posts() -> list[SynthPost]:
    """30 posts: singles, big carousels, image+video carousels, long captions, lone videos,
    links and @names, webp/png, a missing file and a caption-only leftover."""
    long = "Layer after layer of ink, each one thinner than the last. " * 20
    posts = []
    for i in range(30):
        kind = i % 6
        media = {0: [SynthMedia()], 1: [SynthMedia(("jpg", "png", "webp")[k % 3], width=8 + k) for k in range(6)],
                 2: [SynthMedia(), SynthMedia("mp4"), SynthMedia(width=9)], 3: [SynthMedia(width=10)],
                 4: [SynthMedia("mp4")], 5: [SynthMedia(), SynthMedia("webp", width=11)]}[kind]
        caption = {0: f"New piece {i} with @budi.santoso #ink", 1: f"Carousel {i} 🎞️", 2: f"Process {i}",
                   3: long + f"#{i}", 4: f"Timelapse {i}", 5: f"Shop: https://shop.example/item/{i} #print"}[kind]
        if i == 13:
            media = [SynthMedia(missing=True)]
        posts.append(SynthPost(T0 + i * 86400, caption, media))
    return posts


def _plans(tmp_path: Path, adapter: MastodonAdapter):
    folder = tmp_path / "export"
    if not folder.exists():
        write_meta_json(folder, _mixed_posts())
    with read_export([folder]) as exp:
        return plan_posts(exp.posts, adapter.caps, PlanOptions())


def _run(tmp_path: Path, adapter: MastodonAdapter, t: FakeTime, plans):
    with Journal.open(tmp_path / "state" / f"{adapter.info.flavour.value}.sqlite") as journal:
        outcome = Runner(adapter, journal, tmp_path / "cache", sleep=t.sleep, clock=t.clock).run(plans)
        parts = list(journal.all_parts())
        counts = journal.counts()
    return outcome, parts, counts

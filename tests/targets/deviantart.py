"""The DeviantArt adapter against the simulated DeviantArt (tests/deviantart_sim.py, served over HTTP
on 127.0.0.1 by tests/sim_http.py), through a loopback proxy that records every request and can
answer the publish request with an error. pindah logs in the way an artist does (the browser
login, here a stand-in browser that allows pindah at once), into the test's state folder.
Read back: the simulated gallery's deviations, their descriptions and the files as received."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pindah.adapters.deviantart import DeviantArtAdapter
from pindah.adapters.deviantart_post import read_description
from pindah.adapters.toolkit.oauth import LoginIO

from tests.chaos_support import Published
from tests.deviantart_sim import CLIENT_ID, CLIENT_SECRET, DeviantArtSim
from tests.faultproxy import FaultProxy
from tests.sim_http import SimHttp
from tests.targets import TargetUnderTest, Variant, environment


class AllowingBrowser:
    """Plays the artist's browser: opens the authorize address, allows pindah, follows the redirect
    to pindah's loopback receiver (in a thread: pindah is waiting for it)."""

    def __init__(self) -> None:
        self.opened: list[dict[str, str]] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str) -> bool:
        self.opened.append({k: v[0] for k, v in parse_qs(urlsplit(url).query).items()})
        answer = requests.get(url, allow_redirects=False, timeout=10)
        back = answer.headers.get("Location")
        if answer.status_code != 302 or not back:
            return False
        thread = threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read())
        thread.start()
        self.threads.append(thread)
        return True


def log_in(api_url: str, state: Path, redirect_port: int = 0) -> str:
    """`pindah login deviantart` as the artist would, with the client id and secret they registered
    (any free loopback port unless `redirect_port` is given: tests run side by side)."""
    browser = AllowingBrowser()
    said: list[str] = []
    with environment(PINDAH_STATE_DIR=str(state)):
        adapter = DeviantArtAdapter(None, {"api": api_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                           "token_store": "file", "redirect_port": redirect_port},
                                    io=LoginIO(say=said.append, open_browser=browser.open, wait_seconds=10))
        line = adapter.login()
    for thread in browser.threads:
        thread.join()
    return line


def read_gallery(sim: DeviantArtSim) -> list[Published]:
    """Every deviation, in publishing order: its text and the part it continues, from its description."""
    by_url = {d["url"]: d["deviationid"] for d in sim.deviations.values()}
    out = []
    for d in list(sim.deviations.values()):
        text, parent_url = read_description(d["description"])
        out.append(Published(d["deviationid"], text, by_url.get(parent_url) if parent_url else None, [d["file"]]))
    return out


@contextmanager
def open_simulation(request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    sim = DeviantArtSim()
    with SimHttp(sim.handle) as server, FaultProxy(server.port, rate=0.0) as wire:
        sim.base = server.url
        log_in(wire.url, tmp.parent / "state")  # the state folder every test of a target uses
        yield TargetUnderTest("deviantart", "deviantart",
                              {"PINDAH_TARGETS_DEVIANTART_API": wire.url,
                               "PINDAH_TARGETS_DEVIANTART_TOKEN_STORE": "file",
                               # pindah's own pace (60 an hour) is no test's to wait for
                               "PINDAH_TARGETS_DEVIANTART_PER_HOUR": "100000"},
                              partial(read_gallery, sim), DeviantArtAdapter.capabilities, secrets=sim.issued,
                              deletes=False, wire=wire, create_path="/api/v1/oauth2/stash/publish")


VARIANTS = (Variant("deviantart", "deviantart", open_simulation, (pytest.mark.deviantart,)),)

"""The Tumblr adapter against the simulated Tumblr API (tests/tumblr_sim.py, served over HTTP on
127.0.0.1), through a loopback proxy that records every request and can answer the create
request with an error. Read back: the blog's posts (published and queued) and their files
exactly as the simulation received them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from pindah.adapters.tumblr import TumblrAdapter
from pindah.adapters.tumblr_npf import post_text
from tests.chaos_support import Published
from tests.faultproxy import FaultProxy
from tests.targets import TargetUnderTest, Variant
from tests.tumblr_sim import BLOG, Limits, TumblrHttp

NO_LIMIT = 10**6


def read_blog(server: TumblrHttp) -> list[Published]:
    return [Published(p["id_string"], post_text(p), None, server.files_of(p)) for p in server.blog_posts()]


def tumblr_env(url: str, token: str, **extra: str) -> dict[str, str]:
    """What the CLI needs to reach the simulation: its address and a token for the run."""
    return {"PINDAH_TARGETS_TUMBLR_API_BASE": url, "PINDAH_TUMBLR_TOKEN": token,
            "PINDAH_TARGETS_TUMBLR_TOKEN_STORE": "file", **extra}


@contextmanager
def open_simulation(queue: bool, request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    # These runs prove exactly-once and privacy, not pacing (tests/test_tumblr_*.py do): Tumblr's
    # daily limits are lifted on both sides so the 200-post `--full` chaos run fits in one "day".
    lifted = {f"PINDAH_TARGETS_TUMBLR_{kind}_PER_DAY": str(NO_LIMIT) for kind in ("POSTS", "PICTURES", "VIDEOS")}
    with TumblrHttp(limits=Limits(posts=NO_LIMIT, media=NO_LIMIT, videos=NO_LIMIT)) as server, \
            FaultProxy(server.port, rate=0.0) as wire:
        env = tumblr_env(wire.url, server.token, PINDAH_TARGETS_TUMBLR_QUEUE="true" if queue else "false", **lifted)
        caps = TumblrAdapter.capabilities.refined(backdating=not queue)
        yield TargetUnderTest("tumblr", f"tumblr:{BLOG}", env, partial(read_blog, server), caps,
                              secrets=[server.token], wire=wire, create_path=f"/v2/blog/{BLOG}/posts")


VARIANTS = (Variant("tumblr", "tumblr", partial(open_simulation, False)),
            Variant("tumblr-queue", "tumblr", partial(open_simulation, True)))

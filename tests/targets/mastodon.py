"""The Mastodon-API adapter against the simulated Mastodon, Pixelfed and GoToSocial servers
(tests/mastodon_sim.py, served over HTTP on 127.0.0.1 by tests/mastodon_http.py), through a
loopback proxy that records every request and can answer the create request with an error.
Read back: the server's statuses and the files exactly as it received them.

Where `snac` is installed (Debian snac2; tests/snac_server.py) the adapter also runs against that
real Mastodon-API server, read back through its own API. Without it that variant skips, except
in CI, where it fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from pindah.adapters.mastodon import MastodonAdapter
from pindah.adapters.mastodon_status import restore_mentions
from tests.chaos_support import Published
from tests.faultproxy import FaultProxy
from tests.mastodon_http import MastodonHttp
from tests.snac_server import SnacServer, in_ci, snac_missing
from tests.targets import TargetUnderTest, Variant, environment


def read_statuses(server: MastodonHttp) -> list[Published]:
    return [Published(s["id"], restore_mentions(s["text"]), s["in_reply_to_id"],
                      [server.upload_of(m) for m in s["media"]])
            for s in sorted(server.statuses(), key=lambda s: s["created_at"])]


def plan_caps(url: str, token: str, tmp: Path):
    """The limits the adapter reads from this very server, which pindah plans with."""
    with environment(PINDAH_MASTODON_TOKEN=token, PINDAH_STATE_DIR=str(tmp / "planning")):
        adapter = MastodonAdapter(url, {})
        adapter.prepare(interactive=False)
        adapter.finish()
    return adapter.caps


@contextmanager
def open_simulation(flavour: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    with MastodonHttp(flavour) as server, FaultProxy(server.port, rate=0.0) as wire:
        yield TargetUnderTest("mastodon", f"mastodon:{wire.url}", {"PINDAH_MASTODON_TOKEN": server.token},
                              partial(read_statuses, server), plan_caps(wire.url, server.token, tmp),
                              secrets=[server.token], wire=wire, create_path="/api/v1/statuses")


def read_snac(snac: SnacServer) -> list[Published]:
    return [Published(s["id"], restore_mentions(s["text"]), s["in_reply_to_id"],
                      [snac.file(a["url"]) for a in s["media_attachments"]]) for s in snac.statuses()]


@contextmanager
def open_snac(request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    missing = snac_missing()
    if missing:
        if in_ci():
            pytest.fail(f"CI must run the real Mastodon-API server: {missing}")
        pytest.skip(missing)
    tmp.mkdir(parents=True, exist_ok=True)  # `snac init` makes only the last folder
    with SnacServer(tmp / "snac") as snac:
        yield TargetUnderTest("mastodon", f"mastodon:{snac.url}", {"PINDAH_MASTODON_TOKEN": snac.token},
                              partial(read_snac, snac), plan_caps(snac.url, snac.token, tmp),
                              secrets=[snac.token, snac.password], deletes=False)


VARIANTS = tuple(Variant(f"mastodon-{flavour}", "mastodon", partial(open_simulation, flavour), (pytest.mark.mastodon,))
                 for flavour in ("mastodon", "pixelfed", "gotosocial")) \
    + (Variant("mastodon-snac", "mastodon", open_snac, (pytest.mark.mastodon,)),)

"""The Mastodon-API adapter against the simulated Mastodon, Pixelfed and GoToSocial servers
(tests/mastodon_sim.py, served over HTTP on 127.0.0.1 by tests/mastodon_http.py), through a
loopback proxy that records every request and can answer the create request with an error.
Read back: the server's statuses and the files exactly as it received them."""

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
from tests.targets import TargetUnderTest, Variant, environment


def read_statuses(server: MastodonHttp) -> list[Published]:
    return [Published(s["id"], restore_mentions(s["text"]), s["in_reply_to_id"],
                      [server.upload_of(m) for m in s["media"]])
            for s in sorted(server.statuses(), key=lambda s: s["created_at"])]


@contextmanager
def open_simulation(flavour: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    with MastodonHttp(flavour) as server, FaultProxy(server.port, rate=0.0) as wire:
        # Plan with the limits the adapter reads from this very server.
        with environment(PINDAH_MASTODON_TOKEN=server.token, PINDAH_STATE_DIR=str(tmp / "planning")):
            adapter = MastodonAdapter(wire.url, {})
            adapter.prepare(interactive=False)
            adapter.finish()
        yield TargetUnderTest("mastodon", f"mastodon:{wire.url}", {"PINDAH_MASTODON_TOKEN": server.token},
                              partial(read_statuses, server), adapter.caps, secrets=[server.token], wire=wire,
                              create_path="/api/v1/statuses")


VARIANTS = tuple(Variant(f"mastodon-{flavour}", "mastodon", partial(open_simulation, flavour), (pytest.mark.mastodon,))
                 for flavour in ("mastodon", "pixelfed", "gotosocial"))

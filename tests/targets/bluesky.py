"""Bluesky on the reference PDS (tests/bluesky_pds.py, started once per session), reached through
a loopback proxy that records every request and can answer the create request with an error.
Read back: the account's post records and the blobs they embed, downloaded from the PDS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pindah.adapters.bluesky import BlueskyAdapter
from tests.bluesky_pds import LocalPds
from tests.chaos_support import Published
from tests.faultproxy import FaultProxy
from tests.targets import TargetUnderTest, Variant


def read_records(pds: LocalPds, did: str) -> list[Published]:
    published = []
    for record in pds.list_records(did):
        value = record["value"]
        embed: dict[str, Any] = value.get("embed") or {}
        cids = [image["image"]["ref"]["$link"] for image in embed.get("images", [])]
        if "video" in embed:
            cids = [embed["video"]["ref"]["$link"]]
        parent = (value.get("reply") or {}).get("parent", {}).get("uri")
        published.append(Published(record["uri"], value["text"], parent, [pds.get_blob(did, cid) for cid in cids]))
    return published


@contextmanager
def open_pds(request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    pds: LocalPds = request.getfixturevalue("bluesky_pds")
    account = pds.create_account("conform")
    with FaultProxy(pds.pds_port, rate=0.0) as wire:
        yield TargetUnderTest(
            "bluesky", f"bluesky:{account.handle}",
            {"PINDAH_BLUESKY_PDS": wire.url, "PINDAH_BLUESKY_APP_PASSWORD": account.app_password},
            lambda: read_records(pds, account.did), BlueskyAdapter.capabilities,
            secrets=[account.password, account.app_password], wire=wire,
            create_path="/xrpc/com.atproto.repo.createRecord")


VARIANTS = (Variant("bluesky", "bluesky", open_pds, (pytest.mark.bluesky, pytest.mark.integration)),)

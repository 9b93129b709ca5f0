"""What the Bluesky test modules share: the synthetic export writer, running pindah in a
subprocess against the local PDS, the exactly-once read-back, and a simulated PDS's session.

The integration tests start one PDS per session (tests/bluesky_pds.py; npm packages installed on
first use) with the production rate limits switched on, create accounts on it, and run the real
command line in subprocesses. What they check is read back from the server (listRecords,
getRecord, getBlob), never from pindah's journal, which could be wrong too.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pindah.adapters.bluesky import BlueskyAdapter
from pindah.adapters.bluesky_record import derive_rkey
from pindah.migrator.planner import PlanOptions, PostPlan, plan_posts
from pindah.migrator.sources import read_export
from tests.bluesky_pds import Account, LocalPds
from tests.chaos_support import CHILD
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost

integration = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT / "tests" / "exportbuilder" / "assets" / "sample-loop.mp4"
T0 = int(datetime(2019, 3, 2, 9, 15, tzinfo=UTC).timestamp())


@dataclass
class Synth:
    posts: list[SynthPost]
    content: dict[tuple[int, int], bytes] = field(default_factory=dict)  # (taken_at, index) -> bytes

    def media_content(self, post: SynthPost, index: int, media: SynthMedia) -> bytes:
        data = self.content.get((post.taken_at, index))
        if data is not None:
            return data
        if media.is_video:
            return VIDEO.read_bytes()
        shade = (post.taken_at // 3600 + index * 40) % 200
        img = Image.new("RGB", (64, 48), (40 + shade, 90, 220 - shade))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90)
        return out.getvalue()


def write_export(root: Path, posts: list[SynthPost]) -> Path:
    """A meta-JSON export of `posts` in `root`, each image with its own colours."""
    synth = Synth(posts)
    write_meta_json(root, synth.posts, media_content=synth.media_content)
    return root


def expected_plans(export: Path) -> list[PostPlan]:
    """What pindah must publish, planned with the adapter's declared capabilities."""
    with read_export([export]) as exp:
        return plan_posts(exp.posts, BlueskyAdapter.capabilities, PlanOptions())


@pytest.fixture(scope="session", name="media_cache")
def media_cache_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Prepared media are content-addressed, so every test may share them (as artists' runs do).
    return tmp_path_factory.mktemp("media-cache")


def pindah_env(state: Path, cache: Path, pds_url: str | None, password: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINDAH_")}
    env |= {"PINDAH_STATE_DIR": str(state), "PINDAH_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(state / "config")}  # never the developer's own config file
    if pds_url:
        env["PINDAH_BLUESKY_PDS"] = pds_url
    if password:
        env["PINDAH_BLUESKY_APP_PASSWORD"] = password
    return env | extra


def pindah(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def migrate(export: Path, account: Account, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return pindah(["migrate", str(export), "--to", f"bluesky:{account.handle}"], env)


def no_secrets(run: subprocess.CompletedProcess[str], account: Account) -> None:
    for secret in (account.password, account.app_password):
        assert secret not in run.stdout + run.stderr


def by_rkey(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        out[record["uri"].rsplit("/", 1)[1]] = record
    return out


def check_exactly_once(pds: LocalPds, account: Account, plans: list[PostPlan]) -> dict[str, dict[str, Any]]:
    """Every planned part is on the server once, under its derived key, and nothing else is."""
    records = pds.list_records(account.did)
    expected = {derive_rkey(part.key, part.created_at): part for plan in plans for part in plan.parts}
    found = by_rkey(records)
    assert len(records) == len(expected), f"{len(records)} records for {len(expected)} planned parts"
    assert set(found) == set(expected)
    times = Counter(r["value"]["createdAt"] for r in records)
    assert max(times.values()) == 1  # no post twice under another key either
    return found


PDS = "https://pds.example.org"
DID = "did:plc:abcdefghijklmnopqrstuvwx"
HANDLE = "rina.example.org"


def _jwt(scope: str, exp: float) -> str:
    import base64

    payload = base64.urlsafe_b64encode(json.dumps({"scope": scope, "exp": exp, "sub": DID}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"


def _session_json(scope: str = "com.atproto.appPass", exp: float | None = None) -> dict[str, Any]:
    exp = exp if exp is not None else time.time() + 7200
    return {"did": DID, "handle": HANDLE, "accessJwt": _jwt(scope, exp), "refreshJwt": _jwt("com.atproto.refresh", exp + 1e6)}

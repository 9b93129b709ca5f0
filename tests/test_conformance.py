"""The conformance suite: every registered adapter, on its own server (tests/targets/), keeps the
promises the engine relies on (adapters/contract.py).

Each test runs once per server of every adapter in `pindah.migrator.targets.available()`; an
adapter without a fixture module fails here. What a test checks is read back from the target
itself (its records, statuses, site or kit files), never from pindah's journal:

* create / find / read back / delete, through the adapter;
* a create whose answer was lost (the target made the post, the journal never heard) is found
  again, not made twice;
* a dry run writes nothing, on the target or in the journal;
* the server's 5xx / 400 / 401 reach the engine as TransientError / PostFailed / RunStopped
  (where the fixture has a server that can be made to answer them);
* split posts arrive whole, their parts in order, each with its files in carousel order;
* no published file carries a location; every published image carries the rights statement
  (AI training prohibited) where the target keeps the file's bytes.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pindah.adapters.contract import (
    Adapter,
    PindahError,
    PostFailed,
    PostRequest,
    RemoteRef,
    RunStopped,
    TargetError,
    TransientError,
)
from pindah.migrator import targets
from pindah.migrator.checkimage import inspect_image
from pindah.migrator.sources import read_export
from pindah.migrator.stamp import Stamp
from tests.bluesky_pds import bluesky_pds_fixture  # noqa: F401 - the session fixture
from tests.chaos_support import base_env, chaos_export, check_published, finish, plans_for, run
from tests.privacy import GPS_TEXT, Search, gps_export
from tests.targets import TargetUnderTest, environment

pytestmark = pytest.mark.integration

AI_TRAINING_PROHIBITED = "DMI-PROHIBITED-AIMLTRAINING"  # what every image says unless the artist chose otherwise


def test_every_registered_target_has_a_conformance_fixture():
    missing = [name for name in targets.available() if not (Path(__file__).parent / "targets" / f"{name}.py").exists()]
    assert missing == [], f"no conformance fixture for target(s) {', '.join(missing)}: add tests/targets/<name>.py"


def test_a_target_registered_without_a_fixture_gets_a_failing_test(monkeypatch, tmp_path: Path):
    from pindah.adapters.folder import FolderAdapter
    from tests.targets import open_variant, variants

    monkeypatch.setattr(targets, "available", lambda: {"folder": FolderAdapter, "newcomer": FolderAdapter})
    found = {v.id: v for v in variants()}
    assert set(found) == {"folder", "newcomer"} and found["newcomer"].open is None
    with pytest.raises(pytest.fail.Exception, match="no conformance fixture for target newcomer"):
        open_variant(found["newcomer"], None, tmp_path)  # type: ignore[arg-type]


# -- through the adapter ----------------------------------------------------------------------------
@contextmanager
def adapter_on(target: TargetUnderTest, tmp: Path) -> Iterator[Adapter]:
    """The adapter as the engine makes it (from the --to spec), logged in to the fixture's server."""
    with environment(**target.env, PINDAH_STATE_DIR=str(tmp / "state"), PINDAH_CACHE_DIR=str(tmp / "cache"),
                     XDG_CONFIG_HOME=str(tmp / "config"), PINDAH_MASTODON_TOKEN_STORE="file"):
        adapter = targets.make_target(target.spec, {})
        adapter.prepare(interactive=False)
        try:
            yield adapter
        finally:
            adapter.finish()


def one_prepared_picture(adapter: Adapter, tmp: Path):
    """A picture (with GPS in the export) as the engine hands it to the adapter: prepared, stamped."""
    with read_export([gps_export(tmp / "export")]) as export:
        result = Stamp().prepare(export.posts[0].media[0], adapter.caps, tmp / "cache")
    assert result.prepared is not None, result.skipped
    return result.prepared


def a_request(media: RemoteRef) -> PostRequest:
    post_id = secrets.token_hex(6)
    return PostRequest(key=f"{post_id}#0", text=f"Conformance piece {post_id} #ink", media=(media,),
                       media_alt=("Ink drawing of a harbour",), created_at=datetime(2019, 3, 2, 9, 15, tzinfo=UTC),
                       reply_to=None, root=None, post_id=post_id, part_index=0, part_count=1)


def test_create_find_read_back_and_delete(target: TargetUnderTest, tmp_path: Path):
    with adapter_on(target, tmp_path) as adapter:
        request = a_request(adapter.upload_media(one_prepared_picture(adapter, tmp_path), "p#0/m0"))
        ref = adapter.create_post(request)
        back = adapter.read_post(ref)
        assert back is not None and back["text"] == request.text and back["media"] == 1, back
        assert [item.text for item in target.read()] == [request.text]
    with adapter_on(target, tmp_path) as fresh:  # another run: nothing shared but the target
        found = fresh.find_post(request)
        assert found is not None and found.id == ref.id
        if target.manual or not target.deletes:
            with pytest.raises(PindahError) as refused:
                fresh.delete_post(ref)  # never "deleted" while the post is still there
            said = refused.value.one_line()
            assert ("yourself" in said) if target.manual else ("still" in said), said
            assert fresh.read_post(ref) is not None
            return
        fresh.delete_post(ref)
        assert fresh.read_post(ref) is None
        assert fresh.find_post(request) is None
    assert target.read() == []


@pytest.mark.parametrize("status, error, expected", [
    (503, {"error": "InternalServerError", "message": "try later"}, TransientError),
    (400, {"error": "InvalidRequest", "message": "the record is not valid"}, PostFailed),
    (401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, RunStopped),
], ids=["5xx", "400", "401"])
def test_server_errors_reach_the_engine_as_the_right_class(target: TargetUnderTest, tmp_path: Path, status, error,
                                                           expected):
    with adapter_on(target, tmp_path) as adapter:
        request = a_request(adapter.upload_media(one_prepared_picture(adapter, tmp_path), "p#0/m0"))
        with target.inject(status, error), pytest.raises(TargetError) as raised:
            adapter.create_post(request)
    assert type(raised.value) is expected, f"{status} became {type(raised.value).__name__}: {raised.value}"
    assert raised.value.one_line() and "Traceback" not in raised.value.one_line()
    assert target.read() == []  # the server refused: nothing may be there


# -- through the CLI --------------------------------------------------------------------------------
def migrate(target: TargetUnderTest, export: Path, tmp: Path, *extra: str, **switches: str):
    return run(["migrate", str(export), "--to", target.spec, *extra], base_env(tmp, **target.env) | switches)


def test_a_create_whose_answer_was_lost_is_found_not_made_twice(target: TargetUnderTest, tmp_path: Path):
    export = chaos_export(tmp_path / "export", 4, seed=41)
    for n in (1, 2):  # killed right after the target made a post, before the journal heard of it
        died = migrate(target, export.root, tmp_path, CRASH_AFTER_CREATE=str(n))
        assert died.returncode < 0, f"not killed after create {n}: exit {died.returncode}\n{died.stdout}"
    finish(["migrate", str(export.root), "--to", target.spec], base_env(tmp_path, **target.env))
    plans = plans_for(export.root, target.caps)
    check_published(target.read(), plans, export, videos=target.caps.supports_video).assert_exactly_once()


def journal_rows(state: Path) -> list[str]:
    """Every journal's content, row by row (read-only: reading must not change what is compared)."""
    rows = []
    for path in sorted(state.rglob("*.sqlite")):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows += [f"{path.name}: {line}" for line in db.iterdump()]
        finally:
            db.close()
    return rows


def test_a_dry_run_writes_nothing_on_the_target_or_in_the_journal(target: TargetUnderTest, tmp_path: Path):
    export = chaos_export(tmp_path / "export", 5, seed=42)
    assert migrate(target, export.root, tmp_path, "--limit", "2").returncode == 0
    before, journal = target.snapshot(), journal_rows(tmp_path / "state")
    assert before[0] and journal, "the first run published nothing to compare with"
    dry = migrate(target, export.root, tmp_path, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert target.snapshot() == before
    assert journal_rows(tmp_path / "state") == journal


def test_split_posts_arrive_whole_with_parts_and_files_in_order(target: TargetUnderTest, tmp_path: Path):
    export = chaos_export(tmp_path / "export", 10, seed=43)
    done = migrate(target, export.root, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    plans = plans_for(export.root, target.caps)
    check_published(target.read(), plans, export, videos=target.caps.supports_video).assert_exactly_once()


def test_no_published_file_carries_a_location(target: TargetUnderTest, tmp_path: Path, request):
    done = migrate(target, gps_export(tmp_path / "export"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    files = target.stored_files()
    assert files, "nothing was published"
    search = Search()
    for name, data in files.items():
        search.media(name, data)
    search.text("published texts", "\n".join(item.text for item in target.read()), GPS_TEXT)
    search.done(request)


def test_every_published_image_carries_the_rights_statement(target: TargetUnderTest, tmp_path: Path):
    if not target.keeps_bytes:
        pytest.skip(f"{target.spec}: the server re-encodes the files it is sent")
    done = migrate(target, gps_export(tmp_path / "export"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    images = [data for item in target.read() for data in item.media]
    assert len(images) == 5
    assert [inspect_image(data).data_mining for data in images] == [AI_TRAINING_PROHIBITED] * 5

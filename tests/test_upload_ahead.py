"""The next post's images travel while the current post is created (Adapter.uploads_alongside),
and exactly-once, the journal's brackets and every failure's handling stay what they were."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from pindah.adapters.contract import PostRequest, PreparedMedia, RemoteRef
from pindah.adapters.toolkit.http import HttpClient
from pindah.adapters.bluesky_xrpc import Session, XrpcClient
from pindah.migrator import journal as J
from pindah.migrator.journal import Journal
from pindah.migrator.planner import PlanOptions, plan_posts
from pindah.migrator.runner import Runner
from pindah.migrator.sources import read_export

from tests.bluesky_support import _jwt
from tests.exportbuilder.meta_json import write_meta_json
from tests.exportbuilder.spec import SynthMedia, SynthPost
from tests.fake_target import FakeAdapter, Server, permanent, transient

T0 = 1_600_000_000


class AlongsideAdapter(FakeAdapter):
    """The in-memory target, declaring its uploads safe on a second thread; it notes each call's thread."""

    uploads_alongside = True

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.threads: dict[str, str] = {}  # call -> thread name
        self.lock = threading.Lock()

    def upload_media(self, media: PreparedMedia, key: str) -> RemoteRef:
        with self.lock:
            self.threads[f"upload {key}"] = threading.current_thread().name
        return super().upload_media(media, key)

    def create_post(self, request: PostRequest) -> RemoteRef:
        with self.lock:
            self.threads[f"create {request.key}"] = threading.current_thread().name
        return super().create_post(request)


class OneThreadAdapter(AlongsideAdapter):
    uploads_alongside = False


def run(tmp_path: Path, adapter: FakeAdapter, images: list[int], sleep=lambda s: None):
    """Migrate posts with `images[i]` images each; the outcome, journal counts and media states."""
    posts = [SynthPost(T0 + i * 86400, f"Work {i} #art", [SynthMedia() for _ in range(n)]) for i, n in enumerate(images)]
    write_meta_json(tmp_path / "export", posts)
    with read_export([tmp_path / "export"]) as exp:
        plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
        with Journal.open(tmp_path / "journal.sqlite") as journal:
            outcome = Runner(adapter, journal, tmp_path / "cache", sleep=sleep).run(plans)
            states = [r.state for p in plans for r in journal.media(p.post.id)]
            return outcome, journal.counts(), states, plans


def test_the_next_posts_images_upload_while_this_post_is_created(tmp_path):
    server = Server()
    adapter = AlongsideAdapter(server)
    next_upload_started = threading.Event()
    create_post = adapter.create_post

    def slow_create(request: PostRequest) -> RemoteRef:
        # The first post is created only once the second's images are on their way (or 5 s passed).
        next_upload_started.wait(5)
        return create_post(request)

    upload_media = adapter.upload_media

    def noting_upload(media: PreparedMedia, key: str) -> RemoteRef:
        if threading.current_thread() is not threading.main_thread():
            next_upload_started.set()
        return upload_media(media, key)

    adapter.create_post, adapter.upload_media = slow_create, noting_upload  # type: ignore[method-assign]
    outcome, counts, states, plans = run(tmp_path, adapter, [1, 2, 1, 3])

    assert next_upload_started.is_set()
    assert counts == {J.POSTED: 4} and len(outcome.posted) == 4 and not outcome.failed
    ahead = [call for call, thread in adapter.threads.items() if thread.startswith("pindah-upload-ahead")]
    assert ahead and all(call.startswith("upload ") for call in ahead)  # creates stay on the runner's thread
    # Every post shows its own images, in order, each uploaded once.
    uploads = [c for c in server.calls if c.startswith("upload")]
    assert len(uploads) == len(set(uploads)) == 7
    for plan in plans:
        record = server.posts[plan.parts[0].key]
        assert record["media"] == [f"m:{plan.parts[0].key}/m{i}" for i in range(len(plan.post.media))]
    assert set(states) == {J.UPLOADED}


def test_every_upload_sent_ahead_is_on_disk_as_uploading_before_it_goes_out(tmp_path):
    path = tmp_path / "journal.sqlite"
    found: list[tuple[str, list[tuple]]] = []

    def check(op: str, arg: object) -> None:
        if op == "upload":
            key, _, mi = str(arg).rpartition("/m")
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                found.append((str(arg), db.execute("SELECT state FROM media WHERE post_id=? AND idx=?",
                                                   (key.rsplit("#", 1)[0], int(mi))).fetchall()))
            finally:
                db.close()

    adapter = AlongsideAdapter(Server(fail=lambda op, arg: check(op, arg)))
    run(tmp_path, adapter, [2, 2, 2])
    assert len(found) == 6 and all(state == [(J.UPLOADING,)] for _, state in found), found
    assert any(t.startswith("pindah-upload-ahead") for t in adapter.threads.values())


def test_an_upload_that_failed_ahead_is_retried_the_usual_way(tmp_path):
    failed_once: list[str] = []

    def fail(op: str, arg: object) -> Exception | None:
        if op == "upload" and threading.current_thread() is not threading.main_thread() and not failed_once:
            failed_once.append(str(arg))
            return transient()
        return None

    server = Server(fail=fail)
    waits: list[float] = []
    outcome, counts, states, _ = run(tmp_path, AlongsideAdapter(server), [1, 1, 1], sleep=waits.append)
    assert counts == {J.POSTED: 3} and not outcome.failed
    assert failed_once and server.calls.count(f"upload {failed_once[0]}") == 2  # the failed attempt, then one more
    assert waits  # the usual backoff before the retry
    assert set(states) == {J.UPLOADED}


def test_a_file_refused_ahead_fails_only_its_post_with_the_servers_reason(tmp_path):
    refused: list[str] = []

    def fail(op: str, arg: object) -> Exception | None:
        if op == "upload" and str(arg).endswith("/m0") and not refused \
                and threading.current_thread() is not threading.main_thread():
            refused.append(str(arg))
            return permanent("server answered 413: file too large")
        return None

    server = Server(fail=fail)
    outcome, counts, states, plans = run(tmp_path, AlongsideAdapter(server), [1, 2, 1])
    assert len(refused) == 1
    post_id = refused[0].split("#", 1)[0]
    assert outcome.failed == {post_id: "server answered 413: file too large."}
    assert counts == {J.POSTED: 2, J.FAILED: 1}
    assert server.calls.count(f"upload {refused[0]}") == 1  # a refusal is never retried
    # The refused post's other image went out alongside: recorded as uploaded, never "uploading".
    assert J.UPLOADING not in states and J.FAILED in states


def test_an_adapter_without_the_flag_is_only_called_from_the_runners_thread(tmp_path):
    adapter = OneThreadAdapter(Server())
    outcome, counts, _, _ = run(tmp_path, adapter, [2, 1, 2])
    assert counts == {J.POSTED: 3}
    assert set(adapter.threads.values()) == {threading.main_thread().name}


def test_each_thread_talks_over_its_own_connections(tmp_path):
    wire = HttpClient("http://127.0.0.1:9")
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(wire.session))
    thread.start()
    thread.join()
    assert other[0] is not wire.session  # the upload thread never shares a socket with the runner
    wire.close()


def test_two_threads_with_an_expiring_login_renew_it_once():
    client = XrpcClient("http://127.0.0.1:9")
    client.session = Session("did:plc:x", "x.test", client.base_url, _jwt("com.atproto.access", time.time() + 10),
                             _jwt("com.atproto.refresh", time.time() + 86400))
    renewals: list[str] = []

    def refresh() -> Session:
        renewals.append(threading.current_thread().name)
        time.sleep(0.2)  # both threads are inside ensure_fresh meanwhile
        client.session = Session("did:plc:x", "x.test", client.base_url,
                                 _jwt("com.atproto.access", time.time() + 7200), _jwt("com.atproto.refresh", time.time() + 86400))
        return client.session

    client.refresh = refresh  # type: ignore[method-assign]
    threads = [threading.Thread(target=client.ensure_fresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(renewals) == 1  # a refresh token is single-use: two renewals would lose the login

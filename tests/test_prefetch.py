"""The prefetcher renders the next media in worker processes and hands back exactly what the
one-process pipeline would: same files, same reasons, same cache, bounded, robust to a dead worker."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

from bench.synthetic import painting_jpeg
from pindah.migrator.exportfs import ExportTree
from pindah.migrator.media import ImageJob, begin, finish, process_media, render_job
from pindah.migrator.model import Media, MediaType
from pindah.migrator.prefetch import Prefetcher
from pindah.migrator.rights import load_rights
from pindah.migrator.stamp import PASSED, Stamp
from tests.test_media_pipeline import BLUESKY, MemoryTree, encode, picture, private_jpeg

STAMP = load_rights({}).stamp()


def export(count: int = 4) -> tuple[MemoryTree, list[Media]]:
    files = {f"media/{i}.jpg": painting_jpeg(i, (2400, 1800)) for i in range(count)}  # all need resizing
    files["media/small.jpg"] = private_jpeg(picture(400, 300))  # fits: the lossless route
    tree = MemoryTree(files)
    return tree, [Media(path, tree, alt_text=f"alt {path}") for path in files]


def test_pool_results_are_the_very_results_of_the_one_process_pipeline(tmp_path: Path) -> None:
    _, medias = export()
    with Prefetcher(STAMP, BLUESKY, tmp_path / "pool", workers=2, min_bytes=0) as prefetcher:
        prefetcher.schedule(medias)
        pooled = [prefetcher.prepare(m) for m in medias]
        assert prefetcher.rendered_in_pool == len(medias)  # every file went through a worker
    alone = [STAMP.prepare(m, BLUESKY, tmp_path / "alone") for m in medias]
    assert [r.prepared.sha256 for r in pooled] == [r.prepared.sha256 for r in alone]  # type: ignore[union-attr]
    assert [(r.actions, r.reencoded, r.skipped) for r in pooled] == [(r.actions, r.reencoded, r.skipped) for r in alone]
    assert [r.prepared.alt_text for r in pooled] == [m.alt_text for m in medias]  # type: ignore[union-attr]
    assert pooled[0].reencoded == "too large: 2400×1800 px > 2000 px a side" and pooled[-1].reencoded is None


def test_a_resumed_run_is_served_from_the_cache_the_pool_filled(tmp_path: Path) -> None:
    _, medias = export(2)
    with Prefetcher(STAMP, BLUESKY, tmp_path, workers=2, min_bytes=0) as prefetcher:
        prefetcher.schedule(medias)
        first = [prefetcher.prepare(m) for m in medias]
    again = [STAMP.prepare(m, BLUESKY, tmp_path) for m in medias]
    assert again == first and all(r.from_cache and r.encodes == 0 for r in again)


def test_no_more_than_ahead_files_are_held_and_unwanted_ones_are_dropped(tmp_path: Path) -> None:
    _, medias = export(4)
    with Prefetcher(STAMP, BLUESKY, tmp_path, workers=2, ahead=2, min_bytes=0) as prefetcher:
        prefetcher.schedule(medias)
        assert len(prefetcher._held) == 2
        last = prefetcher.prepare(medias[3])  # a post that failed half way: 0-2 are never asked for
        assert len(prefetcher._held) <= 2
        alone = process_media(medias[3], BLUESKY, tmp_path / "check", extras=STAMP.extras)
        assert last.prepared and alone.prepared and last.prepared.sha256 == alone.prepared.sha256
        outside = Media("media/0.jpg", medias[0].tree)  # never scheduled: prepared on the spot
        assert prefetcher.prepare(outside).prepared is not None


def test_a_worker_that_dies_costs_only_speed(tmp_path: Path) -> None:
    _, medias = export(4)
    with Prefetcher(STAMP, BLUESKY, tmp_path, workers=2, min_bytes=0) as prefetcher:
        prefetcher.schedule(medias)
        pool = prefetcher._pool
        assert pool is not None
        for pid in list(pool._processes):  # e.g. the system's out-of-memory killer
            os.kill(pid, signal.SIGKILL)
        results = [prefetcher.prepare(m) for m in medias]
    assert all(r.prepared is not None for r in results)
    alone = [STAMP.prepare(m, BLUESKY, tmp_path / "alone") for m in medias]
    assert [r.prepared.sha256 for r in results] == [r.prepared.sha256 for r in alone]  # type: ignore[union-attr]


def folder_export(root: Path, count: int) -> tuple[ExportTree, list[Media]]:
    for i in range(count):
        (root / "media").mkdir(parents=True, exist_ok=True)
        (root / "media" / f"{i}.jpg").write_bytes(painting_jpeg(i, (2400, 1800)))
    tree = ExportTree.from_paths([root])
    return tree, [Media(f"media/{i}.jpg", tree) for i in range(count)]


def test_a_folder_exports_files_reach_the_workers_by_path_and_come_back_the_same(tmp_path: Path) -> None:
    tree, medias = folder_export(tmp_path / "export", 3)
    with tree, Prefetcher(STAMP, BLUESKY, tmp_path / "pool", workers=2, min_bytes=0) as prefetcher:
        prefetcher.schedule(medias)
        jobs = [job for _, job, _ in prefetcher._held.values()]
        assert all(isinstance(job, ImageJob) and job.data is None and job.source is not None for job in jobs)
        pooled = [prefetcher.prepare(m) for m in medias]
        assert prefetcher.rendered_in_pool == 3
        alone = [STAMP.prepare(Media(m.path, tree), BLUESKY, tmp_path / "alone") for m in medias]
    assert [r.prepared.sha256 for r in pooled] == [r.prepared.sha256 for r in alone]  # type: ignore[union-attr]
    assert [(r.actions, r.reencoded) for r in pooled] == [(r.actions, r.reencoded) for r in alone]


def test_a_file_changed_after_it_was_hashed_is_neither_sent_nor_cached_under_the_old_hash(tmp_path: Path) -> None:
    tree, (media,) = folder_export(tmp_path / "export", 1)
    with tree:
        job = begin(media, BLUESKY, tmp_path / "cache", extras=STAMP.extras, read=False)
        assert isinstance(job, ImageJob) and job.source is not None
        job.source.write_bytes(painting_jpeg(99, (2400, 1800)))  # the artist edits it meanwhile
        result = finish(job, render_job(job))
        assert result.prepared is None and result.skipped is not None and "changed" in result.skipped
        fresh = process_media(Media(media.path, tree), BLUESKY, tmp_path / "cache", extras=STAMP.extras)
    assert fresh.prepared is not None and not fresh.from_cache  # the new picture, prepared afresh


def test_the_one_process_pipeline_reads_a_file_once(tmp_path: Path) -> None:
    tree = MemoryTree({"a.jpg": painting_jpeg(1, (2400, 1800))})
    media = Media("a.jpg", tree)
    assert media.type is MediaType.IMAGE  # sniffed from its head, as planning does
    tree.opened = 0
    assert process_media(media, BLUESKY, tmp_path).prepared is not None
    assert tree.opened == 1 and media.sha256() == hashlib.sha256(tree.files["a.jpg"]).hexdigest()


def test_small_files_and_cached_runs_start_no_pool(tmp_path: Path) -> None:
    tree = MemoryTree({"a.jpg": encode(picture(300, 200), "JPEG")})
    with Prefetcher(STAMP, BLUESKY, tmp_path, workers=2) as prefetcher:
        prefetcher.schedule([Media("a.jpg", tree)])
        assert prefetcher.prepare(Media("a.jpg", tree)).prepared is not None
        assert prefetcher._pool is None


def test_protected_files_still_get_their_note(tmp_path: Path) -> None:
    tree = MemoryTree({"glazed/a.jpg": encode(picture(300, 200), "JPEG")})
    media = Media("glazed/a.jpg", tree)
    with Prefetcher(Stamp(protected=("glazed/*",)), BLUESKY, tmp_path, workers=2, min_bytes=0) as prefetcher:
        prefetcher.schedule([media])
        assert prefetcher.prepare(media).actions[-1] == PASSED


def test_a_cache_that_cannot_be_written_is_an_error_not_a_skip(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    _, medias = export(1)
    with Prefetcher(STAMP, BLUESKY, blocked, workers=2, min_bytes=0) as prefetcher:
        prefetcher.schedule(medias)
        with pytest.raises(OSError):
            prefetcher.prepare(medias[0])


def test_workers_do_not_outlive_a_killed_run(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from tests.test_prefetch import export, STAMP, BLUESKY
from pindah.migrator.prefetch import Prefetcher
_, medias = export(3)
prefetcher = Prefetcher(STAMP, BLUESKY, {str(tmp_path)!r}, workers=2, min_bytes=0)
prefetcher.schedule(medias)
print(" ".join(str(pid) for pid in prefetcher._pool._processes), flush=True)
os._exit(9)  # as a kill -9 of the run would: nothing is shut down
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    pids = [int(p) for p in ran.stdout.split()]
    assert len(pids) == 2, ran.stderr

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:  # a zombie waiting for its (gone) parent's reaper is not running either
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().split(") ")[-1][0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed requirement
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)

"""Preparing the next posts' media on every core while the current post's network calls run.

Decoding, resizing and encoding a 20-megapixel photo keeps a core busy for a good part of a
second; an upload mostly waits on the network. A `Prefetcher` is told the run's media in order
(`schedule`) and keeps a few of them rendering in a process pool (one worker per core) ahead of
the runner. `prepare` then hands back the very `MediaResult` that `Stamp.prepare` would have
computed, usually already done.

Bounds and safety:
- at most `ahead` files are held at once (source bytes read, rendering or rendered and waiting):
  memory stays a few dozen MB whatever the export's size;
- the parent process alone hashes, checks and writes the cache (`media.begin`, `media.finish`);
  workers only turn bytes into bytes (`media.render`), so every guarantee of the pipeline
  (metadata check, byte limits, bomb refusal, the cache key) is the same code. A file of a
  folder export is sent by path, with the hash it must still have (`media.render_file`):
  piping 7 MB to a worker cost it more CPU than reading the file; a ZIP member's bytes are sent;
- the pool starts only when a large image (`min_bytes`) needs rendering: small files, cached
  files and videos are handled in this process, and a run that needs no pixel work starts none;
- a worker that dies (killed, out of memory) costs nothing but speed: the file is rendered in this
  process instead; workers ignore Ctrl-C (the runner handles it) and exit when their parent does;
- files scheduled but never asked for (a post that failed half way) are dropped, never waited on.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from pindah.adapters.contract import Capabilities

from . import media as pipeline
from .media import ImageJob, MediaResult
from .model import Media
from .stamp import Stamp

POOL_MIN_BYTES = 256 << 10  # smaller sources render in a few ms: not worth a worker's round trip
WORKER_IMAGE_BLOCKS = 8  # of Pillow's 16 MB blocks kept per worker: at most 128 MB, a 20-megapixel photo's work


class Prefetcher:
    """Renders scheduled media ahead of use, across all cores, at most `ahead` at a time."""

    def __init__(self, stamp: Stamp, caps: Capabilities, cache_dir: Path, *, workers: int | None = None,
                 ahead: int | None = None, min_bytes: int = POOL_MIN_BYTES) -> None:
        self.stamp = stamp
        self.caps = caps
        self.cache_dir = Path(cache_dir)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.ahead = max(1, ahead or 2 * self.workers)
        self.min_bytes = min_bytes
        self._upcoming: Iterator[Media] = iter(())
        # id(media) -> (media, finished result | job, its future or None to render here)
        self._held: OrderedDict[int, tuple[Media, MediaResult | ImageJob, Future | None]] = OrderedDict()
        self._pool: ProcessPoolExecutor | None = None
        self._pool_failed = False
        self.rendered_in_pool = 0  # for the bench and tests: how many files a worker rendered

    # -- the runner's side -----------------------------------------------------------------
    def schedule(self, medias: Iterable[Media]) -> None:
        """The media the run will ask for, in order. Consumed lazily, `ahead` at a time."""
        self._upcoming = iter(medias)
        self._top_up()

    def prepare(self, media: Media) -> MediaResult:
        """What `Stamp.prepare` gives for `media`; raises OSError only if the cache can't be
        written (as `process_media` does)."""
        held = self._take(media)
        if held is None:
            started = pipeline.begin(media, self.caps, self.cache_dir, extras=self.stamp.extras)
            held = (started, None)
        done, future = held
        result = done if isinstance(done, MediaResult) else pipeline.finish(done, self._outcome(done, future))
        self._top_up()  # the next files render while the caller uploads this one
        return self.stamp.annotate(media, result)

    def ready(self, media: Media) -> bool:
        """Would `prepare(media)` answer without waiting for a worker (held, and done or small)?"""
        held = self._held.get(id(media))
        return held is not None and held[0] is media and (held[2] is None or held[2].done())

    def close(self) -> None:
        self._held.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ------------------------------------------------------------------------------
    def _take(self, media: Media) -> tuple[MediaResult | ImageJob, Future | None] | None:
        """The held entry for `media`; entries scheduled before it were not wanted after all."""
        if id(media) not in self._held:
            return None
        while True:
            key, (held_media, done, future) = self._held.popitem(last=False)
            if key == id(media) and held_media is media:
                return done, future
            if future is not None and not future.cancel() and future.done() and isinstance(done, ImageJob):
                try:  # finished anyway: keep the work for a later run (the cache is keyed by content)
                    pipeline.finish(done, future.result())
                except Exception:  # noqa: BLE001 - a lost prefetch is only lost time
                    pass

    def _top_up(self) -> None:
        while len(self._held) < self.ahead:
            media = next(self._upcoming, None)
            if media is None:
                return
            if id(media) in self._held:
                continue
            try:  # a worker reads a file on disk itself: its bytes are not read here to be piped
                started = pipeline.begin(media, self.caps, self.cache_dir, extras=self.stamp.extras,
                                         read=not self._pool_possible())
            except Exception:  # noqa: BLE001 - e.g. the cache can't be written: `prepare` will say so
                self._upcoming = iter(())
                return
            self._held[id(media)] = (media, started, self._submit(started))

    def _submit(self, started: MediaResult | ImageJob) -> Future | None:
        if not isinstance(started, ImageJob) or started.unread is not None:
            return None
        size = len(started.data) if started.data is not None else started.media.size or 0
        if size < self.min_bytes:
            return None
        pool = self._ensure_pool()
        if pool is None:
            return None
        try:
            if started.data is None and started.source is not None:  # sent its path, not its bytes
                return pool.submit(pipeline.render_file, started.source, started.sha256, started.caps, started.extras)
            return pool.submit(pipeline.render, started.data, started.caps, started.extras)
        except (BrokenProcessPool, RuntimeError):
            self._pool_failed = True
            return None

    def _outcome(self, job: ImageJob, future: Future | None) -> tuple[pipeline.ImageOutput | str, bool]:
        if future is not None and not future.cancelled():
            try:
                outcome = future.result()
                self.rendered_in_pool += 1
                return outcome
            except (BrokenProcessPool, OSError, EOFError):
                self._pool_failed = True  # a worker died: render here, as without a pool
        return pipeline.render_job(job)

    def _pool_possible(self) -> bool:
        return self.workers > 1 and not self._pool_failed

    def _ensure_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._pool_failed and self.workers > 1:
            context = multiprocessing.get_context(_start_method())
            try:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_worker_setup,
                                                 initargs=(os.getpid(),))
            except (OSError, ValueError, NotImplementedError):
                self._pool_failed = True
        return self._pool


def _start_method() -> str:
    """"fork" starts a worker in milliseconds, but a fork taken while another thread holds a lock
    (a progress display, a test's server) can leave the worker stuck on it: then a forkserver,
    which starts clean in a fraction of a second; "spawn" where neither exists (Windows)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _worker_setup(run_pid: int) -> None:
    """In each worker: Ctrl-C is the runner's to handle, and the worker goes when the run does
    (a killed run must not leave workers behind)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Pillow returns every freed image block to the system, so each picture's buffers are
    # faulted in afresh (a fifth of a worker's time went to the kernel): keep a few for reuse.
    from PIL import Image

    Image.core.set_blocks_max(WORKER_IMAGE_BLOCKS)
    _keep_freed_memory()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent and _alive(run_pid):
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="pindah-parent-watch").start()


def _keep_freed_memory() -> None:
    """glibc hands every large block (the photo's bytes, its decoded and resized pixels, the
    encoder's buffers) back to the system when freed, so each picture faulted ~40 MB in afresh: a
    tenth of a worker's time, in the kernel. Blocks up to 32 MB now come from the heap, which
    keeps up to 128 MB free for the next picture (a worker lives as long as its run). Elsewhere
    than glibc there is no `mallopt`, and nothing to do."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this Python runs on
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no such handle
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 128 << 20)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

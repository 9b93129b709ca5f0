"""Sending the next post's images while the current post is created.

A remote run is a chain of calls, and between two of them the server sits idle while pindah
journals the last answer, paces the next call and reads its file. For adapters that allow it
(`Adapter.uploads_alongside`), the runner gives the next post's images to one background thread
right before it creates the current post, so those uploads travel while the create does.

Exactly-once is untouched, and this module is why:
- the thread only calls `upload_media`; it never touches the journal, the pacer or the cache.
  The runner, on its own thread, paces each upload, writes "uploading" and makes it durable
  before handing the upload over, and writes "uploaded" when it takes the answer: the journal
  still brackets every remote call;
- an upload creates nothing the artist sees (a file the run never attaches is dropped by the
  server), so an upload sent ahead for a post that then fails or is left out costs nothing;
- the runner takes each upload sent ahead as the first attempt of its usual call: its answer, or
  its error handled exactly as if the call had just failed there (retried, waited for,
  reported, or stopping the run). Nothing is decided or reported on this thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from pindah.adapters.contract import PreparedMedia, RemoteRef

Upload = Callable[[PreparedMedia, str], RemoteRef]


class UploadAhead:
    """One background thread uploading files the runner hands it; the runner takes the answers."""

    def __init__(self, upload: Upload) -> None:
        self._upload = upload
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pindah-upload-ahead")
        self._sent: dict[tuple[str, int], Future[RemoteRef]] = {}  # (post id, media index) -> its upload

    def send(self, post_id: str, index: int, prepared: PreparedMedia, key: str) -> None:
        """Start uploading `prepared` (its "uploading" must already be durable in the journal)."""
        self._sent[(post_id, index)] = self._pool.submit(self._upload, prepared, key)

    def take(self, post_id: str, index: int) -> Future[RemoteRef] | None:
        """The upload sent ahead for this file (its `result()` waits, then answers or raises what
        `upload_media` raised), or None. A run prepares each file once, so it is this version."""
        return self._sent.pop((post_id, index), None)

    def untaken(self, post_id: str | None = None) -> list[tuple[str, int, Future[RemoteRef]]]:
        """Uploads sent ahead and never taken (a post that failed, was found already there or
        was never reached), of one post or of all, forgotten here: the runner journals them."""
        keys = [key for key in self._sent if post_id is None or key[0] == post_id]
        return [(key[0], key[1], self._sent.pop(key)) for key in keys]

    def close(self) -> None:
        """Wait for uploads under way (a run ends with no call in flight), then stop the thread."""
        self._sent.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

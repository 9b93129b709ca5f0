"""Runs `pindah` in a child process whose folder target can be made slow or made to die.

CRASH_AFTER_CREATE=N: SIGKILL this process right after the N-th create returned, before the
runner could journal it (the worst moment). SLOW_MS=n: sleep n ms in each upload and create,
so that a SIGKILL sent from outside lands at a random point of the run.
"""

import os
import signal
import sys
import time

from pindah.adapters.folder import FolderAdapter

_create, _upload = FolderAdapter.create_post, FolderAdapter.upload_media
_count = [0]
_slow = int(os.environ.get("SLOW_MS", "0")) / 1000
_crash_after = int(os.environ.get("CRASH_AFTER_CREATE", "0"))


def create_post(self, request):
    time.sleep(_slow)
    ref = _create(self, request)
    _count[0] += 1
    if _count[0] == _crash_after:
        os.kill(os.getpid(), signal.SIGKILL)
    return ref


def upload_media(self, media, key):
    time.sleep(_slow)
    return _upload(self, media, key)


FolderAdapter.create_post = create_post
FolderAdapter.upload_media = upload_media

if __name__ == "__main__":
    from pindah.migrator.cli import main

    sys.argv = ["pindah", *sys.argv[1:]]
    main()

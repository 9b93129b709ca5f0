"""Where pindah keeps its own files: state (journals, sessions, tokens) and the media cache."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "pindah"


def state_dir() -> Path:
    """Where journals, sessions and tokens live (PINDAH_STATE_DIR overrides; tests use it)."""
    return Path(os.environ.get("PINDAH_STATE_DIR") or platformdirs.user_state_dir(APP))


def cache_dir() -> Path:
    """Where processed media are cached by content hash (PINDAH_CACHE_DIR overrides)."""
    return Path(os.environ.get("PINDAH_CACHE_DIR") or platformdirs.user_cache_dir(APP))

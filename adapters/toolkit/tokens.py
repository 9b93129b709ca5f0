"""Where remote targets keep logins: the system keyring when there is one, else a private file.

Room: one saved secret per target and account key (a server address, a DID...), as a small
JSON object. `SecretStore("mastodon")` keeps it in the keyring under the service
"pindah-mastodon" when the `keyring` package has a real backend (mode "auto" or "keyring"),
else in `state_dir()/tokens/mastodon/<hash>.json`: a 0600 file in a 0700 folder, written
atomically (`write_private`, also used for Bluesky's session file). Secrets are never logged;
a locked or broken keyring falls back to the file, never to an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from pindah.adapters.contract import PindahError
from pindah.adapters.toolkit.paths import state_dir

log = logging.getLogger("pindah.tokens")

MODES = ("auto", "keyring", "file")


def usable_keyring() -> Any:
    """The keyring module when it has a real backend (not the 'fail' or 'null' one), else None."""
    try:
        import keyring  # optional: pindah works without it
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        return keyring if float(getattr(backend, "priority", 0)) > 0 else None
    except Exception:  # noqa: BLE001 - a broken desktop keyring must never break pindah
        return None


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by this user only (0600 in a 0700 folder)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-", suffix=".json")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SecretStore:
    """Saved logins of one target, one per account key."""

    def __init__(self, service: str, folder: Path | None = None, *, mode: str = "auto", keyring: Any = ...) -> None:
        if mode not in MODES:
            raise PindahError(f"token_store must be auto, keyring or file, not {mode!r}")
        self.service = f"pindah-{service}"
        self.folder = folder or state_dir() / "tokens" / service
        self.keyring = None if mode == "file" else (usable_keyring() if keyring is ... else keyring)
        if mode == "keyring" and self.keyring is None:
            raise PindahError("token_store = \"keyring\" but no usable system keyring was found",
                              "install the `keyring` package, or set token_store = \"auto\"")

    def path(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")

    def load(self, key: str) -> dict[str, Any] | None:
        text = None
        if self.keyring is not None:
            try:
                text = self.keyring.get_password(self.service, key)
            except Exception:  # noqa: BLE001 - locked or broken keyring: try the file
                text = None
        if text is None:
            try:
                text = self.path(key).read_text("utf-8")
            except OSError:
                return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def save(self, key: str, data: dict[str, Any]) -> str:
        """Keep `data`; returns where, in words for the artist."""
        text = json.dumps(data)
        if self.keyring is not None:
            try:
                self.keyring.set_password(self.service, key, text)
                self.path(key).unlink(missing_ok=True)  # one place only
                return "your system keyring"
            except Exception as exc:  # noqa: BLE001 - fall back to the private file
                log.info("keyring refused the login (%s); keeping it in a private file", type(exc).__name__)
        write_private(self.path(key), text)
        return str(self.path(key))

    def delete(self, key: str) -> bool:
        removed = False
        if self.keyring is not None:
            try:
                if self.keyring.get_password(self.service, key) is not None:
                    self.keyring.delete_password(self.service, key)
                    removed = True
            except Exception as exc:  # noqa: BLE001 - the file below is still removed
                log.info("keyring could not remove the login (%s)", type(exc).__name__)
        path = self.path(key)
        if path.exists():
            path.unlink()
            removed = True
        return removed

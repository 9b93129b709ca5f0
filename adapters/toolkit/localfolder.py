"""The base of targets that write into a folder on this computer (the folder site, the Cara kit).

What such a target says about itself is the same whatever it writes there: its account is the
folder, its front page is the folder's index.html once written, and a run stops before it starts
when the place given is a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pindah.adapters.contract import Adapter, RunStopped


class LocalFolderAdapter(Adapter):
    """An adapter whose target is a local folder (`--to NAME:PATH`, else `default_folder`)."""

    default_folder = "."

    def __init__(self, location: str | None, config: dict[str, Any]) -> None:
        super().__init__(location, config)
        self.folder = Path(location or self.default_folder).expanduser().resolve()

    def check_folder(self) -> None:
        """Stop when the place given is a file. Only a check: a dry run calls prepare() too, and
        must leave no folder behind; folders are made by the first write."""
        if self.folder.exists() and not self.folder.is_dir():
            raise RunStopped(f"{self.folder} is a file, not a folder",
                             f"choose another place with --to {self.name}:PATH")

    def account(self) -> str:
        return str(self.folder)

    def where(self) -> str | None:
        index = self.folder / "index.html"
        return index.as_uri() if index.exists() else None

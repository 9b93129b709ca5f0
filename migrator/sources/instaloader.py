"""instaloader folders (placeholder until the reader lands)."""
from __future__ import annotations
from .base import Reader


class InstaloaderReader(Reader):
    layout = "instaloader"
    label = "instaloader profile folder"
    looked_for = ("YYYY-MM-DD_HH-MM-SS_UTC.json.xz",)

    def detect(self, tree):  # replaced by the real reader
        return False

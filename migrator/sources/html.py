"""HTML exports (placeholder until the HTML reader lands)."""
from __future__ import annotations
from .base import Reader


class HtmlReader(Reader):
    layout = "html"
    label = "Meta HTML export"
    looked_for = ("your_instagram_activity/media/posts_1.html", "content/posts_1.html")

    def detect(self, tree):  # replaced by the real reader
        return False

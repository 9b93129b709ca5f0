"""The Cara upload kit in a temporary folder. Cara has no API: the artist publishes by hand, so
"what the target holds" is the kit itself (one folder per planned part, read from its
manifest.json and image files); the marks the artist makes live in the journal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pindah.adapters.cara import CaraAdapter
from pindah.adapters.cara_kit import read_kit
from tests.chaos_support import Published
from tests.targets import TargetUnderTest, Variant, files_in


def read_cara_kit(kit: Path) -> list[Published]:
    """Each folder of the kit; part n of a split post continues part n-1 of the same post."""
    posts = read_kit(kit)
    folder_of = {(post.post_id, post.part): post.folder for post in posts}
    return [Published(post.folder, post.caption, folder_of.get((post.post_id, post.part - 1)),
                      [(kit / "posts" / post.folder / image.file).read_bytes() for image in post.images])
            for post in posts]


@contextmanager
def open_kit(request: pytest.FixtureRequest, tmp: Path) -> Iterator[TargetUnderTest]:
    kit = tmp / "cara-kit"
    yield TargetUnderTest("cara", f"cara:{kit}", {}, lambda: read_cara_kit(kit), CaraAdapter(str(kit), {}).caps,
                          files=lambda: files_in(kit))


VARIANTS = (Variant("cara", "cara", open_kit, (pytest.mark.cara,)),)

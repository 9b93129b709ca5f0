"""The numbers the issue's closing note asks for, gathered while the suite runs.

Tests add to them with `add(request, name, n)`; tests/conftest.py prints them at the end of the
run ("chaos figures: kills survived 12, faults injected 93, ..."), so anyone running
`pytest -m chaos` (or the whole suite) gets the note's figures from their own run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

FIGURES = pytest.StashKey[Counter]()
ORDER = ("kills survived", "faults injected", "hostile inputs tried", "posts checked on targets",
         "posts lost", "duplicates", "secrets found")


def add(request: pytest.FixtureRequest, name: str, n: int = 1) -> None:
    figures = request.config.stash.setdefault(FIGURES, Counter())
    figures[name] += n


def record_tally(request: pytest.FixtureRequest, tally: Any, *, kills: int = 0, faults: int = 0) -> None:
    """What a read-back of a target found (a chaos_support.Tally), after `kills` and `faults`."""
    if kills:
        add(request, "kills survived", kills)
    if faults:
        add(request, "faults injected", faults)
    add(request, "posts checked on targets", tally.expected_posts)
    add(request, "posts lost", len({key.split("#")[0] for key in tally.lost}))
    add(request, "duplicates", tally.duplicates)


def summary(config: pytest.Config) -> str | None:
    figures = config.stash.get(FIGURES, None)
    if not figures:
        return None
    names = [n for n in ORDER if n in figures] + sorted(set(figures) - set(ORDER))
    return "chaos figures: " + ", ".join(f"{name} {figures[name]}" for name in names)

"""The numbers the issue's closing note asks for, gathered while the suite runs.

Tests add to them with `add(request, name, n)`; tests/conftest.py prints them at the end of the
run ("chaos figures: kills survived 12, faults injected 93, ..."), so anyone running
`pytest -m chaos` (or the whole suite) gets the note's figures from their own run.
"""

from __future__ import annotations

from collections import Counter

import pytest

FIGURES = pytest.StashKey[Counter]()
ORDER = ("kills survived", "faults injected", "hostile inputs tried", "posts checked on targets",
         "posts lost", "duplicates", "secrets found")


def add(request: pytest.FixtureRequest, name: str, n: int = 1) -> None:
    figures = request.config.stash.setdefault(FIGURES, Counter())
    figures[name] += n


def summary(config: pytest.Config) -> str | None:
    figures = config.stash.get(FIGURES, None)
    if not figures:
        return None
    names = [n for n in ORDER if n in figures] + sorted(set(figures) - set(ORDER))
    return "chaos figures: " + ", ".join(f"{name} {figures[name]}" for name in names)

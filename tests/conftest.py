"""Suite-wide options and markers.

`--full`: the chaos suite's full size (200-post export, 25 SIGKILLs per target, a longer fault
run). Without it `pytest -m chaos` is sized for CI (about 40 posts, 6 kills per target).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", default=False,
                     help="chaos suite at full size: 200 posts, 25 SIGKILLs per target (slow)")


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml; repeated here so the marker is known wherever pytest runs.
    config.addinivalue_line("markers", "chaos: crash, fault and full-disk runs against local servers "
                                       "(sized for CI; --full for the 25-kill, 200-post run)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    from tests.figures import summary

    line = summary(config)
    if line:
        terminalreporter.write_line(line)

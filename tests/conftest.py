"""Suite-wide options, markers, and the `target` fixture.

`--full`: the chaos suite's full size (200-post export, 25 SIGKILLs per target, a longer fault
run). Without it `pytest -m chaos` is sized for CI (about 40 posts, 6 kills per target).

`target`: a test that takes it runs once for every server of every registered adapter
(tests/targets/), with that server's marks (bluesky, mastodon, cara...).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", default=False,
                     help="chaos suite at full size: 200 posts, 25 SIGKILLs per target (slow)")


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml; repeated here so the marker is known wherever pytest runs.
    config.addinivalue_line("markers", "chaos: crash, fault and full-disk runs against local servers "
                                       "(sized for CI; --full for the 25-kill, 200-post run)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        from tests.targets import params

        metafunc.parametrize("target", params(), indirect=True)


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    from tests.targets import open_variant

    with open_variant(request.param, request, tmp_path / "target") as opened:
        yield opened


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    from tests.figures import summary

    line = summary(config)
    if line:
        terminalreporter.write_line(line)

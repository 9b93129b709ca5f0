"""The import layers import-linter checks in CI (.importlinter) cover every module there is."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return config


def _listed(section: str, key: str) -> set[str]:
    return {line.strip() for line in _contracts()[section][key].splitlines() if line.strip()}


def test_every_adapter_module_is_held_to_the_layers() -> None:
    modules = {f"pindah.adapters.{p.stem}" for p in (ROOT / "adapters").glob("*.py")
               if p.stem not in ("__init__", "contract")}
    assert modules == _listed("importlinter:contract:adapters-not-core", "source_modules")
    assert modules == _listed("importlinter:contract:core-no-adapter", "forbidden_modules")
    assert modules == _listed("importlinter:contract:toolkit-only-contract", "forbidden_modules") - {"pindah.migrator"}
    families = [_listed(section, "source_modules") for section in _contracts().sections()  # each adapter's own
                if section.endswith("-alone") and section != "importlinter:contract:contract-alone"]
    assert set().union(*families) == modules and sum(map(len, families)) == len(modules)


def test_ci_runs_lint_imports_before_the_tests() -> None:
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert run.index("lint-imports") < run.index("python3 -m pytest")
    assert "import-linter" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")

"""pindah needs no `grapheme` package: the `regex` module's `\\X` already finds user-perceived
characters, so one library does it, everywhere (code, tests, benches) and in the declared list."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_code_imports_the_grapheme_package():
    sources = [p for folder in ("migrator", "adapters", "tests", "bench") for p in (ROOT / folder).rglob("*.py")
               if "node_modules" not in p.parts]
    assert sources
    assert [str(p.relative_to(ROOT)) for p in sources if "grapheme" in _imports(p)] == []


def test_grapheme_is_not_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [d.split(">")[0].split("=")[0].split("~")[0].strip().lower() for d in project["dependencies"]]
    assert "grapheme" not in declared and "regex" in declared

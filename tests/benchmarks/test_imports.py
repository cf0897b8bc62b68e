"""Every name a benchmark imports from corpusfit exists (benchmarks are not run in CI, so a
refactor would otherwise break them silently)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parents[2] / "benchmarks").glob("*.py"))


def corpusfit_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("corpusfit")
            for alias in node.names]


def resolves(module: str, name: str) -> bool:
    if hasattr(importlib.import_module(module), name):
        return True
    try:  # a submodule imported by name
        importlib.import_module(f"{module}.{name}")
        return True
    except ImportError:
        return False


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_imports_resolve(path):
    missing = [f"{m}.{n}" for m, n in corpusfit_imports(path) if not resolves(m, n)]
    assert not missing, f"{path.name} imports names that no longer exist: {missing}"


def test_checker_flags_a_missing_name(tmp_path):
    fake = tmp_path / "fake.py"
    fake.write_text("from corpusfit.workspace import no_such_function\n")
    (module, name), = corpusfit_imports(fake)
    assert not resolves(module, name)

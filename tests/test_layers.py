"""Imports only point down the layers, no two parts of corpusfit import each other, and
no two modules do (type-only imports included).

The table is the map of the package: a module may import its own part, a part of its
own layer (as long as no cycle forms) or a part of a lower layer, never a higher one.
Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "corpusfit"

# Lowest first. A part is a top-level module or package of corpusfit. There is no list of
# exceptions: the command line (``cli``) is a package of its own at the top.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"version", "errors", "numbers", "precision", "fields", "masking",
                    "workspace", "reading", "yamlfile", "lock", "retry", "native", "isolation",
                    "models"}),
    ("data", {"data"}),
    ("retrieval and generation", {"retrieve", "generate"}),
    ("teachers and evaluation", {"teach", "evaluate"}),
    ("training", {"train"}),
    ("report", {"report"}),
    ("config", {"config", "config_docs"}),
    ("stages", {"stages"}),
    ("pipeline", {"pipeline"}),
    ("python api", {"__init__", "api"}),
    ("cli", {"cli"}),
]


def part_of(module: str) -> str:
    """The part of ``corpusfit.a.b`` in the table: ``a`` (``__init__`` for ``corpusfit``)."""
    return (module.split(".")[1:] or ["__init__"])[0]


def imports(root: Path, package: str = "corpusfit") -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) for every import of ``package.*``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("").parts
        if rel[-1] == "__init__" and len(rel) > 1:
            rel = rel[:-1]
        module = ".".join((package, *rel))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # "from corpusfit.x import y" imports the module corpusfit.x.y if there is one
                names = [f"{node.module}.{a.name}" if _is_module(root, node.module, a.name)
                         else node.module for a in node.names]
            else:
                continue
            found += [(module, n, node.lineno) for n in names
                      if n == package or n.startswith(package + ".")]
    return found


def _is_module(root: Path, module: str, name: str) -> bool:
    path = root.joinpath(*module.split(".")[1:], name)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def check(root: Path, layers=LAYERS, package: str = "corpusfit") -> list[str]:
    """Every upward import and every cycle between parts, as readable lines."""
    rank = {p: i for i, (_, parts) in enumerate(layers) for p in parts}
    problems, edges = [], {}
    for src, dst, line in imports(root, package):
        a, b = part_of(src), part_of(dst)
        if a == b:
            continue
        if a not in rank or b not in rank:
            problems.append(f"{src}:{line}: part '{a if a not in rank else b}' is in no layer")
            continue
        if rank[b] > rank[a]:
            problems.append(f"{src}:{line} imports {dst}: {layers[rank[a]][0]} -> "
                            f"{layers[rank[b]][0]} points up")
        edges.setdefault(a, set()).add(b)
    return problems + [f"cycle: {' -> '.join(c)}" for c in cycles(edges)]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of parts (depth-first search)."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, path + [node])
        done.add(node)

    for start in sorted(edges):
        visit(start, [])
    return found


def test_corpusfit_imports_only_point_down_and_form_no_cycle():
    assert check(SRC) == []


def module_cycles(root: Path, package: str = "corpusfit") -> list[list[str]]:
    """Cycles between modules (an import for type checking only counts too)."""
    edges: dict[str, set[str]] = {}
    for src, dst, _ in imports(root, package):
        if src != dst:
            edges.setdefault(src, set()).add(dst)
    return cycles(edges)


def test_no_two_modules_import_each_other():
    assert module_cycles(SRC) == []


def test_every_part_is_in_the_table():
    named = {p for _, parts in LAYERS for p in parts}
    parts = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert parts <= named


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


TOY = [("low", {"low"}), ("mid", {"mid"}), ("top", {"top"})]


def test_checker_flags_an_upward_import_even_inside_a_function(tmp_path):
    root = _tree(tmp_path, {"low/__init__.py": "", "mid.py": "import pkg.low\n",
                            "low/x.py": "def f():\n    from pkg.mid import g\n"})
    problems = check(root, TOY, package="pkg")
    assert len(problems) == 2
    assert problems[0] == "pkg.low.x:2 imports pkg.mid: low -> mid points up"
    assert problems[1] == "cycle: low -> mid -> low"


def test_module_cycles_count_type_only_imports(tmp_path):
    root = _tree(tmp_path, {"low/__init__.py": "", "low/a.py": "import pkg.low.b\n",
                            "low/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                        "    from pkg.low.a import X\n"})
    assert check(root, TOY, package="pkg") == []  # one part: no cycle between parts
    assert module_cycles(root, "pkg") == [["pkg.low.a", "pkg.low.b", "pkg.low.a"]]


def test_checker_flags_a_cycle_within_one_layer(tmp_path):
    layers = [("one", {"a", "b"})]
    root = _tree(tmp_path, {"a.py": "from pkg import b\n", "b.py": "import pkg.a\n"})
    assert check(root, layers, package="pkg") == ["cycle: a -> b -> a"]


def test_checker_accepts_downward_imports_and_names_unknown_parts(tmp_path):
    root = _tree(tmp_path, {"top.py": "import pkg.mid\nimport pkg.low\n",
                            "mid.py": "from pkg.low import x\n", "low.py": "x = 1\n"})
    assert check(root, TOY, package="pkg") == []
    (root / "stray.py").write_text("import pkg.low\n")
    assert check(root, TOY, package="pkg") == ["pkg.stray:1: part 'stray' is in no layer"]


@pytest.mark.parametrize("module,part", [("corpusfit.cli.ingest", "cli"),
                                         ("corpusfit.data.ingest", "data"),
                                         ("corpusfit", "__init__")])
def test_part_of_is_the_top_level_module_or_package(module, part):
    assert part_of(module) == part

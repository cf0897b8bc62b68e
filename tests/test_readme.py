"""The README's Python API example runs, and its map of the code matches the tree."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from test_layers import LAYERS, SRC

sys.path.insert(0, str(Path(__file__).parent / "pipeline"))
from tiny_run import tiny_run_yaml  # noqa: E402

from corpusfit.stages.layout import artifact_path

README = Path(__file__).resolve().parents[1] / "README.md"
ROOT = README.parent


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def _map_rows() -> list[list[str]]:
    """The folder column of the map's table: the backticked paths of each row."""
    rows = [line for line in _section("A map of the code").splitlines()
            if line.startswith("| `")]
    out = []
    for line in rows:
        names = re.findall(r"`([^`]+)`", line.split("|")[1])
        first = names[0]
        base = first if first.endswith("/") else first.rsplit("/", 1)[0] + "/"
        out.append([first, *(n if "/" in n else base + n for n in names[1:])])
    return out


def test_every_folder_of_the_map_exists_and_every_package_is_on_it():
    rows = _map_rows()
    for names in rows:
        for name in names:
            if "(" not in name:
                assert (ROOT / name).exists(), f"README map: {name} does not exist"
    mapped = {n.rstrip("/") for names in rows for n in names}
    packages = {f"src/corpusfit/{p.name}" for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages <= mapped, sorted(packages - mapped)


def test_the_map_lists_the_layers_in_the_order_of_the_layer_test():
    rank = {part: i for i, (_, parts) in enumerate(LAYERS) for part in parts}
    ranks = []
    for names in _map_rows():
        first = names[0].removeprefix("src/corpusfit/").rstrip("/")
        part = first.split("/")[0].removesuffix(".py")
        if names[0].startswith("src/corpusfit/") and part in rank:
            ranks.append(rank[part])
    assert len(ranks) >= 10 and ranks == sorted(ranks)


# The tiny run of the pipeline tests, with the evaluate section the README's example reads.
TINY_EXTRA = """evaluate:
  depth: 100
  agreement: false
"""


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory, tiny_bert, tiny_beir_factory):
    """The README's example, run as written in a folder holding a tiny corpusfit.yaml
    (a templated generator, BM25 teacher and tiny random student)."""
    folder = tmp_path_factory.mktemp("readme")
    corpus = tiny_beir_factory(folder / "beir")
    (folder / "corpusfit.yaml").write_text(tiny_run_yaml(
        corpus, tiny_bert, teacher="bm25", types="[question, keywords]", extra=TINY_EXTRA))
    code = re.search(r"```python\n(.*?)```", _section("Python API"), re.S).group(1)
    scope: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.syspath_prepend(str(Path(__file__).parent / "pipeline"))  # the fake generator
        exec(compile(code, "README.md", "exec"), scope)
    return folder, scope


@pytest.mark.slow
def test_the_python_api_example_runs(readme_run, capsys):
    folder, scope = readme_run
    result = scope["result"]
    assert result.model == artifact_path("runs/my-corpus", "model")  # 05-train's model
    assert (folder / result.model / "modules.json").exists()
    assert {"base", "specialized", "bm25"} <= set(result.metrics["retrievers"])
    assert {s.status for s in result.stages} == {"ran"}


@pytest.mark.slow
def test_a_new_package_version_reruns_no_stage(readme_run, monkeypatch):
    import os

    import corpusfit.version
    from corpusfit import load_config, run

    folder, _ = readme_run
    monkeypatch.setattr(corpusfit.version, "__version__", "9.9.9")
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "pipeline"))
    again = run(load_config("corpusfit.yaml", ["train.epochs=1"]), "runs/my-corpus")
    assert [s.status for s in again.stages] == ["skipped"] * len(again.stages)
    assert os.path.isdir(again.model)

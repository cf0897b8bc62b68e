"""configs/demo.yaml and benchmarks/quality.yaml differ from the code defaults only where
the README's table says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusfit.config import pipeline_config_class, read_yaml

ROOT = Path(__file__).resolve().parents[1]
# key -> value in the shipped file, where it differs from (or restates) the default
NAMED = {"ingest.sample": 140, "generate.types": None, "generate.backend.n_threads": 2,
         "label.score_depth": 100, "label.min_candidates": 20, "variants": None}
TOP = {"corpus", "run_dir"}  # where the data is and where the run goes


def _leaves(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted != "variants":
            out.update(_leaves(value, dotted + "."))
        else:
            out[dotted] = value
    return out


@pytest.mark.parametrize("path", ["configs/demo.yaml", "benchmarks/quality.yaml"])
def test_shipped_configs_set_only_the_keys_the_readme_names(path):
    leaves = {k: v for k, v in _leaves(read_yaml(ROOT / path)).items() if k not in TOP}
    assert set(leaves) <= set(NAMED), sorted(set(leaves) - set(NAMED))
    for key, value in leaves.items():
        if NAMED[key] is not None:
            assert value == NAMED[key], key
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key in NAMED:
        assert f"| `{key}` |" in readme, key


def test_restated_types_are_the_default():
    root = pipeline_config_class()
    default = root.model_fields["generate"].default_factory().types
    assert read_yaml(ROOT / "configs/demo.yaml")["generate"]["types"] == default

"""Run directories written by 0.1.0 (2026-11-29) keep their expensive stages.

The hashes below were recorded in such a directory (`runs/demo`, configs/demo.yaml:
5 types, default settings). When a change makes one of these fail, the stage would
rerun on every existing run directory (generate: hours of LLM time on a big corpus):
either keep the old hash or say so in the release notes.
"""

from __future__ import annotations

from corpusfit.fields import results_dump
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.retrieve.mine import MineConfig
from corpusfit.workspace import config_hash

TYPES = ["question", "claim", "keywords", "title", "natural"]


def test_generate_fingerprint_of_0_1_0_is_kept():
    config = GenerateConfig(types=TYPES, backend=backend_config(n_threads=2))
    assert config_hash(config.fingerprint()) == "73371a888163e019"


def test_mine_fingerprint_of_0_1_0_is_kept():
    assert config_hash(results_dump(MineConfig())) == "9871d7ea105c9ffd"
    # precision is runtime-only (like batch sizes): choosing it reruns nothing
    assert config_hash(results_dump(MineConfig(precision="fp32"))) == "9871d7ea105c9ffd"

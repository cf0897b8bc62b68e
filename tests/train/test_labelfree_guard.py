"""train.guard dev_loss+labelfree: a "worse" label-free verdict exports the base model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.stages.train import run_train
from corpusfit.train import labelfree_guard
from corpusfit.train import trainer as trainer_mod
from corpusfit.train.config import TrainConfig
from corpusfit.train.selection import kept_base_sentence
from corpusfit.train.session import model_dir
from corpusfit.workspace import read_json


def _cfg(bert, probe, **kw) -> TrainConfig:
    return TrainConfig(student=str(bert), mode="full", queries_per_step=4, chunk_size=4,
                       epochs=2, lr=1e-3, patience=5, device="cpu", max_minutes=None,
                       objective={"listwise": 1.0}, guard="dev_loss+labelfree",
                       probe_queries=str(probe), **kw)


def _embed(model) -> np.ndarray:
    return DenseEncoder.load(str(model), device="cpu").encode(["lift of a wing"], "query",
                                                              show_progress=False)


@pytest.fixture
def probe(tmp_path):
    path = tmp_path / "probe.jsonl"
    path.write_text("".join(json.dumps({"qid": f"p{i}", "query": q, "type": "question",
                                        "source_id": f"d{i}"}) + "\n"
                            for i, q in enumerate(["wing lift", "boundary layer flow",
                                                   "heat transfer"])))
    return path


@pytest.mark.parametrize("verdict,kept", [("worse", "base"), ("better", "trained"),
                                          ("no clear change", "trained")])
def test_the_verdict_can_veto_the_trained_model(tiny_bert, tiny_lists, probe, tmp_path,
                                                monkeypatch, verdict, kept):
    script = iter([1.0, 0.8, 0.9])  # the dev loss keeps epoch 1
    monkeypatch.setattr(trainer_mod.Trainer, "evaluate", lambda self, lists: {
        "loss": next(script)})
    monkeypatch.setattr(labelfree_guard, "labelfree_verdict", lambda *a: {
        "verdict": verdict, "queries": 3,
        "combined": {"delta": -0.1, "ci_low": -0.2, "ci_high": -0.05}})
    out = tmp_path / "train"
    result = run_train(_cfg(tiny_bert, probe), *tiny_lists, out, show_progress=False)
    assert result.kept == kept and result.labelfree_verdict == verdict
    same = np.allclose(_embed(model_dir(out)), _embed(tiny_bert), atol=1e-6)
    assert same == (kept == "base")
    recorded = read_json(out / "manifest.json")["counts"]["result"]
    assert recorded["kept"] == kept and recorded["labelfree_verdict"] == verdict
    if kept == "base":
        assert recorded["vetoed_by"] == "labelfree"
        assert "label-free verdict" in kept_base_sentence(recorded)
        assert "label-free verdict" in (model_dir(out) / "README.md").read_text()


def test_real_verdict_is_recorded(tiny_bert, tiny_lists, probe, tmp_path):
    out = tmp_path / "train"
    result = run_train(_cfg(tiny_bert, probe), *tiny_lists, out, show_progress=False)
    assert result.labelfree_verdict in {"better", "worse", "no clear change"}
    assert result.labelfree_queries == 3


def test_the_default_guard_reads_no_probe(tiny_bert, tiny_lists, tmp_path):
    cfg = TrainConfig(student=str(tiny_bert), epochs=1, device="cpu", max_minutes=None)
    result = run_train(cfg, *tiny_lists, tmp_path / "t", show_progress=False)
    assert result.labelfree_verdict is None
    assert "labelfree_verdict" not in result.record()

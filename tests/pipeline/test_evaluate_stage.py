"""The evaluate stage on tiny BEIR data with tiny random students."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corpusfit.evaluate.stage import EvaluateConfig, list_agreement
from corpusfit.stages.evaluate import run_evaluate


def test_list_agreement_exact_values():
    teacher = np.array([3.0, 2.0, 1.0])
    gains = np.array([1.0, 0.5, 0.0])
    same = list_agreement(np.array([0.9, 0.5, 0.1]), teacher, gains)
    assert same == {"kendall_tau": 1.0, "ndcg10_vs_teacher": 1.0, "top1": 1.0}
    rev = list_agreement(np.array([0.1, 0.5, 0.9]), teacher, gains)
    assert rev["kendall_tau"] == pytest.approx(-1.0)
    assert rev["top1"] == 0.0
    # gains 0, 0.5, 1 at ranks 1..3 vs ideal 1, 0.5, 0
    ideal = 1.0 + 0.5 / np.log2(3)
    assert rev["ndcg10_vs_teacher"] == pytest.approx((0.5 / np.log2(3) + 1.0 / 2) / ideal)


def _lists(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_run_evaluate_writes_metrics_runs_and_agreement(tmp_path, tiny_beir, tiny_bert,
                                                        tiny_bert_factory):
    other = tiny_bert_factory(seed=1)
    lists = _lists(tmp_path / "lists.jsonl", [
        {"qid": "s1", "query": "lift of a wing", "type": "question", "source_id": "d1",
         "doc_ids": ["d1", "d2", "d3"], "scores": [1.0, 0.4, 0.0],
         "raw_scores": [5.0, 2.0, 1.0], "split": "dev"},
        {"qid": "s2", "query": "library index", "type": "keywords", "source_id": "d5",
         "doc_ids": ["d5", "d6"], "scores": [1.0, 0.0], "raw_scores": [3.0, 1.0],
         "split": "dev"},
        {"qid": "s3", "query": "heat", "type": "title", "source_id": "d3",
         "doc_ids": ["d3", "d4"], "scores": [1.0, 0.0], "raw_scores": [3.0, 1.0],
         "split": "train"},
    ])
    out = tmp_path / "eval"
    models = {"base": str(tiny_bert), "specialized": str(other)}
    cfg = EvaluateConfig(depth=100)
    results = run_evaluate(cfg, out, models, test_data=tiny_beir, lists_path=lists,
                           corpus_path=tiny_beir, cache_dir=tmp_path / "cache")
    assert list(results["retrievers"]) == ["base", "specialized", "bm25", "hybrid",
                                           "specialized+bm25"]
    assert results["n_queries"] == 3
    assert "vs_baseline" in results["retrievers"]["specialized"]
    saved = json.loads((out / "metrics.json").read_text())
    for entry in saved["retrievers"].values():
        assert (out / entry["run_file"]).stat().st_size > 0
        assert 0.0 <= entry["metrics"]["nDCG@10"] <= 1.0
    agreement = json.loads((out / "agreement.json").read_text())
    assert set(agreement) == {"base", "specialized"}
    assert agreement["base"]["all"]["n"] == 2  # dev lists only
    assert set(agreement["base"]) == {"all", "question", "keywords"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"test_queries": 3, "dev_lists": 2}
    # up to date: nothing is rewritten
    mtime = (out / "metrics.json").stat().st_mtime_ns
    run_evaluate(cfg, out, models, test_data=tiny_beir, lists_path=lists,
                 corpus_path=tiny_beir, cache_dir=tmp_path / "cache")
    assert (out / "metrics.json").stat().st_mtime_ns == mtime


def test_without_test_data_only_agreement_is_computed(tmp_path, tiny_beir, tiny_bert):
    lists = _lists(tmp_path / "lists.jsonl", [
        {"qid": "s1", "query": "lift of a wing", "type": "question", "source_id": "d1",
         "doc_ids": ["d1", "d2"], "scores": [1.0, 0.0], "raw_scores": [2.0, 1.0],
         "split": "dev"}])
    out = tmp_path / "eval"
    results = run_evaluate(EvaluateConfig(), out, {"base": str(tiny_bert)}, test_data=None,
                           lists_path=lists, corpus_path=tiny_beir)
    assert results == {}
    assert json.loads((out / "metrics.json").read_text()) == {}
    assert json.loads((out / "agreement.json").read_text())["base"]["all"]["n"] == 1
    assert (out / "manifest.json").exists()

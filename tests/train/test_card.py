"""The model card: hub front matter, recipe, usage, and the evaluate stage's metrics."""

from __future__ import annotations

import json

import pytest
import yaml

from corpusfit.evaluate.stage import EvaluateConfig
from corpusfit.stages.evaluate import run_evaluate
from corpusfit.stages.train import run_train
from corpusfit.train.card import write_card
from corpusfit.train.card_meta import split_card
from corpusfit.train.config import TrainConfig
from corpusfit.train.session import model_dir

REQUIRED = {"pipeline_tag", "library_name", "tags"}


def _card(folder) -> tuple[dict, str]:
    return split_card((folder / "README.md").read_text())


def test_front_matter_is_hub_yaml_without_local_paths(tmp_path):
    from corpusfit.models import resolve_model

    try:
        bundled = resolve_model("minilm")
    except Exception:  # noqa: BLE001 - without the offline package, the short name still maps
        bundled = "minilm"
    metrics = {"data": "/some/where/cranfield", "models": {
        "base": {"nDCG@10": 0.31, "R@100": 0.7}, "trained": {"nDCG@10": 0.35, "R@100": 0.72}}}
    write_card(tmp_path, base_model=bundled, base_path=bundled, mode="query_only",
               config={"student": bundled, "objective": {"listwise": 1.0, "infonce": 0.1}},
               counts={"train_queries": 9, "dev_queries": 3, "passages": 12}, history=[],
               summary={"mode": "query_only"}, metrics=metrics)
    meta, body = _card(tmp_path)
    assert REQUIRED <= set(meta)
    assert meta["pipeline_tag"] == "sentence-similarity"
    assert meta["library_name"] == "sentence-transformers"
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert {"sentence-transformers", "corpusfit", "asymmetric"} <= set(meta["tags"])
    assert "datasets" not in meta  # the test data is a local folder, not a hub dataset
    assert meta["license"] == "apache-2.0" and meta["language"] in ("en", ["en"])  # the base
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == "cranfield"
    assert {m["type"]: m["value"] for m in result["metrics"]} == {
        "ndcg_at_10": 0.35, "recall_at_100": 0.72}
    assert "encode_query" in body and "encode_document" in body
    assert "1 x listwise + 0.1 x infonce" in body and "`query_only`" in body
    text = (tmp_path / "README.md").read_text()
    assert "/some/where" not in text and str(bundled) not in text.split("## Config")[0]


def test_local_base_model_is_not_a_hub_id(tiny_bert, tmp_path):
    write_card(tmp_path, base_model=str(tiny_bert), mode="full", config={}, counts={},
               history=[], summary={})
    meta, body = _card(tmp_path)
    assert "base_model" not in meta and "model-index" not in meta and "license" not in meta
    assert "Not evaluated yet" in body and "--test-data BEIR_FOLDER" in body


@pytest.fixture
def evaluated(tiny_bert, tiny_lists, tiny_beir, tmp_path):
    """A trained model evaluated by the evaluate stage (base vs specialized)."""
    out = tmp_path / "05-train"
    cfg = TrainConfig(student=str(tiny_bert), mode="query_only", queries_per_step=4,
                      chunk_size=3, epochs=1, lr=1e-3, device="cpu", max_minutes=None,
                      passage_max_length=48)
    run_train(cfg, *tiny_lists, out, show_progress=False)
    models = {"base": str(tiny_bert), "specialized": str(model_dir(out))}
    evaluate = EvaluateConfig(agreement=False, hybrid=False, depth=100)
    metrics = run_evaluate(evaluate, tmp_path / "06-evaluate", models, tiny_beir)
    return model_dir(out), metrics, (evaluate, models, tiny_beir, tmp_path / "06-evaluate")


def test_evaluate_stage_writes_metrics_into_the_card(evaluated, tiny_bert):
    out, metrics, _ = evaluated
    meta, body = _card(out)
    ours = metrics["retrievers"]["specialized"]["metrics"]
    values = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert values["nDCG@10"] == pytest.approx(round(ours["nDCG@10"], 4))
    assert "datasets" not in meta
    dataset = meta["model-index"][0]["results"][0]["dataset"]
    assert dataset["name"] == tiny_beir_name(metrics)
    section = body.split("## Retrieval metrics", 1)[1].split("\n## ", 1)[0]
    assert "Not evaluated" not in section and "(this model: `specialized`)" in section
    assert f"{ours['nDCG@10']:.4g}" in section
    assert "## Config" in body  # the rest of the card is kept
    base_card = tiny_bert / "README.md"
    assert not base_card.exists()  # the base model's folder is an input: left alone


def tiny_beir_name(metrics: dict) -> str:
    from pathlib import Path

    return Path(metrics["test_data"]).name


def test_card_update_does_not_invalidate_the_evaluation(evaluated):
    out, _, (evaluate, models, data, folder) = evaluated
    manifest = json.loads((folder / "manifest.json").read_text())
    run_evaluate(evaluate, folder, models, data)  # skipped: the card is not an input
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    assert yaml.safe_load((out / "README.md").read_text().split("---\n")[1])["model-index"]


def test_standalone_eval_updates_the_card_only_when_asked(evaluated, tiny_bert, capsys):
    from corpusfit.cli import main

    out, _, (_, _, data, _) = evaluated
    before = (out / "README.md").read_text()
    args = ["eval", "--test-data", str(data), "--retriever", str(tiny_bert),
            "--retriever", str(out), "--depth", "100"]
    assert main(args) == 0
    assert (out / "README.md").read_text() == before  # not asked: the card is left alone
    assert main([*args, "--update-card"]) == 0
    meta, body = _card(out)
    assert meta["model-index"] and f"(this model: `{out}`)" in body
    assert "model cards updated" in capsys.readouterr().out
    assert not (tiny_bert / "README.md").exists()  # the baseline folder is left alone


def test_license_and_language_come_from_the_base_models_card(tiny_bert_factory, tmp_path):
    base = tiny_bert_factory(seed=7)
    (base / "README.md").write_text("---\nlicense: mit\nlanguage:\n- de\n- en\n---\n# x\n")
    write_card(tmp_path, base_model=str(base), mode="full", config={"student": str(base)},
               counts={}, history=[], summary={})
    meta, body = _card(tmp_path)
    assert meta["license"] == "mit" and meta["language"] == ["de", "en"]
    assert str(base) not in body  # the config section shows the folder's name only

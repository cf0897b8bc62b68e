"""`corpusfit run` on a corpus that grows: only the new passages reach the LLM, training
starts from the previous model (train.init: previous), and the manifests and the report say
what was reused and what was new. Slow-marked: the pipeline runs twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpusfit.cli import main as cli_main

TYPES = ["question", "keywords", "title"]
NEW = [("d7", "Plate", "heat transfer of a flat plate in laminar flow"),
       ("d8", "Cone", "pressure on a cone at supersonic mach")]


def _config(tmp_path: Path, corpus: Path, tiny_bert: Path, srv) -> Path:
    backend = {"name": "openai", "model": "counted", "base_url": srv.url, "max_retries": 0}
    cfg = {"corpus": str(corpus), "run_dir": str(tmp_path / "run"),
           "generate": {"types": TYPES, "attempts": 1, "backend": backend},
           "mine": {"retrievers": [str(tiny_bert), "bm25"], "depth": 6, "fused_depth": 6,
                    "round_trip_depth": 6},
           "label": {"teacher": {"kind": "bm25"}, "score_depth": 6, "list_size": 4,
                     "require_source_first": False, "min_top_percentile": None,
                     "dev_fraction": 0.34},
           "train": {"student": str(tiny_bert), "epochs": 1, "queries_per_step": 4,
                     "dropout": False, "init": "previous"},
           "evaluate": {"depth": 100}}
    path = tmp_path / "grow.yaml"
    path.write_text(json.dumps(cfg))
    return path


def _counts(run: Path, folder: str) -> dict:
    return json.loads((run / folder / "manifest.json").read_text())["counts"]


@pytest.mark.slow
def test_added_passages_cost_only_their_requests(tmp_path, tiny_beir, tiny_bert, server):
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_beir, corpus)
    config = _config(tmp_path, corpus, tiny_bert, server)
    assert cli_main(["-q", "run", str(config)]) == 0
    assert server.posts == 6 * 3
    run = tmp_path / "run"
    assert _counts(run, "05-train")["init"] == "base"  # nothing to start from yet
    first = (run / "02-generate/queries.jsonl").read_text().splitlines()
    server.reset()
    with open(corpus / "corpus.jsonl", "a") as f:
        for i, title, text in NEW:
            f.write(json.dumps({"_id": i, "title": title, "text": text}) + "\n")
    assert cli_main(["-q", "run", str(config)]) == 0
    assert server.posts == 2 * 3  # the new passages' pairs, nothing else
    assert {first_word for first_word, _ in server.chats} == {"Plate", "Cone"}
    ingest, generate = _counts(run, "01-ingest"), _counts(run, "02-generate")
    assert (ingest["sampled_kept"], ingest["sampled_new"]) == (6, 2)
    assert (generate["stored"], generate["asked"]) == (18, 6)
    now = set((run / "02-generate/queries.jsonl").read_text().splitlines())
    assert set(first) <= now  # every earlier query kept as it was
    train = _counts(run, "05-train")
    lists = [json.loads(x) for x in (run / "04-label/lists.jsonl").read_text().splitlines()]
    n_train = sum(r["split"] == "train" for r in lists)
    assert train["init"] == "previous" and train["lists_new"] >= 1
    assert train["lists_new"] + train["lists_replayed"] == train["train_queries"]
    assert train["train_queries"] + train["lists_left_out"] == n_train
    report = (run / "07-report" / "report.md").read_text()
    assert "What was reused and what was new" in report
    assert "answered by the completion store" in report and "replayed" in report

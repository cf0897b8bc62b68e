"""`corpusfit eval --out` goes through the stage door: up to date is skipped, --force redoes,
and --config/--set build the evaluate section as `corpusfit run` does."""

from __future__ import annotations

import json

from corpusfit.cli import main


def test_eval_out_is_skipped_when_up_to_date_and_redone_with_force(tiny_beir, tmp_path,
                                                                   capsys):
    out = tmp_path / "eval"
    args = ["eval", "--test-data", str(tiny_beir), "--retriever", "bm25", "--out", str(out)]
    assert main(args) == 0
    run_id = json.loads((out / ".pipeline.json").read_text())["run_id"]
    assert main(args) == 0
    assert json.loads((out / ".pipeline.json").read_text())["run_id"] == run_id
    assert "bm25" in capsys.readouterr().out  # the table is printed from metrics.json
    assert main([*args, "--force"]) == 0
    assert json.loads((out / ".pipeline.json").read_text())["run_id"] != run_id
    assert main([*args, "--set", "depth=200"]) == 0  # a changed setting reruns
    assert json.loads((out / "manifest.json").read_text())["config"]["depth"] == 200


def test_eval_reads_the_evaluate_section_of_a_pipeline_config(tiny_beir, tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text(f"corpus: {tiny_beir}\nevaluate:\n  depth: 150\n")
    out = tmp_path / "eval"
    assert main(["eval", "--test-data", str(tiny_beir), "--retriever", "bm25", "--out",
                 str(out), "--config", str(config)]) == 0
    assert json.loads((out / "manifest.json").read_text())["config"]["depth"] == 150

"""``label.teacher.kind: cross-encoder`` end to end: a tiny randomly initialised
sentence-transformers CrossEncoder (``tiny_cross_encoder``, tests/conftest.py: saved to a
tmp folder, offline) teaches a
tiny student through every stage; its raw logits go through the same normalizations as
any teacher's (per-query z-scores in an ensemble, percentile min-max in the lists)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_run import tiny_run_yaml

from corpusfit.cli import main as cli_main
from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import teacher_config
from corpusfit.teach.normalization import zscore


def test_an_ensemble_z_normalizes_the_cross_encoder_logits(tiny_cross_encoder):
    passages = ["lift of a wing in supersonic flow", "drag of an airfoil at subsonic mach",
                "heat transfer in a turbulent boundary layer", "library index of books"]
    ce_cfg = {"kind": "cross-encoder", "model": str(tiny_cross_encoder), "max_length": 64,
              "device": "cpu"}
    ce = build_teacher(teacher_config(ce_cfg))
    raw = ce.score("lift of a wing", passages)
    assert len(set(np.round(raw, 6))) == len(raw)  # a random head still tells them apart
    ens = build_teacher(teacher_config(kind="ensemble", members=[ce_cfg, {"kind": "bm25"}]),
                        corpus={f"d{i}": p for i, p in enumerate(passages)})
    bm25 = build_teacher(teacher_config(kind="bm25"),
                         corpus={f"d{i}": p for i, p in enumerate(passages)})
    want = zscore(raw) + zscore(bm25.score("lift of a wing", passages))
    np.testing.assert_allclose(ens.score("lift of a wing", passages), want, atol=1e-6)


@pytest.mark.slow
def test_a_run_with_a_cross_encoder_teacher(tmp_path, tiny_beir, tiny_bert, tiny_cross_encoder,
                                            capsys):
    config = tmp_path / "ce.yaml"
    teacher = f"{{kind: cross-encoder, model: {tiny_cross_encoder}, max_length: 64}}"
    config.write_text(tiny_run_yaml(tiny_beir, tiny_bert, teacher=teacher,
                                    types="[question, keywords]", extra="""\
evaluate:
  depth: 100
  headroom_depth: 6
"""))
    run = tmp_path / "run"
    code = cli_main(["-q", "run", str(config), "--run-dir", str(run)])
    out = capsys.readouterr().out
    assert code == 0, out
    lists = [json.loads(x) for x in (run / "04-label" / "lists.jsonl").read_text().splitlines()]
    assert lists and all(len(r["doc_ids"]) == 4 for r in lists)
    raw = np.array([s for r in lists for s in r["raw_scores"]])
    scores = np.array([s for r in lists for s in r["scores"]])
    # logits on their own scale, mapped into [0, 1] by the label stage's min-max
    assert scores.min() >= 0.0 and scores.max() <= 1.0 and not np.allclose(raw, scores)
    for r in lists:  # best first, by the cross-encoder
        assert r["raw_scores"] == sorted(r["raw_scores"], reverse=True)
    cache = [p.name for p in (run / "cache" / "scores").iterdir() if p.is_dir()]
    assert any(name.startswith("cross-encoder-") for name in cache), cache
    metrics = json.loads((run / "06-evaluate" / "metrics.json").read_text())
    h = metrics["teacher_headroom"]
    assert h["kind"] == "cross-encoder" and h["n_queries"] == 3 and h["depth"] == 6
    assert 0.0 <= h["teacher_reranked"] <= 1.0
    assert (run / "05-train" / "model" / "modules.json").exists()
    report = (run / "07-report" / "report.md").read_text()
    assert "## Teacher headroom" in report and "(cross-encoder)" in report

"""Teacher headroom: the run's teacher reranking the base model's top-k against the base
model, in metrics.json and in one plain sentence of the report."""

from __future__ import annotations

import json

import pytest

from corpusfit.data.readers import load_beir
from corpusfit.evaluate.headroom import reranked_top, teacher_headroom
from corpusfit.evaluate.stage import EvaluateConfig
from corpusfit.report.headroom import headroom_sections, headroom_sentence
from corpusfit.report.sections import sections
from corpusfit.stages.evaluate import run_evaluate
from corpusfit.teach.config import teacher_config

# Every judged document ranked last: the worst run a base model could give.
WORST = {"q1": {"d1": 0.0, "d2": 5.0, "d3": 4.0, "d5": 3.0},
         "q2": {"d3": 0.0, "d4": 1.0, "d1": 5.0, "d5": 4.0},
         "q3": {"d6": 0.0, "d1": 5.0, "d2": 4.0, "d3": 3.0}}


def test_a_lexical_teacher_is_ahead_of_a_bad_base_run_and_reruns_score_nothing(
        tmp_path, tiny_beir):
    data = load_beir(tiny_beir, "test")
    cache = tmp_path / "scores"
    h = teacher_headroom(data, WORST, teacher_config(kind="bm25"), 4, cache)
    assert h["n_queries"] == 3 and h["depth"] == 4 and h["kind"] == "bm25"
    assert h["student"] < 0.5  # every relevant document below three others
    assert h["teacher_reranked"] == pytest.approx(1.0)  # BM25 puts them first here
    assert h["delta"] == pytest.approx(h["teacher_reranked"] - h["student"])
    assert h["pairs_scored"] == 12 and h["pairs_cached"] == 0
    again = teacher_headroom(data, WORST, teacher_config(kind="bm25"), 4, cache)
    assert again["pairs_scored"] == 0 and again["pairs_cached"] == 12
    assert again["delta"] == pytest.approx(h["delta"])


def test_the_teachers_order_then_the_rest_of_the_base_run():
    base = {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}
    run = reranked_top(base, {"a": 0.1, "b": 0.9})
    assert sorted(run, key=run.get, reverse=True) == ["b", "a", "c", "d"]


def test_only_the_top_depth_is_reranked(tmp_path, tiny_beir):
    data = load_beir(tiny_beir, "test")
    h = teacher_headroom(data, WORST, teacher_config(kind="bm25"), 1, tmp_path / "s")
    assert h["pairs_scored"] == 3
    assert h["teacher_reranked"] == pytest.approx(h["student"])  # one doc: same order


def test_the_students_own_cosine_as_teacher_has_no_headroom(tmp_path, tiny_beir, tiny_bert):
    out = tmp_path / "eval"
    teacher = teacher_config(kind="dense", model=str(tiny_bert), precision="fp32")
    results = run_evaluate(EvaluateConfig(depth=100, headroom_depth=6), out,
                           {"base": str(tiny_bert)}, test_data=tiny_beir,
                           cache_dir=tmp_path / "cache", teacher=teacher)
    h = results["teacher_headroom"]
    assert h["delta"] == pytest.approx(0.0, abs=1e-6)
    assert h["student"] == pytest.approx(results["retrievers"]["base"]["metrics"]["nDCG@10"])
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["teacher_headroom"]["teacher"] == teacher.teacher_id()
    # the label stage's cache layout: scores under cache/scores/<teacher id>/
    assert (tmp_path / "cache" / "scores" / teacher.teacher_id()).is_dir()
    assert "not ahead of the student" in headroom_sentence(h)


def test_headroom_off_or_without_a_teacher_writes_none(tmp_path, tiny_beir, tiny_bert):
    off = run_evaluate(EvaluateConfig(depth=100, headroom_depth=0), tmp_path / "a",
                       {"base": str(tiny_bert)}, test_data=tiny_beir,
                       teacher=teacher_config(kind="bm25"))
    assert "teacher_headroom" not in off
    none = run_evaluate(EvaluateConfig(depth=100), tmp_path / "b", {"base": str(tiny_bert)},
                        test_data=tiny_beir)
    assert "teacher_headroom" not in none


def _record(delta: float, p: float) -> dict:
    return {"teacher": "ensemble-abc", "kind": "ensemble", "depth": 30, "n_queries": 40,
            "student": 0.40, "teacher_reranked": 0.40 + delta, "delta": delta,
            "p_permutation": p, "p_ttest": p, "pairs_scored": 1200, "pairs_cached": 0}


def test_the_sentence_says_what_the_headroom_means():
    ahead = headroom_sentence(_record(0.03, 0.001))
    assert "0.4300 against 0.4000" in ahead and "+0.0300" in ahead
    assert "knows more than the student" in ahead
    weak = headroom_sentence(_record(0.004, 0.6))
    assert "not significantly" in weak and "possibly none" in weak
    behind = headroom_sentence(_record(-0.007, 0.3))
    assert "not ahead of the student" in behind and "cross-encoder" in behind
    assert "-0.0070" in behind
    for text in (ahead, weak, behind):
        assert text.count(". ") == 0 and text.endswith(".")  # one sentence


def test_the_report_has_a_headroom_section_only_when_measured():
    data = {"metrics": {"retrievers": {}, "teacher_headroom": _record(-0.01, 0.2)},
            "type_counts": {}, "agreement": {}, "losses": {}, "seconds": {}, "filters": []}
    found = [s for s in sections(data) if s.heading == "Teacher headroom"]
    assert len(found) == 1 and "not ahead" in found[0].text[0]
    assert found[0].rows[0]["Δ"] == "-0.0100" and found[0].rows[0]["measure"] == "nDCG@10"
    assert headroom_sections({"retrievers": {}}) == []
    assert headroom_sections(data["metrics"])[0].heading == "Teacher headroom"

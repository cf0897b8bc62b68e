"""Teacher headroom on the held-out synthetic (probe) queries, for runs without labels: an
oracle teacher is ahead of the base model, the student's own cosine is not."""

from __future__ import annotations

import json

import pytest

from corpusfit.data.readers import load_corpus
from corpusfit.evaluate import headroom as headroom_mod
from corpusfit.evaluate.labelfree import (
    BETTER,
    UNCLEAR,
    headroom_views,
    labelfree_evaluation,
    probe_headroom,
)
from corpusfit.evaluate.labelfree_config import LabelfreeConfig
from corpusfit.evaluate.stage import EvaluateConfig
from corpusfit.report.headroom import probe_headroom_sentence
from corpusfit.retrieve.settings import RetrievalSettings
from corpusfit.stages.labelfree import LabelfreeStage
from corpusfit.teach.base import Teacher
from corpusfit.teach.config import teacher_config

DOCS = [f"d{i}" for i in range(10)]
SOURCES = {f"q{i}": f"d{i}" for i in range(6)}
TYPES = {q: ("question" if i % 2 else "title") for i, q in enumerate(SOURCES)}
CONFIG = LabelfreeConfig(resamples=300)


def _run(ranks: list[int]) -> dict:
    """Query i's source passage at ``ranks[i]`` (1 = first) among DOCS."""
    run = {}
    for (q, src), rank in zip(SOURCES.items(), ranks, strict=True):
        order = [d for d in DOCS if d != src]
        order.insert(rank - 1, src)
        run[q] = {d: 100.0 - r for r, d in enumerate(order)}
    return run


def _reference(run: dict) -> dict:
    return {q: {d: 1 for d in sorted(docs, key=docs.get, reverse=True)[:3]}
            for q, docs in run.items()}


def test_an_oracle_reranking_is_ahead_and_the_base_itself_is_not():
    base = _run([2, 4, 5, 2, 4, 5])
    oracle = headroom_views(base, _run([1] * 6), SOURCES, _reference(base), TYPES, CONFIG)
    mrr = oracle["metrics"]["MRR@10"]["all"]
    assert mrr["base"] == pytest.approx((0.5 + 0.25 + 0.2) / 3)
    assert mrr["model"] == pytest.approx(1.0)
    assert mrr["delta"] == pytest.approx(1.0 - mrr["base"]) and mrr["ci_low"] > 0
    assert oracle["ahead"] == BETTER and oracle["view"] == "MRR@10"
    assert set(oracle["metrics"]["MRR@10"]["by_type"]) == {"question", "title"}
    assert 0.0 <= oracle["p_permutation"]["MRR@10"] < 0.05
    same = headroom_views(base, dict(base), SOURCES, _reference(base), TYPES, CONFIG)
    assert same["metrics"]["MRR@10"]["all"]["delta"] == 0.0
    assert same["metrics"]["nDCG@10"]["all"]["delta"] == 0.0
    assert same["ahead"] == UNCLEAR and same["p_permutation"]["MRR@10"] == 1.0


class OracleTeacher(Teacher):
    """Knows each probe's source passage: 1 for it, 0 for every other passage."""

    def __init__(self, config, sources_text: dict[str, str]):
        super().__init__(config)
        self.sources_text = sources_text

    def score_pairs(self, pairs):
        return [float(self.sources_text.get(q) == p) for q, p in pairs]


def _probes(tmp_path, corpus) -> tuple[dict, dict, dict, dict]:
    texts = {d: doc.full_text() for d, doc in load_corpus(corpus).items()}
    queries = {"p1": "wing", "p2": "heat", "p3": "shock wave", "p4": "library",
               "p5": "program", "p6": "drag"}
    sources = {"p1": "d1", "p2": "d3", "p3": "d4", "p4": "d5", "p5": "d6", "p6": "d2"}
    types = {q: "keywords" for q in queries}
    return texts, queries, sources, types


def test_the_oracle_teacher_through_the_headroom_reranking(tmp_path, tiny_beir, monkeypatch):
    texts, queries, sources, types = _probes(tmp_path, tiny_beir / "corpus.jsonl")
    oracle = OracleTeacher(teacher_config(kind="bm25"),
                           {queries[q]: texts[s] for q, s in sources.items()})
    monkeypatch.setattr(headroom_mod, "build_teacher", lambda cfg, corpus=None: oracle)
    base = {q: {d: float(i) for i, d in enumerate(sorted(texts))} for q in queries}  # d6 first
    h = probe_headroom(base, teacher_config(kind="bm25"), texts, queries, sources, types,
                       _reference(base), CONFIG, depth=6, cache_dir=tmp_path / "cache")
    assert h["metrics"]["MRR@10"]["all"]["model"] == pytest.approx(1.0)
    assert h["metrics"]["MRR@10"]["all"]["delta"] > 0 and h["ahead"] == BETTER
    assert h["queries"] == 6 and h["depth"] == 6 and h["pairs_scored"] == 36
    assert (tmp_path / "cache" / "scores" / h["teacher"]).is_dir()  # the label stage's cache
    assert "knows more than the student" in probe_headroom_sentence(h)


@pytest.fixture
def probe_file(tmp_path, tiny_beir):
    _, queries, sources, types = _probes(tmp_path, tiny_beir / "corpus.jsonl")
    path = tmp_path / "probe.jsonl"
    path.write_text("".join(json.dumps({"qid": q, "query": queries[q], "type": types[q],
                                        "source_id": sources[q]}) + "\n" for q in queries))
    return path


def test_the_students_own_cosine_as_teacher_has_no_probe_headroom(tmp_path, tiny_beir,
                                                                   tiny_bert, probe_file):
    teacher = teacher_config(kind="dense", model=str(tiny_bert), precision="fp32")
    settings = RetrievalSettings(depth=100, cache_dir=str(tmp_path / "cache"),
                                 show_progress=False)
    result = labelfree_evaluation(CONFIG, tiny_beir / "corpus.jsonl", probe_file,
                                  {"base": str(tiny_bert)}, settings, teacher=teacher,
                                  headroom_depth=6, cache_dir=tmp_path / "cache")
    h = result["teacher_headroom"]
    for view in ("MRR@10", "nDCG@10", "combined"):
        assert h["metrics"][view]["all"]["delta"] == pytest.approx(0.0, abs=1e-6)
    assert h["ahead"] == UNCLEAR and h["queries"] == 6 and h["kind"] == "dense"
    assert "not ahead of the student" in probe_headroom_sentence(h)
    off = labelfree_evaluation(CONFIG, tiny_beir / "corpus.jsonl", probe_file,
                               {"base": str(tiny_bert)}, settings, teacher=teacher,
                               headroom_depth=0)
    assert "teacher_headroom" not in off


def test_the_step_is_keyed_by_its_teacher_only_when_headroom_is_on(tmp_path):
    models = {"base": "minilm", "specialized": "m"}
    plain = LabelfreeStage(EvaluateConfig(), models, tmp_path / "q", tmp_path / "c")
    assert set(plain.fingerprint_config()) == {"labelfree", "depth", "rrf_k", "models"}
    bm25 = LabelfreeStage(EvaluateConfig(), models, tmp_path / "q", tmp_path / "c",
                          teacher=teacher_config(kind="bm25"))
    stemmed = LabelfreeStage(EvaluateConfig(), models, tmp_path / "q", tmp_path / "c",
                             teacher=teacher_config(kind="bm25", stem=True))
    assert bm25.fingerprint_config()["headroom_depth"] == 30
    assert bm25.fingerprint_config() != stemmed.fingerprint_config()
    off = LabelfreeStage(EvaluateConfig(headroom_depth=0), models, tmp_path / "q",
                         tmp_path / "c", teacher=teacher_config(kind="bm25"))
    assert "teacher" not in off.fingerprint_config()


def test_the_run_gives_the_step_its_teacher_and_labelfree_json_holds_the_headroom(
        tmp_path, tiny_beir, tiny_bert, probe_file):
    from corpusfit.config import validate_config
    from corpusfit.stages import labelfree as labelfree_step
    from corpusfit.stages.base import run_stage
    from corpusfit.stages.layout import RunLayout
    from corpusfit.workspace import read_json

    stemmed = {"kind": "bm25", "stem": True}
    layout = RunLayout(validate_config({"corpus": str(tiny_beir),
                                        "label": {"teacher": stemmed}}), tmp_path / "run")
    (step,) = labelfree_step.steps(layout)
    assert step.stage.teacher == teacher_config(**stemmed)
    stage = LabelfreeStage(EvaluateConfig(depth=100, headroom_depth=6,
                                          labelfree=CONFIG), {"base": str(tiny_bert)},
                           probe_file, tiny_beir / "corpus.jsonl", cache_dir=tmp_path / "c",
                           teacher=teacher_config(**stemmed))
    outcome = run_stage(stage, tmp_path / "out")
    saved = read_json(tmp_path / "out" / "labelfree.json")["teacher_headroom"]
    assert saved["teacher"] == teacher_config(**stemmed).teacher_id()
    assert saved["pairs_scored"] == 36 and saved["queries"] == 6
    assert outcome.counts["teacher_ahead"] == saved["ahead"]

"""The report's label-free part: headline without test data, a section beside them."""

from __future__ import annotations

import json
import shutil

from test_report import make_run_dir

from corpusfit.evaluate.labelfree import compare_runs, headroom_views, reference_qrels
from corpusfit.evaluate.labelfree_config import LabelfreeConfig
from corpusfit.report.collect import collect
from corpusfit.report.render import render_markdown
from corpusfit.report.sections import headlines

SOURCES = {f"q{i}": f"d{i}" for i in range(6)}
TYPES = {q: "question" if i % 2 else "title" for i, q in enumerate(SOURCES)}


def _run(first: bool) -> dict:
    docs = [f"d{i}" for i in range(8)]
    out = {}
    for q, s in SOURCES.items():
        order = [s, *[d for d in docs if d != s]] if first else [*[d for d in docs if d != s], s]
        out[q] = {d: 10.0 - r for r, d in enumerate(order)}
    return out


def _write_labelfree(run, teacher_run: dict | None = None):
    result = compare_runs({"base": _run(False), "specialized": _run(True)}, _run(True),
                          SOURCES, TYPES, LabelfreeConfig(resamples=200))
    if teacher_run is not None:  # the teacher reranking the base model's run
        views = headroom_views(_run(False), teacher_run, SOURCES,
                               reference_qrels([_run(True)], 10), TYPES,
                               LabelfreeConfig(resamples=200))
        result["teacher_headroom"] = {"teacher": "bm25-abc", "kind": "bm25", "depth": 8,
                                      "queries": len(SOURCES), **views, "pairs_scored": 48,
                                      "pairs_cached": 0, "seconds": 0.1}
    folder = run / "06-evaluate-labelfree"
    folder.mkdir(parents=True)
    (folder / "labelfree.json").write_text(json.dumps(result))
    probe = run / "02-generate-probe"
    probe.mkdir()
    (probe / "manifest.json").write_text(json.dumps(
        {"counts": {"probe_passages": 6}, "timings": {"seconds": 12.0}}))


def test_without_test_data_the_label_free_verdict_is_the_headline(tmp_path):
    run = make_run_dir(tmp_path / "run")
    shutil.rmtree(run / "06-evaluate")
    _write_labelfree(run)
    data = collect(run)
    head, under = headlines(data)[0]
    assert head.startswith("Label-free verdict for specialized: better")
    assert "6 held-out synthetic queries" in head and "MRR@10" in under
    md = render_markdown(data, {}, "t")
    assert "## Label-free verdict on held-out synthetic queries" in md
    assert "6 passages; generated in 12 s" in md


def test_with_test_data_it_stands_beside_the_test_metrics(tmp_path):
    run = make_run_dir(tmp_path / "run")
    _write_labelfree(run)
    data = collect(run)
    assert not any(h.startswith("Label-free") for h, _ in headlines(data))
    md = render_markdown(data, {}, "t")
    test_at = md.index("## Retrieval quality on the test queries")
    assert md.index("## Label-free verdict") > test_at
    rows = [r for r in md.splitlines() if r.startswith("| specialized | title")]
    assert rows and "1.0000 (+0.8750)" in rows[0]  # MRR@10: source at rank 1 vs rank 8


def _headroom_section(md: str) -> str:
    start = md.index("## Teacher headroom")
    return md[start:md.index("\n## ", start + 1)]


def test_without_test_data_the_teachers_probe_headroom_is_shown(tmp_path):
    run = make_run_dir(tmp_path / "run")
    shutil.rmtree(run / "06-evaluate")
    _write_labelfree(run, teacher_run=_run(True))  # an oracle: every source first
    section = _headroom_section(render_markdown(collect(run), {}, "t"))
    assert "On the 6 held-out synthetic queries the teacher (bm25)" in section
    assert "MRR@10 1.0000 against 0.1250" in section and "knows more than" in section
    assert "| held-out synthetic | 6 | source MRR@10 | bm25-abc |" in section
    assert "| held-out synthetic | 6 | reference nDCG@10 |" in section


def test_a_teacher_that_reranks_like_the_base_model_is_said_not_to_be_ahead(tmp_path):
    run = make_run_dir(tmp_path / "run")
    _write_labelfree(run, teacher_run=_run(False))
    section = _headroom_section(render_markdown(collect(run), {}, "t"))
    assert "held-out synthetic queries" in section and "not ahead of the student" in section
    assert "+0.0000 [+0.0000, +0.0000]" in section


def test_without_a_probe_headroom_no_probe_sentence_is_written(tmp_path):
    run = make_run_dir(tmp_path / "run")
    _write_labelfree(run)
    assert "held-out synthetic queries the teacher" not in render_markdown(collect(run), {},
                                                                           "t")

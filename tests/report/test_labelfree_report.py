"""The report's label-free part: headline without test data, a section beside them."""

from __future__ import annotations

import json
import shutil

from test_report import make_run_dir

from corpusfit.evaluate.labelfree import compare_runs
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


def _write_labelfree(run):
    result = compare_runs({"base": _run(False), "specialized": _run(True)}, _run(True),
                          SOURCES, TYPES, LabelfreeConfig(resamples=200))
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

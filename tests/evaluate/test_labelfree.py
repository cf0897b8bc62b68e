"""The label-free verdict on hand-made runs: it can say better, worse and no clear change."""

from __future__ import annotations

import numpy as np
import pytest

from corpusfit.evaluate.labelfree import (
    BETTER,
    UNCLEAR,
    WORSE,
    bootstrap_ci,
    compare_runs,
    reference_qrels,
    verdict,
)
from corpusfit.evaluate.labelfree_config import LabelfreeConfig

DOCS = [f"d{i}" for i in range(12)]
SOURCES = {f"q{i}": f"d{i}" for i in range(8)}
TYPES = {q: ("question" if i % 2 else "keywords") for i, q in enumerate(SOURCES)}


def _run(first: bool) -> dict:
    """Each query's source passage at rank 1 (``first``) or at rank 12."""
    run = {}
    for qid, src in SOURCES.items():
        others = [d for d in DOCS if d != src]
        order = [src, *others] if first else [*others, src]
        run[qid] = {d: 100.0 - r for r, d in enumerate(order)}
    return run


def test_reference_is_the_fused_top_of_bm25_and_base():
    a = {"q": {"x": 3.0, "y": 2.0, "z": 1.0}}
    b = {"q": {"y": 3.0, "x": 2.0, "w": 1.0}}
    ref = reference_qrels([a, b], depth=2)
    assert set(ref["q"]) == {"x", "y"}
    assert set(reference_qrels([a], depth=1)["q"]) == {"x"}


def test_a_model_finding_the_sources_is_better_and_the_reverse_worse():
    config = LabelfreeConfig(reference="bm25", resamples=500)
    bm25 = _run(first=True)
    result = compare_runs({"base": _run(False), "good": _run(True)}, bm25, SOURCES, TYPES,
                          config)
    good = result["models"]["good"]
    assert good["verdict"] == BETTER
    assert good["metrics"]["MRR@10"]["all"]["delta"] == pytest.approx(1.0)
    assert good["metrics"]["R@10"]["all"]["base"] == 0.0
    assert set(good["metrics"]["MRR@10"]["by_type"]) == {"question", "keywords"}
    assert result["by_type_queries"] == {"keywords": 4, "question": 4}
    worse = compare_runs({"base": _run(True), "bad": _run(False)}, bm25, SOURCES, TYPES,
                         config)["models"]["bad"]
    assert worse["verdict"] == WORSE
    assert worse["metrics"]["combined"]["all"]["ci_high"] < 0


def test_the_same_run_is_no_clear_change_and_the_base_is_not_compared():
    config = LabelfreeConfig(resamples=200)
    base = _run(True)
    result = compare_runs({"base": base, "same": dict(base)}, _run(False), SOURCES, TYPES,
                          config)
    assert list(result["models"]) == ["same"]
    assert result["models"]["same"]["verdict"] == UNCLEAR
    assert result["models"]["same"]["metrics"]["nDCG@10"]["all"]["delta"] == 0.0


def test_reference_view_does_not_reward_the_source_alone():
    """Against a pseudo-reference that puts the source last, finding it first costs nDCG."""
    config = LabelfreeConfig(reference="bm25", reference_depth=3, resamples=200)
    result = compare_runs({"base": _run(False), "m": _run(True)}, _run(False), SOURCES, TYPES,
                          config)
    nd = result["models"]["m"]["metrics"]["nDCG@10"]["all"]
    assert nd["delta"] < 0 and nd["base"] == pytest.approx(1.0)


def test_bootstrap_interval_is_seeded_and_holds_the_mean():
    d = np.random.default_rng(0).normal(0.1, 0.5, size=50)
    low, high = bootstrap_ci(d, 0.95, 1000, seed=3)
    assert low < d.mean() < high
    assert (low, high) == bootstrap_ci(d, 0.95, 1000, seed=3)
    assert bootstrap_ci(np.array([0.2, 0.2]), 0.95, 100, 0) == (0.2, 0.2)


def test_verdict_rule():
    assert verdict(0.01, 0.2) == BETTER
    assert verdict(-0.2, -0.01) == WORSE
    assert verdict(-0.01, 0.2) == UNCLEAR

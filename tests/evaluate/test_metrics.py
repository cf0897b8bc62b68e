import math

import pytest

from corpusfit.evaluate.metrics import evaluate, per_query
from corpusfit.evaluate.significance import paired_test


def test_ndcg_hand_computed():
    # Relevant: d1 (rank 2) and d3 (rank 3); ideal puts both at ranks 1-2.
    qrels = {"q": {"d1": 1, "d3": 1}}
    run = {"q": {"d0": 0.9, "d1": 0.8, "d3": 0.7, "d4": 0.6}}
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3)
    m = evaluate(qrels, run)
    assert m["nDCG@10"] == pytest.approx(dcg / idcg, abs=1e-6)
    assert m["MRR@10"] == pytest.approx(0.5)
    assert m["R@100"] == pytest.approx(1.0)
    assert m["MAP"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_missing_query_counts_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": {"a": 1.0}}
    assert evaluate(qrels, run)["nDCG@10"] == pytest.approx(0.5)
    assert per_query(qrels, run)["nDCG@10"] == {"q1": 1.0, "q2": 0.0}


def test_paired_test_detects_consistent_gain():
    a = {str(i): 0.2 + 0.01 * (i % 3) for i in range(30)}
    b = {q: v + 0.1 for q, v in a.items()}
    t = paired_test(a, b, n_resamples=2000)
    assert t.delta == pytest.approx(0.1) and t.p_permutation < 0.01 and t.n == 30
    same = paired_test(a, dict(a))
    assert same.p_ttest == 1.0

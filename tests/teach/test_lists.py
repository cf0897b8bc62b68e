"""Label filters, normalization and the train/dev split by source passage."""

from __future__ import annotations

import numpy as np
import pytest

from corpusfit.data.artifacts import TrainingList
from corpusfit.teach.config import LabelConfig, teacher_config
from corpusfit.teach.lists import (
    ScoredList,
    build_training_lists,
    filter_source_first,
    filter_top_percentile,
    filter_top_reference,
    split_by_source,
)


def lst(qid, source, docs, raw):
    return ScoredList.sorted_from(qid, f"query {qid}", "question", source, docs, raw, keep=20)


def test_sorted_from_sorts_and_cuts():
    x = ScoredList.sorted_from("q", "t", "claim", "b", ["a", "b", "c", "d"], [1, 3, 2, 3], 3)
    assert x.doc_ids == ["b", "d", "c"]       # ties broken by doc id
    assert x.raw_scores == [3.0, 3.0, 2.0]


def test_source_first_filter():
    keep = lst("q1", "a", ["a", "b"], [2.0, 1.0])
    drop = lst("q2", "a", ["a", "b"], [1.0, 2.0])
    assert filter_source_first([keep, drop]) == [keep]


def test_top_percentile_filter():
    lists = [lst(f"q{i}", "a", ["a"], [float(i)]) for i in range(5)]   # tops 0..4
    kept = filter_top_percentile(lists, 25.0)                            # threshold 1.0
    assert [x.qid for x in kept] == ["q1", "q2", "q3", "q4"]


def test_split_by_source_is_seeded_and_keeps_passages_together():
    sources = [f"p{i}" for i in range(20)] * 3
    a = split_by_source(sources, 0.1, seed=1)
    assert a == split_by_source(sources, 0.1, seed=1)
    assert sum(v == "dev" for v in a.values()) == 2
    assert a != split_by_source(sources, 0.1, seed=2)
    assert "dev" in split_by_source(["p1", "p2"], 0.1, seed=0).values()  # never an empty dev


def test_build_training_lists_counts_and_records():
    # The earlier rules (no longer the defaults): pooled top scores, kept-list percentiles.
    cfg = LabelConfig(teacher=teacher_config(kind="bm25"), dev_fraction=0.5, seed=0,
                      top_score_filter="top_scores", normalize_over="kept_lists")
    lists = [lst("q1", "a", ["a", "b", "c"], [3.0, 2.0, 1.0]),
             lst("q2", "b", ["a", "b"], [5.0, 1.0]),          # source not first
             lst("q3", "c", ["c", "a"], [0.5, 0.1]),          # top below 25th percentile
             lst("q4", "d", ["d", "e"], [4.0, 0.0])]
    records, counts, norm = build_training_lists(lists, cfg)
    assert counts["scored"] == 4 and counts["source_first"] == 3
    assert counts["top_percentile"] == 2 and counts["written"] == 2
    assert counts["train"] + counts["dev"] == 2
    assert [r.qid for r in records] == ["q1", "q4"]
    # all kept raw scores: 0..4 -> 1st percentile 0.04, 99th 3.96
    assert (norm["low"], norm["high"]) == pytest.approx((0.04, 3.96))
    assert records[0].scores == pytest.approx([2.96 / 3.92, 1.96 / 3.92, 0.96 / 3.92])
    assert records[1].scores == [1.0, 0.0]    # clipped
    for r in records:
        TrainingList.model_validate(r.model_dump())  # round trip
        assert all(0.0 <= s <= 1.0 for s in r.scores)
        assert r.raw_scores == sorted(r.raw_scores, reverse=True)


def test_filters_can_be_switched_off():
    cfg = LabelConfig(teacher=teacher_config(kind="bm25"), require_source_first=False,
                      min_top_percentile=None)
    lists = [lst("q1", "b", ["a", "b"], [2.0, 1.0]), lst("q2", "a", ["a"], [0.0])]
    records, counts, _ = build_training_lists(lists, cfg)
    assert counts == {"scored": 2, "written": 2, "train": counts["train"],
                      "dev": counts["dev"]}
    assert len(records) == 2


def cut(qid, qtype, docs, raw, keep=2):
    """A list of ``len(docs)`` scored candidates cut to the top ``keep``; source = best doc."""
    best = docs[int(np.argmax(raw))]
    return ScoredList.sorted_from(qid, f"query {qid}", qtype, best, docs, raw, keep=keep)


def test_defaults_are_the_reference_rules():
    cfg = LabelConfig(teacher=teacher_config(kind="bm25"))
    assert (cfg.normalize_over, cfg.top_score_filter) == ("all_scored", "reference")
    assert cfg.min_top_percentile == 25.0 and cfg.min_candidates == 0
    assert cfg.score_depth == 30 and cfg.list_size == 20  # unchanged
    deep = LabelConfig(teacher=teacher_config(kind="bm25"), score_depth=100, min_candidates=20)
    assert (deep.score_depth, deep.min_candidates) == (100, 20)  # the reference's depth


def test_sorted_from_keeps_every_score_for_the_percentiles():
    x = cut("q", "claim", ["a", "b", "c", "d"], [1.0, 3.0, -100.0, 2.0])
    assert x.raw_scores == [3.0, 2.0] and x.every_score == [3.0, 2.0, 1.0, -100.0]


def test_normalization_uses_every_scored_candidate_before_cut_and_filters():
    low_cut = cut("q1", "question", ["a", "b", "c", "d"], [3.0, 2.0, 1.0, -100.0])
    dropped = ScoredList.sorted_from("q2", "t", "question", "x", ["y", "x"], [10.0, 0.0], 2)
    base = dict(teacher=teacher_config(kind="bm25"), top_score_filter="none", dev_fraction=0)
    records, counts, norm = build_training_lists([low_cut, dropped], LabelConfig(**base))
    assert counts["source_first"] == 1 and [r.qid for r in records] == ["q1"]
    # the cut -100 and the dropped query's 10 and 0 still set the percentiles
    pool = [3.0, 2.0, 1.0, -100.0, 10.0, 0.0]
    assert (norm["low"], norm["high"]) == pytest.approx(tuple(np.percentile(pool, [1, 99])))
    assert norm["low"] < -90
    lo, hi = norm["low"], norm["high"]
    assert records[0].scores == pytest.approx([(3 - lo) / (hi - lo), (2 - lo) / (hi - lo)])
    _, _, kept = build_training_lists([low_cut, dropped],
                                      LabelConfig(**base, normalize_over="kept_lists"))
    assert (kept["low"], kept["high"]) == pytest.approx((2.01, 2.99))  # only 3 and 2


def test_reference_filter_uses_all_scores_per_type():
    lists = [cut("q1", "question", list("abcd"), [5.0, 4.0, 3.0, 2.0]),
             cut("q2", "question", list("abcd"), [4.0, 3.0, 2.0, 1.0]),
             cut("q3", "question", list("abcd"), [0.5, 0.2, 0.1, 0.0]),
             cut("q4", "question", list("abcd"), [0.3, 0.2, 0.1, 0.0]),
             cut("c1", "claim", list("abcd"), [0.09, 0.05, 0.02, 0.01]),
             cut("c2", "claim", list("abcd"), [0.04, 0.03, 0.02, 0.01])]
    # question: the 25th percentile of its 16 scores (cut ones included) is 0.175, so q3
    # and q4 stay (of the 8 kept scores: 0.275); claim: 0.0175 of its 8 scores,
    # both stay. The pooled top-score rule (threshold 0.1425) drops both claims.
    q_scores = [s for x in lists[:4] for s in x.every_score]
    assert np.percentile(q_scores, 25) == pytest.approx(0.175)
    assert [x.qid for x in filter_top_reference(lists, 25.0)] == [x.qid for x in lists]
    assert {x.qid for x in filter_top_percentile(lists, 25.0)} == {"q1", "q2", "q3", "q4"}
    # a question whose top is below its type's 25th percentile is dropped, only that one
    low = cut("q5", "question", list("ab"), [0.05, 0.0])  # threshold with it: 0.1
    kept = filter_top_reference([*lists, low], 25.0)
    assert [x.qid for x in kept] == [x.qid for x in lists]
    # the threshold comes from the pool (all scored queries), not from the filtered lists
    assert filter_top_reference([lists[3]], 90.0, pool=lists) == []
    assert filter_top_reference([lists[3]], 90.0) == [lists[3]]


def test_min_candidates_and_filter_switches():
    short = cut("s", "question", list("abc"), [3.0, 2.0, 1.0])
    long = cut("l", "question", list("abcde"), [3.0, 2.0, 1.0, 0.5, 0.1])
    cfg = LabelConfig(teacher=teacher_config(kind="bm25"), min_candidates=4,
                      top_score_filter="none", dev_fraction=0)
    records, counts, _ = build_training_lists([short, long], cfg)
    assert [r.qid for r in records] == ["l"] and counts["min_candidates"] == 1
    assert "top_percentile" not in counts
    assert len(records[0].doc_ids) == 2  # the list is still cut to its kept top

"""Label filters, normalization and the train/dev split by source passage."""

from __future__ import annotations

import pytest

from corpusfit.data.artifacts import TrainingList
from corpusfit.teach.config import LabelConfig, TeacherConfig
from corpusfit.teach.lists import (
    ScoredList,
    build_training_lists,
    filter_source_first,
    filter_top_percentile,
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
    cfg = LabelConfig(teacher=TeacherConfig(kind="bm25"), dev_fraction=0.5, seed=0)
    lists = [lst("q1", "a", ["a", "b", "c"], [3.0, 2.0, 1.0]),
             lst("q2", "b", ["a", "b"], [5.0, 1.0]),          # source not first
             lst("q3", "c", ["c", "a"], [0.5, 0.1]),          # top below 25th percentile
             lst("q4", "d", ["d", "e"], [4.0, 0.0])]
    records, counts, norm = build_training_lists(lists, cfg)
    assert counts["scored"] == 4 and counts["source_first"] == 3
    assert counts["top_percentile"] == 2 and counts["written"] == 2
    assert counts["train"] + counts["dev"] == 2
    assert [r["qid"] for r in records] == ["q1", "q4"]
    # all kept raw scores: 0..4 -> 1st percentile 0.04, 99th 3.96
    assert (norm["low"], norm["high"]) == pytest.approx((0.04, 3.96))
    assert records[0]["scores"] == pytest.approx([2.96 / 3.92, 1.96 / 3.92, 0.96 / 3.92])
    assert records[1]["scores"] == [1.0, 0.0]    # clipped
    for r in records:
        TrainingList.model_validate(r)
        assert all(0.0 <= s <= 1.0 for s in r["scores"])
        assert r["raw_scores"] == sorted(r["raw_scores"], reverse=True)


def test_filters_can_be_switched_off():
    cfg = LabelConfig(teacher=TeacherConfig(kind="bm25"), require_source_first=False,
                      min_top_percentile=None)
    lists = [lst("q1", "b", ["a", "b"], [2.0, 1.0]), lst("q2", "a", ["a"], [0.0])]
    records, counts, _ = build_training_lists(lists, cfg)
    assert counts == {"scored": 2, "written": 2, "train": counts["train"],
                      "dev": counts["dev"]}
    assert len(records) == 2

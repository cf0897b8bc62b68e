"""Reading lists: validation with file and line, truncation, collation, sharding."""

from __future__ import annotations

import json

import pytest

from corpusfit.errors import DataError
from corpusfit.train.data import (
    collate,
    cut_positions,
    epoch_order,
    load_training_data,
    shard,
    step_batches,
)


def test_load_takes_lists_as_written_and_counts(short_lists):
    data = load_training_data(*short_lists)
    assert len(data.train) == 9 and len(data.dev) == 3
    assert all(len(x.doc_ids) == 3 for x in data.train + data.dev)
    assert all(x.scores == sorted(x.scores, reverse=True) for x in data.train)
    counts = data.counts()
    assert counts["train_types"] == {"keywords": 3, "question": 6}
    assert data.doc_texts[data.key_of["d0"]] == "lift of a wing in supersonic flow"


def _rewrite(path, line_no, **changes):
    lines = path.read_text().splitlines()
    rec = json.loads(lines[line_no - 1])
    rec.update(changes)
    lines[line_no - 1] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("changes, reason", [
    ({"doc_ids": ["d0", "nope", "d2", "d3", "d4"]}, "not in the corpus"),
    ({"scores": [1.0]}, "differ in length"),
    ({"split": "test"}, "split"),
    ({"doc_ids": ["d0", "d0", "d2", "d3", "d4"]}, "occurs twice"),
    ({"qid": "q0"}, "duplicate qid"),
    ({"scores": [0.1, 1.0, 0.5, 0.2, 0.0]}, "not in teacher order"),  # lists are sorted once
])
def test_bad_records_name_file_and_line(tiny_lists, changes, reason):
    lists, corpus = tiny_lists
    _rewrite(lists, 4, **changes)
    with pytest.raises(DataError, match=reason) as err:
        load_training_data(lists, corpus)
    assert err.value.line == 4 and err.value.path == str(lists)


def test_collate_deduplicates_passages(tiny_lists):
    data = load_training_data(*tiny_lists)
    col = collate(data.train, data.key_of)
    b = col.batch
    assert len(col.passage_keys) == len(set(col.passage_keys))
    assert b.doc_keys.tolist() == col.passage_keys
    for i, rec in enumerate(data.train):
        cols = b.list_idx[i][b.list_mask[i]].tolist()
        assert [data.doc_ids[col.passage_keys[c]] for c in cols] == rec.doc_ids


def test_batches_repeatable_and_sharded():
    assert epoch_order(10, 1, 0) == epoch_order(10, 1, 0) != epoch_order(10, 1, 1)
    batches = step_batches(list(range(10)), 4, world=3)
    assert [len(b) for b in batches] == [4, 4]  # the last (2 < 3 processes) is dropped
    parts = [shard(list(range(5)), r, 2) for r in range(2)]
    assert sum(parts, []) == list(range(5)) and abs(len(parts[0]) - len(parts[1])) <= 1


def test_passages_per_query_keeps_the_teachers_top(tiny_lists):
    whole = load_training_data(*tiny_lists)
    top2 = load_training_data(*tiny_lists, passages=2)
    for a, b in zip(whole.train + whole.dev, top2.train + top2.dev):
        assert b.doc_ids == a.doc_ids[:2] and b.scores == a.scores[:2]
        assert b.raw_scores == a.raw_scores[:2]
    assert len(top2.doc_ids) <= len(whole.doc_ids)  # passages beyond the top N are not loaded


def test_hard_negative_slot_takes_the_best_passage_below_the_threshold():
    scores = [1.0, 0.9, 0.8, 0.7, 0.65, 0.5, 0.4]
    assert cut_positions(scores, 4, None) == [0, 1, 2, 3]
    assert cut_positions(scores, 4, 0.6) == [0, 1, 2, 5]  # 0.5 is the first below 0.6
    assert cut_positions([1.0, 0.9, 0.3, 0.2, 0.1], 3, 0.6) == [0, 1, 2]  # one already kept
    assert cut_positions([1.0, 0.9, 0.8, 0.7], 3, 0.6) == [0, 1, 2]  # none below: plain cut
    assert cut_positions([1.0, 0.9], 4, 0.6) == [0, 1]


def test_hard_negative_slot_reaches_the_loaded_lists(tiny_lists):
    whole = load_training_data(*tiny_lists)
    cut = load_training_data(*tiny_lists, passages=2, negative_below=0.5)
    for a, b in zip(whole.train + whole.dev, cut.train + cut.dev):
        keep = cut_positions(a.scores, 2, 0.5)
        assert b.doc_ids == [a.doc_ids[i] for i in keep]
        assert b.raw_scores == [a.raw_scores[i] for i in keep]
    assert any(b.doc_ids[1] != a.doc_ids[1] for a, b in zip(whole.train, cut.train))

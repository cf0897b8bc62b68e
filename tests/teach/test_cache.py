"""The score cache: persistence, torn lines, shards and merging, no rescoring."""

from __future__ import annotations

import pytest

from corpusfit.teach.base import Teacher
from corpusfit.teach.cache import ScoreCache, merge_cache
from corpusfit.teach.config import teacher_config
from corpusfit.teach.ensemble import EnsembleTeacher
from corpusfit.teach.scoring import CachedScorer


class CountingTeacher(Teacher):
    """Scores = number of shared words; counts every pair it is asked about."""

    def __init__(self, name: str = "count"):
        super().__init__(teacher_config(kind="dense", model=name))  # id differs by name
        self.calls = 0

    def score_pairs(self, pairs):
        self.calls += len(pairs)
        return [float(len(set(q.split()) & set(p.split()))) for q, p in pairs]


TEXTS = {"d1": "lift of a wing", "d2": "heat transfer", "d3": "wing drag and lift"}


def test_cache_persists_and_survives_a_torn_line(tmp_path):
    cache = ScoreCache(tmp_path, "t1")
    cache.put("wing lift", "d1", 2.0)
    cache.put("wing lift", "d2", 0.0)
    cache.close()
    with open(tmp_path / "t1" / "main.jsonl", "a") as f:
        f.write('{"q": "abc", "d": "d3", "s"')            # a crash mid-write
    again = ScoreCache(tmp_path, "t1")
    assert again.get("wing lift", "d1") == 2.0 and again.get("wing lift", "d2") == 0.0
    assert again.get("other", "d1") is None and len(again) == 2
    assert ScoreCache(tmp_path, "t2").get("wing lift", "d1") is None   # per teacher
    again.put("x", "d3", 1.0)
    again.close()
    assert len(ScoreCache(tmp_path, "t1")) == 3


def test_cache_rejects_nan(tmp_path):
    with pytest.raises(ValueError, match="non-finite"):
        ScoreCache(tmp_path, "t").put("q", "d", float("nan"))


def test_cached_scorer_never_rescores(tmp_path):
    lists = [("wing lift", ["d1", "d2", "d3"]), ("heat", ["d2", "d1"])]
    teacher = CountingTeacher()
    first = CachedScorer(teacher, TEXTS, tmp_path)
    scores = first.score_lists(lists)
    first.close()
    assert scores == [[2.0, 0.0, 2.0], [1.0, 0.0]] and teacher.calls == 5
    fresh = CountingTeacher()
    second = CachedScorer(fresh, TEXTS, tmp_path)
    assert second.score_lists(lists) == scores
    assert fresh.calls == 0 and second.stats.cached == 5 and second.stats.scored == 0
    second.score_lists([("wing lift", ["d1"]), ("new query", ["d1"])])
    assert fresh.calls == 1


def test_ensemble_caches_members_and_z_normalizes(tmp_path):
    a, b = CountingTeacher("a"), CountingTeacher("b")
    cfg = teacher_config(kind="ensemble", members=[a.config, b.config], weights=[1.0, 1.0])
    ens = EnsembleTeacher(cfg, members=[a, b])
    scorer = CachedScorer(ens, TEXTS, tmp_path)
    got = scorer.score_lists([("wing lift", ["d1", "d2"])])[0]
    assert got == pytest.approx([2.0, -2.0])            # z = [1, -1] from each member
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.teacher_id, b.teacher_id])


def test_shards_merge_into_one_cache(tmp_path):
    for i, pairs in enumerate([[("q1", "d1"), ("q1", "d2")], [("q2", "d3")]]):
        cache = ScoreCache(tmp_path / f"machine{i}", "t", shard=(i, 2))
        for q, d in pairs:
            cache.put(q, d, float(i + 1))
        cache.close()
    n = merge_cache(tmp_path / "all", "t", [tmp_path / "machine0", tmp_path / "machine1"])
    assert n == 3
    files = sorted(p.name for p in (tmp_path / "all" / "t").iterdir())
    assert files == ["merged.jsonl"]
    merged = ScoreCache(tmp_path / "all", "t")
    assert merged.get("q1", "d2") == 1.0 and merged.get("q2", "d3") == 2.0


def test_an_edited_passage_is_scored_again_and_older_records_still_count(tmp_path):
    lists = [("wing lift", ["d1", "d3"])]
    teacher = CountingTeacher()
    CachedScorer(teacher, TEXTS, tmp_path).score_lists(lists)
    edited = {**TEXTS, "d3": "heat transfer in a nozzle"}
    again = CachedScorer(teacher, edited, tmp_path)
    assert again.score_lists(lists) == [[2.0, 0.0]] and teacher.calls == 3  # d3 only
    # a cache of an earlier version: records without the text hash answer for their id
    legacy = ScoreCache(tmp_path / "old", teacher.teacher_id)
    (legacy.dir).mkdir(parents=True)
    (legacy.dir / "main.jsonl").write_text(
        f'{{"q": "{ScoreCache.key("wing lift", "d1")[0]}", "d": "d1", "s": 7.0}}\n')
    old = CachedScorer(teacher, edited, tmp_path / "old")
    assert old.score_lists([("wing lift", ["d1"])]) == [[7.0]] and teacher.calls == 3

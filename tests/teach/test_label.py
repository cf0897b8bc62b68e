"""The label stage end to end on the tiny BEIR corpus with real (small) teachers."""

from __future__ import annotations

import json

import pytest

from corpusfit.cli import main as cli
from corpusfit.data.artifacts import TrainingList, load_artifact
from corpusfit.errors import CorpusfitError
from corpusfit.stages.label import run_label
from corpusfit.teach.cache import merge_cache
from corpusfit.teach.config import LabelConfig, teacher_config

DOCS = ["d1", "d2", "d3", "d4", "d5", "d6"]
QUERIES = [("s1", "lift of a wing supersonic", "d1"), ("s2", "drag airfoil subsonic", "d2"),
           ("s3", "heat transfer turbulent", "d3"), ("s4", "shock wave interaction", "d4"),
           ("s5", "library books index", "d5"), ("s6", "program language algorithm", "d6"),
           ("s7", "boundary layer heat", "d3"), ("s8", "wing", "d2")]


@pytest.fixture
def candidates(tmp_path):
    path = tmp_path / "candidates.jsonl"
    with open(path, "w") as f:
        for qid, text, source in QUERIES:
            f.write(json.dumps({"qid": qid, "query": text, "type": "keywords",
                                "source_id": source, "doc_ids": DOCS,
                                "rrf_scores": [0.1] * 6, "ranks": {"bm25": [1, 2, 3, 4, 5, 6]}})
                    + "\n")
    return path


def config(**kw) -> LabelConfig:
    return LabelConfig(teacher=teacher_config(kind="bm25"), score_depth=5, list_size=4, **kw)


def test_label_writes_valid_lists_and_resumes(tmp_path, tiny_beir, candidates):
    out = tmp_path / "label"
    res = run_label(config(), candidates, tiny_beir, out)
    lists = load_artifact(out / "lists.jsonl", TrainingList)
    c = res.counts
    assert c["candidates"] == 8 and c["scored"] == 8
    assert c["source_first"] < 8                 # "wing" -> d2 is not BM25's first
    assert c["written"] == len(lists) == c["top_percentile"] and c["pairs_scored"] >= 40
    for x in lists:
        assert x.doc_ids[0] == x.source_id and len(x.doc_ids) <= 4
        assert x.raw_scores == sorted(x.raw_scores, reverse=True)
    assert "s8" not in {x.qid for x in lists}
    first_text = (out / "lists.jsonl").read_text()
    again = run_label(config(), candidates, tiny_beir, out)
    assert again.skipped
    forced = run_label(config(), candidates, tiny_beir, out, force=True)
    assert forced.counts["pairs_scored"] == 0 and forced.counts["pairs_cached"] >= 40
    assert (out / "lists.jsonl").read_text() == first_text


def test_source_passage_beyond_depth_is_still_scored(tmp_path, tiny_beir, candidates):
    res = run_label(config(require_source_first=False, min_top_percentile=None).model_copy(
        update={"score_depth": 2}), candidates, tiny_beir, tmp_path / "o")
    lists = {x.qid: x for x in load_artifact(tmp_path / "o" / "lists.jsonl", TrainingList)}
    assert "d6" in lists["s6"].doc_ids and len(lists["s6"].doc_ids) == 3
    assert res.counts["written"] == 8


def test_shards_then_merge_rescore_nothing(tmp_path, tiny_beir, candidates):
    for i in range(2):
        r = run_label(config(), candidates, tiny_beir, tmp_path / "x", shard=(i, 2),
                      cache_dir=tmp_path / f"m{i}")
        assert r.counts["candidates"] == 4 and not (tmp_path / "x" / "lists.jsonl").exists()
    tid = config().teacher.teacher_id()
    merge_cache(tmp_path / "all", tid, [tmp_path / "m0", tmp_path / "m1"])
    merged = run_label(config(), candidates, tiny_beir, tmp_path / "y",
                       cache_dir=tmp_path / "all")
    direct = run_label(config(), candidates, tiny_beir, tmp_path / "z")
    assert merged.counts["pairs_scored"] == 0 and direct.counts["pairs_scored"] > 0
    assert (tmp_path / "y" / "lists.jsonl").read_text() == \
        (tmp_path / "z" / "lists.jsonl").read_text()


def test_unknown_candidate_doc_is_an_error(tmp_path, tiny_beir):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"qid": "q", "query": "wing", "type": "t", "source_id": "d1",
                                "doc_ids": ["d1", "nope"], "rrf_scores": [1, 1],
                                "ranks": {}}) + "\n")
    with pytest.raises(CorpusfitError, match="nope"):
        run_label(config(), path, tiny_beir, tmp_path / "o")


def test_label_cli_with_an_ensemble_teacher(tmp_path, tiny_beir, candidates, tiny_bert, capsys):
    teacher = tmp_path / "teacher.yaml"
    teacher.write_text(f"kind: ensemble\nmembers:\n  - kind: bm25\n"
                       f"  - kind: dense\n    model: {tiny_bert}\nweights: [1.0, 0.5]\n")
    rc = cli(["label", "--candidates", str(candidates), "--corpus", str(tiny_beir),
              "--output", str(tmp_path / "o"), "--teacher-config", str(teacher),
              "--depth", "6", "--min-top-percentile", "-1"])
    out = capsys.readouterr().out
    assert rc == 0 and "source_first" in out and "pairs/s" in out
    assert "top_percentile" not in out
    assert load_artifact(tmp_path / "o" / "lists.jsonl", TrainingList)
    assert cli(["label", "--candidates", str(candidates), "--corpus", str(tiny_beir),
                "--output", str(tmp_path / "o"), "--teacher", "t5"]) == 2


def test_presets_and_embedding_cache_keep_the_teacher_id(tmp_path):
    from corpusfit.teach.config import TEACHER_PRESETS
    from corpusfit.teach.label import with_embedding_cache

    offline = TEACHER_PRESETS["offline"]()
    assert [m.kind for m in offline.members] == ["dense", "bm25"]
    assert [m.kind for m in TEACHER_PRESETS["offline-ql"]().members][-1] == "query-likelihood"
    cached = with_embedding_cache(offline, tmp_path)
    assert cached.members[0].embedding_cache == str(tmp_path)
    assert cached.teacher_id() == offline.teacher_id()        # runtime field, same scores
    assert teacher_config(kind="cross-encoder", model="x", max_length=100).teacher_id() != \
        teacher_config(kind="cross-encoder", model="x").teacher_id()


def test_min_candidates_drops_queries_with_short_lists(tmp_path, tiny_beir, candidates):
    cfg = config(require_source_first=False, top_score_filter="none", min_candidates=3)
    res = run_label(cfg.model_copy(update={"score_depth": 2}), candidates, tiny_beir,
                    tmp_path / "o")
    lists = load_artifact(tmp_path / "o" / "lists.jsonl", TrainingList)
    # depth 2 scores d1, d2 (+ the source when it is neither): 3 candidates for s3..s7 only
    assert sorted(x.qid for x in lists) == ["s3", "s4", "s5", "s6", "s7"]
    assert res.counts["min_candidates"] == 5 and "top_percentile" not in res.counts

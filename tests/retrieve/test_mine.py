"""The mine stage on the tiny BEIR corpus with a tiny random BERT and BM25."""

from __future__ import annotations

import json

import pytest

from corpusfit.cli import main as cli
from corpusfit.data.artifacts import Candidates, load_artifact
from corpusfit.errors import ConfigError, DataError
from corpusfit.retrieve.mine import MineConfig
from corpusfit.stages.mine import merge_mine, run_mine

QUERIES = [("s1", "lift of a wing supersonic", "d1"), ("s2", "drag airfoil subsonic", "d2"),
           ("s3", "heat transfer turbulent", "d3"), ("s4", "library books index", "d5"),
           ("s5", "zebra", "d6"), ("s6", "shock wave boundary layer", "d4")]


@pytest.fixture
def queries(tmp_path):
    path = tmp_path / "queries.jsonl"
    path.write_text("".join(json.dumps({"qid": q, "text": t, "type": "keywords",
                                        "source_id": s}) + "\n" for q, t, s in QUERIES))
    return path


def config(tiny_bert, **kw) -> MineConfig:
    return MineConfig(retrievers=[str(tiny_bert), "bm25"], depth=4, round_trip_depth=1, **kw)


def test_mine_fuses_filters_and_excludes(tmp_path, tiny_beir, tiny_bert, queries):
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("d6\n")
    dups = tmp_path / "dups.txt"
    dups.write_text("d5\n\n")
    res = run_mine(config(tiny_bert), queries, tiny_beir, tmp_path / "m", heldout=heldout,
                   duplicates=dups)
    cands = load_artifact(res.candidates_path, Candidates)
    c = res.counts
    assert c["queries"] == 6 and c["source_unavailable"] == 2 and c["excluded_passages"] == 2
    assert c["written"] == len(cands) == 6 - 2 - c["round_trip_dropped"]
    assert c["source_in_top1_bm25"] >= 3
    names = {"bm25", tiny_bert.name}
    for x in cands:
        assert not {"d5", "d6"} & set(x.doc_ids)
        assert set(x.ranks) == names and len(x.doc_ids) == len(x.rrf_scores)
        assert x.rrf_scores == sorted(x.rrf_scores, reverse=True)
        assert any(r[x.doc_ids.index(x.source_id)] == 1 for r in x.ranks.values())
        # RRF score is the sum of 1/(60 + rank) over retrievers that found the doc
        want = sum(1 / (60 + r[0]) for r in x.ranks.values() if r[0] is not None)
        assert x.rrf_scores[0] == pytest.approx(want)
    assert run_mine(config(tiny_bert), queries, tiny_beir, tmp_path / "m", heldout=heldout,
                    duplicates=dups).skipped


def test_round_trip_can_be_switched_off(tmp_path, tiny_beir, tiny_bert, queries):
    res = run_mine(config(tiny_bert, round_trip=False), queries, tiny_beir, tmp_path / "m")
    assert res.counts["written"] == 6 and res.counts["round_trip_dropped"] == 0


def test_shards_merge_to_the_unsharded_result(tmp_path, tiny_beir, tiny_bert, queries):
    cfg = config(tiny_bert)
    with pytest.raises(ConfigError, match="shard 1/2"):
        run_mine(cfg, queries, tiny_beir, tmp_path / "s", shard=(0, 2))
        merge_mine(cfg, queries, tiny_beir, tmp_path / "s", 2)
    run_mine(cfg, queries, tiny_beir, tmp_path / "s", shard=(1, 2))
    merged = merge_mine(cfg, queries, tiny_beir, tmp_path / "s", 2)
    direct = run_mine(cfg, queries, tiny_beir, tmp_path / "d")
    assert merged.counts == direct.counts
    assert merged.candidates_path.read_text() == direct.candidates_path.read_text()


def test_mine_cli_and_bad_id_file(tmp_path, tiny_beir, tiny_bert, queries, capsys):
    rc = cli(["mine", "--queries", str(queries), "--corpus", str(tiny_beir), "--output",
              str(tmp_path / "m"), "--retriever", str(tiny_bert), "--retriever", "bm25",
              "--depth", "3"])
    out = capsys.readouterr().out
    assert rc == 0 and "round_trip_dropped" in out and "candidates.jsonl" in out
    with pytest.raises(DataError, match="id file not found"):
        run_mine(config(tiny_bert), queries, tiny_beir, tmp_path / "x",
                 heldout=tmp_path / "missing.txt")

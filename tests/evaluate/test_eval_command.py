import json

import pytest

from corpusfit.cli import main


def _pytrec_ndcg(qrels_path, run_path):
    import pytrec_eval

    qrels = {}
    for i, line in enumerate(open(qrels_path)):
        if i:
            q, d, s = line.split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    run = {}
    for line in open(run_path):
        q, _, d, _, s, _ = line.split()
        run.setdefault(q, {})[d] = float(s)
    res = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return sum(r["ndcg_cut_10"] for r in res.values()) / len(qrels)


def test_eval_bm25_dense_fusion_agrees_with_pytrec_eval(tiny_beir, tiny_bert, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["eval", "--data", str(tiny_beir), "--retriever", "bm25", "--retriever",
               str(tiny_bert), "--retriever", f"rrf:bm25+{tiny_bert}", "--output", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "nDCG@10" in printed and "R@100" in printed and "MRR@10" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["retrievers"]) == 3
    for entry in metrics["retrievers"].values():
        ours = entry["metrics"]["nDCG@10"]
        theirs = _pytrec_ndcg(tiny_beir / "qrels" / "test.tsv", out / entry["run_file"])
        assert ours == pytest.approx(theirs, abs=1e-4)
    # BM25 on this toy collection finds every relevant document first.
    assert metrics["retrievers"]["bm25"]["metrics"]["MRR@10"] == pytest.approx(1.0)


def test_run_file_as_retriever(tiny_beir, tmp_path):
    run = tmp_path / "r.trec"
    run.write_text("q1 Q0 d1 1 2.0 x\nq2 Q0 d3 1 2.0 x\nq3 Q0 d6 1 1.0 x\n")
    rc = main(["eval", "--data", str(tiny_beir), "--retriever", str(run), "--output",
               str(tmp_path / "o")])
    assert rc == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["retrievers"][str(run)]["metrics"]["MRR@10"] == pytest.approx(1.0)


def test_broken_corpus_line_exits_2_with_one_message(tiny_beir, capsys):
    with open(tiny_beir / "corpus.jsonl", "a") as f:
        f.write('{"_id": "d7", "text": "oops"\n')
    rc = main(["eval", "--data", str(tiny_beir), "--retriever", "bm25"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "corpus.jsonl:7: malformed JSON" in err
    assert "Traceback" not in err and err.count("error:") == 1


def test_debug_shows_traceback(tiny_beir):
    from corpusfit.errors import DataError

    (tiny_beir / "corpus.jsonl").write_text("{bad\n")
    with pytest.raises(DataError):
        main(["--debug", "eval", "--data", str(tiny_beir), "--retriever", "bm25"])


REFERENCE = {  # shared/datasets/README.md: nDCG@10, R@100 on Cranfield
    "bm25": (0.352, 0.734), "minilm": (0.389, 0.789), "rrf:bm25+minilm": (0.411, 0.801)}


@pytest.mark.slow
def test_cranfield_matches_reference(cranfield, tmp_path):
    args = ["-q", "eval", "--data", str(cranfield), "--output", str(tmp_path)]
    for spec in REFERENCE:
        args += ["--retriever", spec]
    assert main(args) == 0
    got = json.loads((tmp_path / "metrics.json").read_text())["retrievers"]
    for spec, (ndcg, recall) in REFERENCE.items():
        assert got[spec]["metrics"]["nDCG@10"] == pytest.approx(ndcg, abs=0.01)
        assert got[spec]["metrics"]["R@100"] == pytest.approx(recall, abs=0.01)

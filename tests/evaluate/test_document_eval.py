"""Document-level evaluation of a split collection: documents score by their passages."""

from __future__ import annotations

import json

import pytest

from corpusfit.cli import main
from corpusfit.data.chunking import PassageOrigin
from corpusfit.evaluate.documents import aggregate_run, passage_depth

FILLER = "the theory of the model and the data of the experiment results " * 12


def test_aggregate_maxp_firstp_sum():
    origin = {"a#0": PassageOrigin("a", 0), "a#1": PassageOrigin("a", 1),
              "b": PassageOrigin("b", 0), "c#0": PassageOrigin("c", 0),
              "c#1": PassageOrigin("c", 1)}
    run = {"q": {"a#1": 0.9, "a#0": 0.2, "b": 0.5, "c#0": 0.45, "c#1": 0.4}}
    assert aggregate_run(run, origin, "maxp", 10) == {"q": {"a": 0.9, "b": 0.5, "c": 0.45}}
    assert aggregate_run(run, origin, "firstp", 10) == {"q": {"b": 0.5, "c": 0.45, "a": 0.2}}
    summed = aggregate_run(run, origin, "sum", 2)["q"]
    assert list(summed) == ["a", "c"] and summed["a"] == pytest.approx(1.1)
    assert passage_depth(100, 50, 10) == 50 and passage_depth(10, 10_000, 1000) == 200


@pytest.fixture
def long_beir(tmp_path):
    """Four long documents; each query matches one paragraph deep inside one document."""
    folder = tmp_path / "docs-beir"
    (folder / "qrels").mkdir(parents=True)
    topics = {"d1": "supersonic wing lift", "d2": "turbulent heat transfer",
              "d3": "library index books", "d4": "computer program algorithm"}
    with open(folder / "corpus.jsonl", "w") as f:
        for did, topic in topics.items():
            text = "\n\n".join([FILLER, FILLER, f"{topic} {topic} shock {topic}.", FILLER])
            f.write(json.dumps({"_id": did, "title": "", "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for i, topic in enumerate(topics.values(), start=1):
            f.write(json.dumps({"_id": f"q{i}", "text": topic}) + "\n")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(1, 5)))
    return folder


@pytest.mark.parametrize("bm25_unit", ["document", "passage"])
def test_eval_scores_documents_by_their_passages(long_beir, tiny_bert, tmp_path, bm25_unit):
    out = tmp_path / "out"
    rc = main(["eval", "--test-data", str(long_beir), "--retriever", "bm25", "--retriever",
               str(tiny_bert), "--retriever", f"rrf:bm25+{tiny_bert}", "--bm25-unit",
               bm25_unit, "--out", str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    units = metrics["units"]
    assert units["chunked"] and units["documents"] == 4 and units["passages"] > 4
    assert units["bm25_unit"] == bm25_unit and units["aggregate"] == "maxp"
    for entry in metrics["retrievers"].values():
        ids = {line.split()[2] for line in (out / entry["run_file"]).read_text().splitlines()}
        assert ids <= {"d1", "d2", "d3", "d4"}  # documents, as the qrels judge them
    assert metrics["retrievers"]["bm25"]["metrics"]["MRR@10"] == pytest.approx(1.0)


def test_eval_keeps_documents_whole_when_asked(long_beir, tiny_bert, tmp_path):
    out = tmp_path / "out"
    assert main(["eval", "--test-data", str(long_beir), "--retriever", "bm25", "--chunk",
                 "never", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["units"] == {"chunked": False}


def test_a_collection_of_passages_is_evaluated_as_before(tiny_beir, tmp_path):
    out = tmp_path / "out"
    assert main(["eval", "--test-data", str(tiny_beir), "--retriever", "bm25", "--out",
                 str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["units"] == {"chunked": False}

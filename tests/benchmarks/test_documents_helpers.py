"""The long-document benchmark's collections: passages joined into documents, qrels mapped."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import documents  # noqa: E402


def _beir(folder: Path, passages: list[tuple[str, str, str]], qrels: list[tuple]) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in passages))
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "wing lift"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in qrels))
    return folder


def test_passages_join_into_documents_and_a_document_is_as_relevant_as_its_best_passage(
        tmp_path):
    words = " ".join(["lift"] * 6)
    src = _beir(tmp_path / "src", [("p1", "Wing", words), ("p2", "", words),
                                   ("p3", "Tail", words), ("p4", "", "short")],
                [("q1", "p1", 1), ("q1", "p2", 3), ("q1", "p4", 2)])
    stats = documents.build_documents(src, tmp_path / "docs", words=10)
    docs = [json.loads(x) for x in (tmp_path / "docs" / "corpus.jsonl").read_text().splitlines()]
    assert [d["_id"] for d in docs] == ["D0", "D1"]
    assert docs[0]["text"] == f"Wing\n{words}\n\n{words}"  # the title on a line of its own
    assert docs[1]["text"] == f"Tail\n{words}\n\nshort"
    qrels = (tmp_path / "docs" / "qrels" / "test.tsv").read_text().splitlines()[1:]
    assert sorted(qrels) == ["q1\tD0\t3", "q1\tD1\t2"]
    assert stats["documents"] == 2 and stats["passages_joined"] == 4

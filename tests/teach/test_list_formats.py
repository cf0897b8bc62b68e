"""``corpusfit export``: lists -> sentence-transformers, FlagEmbedding, BEIR -> same lists."""

from __future__ import annotations

import json

import pytest

from corpusfit.cli import main as cli
from corpusfit.data.artifacts import TrainingList, load_artifact
from corpusfit.data.readers import load_beir

DOCS = {"d1": ("Wing", "lift of a wing"), "d2": ("", "drag of an airfoil"),
        "d3": ("Heat", "heat transfer"), "d4": ("", "shock wave"), "d5": ("", "library index")}


def _text(d: str) -> str:
    title, text = DOCS[d]
    return f"{title} {text}" if title else text


@pytest.fixture
def lists_dir(tmp_path):
    folder = tmp_path / "label"
    folder.mkdir()
    with open(folder / "corpus.jsonl", "w") as f:
        for d, (title, text) in DOCS.items():
            f.write(json.dumps({"_id": d, "title": title, "text": text}) + "\n")
    recs = [("q1", "what is lift", ["d1", "d2", "d3", "d4"], "train"),
            ("q2", "heat", ["d3", "d4", "d5"], "train"),
            ("q3", "drag", ["d2", "d1"], "train"),  # too short for 2 negative columns
            ("q4", "library", ["d5", "d1", "d2"], "dev")]
    with open(folder / "lists.jsonl", "w") as f:
        for qid, query, docs, split in recs:
            scores = [round(1.0 - 0.3 * i, 2) for i in range(len(docs))]
            f.write(json.dumps({"qid": qid, "query": query, "type": "keywords",
                                "source_id": docs[0], "doc_ids": docs, "scores": scores,
                                "raw_scores": [10 * s for s in scores], "split": split}) + "\n")
    return folder


def _lists(folder):
    return {r.qid: r for r in load_artifact(folder / "lists.jsonl", TrainingList)}


def test_sentence_transformers_round_trip(lists_dir, tmp_path, capsys):
    from datasets import load_dataset

    out = tmp_path / "st"
    assert cli(["export", "--lists", str(lists_dir / "lists.jsonl"), "--out", str(out),
                "--format", "sentence-transformers", "--negatives", "2"]) == 0
    report = json.loads(capsys.readouterr().out)["sentence-transformers"]
    assert report["train_rows"] == 2 and report["train_short_lists_left_out"] == 1
    ds = load_dataset("json", data_files={"train": str(out / "train.jsonl"),
                                          "dev": str(out / "dev.jsonl")})
    assert ds["train"].column_names == ["query", "positive", "negative_1", "negative_2",
                                        "scores"]
    lists = _lists(lists_dir)
    for row in [*ds["train"], *ds["dev"]]:
        rec = next(r for r in lists.values() if r.query == row["query"])
        passages = [row["positive"], row["negative_1"], row["negative_2"]]
        assert passages == [_text(d) for d in rec.doc_ids[:3]]
        assert row["scores"] == pytest.approx(rec.scores[:3])


def test_flagembedding_round_trip_keeps_whole_lists(lists_dir, tmp_path):
    out = tmp_path / "flag"
    assert cli(["export", "--lists", str(lists_dir / "lists.jsonl"), "--out", str(out),
                "--format", "flagembedding", "--raw-scores"]) == 0
    rows = [json.loads(line) for split in ("train", "dev")
            for line in (out / f"{split}.jsonl").read_text().splitlines()]
    lists = _lists(lists_dir)
    assert len(rows) == len(lists)
    for row in rows:
        assert set(row) == {"query", "pos", "neg", "pos_scores", "neg_scores"}
        rec = next(r for r in lists.values() if r.query == row["query"])
        assert row["pos"] + row["neg"] == [_text(d) for d in rec.doc_ids]
        assert row["pos_scores"] + row["neg_scores"] == pytest.approx(rec.raw_scores)


def test_beir_round_trip(lists_dir, tmp_path):
    out = tmp_path / "beir"
    assert cli(["export", "--lists", str(lists_dir / "lists.jsonl"), "--out", str(out),
                "--format", "beir"]) == 0
    lists = _lists(lists_dir)
    for split in ("train", "dev"):
        data = load_beir(str(out), split)
        wanted = {q: r for q, r in lists.items() if r.split == split}
        assert {q: data.queries[q].text for q in data.queries if q in wanted} == {
            q: r.query for q, r in wanted.items()}
        assert {q: set(rel) for q, rel in data.qrels.items()} == {
            q: {r.source_id} for q, r in wanted.items()}
        assert set(data.corpus) == set(DOCS)


def test_bad_input_is_a_clear_error(lists_dir, tmp_path, capsys):
    (lists_dir / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "text": "x"}) + "\n")
    assert cli(["export", "--lists", str(lists_dir / "lists.jsonl"), "--out",
                str(tmp_path / "x"), "--format", "flagembedding"]) == 2
    assert "lists.jsonl" in capsys.readouterr().err

import json

import pytest

from corpusfit.data import load_beir, load_corpus, load_qrels, load_queries, write_beir
from corpusfit.errors import DataError


def _write(path, text, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_beir_roundtrip(tiny_beir, tmp_path):
    data = load_beir(tiny_beir)
    assert len(data.corpus) == 6 and len(data.queries) == 3
    assert data.qrels["q2"] == {"d3": 1, "d4": 1}
    assert data.corpus["d1"].full_text() == "Wing lift lift of a wing in supersonic flow"
    write_beir(tmp_path / "copy", data.corpus.values(), data.queries.values(), data.qrels)
    again = load_beir(tmp_path / "copy")
    assert again.corpus == data.corpus and again.qrels == data.qrels


@pytest.mark.parametrize("line,reason", [
    ('{"_id": "a", "text": "x"', "malformed JSON"),
    ('{"text": "x"}', "missing '_id'"),
    ('{"_id": 7, "text": "x"}', "'_id' must be a string"),
    ('{"_id": "d1", "text": "again"}', "duplicate document id 'd1'"),
    ('["not", "an", "object"]', "expected a JSON object"),
])
def test_corpus_errors_name_file_and_line(tmp_path, line, reason):
    path = _write(tmp_path / "corpus.jsonl", '{"_id": "d1", "text": "ok"}\n' + line + "\n")
    with pytest.raises(DataError) as e:
        load_corpus(path)
    assert e.value.line == 2 and reason in str(e.value)
    assert str(path) in str(e.value)


def test_undecodable_bytes(tmp_path):
    data = b'{"_id": "a", "text": "ok"}\n{"_id": "b", "text": "\xff"}\n'
    path = _write(tmp_path / "corpus.jsonl", data)
    with pytest.raises(DataError) as e:
        load_corpus(path)
    assert e.value.line == 2 and "UTF-8" in e.value.reason


def test_empty_text_warns_and_counts(tmp_path, caplog):
    data = '{"_id": "a", "text": ""}\n{"_id": "b", "text": "x"}\n'
    path = _write(tmp_path / "corpus.jsonl", data)
    docs = load_corpus(path)
    assert len(docs) == 2
    assert "1 documents with empty text" in caplog.text


def test_qrels_unknown_ids_warn_and_count(tiny_beir, caplog):
    with open(tiny_beir / "qrels" / "test.tsv", "a") as f:
        f.write("q9\td1\t1\nq1\tzz\t1\nq1\tyy\t1\n")
    data = load_beir(tiny_beir)
    assert data.dropped == {"qrels_unknown_query": 1, "qrels_unknown_doc": 2}
    assert "unknown queries" in caplog.text and "unknown documents" in caplog.text
    assert data.qrels["q1"] == {"d1": 1}


def test_qrels_bad_score(tmp_path):
    path = _write(tmp_path / "q.tsv", "query-id\tcorpus-id\tscore\nq1\td1\thigh\n")
    with pytest.raises(DataError, match="not a number") as e:
        load_qrels(path)
    assert e.value.line == 2


def test_tsv_corpus(tmp_path):
    path = _write(tmp_path / "c.tsv", "id\ttext\nd1\thello world\nd2\tTitle\tbody text\n")
    docs = load_corpus(path)
    assert docs["d1"].text == "hello world" and docs["d2"].title == "Title"
    bad = _write(tmp_path / "bad.tsv", "d1\tok\nd2\n")
    with pytest.raises(DataError) as e:
        load_corpus(bad)
    assert e.value.line == 2


def test_text_folder_corpus(tmp_path):
    _write(tmp_path / "docs" / "a.txt", "first doc")
    _write(tmp_path / "docs" / "sub" / "b.md", "# second\nbody")
    _write(tmp_path / "docs" / "skip.pdf", "ignored")
    docs = load_corpus(tmp_path / "docs")
    assert set(docs) == {"a", "sub/b"}
    assert docs["sub/b"].text.startswith("# second")


def test_queries_keep_meta(tmp_path):
    path = _write(tmp_path / "queries.jsonl",
                  json.dumps({"_id": "1", "text": "q", "type": "claim"}) + "\n")
    q = load_queries(path)["1"]
    assert q.text == "q" and q.meta == {"type": "claim"}


def test_missing_folder():
    with pytest.raises(DataError, match="not found"):
        load_beir("/nonexistent/folder")

"""Documents split into passages of the student's tokens at ingest (semantic-text-splitter)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from corpusfit.data.chunking import ChunkConfig, chunk_corpus, heading_path, split_document
from corpusfit.data.ingest import IngestConfig
from corpusfit.data.schema import Document
from corpusfit.retrieve.passage_tokens import passage_tokens
from corpusfit.stages.ingest import run_ingest

SECTION = ("The boundary layer on a flat plate grows with the distance from the leading edge. "
           "Its thickness depends on the Reynolds number of the flow. ")


def _manual(sections: int = 6, sentences: int = 12) -> str:
    parts = ["# Aerodynamics manual"]
    for s in range(sections):
        parts.append(f"## Chapter {s}")
        parts.append(" ".join(f"Sentence {s}.{i}: {SECTION}" for i in range(sentences)))
    return "\n\n".join(parts)


@pytest.fixture(scope="module")
def minilm_tokens():
    return passage_tokens("minilm")


def test_minilm_passage_length_is_its_own(minilm_tokens):
    assert minilm_tokens.max_length == 256
    assert minilm_tokens.counts(["hello world"]) == [4]  # [CLS] hello world [SEP]


def test_a_long_document_becomes_passages_that_fit_and_map_back(minilm_tokens):
    doc = Document("manual", _manual(), "Aerodynamics manual")
    triples = split_document(doc, minilm_tokens)
    assert len(triples) > 6
    assert [pid for pid, _, _ in triples] == [f"manual#{i}" for i in range(len(triples))]
    counts = minilm_tokens.counts([p.full_text() for _, p, _ in triples])
    assert max(counts) <= 256 and min(counts) > 30
    for _pid, passage, where in triples:
        assert where.doc_id == "manual" and passage.title == "Aerodynamics manual"
        assert passage.text in doc.text  # cut, never rewritten
        assert where.headings[0] == "Aerodynamics manual"
    # Cuts fall at sentence ends or headings, never inside a word.
    assert all(p.text.rstrip().endswith((".", "manual")) or p.text.startswith("#")
               for _, p, _ in triples)
    chapters = {w.headings[-1] for _, _, w in triples if len(w.headings) > 1}
    assert chapters == {f"Chapter {s}" for s in range(6)}
    assert split_document(doc, minilm_tokens) == triples  # stable across reruns


def test_overlap_shares_text_between_neighbours(minilm_tokens):
    doc = Document("m", _manual(1, 30))
    plain = [p.text for _, p, _ in split_document(doc, minilm_tokens)]
    overlapping = [p.text for _, p, _ in split_document(doc, minilm_tokens, overlap=64)]
    assert len(overlapping) > len(plain)
    shared = [a.split(". ")[-2] in b for a, b in zip(overlapping, overlapping[1:])]
    assert any(shared)


def test_max_tokens_makes_smaller_passages(minilm_tokens):
    doc = Document("m", _manual())
    small = split_document(doc, minilm_tokens, max_tokens=64)
    assert max(minilm_tokens.counts([p.full_text() for _, p, _ in small])) <= 64
    assert len(small) > 3 * len(split_document(doc, minilm_tokens))


def test_heading_path_follows_levels():
    text = "# A\n\nx\n\n## B\n\ny\n\n### C\n\nz\n\n## D\n\nw"
    assert heading_path(text, text.index("z")) == ["A", "B", "C"]
    assert heading_path(text, text.index("w")) == ["A", "D"]
    assert heading_path(text, 0) == ["A"]


def test_auto_leaves_a_corpus_of_passages_alone(minilm_tokens):
    short = {f"d{i}": Document(f"d{i}", f"short passage {i}") for i in range(10)}
    long_one = {"long": Document("long", _manual())}
    kept = chunk_corpus({**short, **long_one}, minilm_tokens, ChunkConfig())
    assert not kept.counts["chunked"] and kept.counts["over_max_length"] == 1
    assert list(kept.passages) == [*short, "long"]
    # From files, or with mode=always, the long document is split and the short ones kept.
    for chunked in (chunk_corpus({**short, **long_one}, minilm_tokens, ChunkConfig(), True),
                    chunk_corpus({**short, **long_one}, minilm_tokens,
                                 ChunkConfig(mode="always"))):
        assert chunked.counts["chunked"] and chunked.counts["documents_split"] == 1
        assert chunked.counts["over_max_length"] == 0
        assert set(short) <= set(chunked.passages) and "long#0" in chunked.passages
    # A record corpus made mostly of long documents is split under auto.
    longs = {f"L{i}": Document(f"L{i}", _manual(2)) for i in range(3)}
    assert chunk_corpus({**longs, "s": short["d0"]}, minilm_tokens,
                        ChunkConfig()).counts["chunked"]
    never = chunk_corpus(longs, minilm_tokens, ChunkConfig(mode="never"))
    assert not never.counts["chunked"] and list(never.passages) == list(longs)


def test_chunk_config_is_validated():
    with pytest.raises(ValueError, match="overlap"):
        ChunkConfig(max_tokens=64, overlap=60)
    with pytest.raises(ValueError):
        ChunkConfig(mode="sometimes")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ingest_splits_a_folder_and_reports_it(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "manual.md").write_text(_manual())
    (folder / "note.txt").write_text("A short note about wing flutter.")
    (folder / "image.png").write_bytes(b"\x89PNG")
    counts = run_ingest(IngestConfig(heldout_fraction=0.5, seed=1), folder, tmp_path / "out")
    records = _jsonl(tmp_path / "out" / "corpus.jsonl")
    assert counts["documents"] == 2 and counts["documents_split"] == 1
    assert counts["passages"] == len(records) > 2 and counts["over_max_length"] == 0
    assert counts["unsupported_by_format"] == {".png": 1}
    manual = [r for r in records if r.get("doc_id") == "manual"]
    assert [r["position"] for r in manual] == list(range(len(manual)))
    assert all(r["_id"] == f"manual#{r['position']}" for r in manual)
    # Held out by document: all passages of the manual or none of them.
    held = set((tmp_path / "out" / "heldout.txt").read_text().split())
    assert held in ({"note"}, {r["_id"] for r in manual})
    again = run_ingest(IngestConfig(heldout_fraction=0.5, seed=1), folder, tmp_path / "o2")
    assert _jsonl(tmp_path / "o2" / "corpus.jsonl") == records and again == counts


def test_beir_corpus_of_passages_is_written_as_before(tmp_path):
    src = tmp_path / "corpus.jsonl"
    rows = [{"_id": f"d{i}", "title": "", "text": f"passage {i} on heat transfer"}
            for i in range(5)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    counts = run_ingest(IngestConfig(), src, tmp_path / "out")
    assert not counts["chunked"] and counts["passages"] == 5
    assert _jsonl(tmp_path / "out" / "corpus.jsonl") == rows  # no new keys


def test_gzipped_jsonl_corpus(tmp_path):
    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(4):
            f.write(json.dumps({"_id": f"g{i}", "text": f"gzipped passage {i}"}) + "\n")
    counts = run_ingest(IngestConfig(), path, tmp_path / "out")
    assert counts["documents"] == 4
    assert [r["_id"] for r in _jsonl(tmp_path / "out" / "corpus.jsonl")] == \
        [f"g{i}" for i in range(4)]


def test_ingest_command_chunk_flags(tmp_path, capsys):
    from corpusfit.cli import main as cli_main

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "manual.md").write_text(_manual())
    assert cli_main(["ingest", "--corpus", str(folder), "--out", str(tmp_path / "whole"),
                     "--chunk", "never"]) == 0
    assert "passages 1 " in capsys.readouterr().out
    assert cli_main(["ingest", "--corpus", str(folder), "--out", str(tmp_path / "small"),
                     "--chunk-tokens", "64", "--chunk-overlap", "8"]) == 0
    printed = capsys.readouterr().out
    counts = json.loads((tmp_path / "small" / "manifest.json").read_text())["counts"]
    assert counts["max_length"] == 64 and counts["over_max_length"] == 0
    assert f"passages {counts['passages']} " in printed and counts["passages"] > 20
    assert cli_main(["ingest", "--corpus", str(folder), "--out", str(tmp_path / "bad"),
                     "--chunk-tokens", "64", "--chunk-overlap", "60"]) == 2

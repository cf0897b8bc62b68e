"""Writers for BEIR folders (atomic)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from corpusfit.data.schema import Document, Qrels, Query
from corpusfit.workspace import atomic_path, write_jsonl


def write_corpus(path: str | Path, docs: Iterable[Document]) -> int:
    return write_jsonl(path, ({"_id": d.id, "title": d.title, "text": d.text} for d in docs))


def write_queries(path: str | Path, queries: Iterable[Query]) -> int:
    return write_jsonl(path, ({"_id": q.id, "text": q.text, **q.meta} for q in queries))


def write_qrels(path: str | Path, qrels: Qrels) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in qrels.items():
            for did, grade in docs.items():
                f.write(f"{qid}\t{did}\t{grade}\n")


def write_beir(folder: str | Path, corpus: Iterable[Document], queries: Iterable[Query],
               qrels: Qrels, split: str = "test") -> None:
    folder = Path(folder)
    write_corpus(folder / "corpus.jsonl", corpus)
    write_queries(folder / "queries.jsonl", queries)
    write_qrels(folder / "qrels" / f"{split}.tsv", qrels)

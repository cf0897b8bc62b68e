"""Readers for corpora, queries and qrels with validation that names file and line."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.data.documents import MARKITDOWN_SUFFIXES, TEXT_SUFFIXES, FolderRead, read_folder
from corpusfit.data.ids import check_id
from corpusfit.data.schema import Document, Qrels, Query
from corpusfit.errors import DataError
from corpusfit.reading import exists, iter_jsonl_numbered, read_lines, regular_file

logger = logging.getLogger(__name__)


def _json_records(path: Path) -> Iterator[tuple[int, dict]]:
    yield from iter_jsonl_numbered(path)


def _require_id(path: Path, line: int, rec: dict, key: str = "_id") -> str:
    if key not in rec:
        raise DataError(path, line, f"missing '{key}'")
    value = rec[key]
    if not isinstance(value, str):
        raise DataError(path, line, f"'{key}' must be a string, got {type(value).__name__}")
    return check_id(path, line, value, f"'{key}'")


def _optional_str(path: Path, line: int, rec: dict, key: str) -> str:
    value = rec.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(path, line, f"'{key}' must be a string, got {type(value).__name__}")
    return value


def _add_unique(store: dict, key: str, value, path: Path, line: int, what: str) -> None:
    if key in store:
        raise DataError(path, line, f"duplicate {what} id '{key}'")
    store[key] = value


def _warn_empty(path: Path, empty: list[str], what: str) -> None:
    if empty:
        shown = ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
        logger.warning("%s: %d %s with empty text (%s)", path, len(empty), what, shown)


def read_corpus_jsonl(path: Path) -> dict[str, Document]:
    docs: dict[str, Document] = {}
    empty: list[str] = []
    for i, rec in _json_records(path):
        doc_id = _require_id(path, i, rec)
        doc = Document(doc_id, _optional_str(path, i, rec, "text"),
                       _optional_str(path, i, rec, "title"))
        if not doc.full_text().strip():
            empty.append(doc_id)
        _add_unique(docs, doc_id, doc, path, i, "document")
    _warn_empty(path, empty, "documents")
    return docs


def read_corpus_tsv(path: Path) -> dict[str, Document]:
    """``id<TAB>text`` or ``id<TAB>title<TAB>text``; a header starting with id is skipped."""
    docs: dict[str, Document] = {}
    empty: list[str] = []
    for i, line in read_lines(path, "corpus"):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split("\t")
        if i == 1 and parts[0].strip().lower() in {"id", "_id", "doc_id", "docid"}:
            continue
        if len(parts) == 2:
            doc_id, title, text = parts[0], "", parts[1]
        elif len(parts) == 3:
            doc_id, title, text = parts
        else:
            raise DataError(path, i, f"expected 2 or 3 tab-separated fields, got {len(parts)}")
        check_id(path, i, doc_id, "document id")
        if not (title + text).strip():
            empty.append(doc_id)
        _add_unique(docs, doc_id, Document(doc_id, text, title), path, i, "document")
    _warn_empty(path, empty, "documents")
    return docs


@dataclass
class CorpusRead:
    """A corpus as read: its documents, whether they came from document files (a folder),
    and the files of such a folder that gave no document (:class:`FolderRead`)."""

    docs: dict[str, Document]
    from_files: bool = False
    folder: FolderRead | None = None


def read_corpus_folder(path: Path) -> FolderRead:
    """Each document file under ``path`` is one document (:mod:`corpusfit.data.documents`).

    Raises:
        DataError: no file of the folder could be read (the message says why).
    """
    found = read_folder(path)
    if not found.docs:
        if found.failures:
            shown = "; ".join(f"{f}: {why}" for f, why in found.failures[:3])
            raise DataError(path, None, f"none of its {len(found.failures)} document files "
                                        f"could be read ({shown})")
        known = ", ".join(sorted({*TEXT_SUFFIXES, ".html", ".pdf", *MARKITDOWN_SUFFIXES}))
        raise DataError(path, None, f"no document files found (read: {known}; found: "
                                    f"{dict(found.unsupported) or 'nothing'})")
    return found


def _is_jsonl(path: Path) -> bool:
    return path.name.lower().endswith((".jsonl", ".jsonl.gz", ".json"))


def read_corpus(path: str | Path) -> CorpusRead:
    """Read a corpus from a BEIR folder, ``corpus.jsonl[.gz]``, a TSV file or a folder of
    document files, saying where its documents came from."""
    path = Path(path)
    if not exists(path):
        raise DataError(path, None, "corpus not found")
    if path.is_dir():
        for name in ("corpus.jsonl", "corpus.jsonl.gz"):
            if (path / name).exists():
                read = CorpusRead(read_corpus_jsonl(regular_file(path / name, "corpus")))
                break
        else:
            folder = read_corpus_folder(path)
            read = CorpusRead(folder.docs, True, folder)
    else:
        regular_file(path, "corpus")
        tsv = path.name.lower().removesuffix(".gz").endswith((".tsv", ".txt"))
        read = CorpusRead(read_corpus_tsv(path) if tsv and not _is_jsonl(path)
                          else read_corpus_jsonl(path))
    if not read.docs:
        raise DataError(path, None, "the corpus holds no documents")
    return read


def load_corpus(path: str | Path) -> dict[str, Document]:
    """Load a corpus from a BEIR folder, ``corpus.jsonl[.gz]``, a TSV file or a folder of
    document files (:func:`read_corpus`).

    A corpus without any document is an error: every later stage needs passages.
    """
    return read_corpus(path).docs


def load_queries(path: str | Path) -> dict[str, Query]:
    """Load BEIR ``queries.jsonl`` (``_id``, ``text``; other keys kept in ``meta``)."""
    path = regular_file(path, "queries file")
    queries: dict[str, Query] = {}
    empty: list[str] = []
    for i, rec in _json_records(path):
        qid = _require_id(path, i, rec)
        text = _optional_str(path, i, rec, "text")
        if not text.strip():
            empty.append(qid)
        meta = {k: v for k, v in rec.items() if k not in {"_id", "text"}}
        _add_unique(queries, qid, Query(qid, text, meta), path, i, "query")
    _warn_empty(path, empty, "queries")
    if not queries:
        raise DataError(path, None, "no queries in the file")
    return queries


_GRADE_LIMIT = 2**31 - 1  # pytrec_eval keeps grades in a C int


def _grade(text: str, path: Path, line: int) -> int:
    """A relevance grade: an integer (``2`` or ``2.0``). Negative grades (TREC's junk or
    spam labels) count as non-relevant; a fraction, NaN, infinity or a grade beyond a
    32-bit integer is an error rather than silently truncated or overflowing."""
    try:
        value = float(text)
    except ValueError as e:
        raise DataError(path, line, f"grade '{text}' is not a number") from e
    if not math.isfinite(value) or value != int(value) or abs(value) > _GRADE_LIMIT:
        raise DataError(path, line, f"grade '{text}' is not an integer relevance grade "
                                    f"(e.g. 0, 1, 2)")
    return int(value)


def load_qrels(path: str | Path) -> Qrels:
    """Load BEIR ``qrels/<split>.tsv`` (``query-id corpus-id score`` with header)."""
    path = regular_file(path, "qrels file")
    qrels: Qrels = {}
    for i, line in read_lines(path):
        row = line.rstrip("\r\n")
        if not row.strip():
            continue
        parts = row.split("\t") if "\t" in row else row.split()
        if i == 1 and parts[0] in {"query-id", "query_id", "qid"}:
            continue
        if len(parts) == 4:  # TREC qrels: qid 0 docid rel
            parts = [parts[0], parts[2], parts[3]]
        if len(parts) != 3:
            raise DataError(path, i, f"expected 3 fields (query-id corpus-id score), "
                                     f"got {len(parts)}")
        qid, did, score = (check_id(path, i, parts[0], "query id"),
                           check_id(path, i, parts[1], "document id"), parts[2])
        qrels.setdefault(qid, {})[did] = _grade(score, path, i)
    return qrels


@dataclass
class BeirData:
    """A BEIR folder: corpus, queries and the qrels of one split."""

    corpus: dict[str, Document]
    queries: dict[str, Query]
    qrels: Qrels
    dropped: dict[str, int] = field(default_factory=dict)


def _check_qrels(qrels: Qrels, corpus: dict, queries: dict, path: Path) -> tuple[Qrels, dict]:
    """Drop judgments that point at unknown queries or documents; warn with counts."""
    clean: Qrels = {}
    bad_q = bad_d = 0
    for qid, docs in qrels.items():
        if qid not in queries:
            bad_q += len(docs)
            continue
        kept = {d: g for d, g in docs.items() if d in corpus}
        bad_d += len(docs) - len(kept)
        if kept:
            clean[qid] = kept
    if bad_q:
        logger.warning("%s: %d judgments name unknown queries (ignored)", path, bad_q)
    if bad_d:
        logger.warning("%s: %d judgments name unknown documents (ignored)", path, bad_d)
    return clean, {"qrels_unknown_query": bad_q, "qrels_unknown_doc": bad_d}


def load_beir(folder: str | Path, split: str = "test") -> BeirData:
    """Load a BEIR folder; keeps only queries that have judgments in ``split``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, None, "BEIR data folder not found")
    corpus = load_corpus(folder / "corpus.jsonl")
    queries = load_queries(folder / "queries.jsonl")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    qrels, dropped = _check_qrels(load_qrels(qrels_path), corpus, queries, qrels_path)
    judged = {qid: q for qid, q in queries.items() if qid in qrels}
    return BeirData(corpus, judged, qrels, dropped)

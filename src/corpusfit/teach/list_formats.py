"""The label stage's teacher-scored lists in the formats people train with elsewhere.

- ``sentence-transformers``: ``{split}.jsonl`` with columns ``query, positive,
  negative_1 .. negative_n, scores`` (the n-tuple-with-scores layout of
  sentence-transformers' distillation losses, MarginMSELoss, DistillKLDivLoss and
  :mod:`corpusfit.train.st_losses`); ``datasets.load_dataset("json", ...)`` reads it.
  Every row needs the same columns, so lists shorter than ``1 + negatives`` are left
  out (and counted).
- ``flagembedding``: ``{split}.jsonl`` of ``{query, pos, neg, pos_scores, neg_scores}``,
  FlagEmbedding's fine-tuning / distillation format; lists keep their full length.
- ``beir``: ``queries.jsonl`` (``_id``, ``text``, metadata), ``qrels/{split}.tsv`` (each
  synthetic query judges the passage it was generated from, as in GPL) and the
  ``corpus.jsonl`` the lists refer to, so the folder is a complete BEIR collection.

The positive is the teacher's top passage (lists are stored best first); scores are the
normalized ones corpusfit trains on, or the teacher's raw scores with ``raw_scores``.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from corpusfit.data.artifacts import TrainingList, load_artifact
from corpusfit.data.readers import load_corpus
from corpusfit.errors import ConfigError, DataError
from corpusfit.workspace import atomic_path, write_jsonl, write_text

logger = logging.getLogger(__name__)

Format = Literal["sentence-transformers", "flagembedding", "beir"]
FORMATS: tuple[Format, ...] = ("sentence-transformers", "flagembedding", "beir")


@dataclass(frozen=True)
class ListFormatOptions:
    negatives: int | None = None  # sentence-transformers columns; None: the shortest list's
    raw_scores: bool = False


def _scores(rec: TrainingList, opts: ListFormatOptions) -> list[float]:
    return list(rec.raw_scores if opts.raw_scores else rec.scores)


def _texts(rec: TrainingList, corpus: dict, path: Path) -> list[str]:
    missing = [d for d in rec.doc_ids if d not in corpus]
    if missing:
        raise DataError(path, None, f"query {rec.qid} lists doc id {missing[0]!r}, which is "
                                    "not in the corpus")
    return [corpus[d].full_text() for d in rec.doc_ids]


def st_rows(lists: list[TrainingList], texts: dict[str, list[str]], opts: ListFormatOptions,
            negatives: int) -> tuple[list[dict], int]:
    """(rows with ``negatives`` negative columns, lists too short to fill them)."""
    rows, short = [], 0
    for rec in lists:
        if len(rec.doc_ids) < 1 + negatives:
            short += 1
            continue
        passages, scores = texts[rec.qid], _scores(rec, opts)
        row = {"query": rec.query, "positive": passages[0]}
        row.update({f"negative_{i}": passages[i] for i in range(1, negatives + 1)})
        row["scores"] = scores[:1 + negatives]
        rows.append(row)
    return rows, short


def flag_rows(lists: list[TrainingList], texts: dict[str, list[str]],
              opts: ListFormatOptions) -> list[dict]:
    out = []
    for rec in lists:
        passages, scores = texts[rec.qid], _scores(rec, opts)
        out.append({"query": rec.query, "pos": passages[:1], "neg": passages[1:],
                    "pos_scores": scores[:1], "neg_scores": scores[1:]})
    return out


def _write_beir(lists: list[TrainingList], corpus_path: Path, out: Path) -> dict:
    write_jsonl(out / "queries.jsonl", (
        {"_id": r.qid, "text": r.query,
         "metadata": {"type": r.type, "source_id": r.source_id, "split": r.split}}
        for r in lists))
    counts = {}
    for split in ("train", "dev"):
        rows = [f"{r.qid}\t{r.source_id}\t1" for r in lists if r.split == split]
        if rows:
            write_text(out / "qrels" / f"{split}.tsv",
                       "query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
        counts[f"{split}_qrels"] = len(rows)
    source = corpus_path / "corpus.jsonl" if corpus_path.is_dir() else corpus_path
    if source.suffix != ".jsonl":
        raise ConfigError(f"{corpus_path}: BEIR export copies a corpus.jsonl; got {source}")
    with atomic_path(out / "corpus.jsonl") as tmp:
        shutil.copyfile(source, tmp)
    return counts


def write_list_formats(lists_path: str | Path, corpus_path: str | Path, out: str | Path,
                       fmt: Format, opts: ListFormatOptions | None = None) -> dict:
    """Write ``lists_path`` (with passage texts from ``corpus_path``) as ``fmt`` into ``out``.

    Returns counts: rows written per split and lists left out.
    """
    opts = opts or ListFormatOptions()
    if fmt not in FORMATS:
        raise ConfigError(f"unknown list format '{fmt}' (known: {', '.join(FORMATS)})")
    lists_path, corpus_path, out = Path(lists_path), Path(corpus_path), Path(out)
    lists = load_artifact(lists_path, TrainingList)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "beir":
        return {"queries": len(lists), **_write_beir(lists, corpus_path, out)}
    corpus = load_corpus(corpus_path)
    texts = {r.qid: _texts(r, corpus, lists_path) for r in lists}
    counts: dict = {}
    negatives = opts.negatives
    if negatives is None and lists:
        negatives = min(len(r.doc_ids) for r in lists) - 1
    if fmt == "sentence-transformers" and not negatives:
        raise ConfigError("sentence-transformers export needs at least one negative per list "
                          "(--negatives N, or lists of two or more passages)")
    for split in ("train", "dev"):
        part = [r for r in lists if r.split == split]
        if fmt == "sentence-transformers":
            rows, short = st_rows(part, texts, opts, negatives)
            counts[f"{split}_short_lists_left_out"] = short
        else:
            rows = flag_rows(part, texts, opts)
        if rows:
            write_jsonl(out / f"{split}.jsonl", rows)
        counts[f"{split}_rows"] = len(rows)
    if fmt == "sentence-transformers":
        counts["negatives"] = negatives
    logger.info("exported %s to %s as %s: %s", lists_path, out, fmt, counts)
    return counts

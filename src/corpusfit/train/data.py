"""Training lists and corpus -> batches of texts and index tensors for the losses."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from corpusfit.data.artifacts import TrainingList, validate_record
from corpusfit.data.readers import load_corpus
from corpusfit.errors import DataError
from corpusfit.train.losses import ListBatch
from corpusfit.workspace import iter_jsonl_numbered

logger = logging.getLogger(__name__)


@dataclass
class TrainData:
    """The lists (as the label stage sorted and cut them) plus the texts of every passage
    they reference.

    ``doc_ids[k]`` / ``doc_texts[k]`` belong to document key ``k``, the identity the
    losses use to deduplicate and mask; keys are the same in every process.
    """

    train: list[TrainingList]
    dev: list[TrainingList]
    doc_ids: list[str]
    doc_texts: list[str]
    key_of: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict:
        """Queries per split and per query type, for logs, manifest and model card."""
        return {
            "train_queries": len(self.train),
            "dev_queries": len(self.dev),
            "passages": len(self.doc_ids),
            "train_types": dict(sorted(Counter(x.type for x in self.train).items())),
            "dev_types": dict(sorted(Counter(x.type for x in self.dev).items())),
        }


def _read_list(path: Path, line: int, raw: dict, corpus: dict) -> TrainingList:
    """One record, checked by its schema (teacher order, no repeated doc) and the corpus."""
    rec = validate_record(path, line, raw, TrainingList)
    missing = [d for d in rec.doc_ids if d not in corpus]
    if missing:
        raise DataError(path, line, f"query {rec.qid}: doc id {missing[0]!r} not in the corpus")
    return rec


def cut_positions(scores: list[float], passages: int, negative_below: float | None) -> list[int]:
    """List positions kept when a list is cut to ``passages`` entries (teacher order).

    Plain: the first N. With ``negative_below`` (a share of the top score), the last slot
    goes to the best-ranked passage scored below that share when the first N hold none:
    a short list of near-duplicates of the top passage otherwise gives InfoNCE no hard
    negative (all are masked as likely false negatives) and the listwise term no clear
    contrast. The kept positions stay in teacher order.
    """
    keep = list(range(min(passages, len(scores))))
    if negative_below is None or len(scores) <= passages:
        return keep
    limit = negative_below * max(scores)
    if any(scores[i] < limit for i in keep):
        return keep
    below = next((i for i in range(passages, len(scores)) if scores[i] < limit), None)
    return keep if below is None else keep[:-1] + [below]


def load_training_data(lists_path: str | Path, corpus_path: str | Path,
                       passages: int | None = None,
                       negative_below: float | None = None) -> TrainData:
    """Read and validate ``lists.jsonl`` against the corpus; errors name file and line.

    Lists are taken as written: the label stage sorted them by teacher score and cut
    them to ``label.list_size``; ``passages`` keeps only N of each list, the first N
    (teacher order) or, with ``negative_below``, see :func:`cut_positions`.
    """
    lists_path = Path(lists_path)
    if not lists_path.exists():
        raise DataError(lists_path, None, "lists file not found (has the label stage run?)")
    corpus = load_corpus(corpus_path)
    data = TrainData([], [], [], [])
    seen: set[str] = set()
    for line, raw in iter_jsonl_numbered(lists_path):
        rec = _read_list(lists_path, line, raw, corpus)
        if passages is not None and len(rec.doc_ids) > passages:
            pos = cut_positions(rec.scores, passages, negative_below)
            rec = rec.model_copy(update={"doc_ids": [rec.doc_ids[i] for i in pos],
                                         "scores": [rec.scores[i] for i in pos],
                                         "raw_scores": [rec.raw_scores[i] for i in pos]})
        if rec.qid in seen:
            raise DataError(lists_path, line, f"duplicate qid {rec.qid!r}")
        seen.add(rec.qid)
        (data.train if rec.split == "train" else data.dev).append(rec)
        for d in rec.doc_ids:
            if d not in data.key_of:
                data.key_of[d] = len(data.doc_ids)
                data.doc_ids.append(d)
                data.doc_texts.append(corpus[d].full_text())
    if not data.train:
        raise DataError(lists_path, None, "no lists with split 'train'")
    logger.info("lists: %d train, %d dev queries over %d passages", len(data.train),
                len(data.dev), len(data.doc_ids))
    return data


@dataclass
class Collated:
    """One process's share of a batch: texts to embed and the index tensors."""

    query_texts: list[str]
    passage_keys: list[int]
    batch: ListBatch


def collate(lists: list[TrainingList], key_of: dict[str, int]) -> Collated:
    """Unique passages of the lists (first-appearance order) and padded list tensors."""
    width = max(len(x.doc_ids) for x in lists)
    idx = torch.zeros(len(lists), width, dtype=torch.long)
    mask = torch.zeros(len(lists), width, dtype=torch.bool)
    scores = torch.zeros(len(lists), width, dtype=torch.float32)
    column: dict[int, int] = {}
    for i, rec in enumerate(lists):
        for j, (doc, s) in enumerate(zip(rec.doc_ids, rec.scores, strict=True)):
            key = key_of[doc]
            idx[i, j] = column.setdefault(key, len(column))
            mask[i, j] = True
            scores[i, j] = s
    keys = list(column)
    return Collated([x.query for x in lists], keys,
                    ListBatch(idx, mask, scores, torch.tensor(keys, dtype=torch.long)))


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """Shuffled query order of one epoch; identical in every process and after a resume."""
    return np.random.default_rng([seed, epoch]).permutation(n).tolist()


def step_batches(order: list[int], queries_per_step: int, world: int) -> list[list[int]]:
    """Global batches of query positions; a last batch smaller than ``world`` is dropped."""
    out = [order[i:i + queries_per_step] for i in range(0, len(order), queries_per_step)]
    return [b for b in out if len(b) >= world]


def shard(items: list, rank: int, world: int) -> list:
    """This process's contiguous share (sizes differ by at most one)."""
    bounds = np.linspace(0, len(items), world + 1).round().astype(int)
    return items[bounds[rank]:bounds[rank + 1]]

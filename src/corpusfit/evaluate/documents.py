"""Document-level runs from passage-level ones: a document scores by its passages.

When a test collection's documents are split into passages (as ingest splits them,
:mod:`corpusfit.data.chunking`), the retrievers rank passages and the qrels judge
documents; each document then takes a score from its retrieved passages:

- ``maxp``: its best passage (Dai & Callan, 2019), the default;
- ``firstp``: its first passage only;
- ``sum``: the sum of its retrieved passages' scores.

Metrics and significance are then computed over documents, as the qrels are.
"""

from __future__ import annotations

import math
from typing import Literal

from corpusfit.data.chunking import PassageOrigin
from corpusfit.retrieve.trec import TrecRun, ranked

Aggregate = Literal["maxp", "firstp", "sum"]


def aggregate_run(run: TrecRun, origin: dict[str, PassageOrigin], how: Aggregate,
                  depth: int) -> TrecRun:
    """The document run of a passage ``run`` (passage ids -> their document's score)."""
    out: TrecRun = {}
    for qid, scores in run.items():
        docs: dict[str, float] = {}
        for pid, score in scores.items():
            where = origin.get(pid)
            if where is None:  # a run file of document ids: already documents
                docs[pid] = max(score, docs.get(pid, -math.inf))
                continue
            if how == "firstp" and where.position != 0:
                continue
            if how == "sum":
                docs[where.doc_id] = docs.get(where.doc_id, 0.0) + score
            else:
                docs[where.doc_id] = max(score, docs.get(where.doc_id, -math.inf))
        out[qid] = dict(ranked(docs, depth))
    return out


def passage_depth(depth: int, n_passages: int, n_docs: int) -> int:
    """Passages to retrieve per query so that ``depth`` documents are usually filled:
    twice the mean passages per document times ``depth``, at most all passages."""
    per_doc = math.ceil(n_passages / max(1, n_docs))
    return min(n_passages, depth * max(1, 2 * per_doc))

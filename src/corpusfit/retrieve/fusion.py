"""Reciprocal rank fusion (Cormack et al. 2009).

Hand-written (ten lines) rather than ranx: ranx pulls numba and ir-datasets,
far heavier than the function itself.
"""

from __future__ import annotations

from corpusfit.retrieve.settings import default
from corpusfit.retrieve.trec import TrecRun, ranked


def rrf(runs: list[TrecRun], k: int = default("rrf_k"), depth: int | None = None) -> TrecRun:
    """Fuse runs: score(d) = sum over runs of 1 / (k + rank(d)), ranks from 1.

    Args:
        runs: runs to fuse; a document missing from a run contributes nothing.
        k: the RRF constant.
        depth: only the top ``depth`` of each run count (None: all).
    """
    fused: TrecRun = {}
    for run in runs:
        for qid, docs in run.items():
            out = fused.setdefault(qid, {})
            for rank, (did, _) in enumerate(ranked(docs, depth), start=1):
                out[did] = out.get(did, 0.0) + 1.0 / (k + rank)
    return fused

"""IR metrics through ir-measures (pytrec_eval underneath), never hand-written."""

from __future__ import annotations

import ir_measures

from corpusfit.data.schema import Qrels
from corpusfit.retrieve.trec import TrecRun

# Display name -> ir-measures measure.
MEASURES = {
    "nDCG@10": ir_measures.nDCG @ 10,
    "R@100": ir_measures.R @ 100,
    "MRR@10": ir_measures.RR @ 10,
    "MAP": ir_measures.AP,
}


def per_query(qrels: Qrels, run: TrecRun,
              measures: dict | None = None) -> dict[str, dict[str, float]]:
    """metric name -> query id -> value, for every judged query (0 when the run has none)."""
    measures = measures or MEASURES
    by_measure = {str(m): name for name, m in measures.items()}
    out = {name: {qid: 0.0 for qid in qrels} for name in measures}
    run = {qid: docs for qid, docs in run.items() if qid in qrels and docs}
    for m in ir_measures.iter_calc(list(measures.values()), qrels, run):
        out[by_measure[str(m.measure)]][m.query_id] = float(m.value)
    return out


def evaluate(qrels: Qrels, run: TrecRun, measures: dict | None = None) -> dict[str, float]:
    """Mean of each metric over all judged queries (BEIR convention)."""
    pq = per_query(qrels, run, measures)
    return {name: sum(v.values()) / max(len(v), 1) for name, v in pq.items()}

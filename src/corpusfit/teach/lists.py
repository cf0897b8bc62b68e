"""Turn teacher-scored candidate lists into training lists: filters, normalization, split.

Pure functions over in-memory lists, so each rule has an exact small test.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict

import numpy as np
from pydantic import ConfigDict

from corpusfit.data.artifacts import QueryRecord, TrainingList
from corpusfit.teach.config import LabelConfig
from corpusfit.teach.normalization import minmax_clip, percentile_bounds

logger = logging.getLogger(__name__)


class ScoredList(QueryRecord):
    """One query's candidates sorted by raw teacher score, best first: the label stage's
    working state, never written (:meth:`training` makes the ``lists.jsonl`` record).

    ``doc_ids``/``raw_scores`` are the kept top of the list; ``all_raw`` holds the raw
    score of every scored candidate (before the cut), which the reference's
    normalization and top-score filter take their percentiles over.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    doc_ids: list[str]
    raw_scores: list[float]
    all_raw: list[float] | None = None

    @classmethod
    def sorted_from(cls, qid: str, query: str, type_: str, source_id: str,
                    doc_ids: list[str], raw: list[float], keep: int) -> ScoredList:
        """Sort by score (desc; ties by doc id, deterministic) and keep the top ``keep``:
        the only sort and the only cut a list gets."""
        order = sorted(range(len(doc_ids)), key=lambda i: (-raw[i], doc_ids[i]))
        top = order[:keep]
        return cls(qid=qid, query=query, type=type_, source_id=source_id,
                   doc_ids=[doc_ids[i] for i in top], raw_scores=[float(raw[i]) for i in top],
                   all_raw=[float(raw[i]) for i in order])

    def training(self, scores: list[float], split: str) -> TrainingList:
        """The ``lists.jsonl`` record of this list with its normalized ``scores``."""
        return TrainingList(qid=self.qid, query=self.query, type=self.type,
                            source_id=self.source_id, doc_ids=self.doc_ids,
                            scores=scores, raw_scores=self.raw_scores, split=split)

    @property
    def every_score(self) -> list[float]:
        """Raw scores of every scored candidate (the kept ones when unknown)."""
        return self.raw_scores if self.all_raw is None else self.all_raw


def filter_min_candidates(lists: list[ScoredList], minimum: int) -> list[ScoredList]:
    """Keep queries with at least ``minimum`` scored candidates."""
    return [x for x in lists if len(x.every_score) >= minimum]


def filter_source_first(lists: list[ScoredList]) -> list[ScoredList]:
    """Keep queries whose source passage the teacher ranks first (a round trip check)."""
    return [x for x in lists if x.doc_ids and x.doc_ids[0] == x.source_id]


def filter_top_percentile(lists: list[ScoredList], percentile: float) -> list[ScoredList]:
    """Drop queries whose top score is below ``percentile`` of all queries' top scores."""
    if not lists:
        return []
    threshold = float(np.percentile([x.raw_scores[0] for x in lists], percentile))
    return [x for x in lists if x.raw_scores[0] >= threshold]


def type_thresholds(pool: list[ScoredList], percentile: float) -> dict[str, float]:
    """Query type -> ``percentile`` of the raw scores of every scored candidate of that type."""
    by_type: dict[str, list[float]] = defaultdict(list)
    for x in pool:
        by_type[x.type].extend(x.every_score)
    return {t: float(np.percentile(v, percentile)) for t, v in by_type.items() if v}


def filter_top_reference(lists: list[ScoredList], percentile: float,
                         pool: list[ScoredList] | None = None) -> list[ScoredList]:
    """The reference's rule: drop a query whose top score is below ``percentile`` of all
    scores of its query type.

    Args:
        lists: the queries to filter.
        percentile: e.g. 25.
        pool: the lists whose every scored candidate makes the per-type distribution
            (default ``lists``): all scored queries, before any filter.
    """
    thresholds = type_thresholds(lists if pool is None else pool, percentile)
    return [x for x in lists if x.raw_scores[0] >= thresholds.get(x.type, float("-inf"))]


def normalize(lists: list[ScoredList], low: float, high: float,
              pool: list[float] | None = None) -> tuple[list[list[float]], tuple[float, float]]:
    """Min-max normalize every raw score with the low/high percentiles, clipped to [0, 1].

    Args:
        lists: the lists to normalize.
        low: percentile mapped to 0.
        high: percentile mapped to 1.
        pool: the scores to take the percentiles of (default: the lists' kept scores).

    Returns:
        (each list's normalized scores, (the raw score mapped to 0, the one mapped to 1))
    """
    if not lists:
        return [], (0.0, 0.0)
    values = [s for x in lists for s in x.raw_scores] if pool is None else pool
    lo, hi = percentile_bounds(values, low, high)
    return [[float(s) for s in minmax_clip(x.raw_scores, lo, hi)] for x in lists], (lo, hi)


def split_by_source(source_ids: list[str], dev_fraction: float, seed: int) -> dict[str, str]:
    """source id -> "train" | "dev"; all queries of one passage share a split (no leakage)."""
    unique = sorted(set(source_ids))
    random.Random(seed).shuffle(unique)
    n_dev = int(round(len(unique) * dev_fraction))
    if dev_fraction > 0 and n_dev == 0 and len(unique) > 1:
        n_dev = 1  # a dev set of zero passages would disable early stopping silently
    dev = set(unique[:n_dev])
    return {s: ("dev" if s in dev else "train") for s in unique}


def _filter_top(lists: list[ScoredList], scored: list[ScoredList],
                config: LabelConfig) -> list[ScoredList] | None:
    """The configured top-score filter (None when it is off)."""
    if config.min_top_percentile is None or config.top_score_filter == "none":
        return None
    if config.top_score_filter == "reference":
        return filter_top_reference(lists, config.min_top_percentile, pool=scored)
    return filter_top_percentile(lists, config.min_top_percentile)


def build_training_lists(lists: list[ScoredList], config: LabelConfig
                         ) -> tuple[list[TrainingList], dict[str, int], dict]:
    """Apply the configured filters, normalize and split (steps: see LabelConfig).

    Args:
        lists: every scored query (nothing filtered yet).
        config: the label config.

    Returns:
        (records for lists.jsonl, counts after each step, normalization info)
    """
    scored = lists
    counts = {"scored": len(lists)}
    if config.min_candidates > 0:
        lists = filter_min_candidates(lists, config.min_candidates)
        counts["min_candidates"] = len(lists)
    if config.require_source_first:
        lists = filter_source_first(lists)
        counts["source_first"] = len(lists)
    kept = _filter_top(lists, scored, config)
    if kept is not None:
        lists = kept
        counts["top_percentile"] = len(lists)
    pool = ([s for x in scored for s in x.every_score]
            if config.normalize_over == "all_scored" and scored else None)
    scores, (lo, hi) = normalize(lists, config.norm_low, config.norm_high, pool)
    logger.info("label: %d of %d queries kept; scores %.4g..%.4g map to 0..1 (%s)",
                len(lists), len(scored), lo, hi, config.normalize_over)
    split = split_by_source([x.source_id for x in lists], config.dev_fraction, config.seed)
    records = [x.training(s, split[x.source_id]) for x, s in zip(lists, scores)]
    counts["written"] = len(records)
    counts["train"] = sum(r.split == "train" for r in records)
    counts["dev"] = counts["written"] - counts["train"]
    return records, counts, {"low": lo, "high": hi}

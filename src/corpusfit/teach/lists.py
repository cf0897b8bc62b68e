"""Turn teacher-scored candidate lists into training lists: filters, normalization, split.

Pure functions over in-memory lists, so each rule has an exact small test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import numpy as np

from corpusfit.teach.config import LabelConfig
from corpusfit.teach.normalization import minmax_clip, percentile_bounds


@dataclass(frozen=True)
class ScoredList:
    """One query's candidates sorted by raw teacher score, best first."""

    qid: str
    query: str
    type: str
    source_id: str
    doc_ids: list[str]
    raw_scores: list[float]
    scores: list[float] | None = None

    @classmethod
    def sorted_from(cls, qid: str, query: str, type_: str, source_id: str,
                    doc_ids: list[str], raw: list[float], keep: int) -> ScoredList:
        """Sort by score (desc; ties by doc id, deterministic) and keep the top ``keep``."""
        order = sorted(range(len(doc_ids)), key=lambda i: (-raw[i], doc_ids[i]))[:keep]
        return cls(qid, query, type_, source_id, [doc_ids[i] for i in order],
                   [float(raw[i]) for i in order])


def filter_source_first(lists: list[ScoredList]) -> list[ScoredList]:
    """Keep queries whose source passage the teacher ranks first (a round trip check)."""
    return [x for x in lists if x.doc_ids and x.doc_ids[0] == x.source_id]


def filter_top_percentile(lists: list[ScoredList], percentile: float) -> list[ScoredList]:
    """Drop queries whose top score is below ``percentile`` of all queries' top scores."""
    if not lists:
        return []
    threshold = float(np.percentile([x.raw_scores[0] for x in lists], percentile))
    return [x for x in lists if x.raw_scores[0] >= threshold]


def normalize(lists: list[ScoredList], low: float, high: float) -> tuple[list[ScoredList],
                                                                         tuple[float, float]]:
    """Min-max normalize every raw score with the low/high percentiles of all, clipped to [0, 1]."""
    if not lists:
        return [], (0.0, 0.0)
    lo, hi = percentile_bounds([s for x in lists for s in x.raw_scores], low, high)
    out = [replace(x, scores=[float(s) for s in minmax_clip(x.raw_scores, lo, hi)])
           for x in lists]
    return out, (lo, hi)


def split_by_source(source_ids: list[str], dev_fraction: float, seed: int) -> dict[str, str]:
    """source id -> "train" | "dev"; all queries of one passage share a split (no leakage)."""
    unique = sorted(set(source_ids))
    random.Random(seed).shuffle(unique)
    n_dev = int(round(len(unique) * dev_fraction))
    if dev_fraction > 0 and n_dev == 0 and len(unique) > 1:
        n_dev = 1  # a dev set of zero passages would disable early stopping silently
    dev = set(unique[:n_dev])
    return {s: ("dev" if s in dev else "train") for s in unique}


def build_training_lists(lists: list[ScoredList], config: LabelConfig
                         ) -> tuple[list[dict], dict[str, int], dict]:
    """Apply the configured filters, normalize and split.

    Returns:
        (records for lists.jsonl, counts after each step, normalization info)
    """
    counts = {"scored": len(lists)}
    if config.require_source_first:
        lists = filter_source_first(lists)
        counts["source_first"] = len(lists)
    if config.min_top_percentile is not None:
        lists = filter_top_percentile(lists, config.min_top_percentile)
        counts["top_percentile"] = len(lists)
    lists, (lo, hi) = normalize(lists, config.norm_low, config.norm_high)
    split = split_by_source([x.source_id for x in lists], config.dev_fraction, config.seed)
    records = [{"qid": x.qid, "query": x.query, "type": x.type, "source_id": x.source_id,
                "doc_ids": x.doc_ids, "scores": x.scores, "raw_scores": x.raw_scores,
                "split": split[x.source_id]} for x in lists]
    counts["written"] = len(records)
    counts["train"] = sum(r["split"] == "train" for r in records)
    counts["dev"] = counts["written"] - counts["train"]
    return records, counts, {"low": lo, "high": hi}

"""Score normalizations: per-query z-scores (ensembles) and percentile min-max (labels)."""

from __future__ import annotations

import numpy as np


def zscore(scores: list[float] | np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Z-normalize one query's scores (population std); a constant list maps to zeros.

    Different teachers live on different scales (BM25 ~ 0..30, cosine ~ 0..1,
    log-probabilities ~ -5..0); z-scores per query make them addable.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return x
    std = x.std()
    if std < eps:
        return np.zeros_like(x)
    return (x - x.mean()) / std


def weighted_zsum(member_scores: list[list[float]], weights: list[float]) -> np.ndarray:
    """Weighted sum of z-normalized score lists (one list per member, same length)."""
    if len(member_scores) != len(weights):
        raise ValueError(f"{len(member_scores)} score lists but {len(weights)} weights")
    total = np.zeros(len(member_scores[0]) if member_scores else 0, dtype=np.float64)
    for scores, w in zip(member_scores, weights):
        total += w * zscore(scores)
    return total


def percentile_bounds(values: list[float] | np.ndarray, low: float = 1.0,
                      high: float = 99.0) -> tuple[float, float]:
    """The ``low``-th and ``high``-th percentiles (linear interpolation) of all values."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no values to take percentiles of")
    return float(np.percentile(x, low)), float(np.percentile(x, high))


def minmax_clip(scores: list[float] | np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``lo`` -> 0 and ``hi`` -> 1 linearly, clipped to [0, 1].

    Percentile bounds (not the raw min/max) keep a few outliers from squashing
    every other score into a narrow band.
    """
    x = np.asarray(scores, dtype=np.float64)
    if hi - lo <= 0:
        return np.ones_like(x)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)

"""Paired significance tests between two runs over the same queries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PairedTest:
    mean_a: float
    mean_b: float
    delta: float
    p_ttest: float
    p_permutation: float
    n: int


def paired_test(a: dict[str, float], b: dict[str, float], n_resamples: int = 10000,
                seed: int = 0) -> PairedTest:
    """Paired t-test and two-sided paired permutation (sign-flip) test of b - a.

    Args:
        a, b: per-query values of one metric; only queries in both count.
    """
    qids = sorted(set(a) & set(b))
    x = np.array([a[q] for q in qids], dtype=np.float64)
    y = np.array([b[q] for q in qids], dtype=np.float64)
    if len(qids) < 2 or np.allclose(x, y):
        return PairedTest(float(x.mean()) if len(x) else 0.0, float(y.mean()) if len(y) else 0.0,
                          float((y - x).mean()) if len(x) else 0.0, 1.0, 1.0, len(qids))
    t = stats.ttest_rel(y, x)
    perm = stats.permutation_test((y - x,), np.mean, permutation_type="samples",
                                  n_resamples=n_resamples, alternative="two-sided",
                                  random_state=seed)
    return PairedTest(float(x.mean()), float(y.mean()), float((y - x).mean()),
                      float(t.pvalue), float(perm.pvalue), len(qids))


def delta_ci(a: dict[str, float], b: dict[str, float], confidence: float = 0.95,
             n_resamples: int = 10000, seed: int = 0) -> tuple[float, float]:
    """Bootstrap confidence interval (BCa) of the mean per-query difference b - a.

    Only queries in both count; with fewer than two, or no variation, the interval is
    the observed mean difference itself.
    """
    qids = sorted(set(a) & set(b))
    d = np.array([b[q] - a[q] for q in qids], dtype=np.float64)
    if len(d) < 2 or np.allclose(d, d[0]):
        mean = float(d.mean()) if len(d) else 0.0
        return mean, mean
    res = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="BCa", random_state=seed)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)

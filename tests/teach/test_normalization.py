"""Exact small examples for the ensemble's z-scores and the label percentile scaling."""

from __future__ import annotations

import numpy as np
import pytest

from corpusfit.teach.normalization import minmax_clip, percentile_bounds, weighted_zsum, zscore


def test_zscore_exact():
    # mean 2, population std sqrt(2/3)
    np.testing.assert_allclose(zscore([1, 2, 3]), np.array([-1, 0, 1]) / np.sqrt(2 / 3))
    np.testing.assert_allclose(zscore([5, 5, 5]), [0, 0, 0])


def test_weighted_zsum_exact():
    a = [1.0, 2.0, 3.0]          # z = [-1.2247, 0, 1.2247]
    b = [10.0, 30.0, 20.0]       # z = [-1.2247, 1.2247, 0]
    got = weighted_zsum([a, b], [1.0, 2.0])
    s = np.sqrt(1.5)
    np.testing.assert_allclose(got, [-3 * s, 2 * s, s])
    # z-scores make the scale of a member irrelevant
    np.testing.assert_allclose(weighted_zsum([a, [x * 1000 for x in b]], [1.0, 2.0]), got)


def test_weighted_zsum_rejects_mismatch():
    with pytest.raises(ValueError):
        weighted_zsum([[1, 2]], [1.0, 1.0])


def test_percentile_minmax_exact():
    values = list(range(101))    # percentiles are the values themselves
    assert percentile_bounds(values, 1, 99) == (1.0, 99.0)
    np.testing.assert_allclose(minmax_clip([0, 1, 50, 99, 100], 1.0, 99.0),
                               [0.0, 0.0, 49 / 98, 1.0, 1.0])
    lo, hi = percentile_bounds([0.0, 10.0], 1, 99)   # linear interpolation
    assert (lo, hi) == pytest.approx((0.1, 9.9))


def test_minmax_of_constant_scores():
    np.testing.assert_allclose(minmax_clip([3, 3], 3.0, 3.0), [1.0, 1.0])

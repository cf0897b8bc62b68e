"""The generation benchmark's limit: accepted pairs over the time the needed tokens take."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import generate  # noqa: E402


def test_limits_use_the_default_arms_tokens_at_the_measured_rates():
    rows = [{"collection": "c", "arm": "sequential", "pairs": 100, "accepted": 90, "_rate": 1.0},
            {"collection": "c", "arm": "default", "pairs": 100, "accepted": 90, "_rate": 2.0,
             "_tokens": {"needed": 6000, "evaluated": 8000, "sampled": 3000, "decodes": 9}}]
    (limit,) = generate.add_limits(rows, {"pp": 300.0, "tg": 30.0})
    assert limit["limit pairs/s"] == pytest.approx(90 / (6000 / 300 + 3000 / 300), abs=1e-3)
    assert limit["1-seq limit pairs/s"] == pytest.approx(90 / (20 + 100), abs=1e-3)
    assert limit["needed prompt tok/pair"] == 60 and limit["sampled tok/pair"] == 30
    assert limit["limit / default"] == "1.50x"
    generate.add_speedups(rows, "sequential")
    assert [r["speed-up"] for r in rows] == ["1.00x", "2.00x"]

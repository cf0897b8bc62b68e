import pytest

from corpusfit.retrieve.fusion import rrf
from corpusfit.retrieve.trec import read_trec_run, write_trec_run


def test_rrf_small_example():
    a = {"q": {"d1": 3.0, "d2": 2.0, "d3": 1.0}}
    b = {"q": {"d3": 9.0, "d1": 5.0}}
    fused = rrf([a, b], k=60)
    assert fused["q"]["d1"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["q"]["d2"] == pytest.approx(1 / 62)
    assert fused["q"]["d3"] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(fused["q"], key=fused["q"].get, reverse=True) == ["d1", "d3", "d2"]


def test_rrf_depth_and_k():
    a = {"q": {"d1": 3.0, "d2": 2.0}}
    fused = rrf([a], k=1, depth=1)
    assert fused == {"q": {"d1": 0.5}}


def test_trec_roundtrip(tmp_path):
    run = {"q1": {"a": 0.5, "b": 0.25}, "q2": {"c": 1.0}}
    write_trec_run(tmp_path / "r.trec", run, tag="t")
    lines = (tmp_path / "r.trec").read_text().splitlines()
    assert lines[0] == "q1 Q0 a 1 0.5 t"
    assert read_trec_run(tmp_path / "r.trec") == run

"""The teacher benchmark's headroom mode on the tiny collection (bundled MiniLM as base)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import teachers  # noqa: E402


def test_headroom_rows_and_their_block(tmp_path, tiny_beir, monkeypatch):
    monkeypatch.setattr(teachers, "DENSE", teachers.DENSE.model_copy(
        update={"embedding_cache": str(tmp_path / "emb")}))
    args = teachers.parse_args(["--headroom", "--collections", tiny_beir.name,
                                "--headroom-depth", "4", "--datasets", str(tiny_beir.parent),
                                "--cache", str(tmp_path / "c"),
                                "--markdown", str(tmp_path / "t.md")])
    timings = teachers.Timings(tmp_path / "c" / "timings.json")
    rows = teachers.headroom_rows(tiny_beir.name, args, timings, {})
    by = {r["teacher"]: r for r in rows}
    student = by["MiniLM alone (student)"]["nDCG@10"]
    assert set(by) == {"MiniLM alone (student)", *teachers.headroom_specs()}
    for name in teachers.headroom_specs():
        assert by[name]["queries"] == 3
        assert by[name]["headroom"] == pytest.approx(by[name]["nDCG@10"] - student)
        assert 0.0 <= by[name]["p"] <= 1.0
    assert by["BM25"]["pairs/CPU-s"] != "" and by["BM25 stemmed"]["pairs/CPU-s"] != ""
    default = by[teachers.DEFAULT_ROW]["nDCG@10"]
    stemmed = by["z(MiniLM)+z(BM25 stemmed)"]
    assert stemmed["vs default"] == pytest.approx(stemmed["nDCG@10"] - default)
    assert 0.0 <= stemmed["p vs default"] <= 1.0 and by[teachers.DEFAULT_ROW]["vs default"] == ""
    (tmp_path / "t.md").write_text("# Title\n\nprose kept\n")
    teachers.write_headroom_markdown(tmp_path / "t.md", rows, ["python", "x"])
    teachers.write_headroom_markdown(tmp_path / "t.md", rows, ["python", "y"])
    text = (tmp_path / "t.md").read_text()
    assert text.startswith("# Title\n\nprose kept\n") and text.count("<!-- end headroom") == 1
    assert "Command: `python y`" in text and "| beir | BM25-PRF | 3 |" in text

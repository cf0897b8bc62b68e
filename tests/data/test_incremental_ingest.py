"""A corpus that grows or shrinks keeps its sampled and held-out passages."""

from __future__ import annotations

import json
from pathlib import Path

from corpusfit.data.ingest import IngestConfig, ingest_corpus


def _corpus(path: Path, n: int, skip: set[int] = frozenset()) -> Path:
    path.write_text("".join(json.dumps({"_id": f"d{i:03d}", "text": f"passage {i} " * 3})
                            + "\n" for i in range(n) if i not in skip))
    return path


def _ids(out: Path, name: str) -> list[str]:
    return (out / name).read_text().split()


def test_added_passages_are_sampled_at_the_same_rate_and_old_ones_stay(tmp_path):
    cfg = IngestConfig(sample=20, heldout_fraction=0.1)
    out = tmp_path / "ingest"
    first = ingest_corpus(cfg, _corpus(tmp_path / "c.jsonl", 100), out)
    sampled, heldout = _ids(out, "sampled.txt"), _ids(out, "heldout.txt")
    assert first["sampled"] == 20 and first["sampled_new"] == 20 and len(heldout) == 10
    grown = ingest_corpus(cfg, _corpus(tmp_path / "c.jsonl", 150), out)
    now = _ids(out, "sampled.txt")
    assert now[:20] == sampled  # the earlier sample, in its order
    new = now[20:]
    assert all(int(i[1:]) >= 100 for i in new)
    assert grown["sampled_kept"] == 20 and grown["sampled_new"] == len(new)
    assert 8 <= len(new) <= 12  # 20 of 90 eligible, applied to 50 new (5 of them held out)
    assert set(heldout) <= set(_ids(out, "heldout.txt"))
    assert len(_ids(out, "heldout.txt")) == 15


def test_removed_passages_leave_the_sample_and_a_changed_setting_draws_afresh(tmp_path):
    out = tmp_path / "ingest"
    ingest_corpus(IngestConfig(sample=10), _corpus(tmp_path / "c.jsonl", 50), out)
    sampled = _ids(out, "sampled.txt")
    gone = int(sampled[0][1:])
    ingest_corpus(IngestConfig(sample=10), _corpus(tmp_path / "c.jsonl", 50, {gone}), out)
    assert _ids(out, "sampled.txt") == sampled[1:]
    fresh = tmp_path / "fresh"
    ingest_corpus(IngestConfig(sample=12), _corpus(tmp_path / "c.jsonl", 50, {gone}), fresh)
    ingest_corpus(IngestConfig(sample=12), _corpus(tmp_path / "c.jsonl", 50, {gone}), out)
    assert _ids(out, "sampled.txt") == _ids(fresh, "sampled.txt")

"""The incremental benchmark's account of how the lists moved when the corpus grew."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import incremental  # noqa: E402


def _write(path: Path, lists: dict[str, list[str]]) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps({"qid": q, "doc_ids": d, "raw_scores": [1.0] * len(d)})
                            + "\n" for q, d in lists.items()))


def test_list_changes_counts_the_queries_whose_top_k_kept_its_order(tmp_path):
    _write(tmp_path / "incremental-first" / "04-label" / "lists.jsonl",
           {"a": ["1", "2", "3"], "b": ["4", "5", "6"], "gone": ["7"]})
    _write(tmp_path / "incremental" / "04-label" / "lists.jsonl",
           {"a": ["1", "2", "3"], "b": ["4", "9", "5"], "new": ["9"]})
    text = incremental.list_changes(tmp_path, depths=(1, 2, 3))
    assert "3 / 3, 2 queries in both, 1 new" in text
    assert "| 1 | 2 |" in text and "| 2 | 1 |" in text and "| 3 | 1 |" in text

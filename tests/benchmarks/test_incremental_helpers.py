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


def _arm(wall: float, init: str) -> dict:
    return {"to_train": {"wall": wall, "cpu": wall}, "all": {"wall": wall + 1, "cpu": wall + 1},
            "stages": {"05-train": wall}, "generate": {"asked": 2, "stored": 1,
                                                       "new_records": 3, "accepted": 3},
            "train": {"init": init, "lists_new": 2, "lists_replayed": 1, "lists_changed": 4,
                      "train_queries": 3}}


def test_a_fresh_arm_saved_by_one_invocation_reports_beside_a_later_incremental_arm(tmp_path):
    timed = {"incremental": _arm(10, "previous"), "fresh": _arm(40, "base")}
    per_query = {"q1": 0.5, "q2": 0.25, "q3": 1.0}
    scores = {"incremental": {1: (0.6, per_query)}, "fresh": {1: (0.5, per_query)}}
    incremental.write_state(tmp_path / "state.json", timed, scores, 5)
    fresh_timed, fresh_scores = incremental.read_state(tmp_path / "state.json", "fresh")
    assert fresh_timed == timed["fresh"] and fresh_scores == scores["fresh"]
    args = incremental.parse_args(["data", "--seeds", "1", "--init", "previous", "--out",
                                   str(tmp_path / "incremental.md"), "--fresh-state",
                                   str(tmp_path / "state.json")])
    incremental.write_report(args, timed, 5, scores, (80, 20, 100), tmp_path)
    text = (tmp_path / "incremental.md").read_text()
    assert "wall\n25%" in text  # 10 / 40 up to the trained model
    assert "previous: 2 new + 1 replayed (4 of the others moved)" in text
    assert "The fresh arm was not rerun" in text and "--fresh-state" in text


def test_a_fresh_state_is_rebuilt_from_a_report_a_run_and_per_seed_copies(tmp_path):
    import incremental_fresh_state as fs

    report = ("| arm | a | b | c | d |\n| fresh | 100 | 120 | 150 | 170 |\n"
              '```\n{\n "fresh": {"05-train": 9.0}\n}\n```\n')
    for stage, counts in (("02-generate", {"asked": 4}), ("05-train", {"init": "base"})):
        (tmp_path / "run" / stage).mkdir(parents=True)
        (tmp_path / "run" / stage / "manifest.json").write_text(json.dumps({"counts": counts}))
    copies = tmp_path / "copies"
    copies.mkdir()
    for seed, value in ((1, 0.5), (2, 0.7)):
        (copies / f"seed{seed}.json").write_text(json.dumps(
            {"retrievers": {"specialized": {"q1": value}}}))
        (copies / f"seed{seed}-metrics.json").write_text(json.dumps({"retrievers": {
            "specialized": {"name": "specialized", "metrics": {"nDCG@10": value}}}}))
    (tmp_path / "r.md").write_text(report)
    fs.main([str(tmp_path / "r.md"), str(tmp_path / "run"), str(copies),
             str(tmp_path / "state.json")])
    timed, scores = incremental.read_state(tmp_path / "state.json", "fresh")
    assert timed["to_train"] == {"wall": 100.0, "cpu": 150.0}
    assert timed["all"] == {"wall": 120.0, "cpu": 170.0}
    assert timed["stages"] == {"05-train": 9.0} and timed["generate"] == {"asked": 4}
    assert scores == {1: (0.5, {"q1": 0.5}), 2: (0.7, {"q1": 0.7})}

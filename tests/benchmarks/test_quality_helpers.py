"""The data the quality benchmark's arms train on: type subsets and the peer's triplets."""

import sys
from pathlib import Path

from corpusfit.data.artifacts import TrainingList
from corpusfit.data.schema import Document

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import quality  # noqa: E402
import st_baseline  # noqa: E402


def _list(i: int, qtype: str, split: str = "train") -> TrainingList:
    return TrainingList(qid=f"q{i}", query=f"query {i}", type=qtype, source_id=f"d{i}",
                        doc_ids=[f"d{i}", "x", "y", "z"], scores=[1.0, 0.7, 0.5, 0.1],
                        raw_scores=[9.0, 7.0, 5.0, 1.0], split=split)


LISTS = [_list(i, t) for i, t in enumerate(
    ["question"] * 5 + ["claim"] * 3 + ["keywords"] * 4 + ["title"] * 6 + ["natural"] * 3)]
LISTS.append(_list(99, "claim", "dev"))


def test_type_subsets_have_the_smallest_types_size_and_mixed_draws_every_type():
    for arm in quality.TYPE_ARMS:
        subset = quality.type_subset(LISTS, arm, seed=1)
        assert len(subset) == 3  # claim and natural have 3 train lists
        assert all(tl.split == "train" for tl in subset)
        if arm != "type-mixed":
            assert {tl.type for tl in subset} == {arm[len("type-"):]}
    mixed = quality.type_subset(LISTS, "type-mixed", seed=1)
    assert len({tl.type for tl in mixed}) == 3
    again = quality.type_subset(LISTS, "type-title", seed=1)
    assert again == quality.type_subset(LISTS, "type-title", seed=1)  # seeded


def test_triplets_take_the_best_passage_below_the_false_negative_threshold():
    corpus = {d: Document(d, f"text of {d}") for d in ["d0", "x", "y", "z"]}
    cols = st_baseline.triplets([LISTS[0]], corpus, negatives=1, ratio=0.6)
    # x scores 0.7 > 0.6 x top: a likely false negative, skipped; y (0.5) is the negative.
    assert cols == {"anchor": ["query 0"], "positive": ["text of d0"],
                    "negative_1": ["text of y"]}
    assert st_baseline.triplets([LISTS[0]], corpus, negatives=3)["anchor"] == []


def test_the_budget_says_when_generate_resumed(tmp_path):
    import json

    gen = tmp_path / "02-generate"
    gen.mkdir()
    counts = {"accepted": 650, "rejected": 50, "new_records": 300, "queries_per_second": 1.0}
    (gen / "manifest.json").write_text(json.dumps({"counts": counts}))
    note = quality.generate_note(tmp_path)
    assert "last 300 of 700" in note and "700 at that rate, 1.00/s: 11.7" in note
    counts["new_records"] = 700  # a run that generated everything needs no note
    (gen / "manifest.json").write_text(json.dumps({"counts": counts}))
    assert quality.generate_note(tmp_path) == ""


def test_no_train_is_a_flag():
    assert quality.parse_args(["x", "--no-train"]).no_train
    assert not quality.parse_args(["x"]).no_train


def test_no_train_reports_a_stored_arm_only_when_it_matches_todays_settings(tmp_path):
    """--no-train reads stored metrics; a model trained on other lists is stale."""
    import json
    from types import SimpleNamespace

    from corpusfit.workspace import write_manifest

    run = tmp_path / "run"
    (run / "04-label").mkdir(parents=True)
    lists = run / "04-label" / "lists.jsonl"
    lists.write_text("".join(json.dumps(tl.model_dump()) + "\n" for tl in LISTS))
    args = SimpleNamespace(student_path="/models/minilm")
    out = tmp_path / "q" / "st-mnrl-s1"
    assert not quality.arm_is_current("st-mnrl", run, out, 1, args)  # never trained
    settings, fingerprint = quality.st_fingerprint("st-mnrl", 1, lists, args)
    write_manifest(out, fingerprint, settings)
    assert quality.arm_is_current("st-mnrl", run, out, 1, args)
    assert not quality.arm_is_current("st-mnrl", run, out, 2, args)  # another seed
    lists.write_text(lists.read_text() + json.dumps(_list(7, "title").model_dump() | {
        "qid": "new"}) + "\n")
    assert not quality.arm_is_current("st-mnrl", run, out, 1, args)  # the lists changed

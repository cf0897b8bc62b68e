"""Warm start (train.init: previous): the previous model's weights, the new lists plus a
replayed share of the old, the guard over base, previous and checkpoints, fingerprints."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from corpusfit.fields import results_dump
from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.stages.train import TrainStage, run_train
from corpusfit.train import trainer as trainer_mod
from corpusfit.train.config import TrainConfig
from corpusfit.train.loop import LOG
from corpusfit.train.session import model_dir
from corpusfit.train.warmstart import LINEAGE, list_hash, read_lineage, select_replay
from corpusfit.workspace import iter_jsonl_tolerant

TEXT = ["lift of a wing", "library index of books"]


def _cfg(bert, **kw) -> TrainConfig:
    base = dict(student=str(bert), mode="full", queries_per_step=4, chunk_size=4, epochs=2,
                lr=1e-3, patience=5, device="cpu", max_minutes=None,
                objective={"listwise": 1.0})
    return TrainConfig(**{**base, **kw})


def _embed(model: str | Path) -> np.ndarray:
    return DenseEncoder.load(str(model), device="cpu").encode(TEXT, "query",
                                                              show_progress=False)


def _change(lists: Path, qids: set[str]) -> None:
    """Give the lists ``qids`` new raw teacher scores (a changed list)."""
    recs = [json.loads(x) for x in lists.read_text().splitlines()]
    for r in recs:
        if r["qid"] in qids:
            r["raw_scores"] = [s + 1.0 for s in r["raw_scores"]]
    lists.write_text("".join(json.dumps(r) + "\n" for r in recs))


def _counts(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["counts"]


def _devs(out: Path) -> list[dict]:
    return [r for r in iter_jsonl_tolerant(out / LOG) if r.get("event") == "dev"]


def test_previous_starts_from_the_kept_weights_on_new_and_replayed_lists(tiny_bert, tmp_path,
                                                                         tiny_lists):
    lists, corpus = tiny_lists
    out = tmp_path / "train"
    first = run_train(_cfg(tiny_bert, keep_base_if_better=False), lists, corpus, out,
                      show_progress=False)
    assert first.kept == "trained" and first.steps == 2 * 3  # 9 train lists, 4 per step
    assert set(read_lineage(out)["lists"]) == {f"q{i}" for i in range(12)}
    trained = _embed(model_dir(out))
    _change(lists, {"q0", "q1"})  # two train lists changed, seven unchanged
    cfg = _cfg(tiny_bert, init="previous", keep_base_if_better=False, warm_lists="changed")
    again = run_train(cfg, lists, corpus, out, show_progress=False)
    counts = _counts(out)
    assert counts["init"] == "previous" and again.init == "previous"
    assert (counts["lists_new"], counts["lists_replayed"], counts["lists_left_out"]) == (2, 2, 5)
    assert counts["lists_changed"] == 0
    assert counts["train_queries"] == 4 and again.steps == 2 * 1  # fewer steps: 4 lists
    # Step 0 scores the previous weights: the dev loss the first run ended with, not the base's.
    prev = next(d for d in _devs(out) if d.get("model") == "previous")
    assert prev["dev_loss"] == pytest.approx(first.best_dev_loss, abs=1e-5)
    assert abs(prev["dev_loss"] - again.base_dev_loss) > 1e-4
    assert again.previous_dev_loss == pytest.approx(prev["dev_loss"])
    now = _embed(model_dir(out))
    assert not np.allclose(now, trained, atol=1e-6)  # trained further
    # The same inputs a second time: up to date, nothing trains.
    assert run_train(cfg, lists, corpus, out, show_progress=False).skipped


def _requery(lists: Path, qids: set[str]) -> None:
    """Give the lists ``qids`` another query text (a regenerated query)."""
    recs = [json.loads(x) for x in lists.read_text().splitlines()]
    for r in recs:
        if r["qid"] in qids:
            r["query"] += " again"
    lists.write_text("".join(json.dumps(r) + "\n" for r in recs))


def test_new_queries_trains_only_unlearned_queries_and_replays_the_moved_lists(
        tiny_bert, tmp_path, tiny_lists):
    lists, corpus = tiny_lists
    out = tmp_path / "train"
    run_train(_cfg(tiny_bert, keep_base_if_better=False), lists, corpus, out,
              show_progress=False)
    assert set(read_lineage(out)["queries"]) == {f"q{i}" for i in range(12)}
    _change(lists, {"q0", "q1"})  # passages or scores moved: not new
    _requery(lists, {"q2"})       # another query: new
    cfg = _cfg(tiny_bert, init="previous", keep_base_if_better=False)
    assert cfg.warm_lists == "new_queries"
    run_train(cfg, lists, corpus, out, show_progress=False)
    counts = _counts(out)
    assert (counts["lists_new"], counts["lists_changed"]) == (1, 2)
    assert (counts["lists_replayed"], counts["lists_left_out"]) == (2, 6)  # 0.25 of 8 others
    assert counts["train_queries"] == 3
    # A lineage record written before query hashes: every moved list counts as new.
    _change(lists, {"q0"})
    record = read_lineage(out)
    (out / LINEAGE).write_text(json.dumps({k: v for k, v in record.items() if k != "queries"}))
    run_train(cfg, lists, corpus, out, show_progress=False)
    assert (_counts(out)["lists_new"], _counts(out)["lists_changed"]) == (1, 0), _counts(out)


def test_previous_falls_back_to_base_without_a_previous_model(tiny_bert, tmp_path, tiny_lists,
                                                              caplog):
    out = tmp_path / "train"
    with caplog.at_level(logging.INFO):
        result = run_train(_cfg(tiny_bert, init="previous"), *tiny_lists, out,
                           show_progress=False)
    counts = _counts(out)
    assert counts["init"] == "base" and result.init == "base"
    assert "no previous model" in counts["init_note"] and "lists_new" not in counts
    assert counts["train_queries"] == 9
    assert "starting from the base model" in caplog.text
    assert not any(d.get("model") == "previous" for d in _devs(out))
    assert (out / LINEAGE).exists()  # the next run can start from this one


def test_previous_of_another_student_or_changed_weights_is_not_used(tiny_bert,
                                                                    tiny_bert_factory,
                                                                    tmp_path, tiny_lists):
    lists, corpus = tiny_lists
    out = tmp_path / "train"
    run_train(_cfg(tiny_bert, epochs=1), lists, corpus, out, show_progress=False)
    _change(lists, {"q0"})
    other = tiny_bert_factory(seed=3)
    run_train(_cfg(other, epochs=1, init="previous"), lists, corpus, out, show_progress=False)
    assert "another student" in _counts(out)["init_note"]
    _change(lists, {"q1"})
    weights = next(model_dir(out).rglob("*.safetensors"))
    weights.write_bytes(weights.read_bytes())  # same bytes: still the recorded model
    run_train(_cfg(other, epochs=1, init="previous"), lists, corpus, out, show_progress=False)
    assert _counts(out)["init"] == "previous"
    _change(lists, {"q2"})
    (out / LINEAGE).write_text(json.dumps({**read_lineage(out), "weights": "0" * 16}))
    run_train(_cfg(other, epochs=1, init="previous"), lists, corpus, out, show_progress=False)
    assert "not the one its lineage record describes" in _counts(out)["init_note"]


def _scripted_dev(monkeypatch, losses: list[float]) -> None:
    script = iter(losses)
    monkeypatch.setattr(trainer_mod.Trainer, "evaluate", lambda self, lists: {
        "loss": next(script)})


@pytest.mark.parametrize("losses,kept", [
    ([1.0, 1.2, 1.3, 1.4], "base"),        # base, previous, two epochs: the base model wins
    ([1.0, 0.5, 0.7, 0.8], "previous"),    # the previous model beats base and checkpoints
    ([1.0, 0.5, 0.6, 0.4], "trained"),     # epoch 2 of the warm start beats both (epoch 1
                                           # is one step at the warmup's lr 0)
])
def test_guard_chooses_among_base_previous_and_checkpoints(tiny_bert, tmp_path, tiny_lists,
                                                           monkeypatch, losses, kept):
    lists, corpus = tiny_lists
    out = tmp_path / "train"
    run_train(_cfg(tiny_bert, keep_base_if_better=False), lists, corpus, out,
              show_progress=False)
    previous = _embed(model_dir(out))
    _change(lists, {"q0", "q1"})
    _scripted_dev(monkeypatch, losses)
    result = run_train(_cfg(tiny_bert, init="previous"), lists, corpus, out,
                       show_progress=False)
    assert result.kept == kept
    assert (result.base_dev_loss, result.previous_dev_loss) == (1.0, losses[1])
    exported = _embed(model_dir(out))
    assert np.allclose(exported, _embed(tiny_bert), atol=1e-6) == (kept == "base")
    assert np.allclose(exported, previous, atol=1e-6) == (kept == "previous")
    card = (model_dir(out) / "README.md").read_text()
    assert ("corpusfit kept the previous model" in card) == (kept == "previous")
    lineage = read_lineage(out)["lists"]
    assert (lineage == {}) == (kept == "base")  # a kept base model learned from no list


def test_replay_selection_is_seeded_and_counts_right():
    old = [f"q{i}" for i in range(40)]
    picked = select_replay(old, 0.25, seed=7)
    assert len(picked) == 10 and set(picked) <= set(old)
    assert picked == select_replay(list(reversed(old)), 0.25, seed=7)  # order-free
    assert picked != select_replay(old, 0.25, seed=8)
    assert select_replay(old, 0.0, 7) == [] and len(select_replay(old, 1.0, 7)) == 40


def test_list_hash_follows_what_a_list_teaches():
    rec = {"qid": "q1", "query": "lift", "type": "question", "source_id": "d1",
           "doc_ids": ["d1", "d2"], "scores": [1.0, 0.2], "raw_scores": [5.0, 1.0],
           "split": "train"}
    same = list_hash(rec)
    assert list_hash({**rec, "scores": [0.9, 0.1]}) == same  # renormalized: not new
    for change in ({"raw_scores": [5.0, 2.0]}, {"doc_ids": ["d2", "d1"]}, {"split": "dev"},
                   {"query": "drag"}):
        assert list_hash({**rec, **change}) != same


def test_fingerprint_of_init_base_is_unchanged(tiny_bert, tmp_path):
    plain = TrainConfig(student=str(tiny_bert))
    assert not {"init", "replay"} & set(results_dump(plain))  # run dirs of 0.1.0 stay done

    def fp(cfg):
        return TrainStage(cfg, tmp_path / "l", tmp_path / "c").fingerprint_config()

    assert fp(plain) == fp(plain.model_copy(update={"replay": 0.5}))  # replay: warm only
    warm = fp(plain.model_copy(update={"init": "previous"}))
    assert warm["init"] == "previous" and warm != fp(plain)
    assert fp(plain.model_copy(update={"init": "previous", "replay": 0.5})) != warm

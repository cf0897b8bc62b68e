"""Never worse: the base model competes with the checkpoints on the dev loss and can win."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.stages.train import run_train
from corpusfit.train import trainer as trainer_mod
from corpusfit.train.config import TrainConfig
from corpusfit.train.loop import LOG
from corpusfit.train.selection import kept_base_sentence, selection_result
from corpusfit.train.session import model_dir
from corpusfit.workspace import iter_jsonl_tolerant

TEXT = ["lift of a wing", "library index of books"]


def _cfg(bert, **kw) -> TrainConfig:
    base = dict(student=str(bert), mode="full", queries_per_step=4, chunk_size=4, epochs=3,
                lr=1e-3, patience=5, device="cpu", max_minutes=None,
                objective={"listwise": 1.0})
    return TrainConfig(**{**base, **kw})


def _write(folder: Path, docs: list[str], records: list[dict]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": t}) + "\n"
                              for i, t in enumerate(docs)))
    lists = folder / "lists.jsonl"
    lists.write_text("".join(json.dumps(r) + "\n" for r in records))
    return lists, corpus


@pytest.fixture
def no_signal_lists(tiny_bert, tmp_path, fixture_texts) -> tuple[Path, Path]:
    """Train lists whose scores are shuffled against their passages (no signal), and dev
    lists the base model scores itself (scores = its cosines x teacher/student temperature,
    so its dev listwise loss is ~0: anything training on noise changes can only raise it).
    """
    docs_text, queries = fixture_texts
    rng = random.Random(0)
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    q_emb = enc.for_search(enc.encode(queries, "query", show_progress=False), "query")
    d_emb = enc.for_search(enc.encode(docs_text, "passage", show_progress=False), "passage")
    ratio = TrainConfig().loss.teacher_temperature / TrainConfig().loss.student_temperature
    records = []
    for i, query in enumerate(queries):
        docs = rng.sample(range(len(docs_text)), 6)
        dev = i % 4 == 3
        if dev:
            scores = [float(ratio * (q_emb[i] @ d_emb[j])) for j in docs]
        else:
            scores = [rng.random() for _ in docs]
        order = sorted(range(6), key=lambda k: -scores[k])
        records.append({"qid": f"q{i}", "query": query, "type": "question",
                        "source_id": f"d{docs[order[0]]}",
                        "doc_ids": [f"d{docs[k]}" for k in order],
                        "scores": [scores[k] for k in order],
                        "raw_scores": [scores[k] for k in order],
                        "split": "dev" if dev else "train"})
    return _write(tmp_path / "data", docs_text, records)


def _embed(model: str | Path) -> np.ndarray:
    return DenseEncoder.load(str(model), device="cpu").encode(TEXT, "query",
                                                              show_progress=False)


def test_no_signal_teacher_keeps_the_base_model_and_says_so(tiny_bert, tmp_path, caplog,
                                                            no_signal_lists):
    lists, corpus = no_signal_lists
    out = tmp_path / "model"
    with caplog.at_level(logging.WARNING):
        result = run_train(_cfg(tiny_bert), lists, corpus, out, show_progress=False)
    assert result.kept == "base" and result.steps > 0
    assert result.base_dev_loss < result.best_dev_loss and result.best_epoch >= 1
    assert "the base model was better on the dev lists (dev loss" in caplog.text
    assert "keeping the base model" in caplog.text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["result"]["kept"] == "base"
    assert manifest["counts"]["result"]["base_dev_loss"] == result.base_dev_loss
    card = (model_dir(out) / "README.md").read_text()
    intro = card.split("# corpusfit student", 1)[1].strip().splitlines()[0]
    assert intro.startswith("**corpusfit kept the base model:")
    devs = [r for r in iter_jsonl_tolerant(out / LOG) if r.get("event") == "dev"]
    assert devs[0]["epoch"] == 0 and devs[0]["dev_loss"] < 1e-4  # the base fits dev exactly
    assert np.allclose(_embed(model_dir(out)), _embed(tiny_bert), atol=1e-6)  # the exported base
    again = run_train(_cfg(tiny_bert), lists, corpus, out, show_progress=False)
    assert again.skipped and again.kept == "base"


def test_keep_base_off_keeps_the_trained_model_with_a_warning(tiny_bert, tmp_path, caplog,
                                                              no_signal_lists):
    lists, corpus = no_signal_lists
    out = tmp_path / "model"
    with caplog.at_level(logging.WARNING):
        result = run_train(_cfg(tiny_bert, keep_base_if_better=False), lists, corpus, out,
                           show_progress=False)
    assert result.kept == "trained" and result.base_dev_loss < result.best_dev_loss
    assert "keep_base_if_better is False; keeping the trained model" in caplog.text
    assert "corpusfit kept the base model" not in (model_dir(out) / "README.md").read_text()
    assert not np.allclose(_embed(model_dir(out)), _embed(tiny_bert), atol=1e-4)


def _scripted_dev(monkeypatch, losses: list[float]) -> None:
    """Replace the dev loss by a script: base first, then one value per epoch."""
    script = iter(losses)
    monkeypatch.setattr(trainer_mod.Trainer, "evaluate", lambda self, lists: {
        "loss": next(script)})


@pytest.mark.parametrize("losses,kept,best_epoch,epochs_run", [
    ([1.0, 0.8, 0.9, 0.95], "trained", 1, 3),   # epoch 1 beats the base
    ([1.0, 1.1, 0.7, 0.9], "trained", 2, 3),    # epoch 2 does
    ([1.0, 1.1, 1.2], "base", 1, 2),            # none does: early stop after patience 2
])
def test_decision_follows_the_dev_loss(tiny_bert, tiny_lists, tmp_path, monkeypatch,
                                       losses, kept, best_epoch, epochs_run):
    _scripted_dev(monkeypatch, losses)
    out = tmp_path / "model"
    result = run_train(_cfg(tiny_bert, patience=2), *tiny_lists, out, show_progress=False)
    assert (result.kept, result.best_epoch) == (kept, best_epoch)
    assert result.base_dev_loss == 1.0 and result.best_dev_loss == min(losses[1:])
    assert result.steps == 3 * epochs_run
    same = np.allclose(_embed(model_dir(out)), _embed(tiny_bert), atol=1e-6)
    assert same == (kept == "base")


def test_selection_result_and_sentence():
    history = [{"epoch": 0, "dev_loss": 0.5}, {"epoch": 1, "dev_loss": 0.7},
               {"epoch": 2, "dev_loss": 0.6}]
    res = selection_result(history, 0.5, 0, True)
    assert res == {"kept": "base", "base_dev_loss": 0.5, "best_dev_loss": 0.6,
                   "best_epoch": 2}
    assert kept_base_sentence(res) == (
        "corpusfit kept the base model: the base model was better on the dev lists (dev "
        "loss 0.5000 vs best trained 0.6000), so the specialized model is the base model, "
        "unchanged.")
    assert selection_result(history, 0.5, 2, False)["kept"] == "trained"
    assert kept_base_sentence(selection_result([], None, 3, True)) is None  # no dev lists

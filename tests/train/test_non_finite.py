"""A NaN or infinite loss stops training with the step and lists named; no model is written."""

from __future__ import annotations

import pytest
import torch

from corpusfit.stages.train import run_train
from corpusfit.train.config import TrainConfig
from corpusfit.train.trainer import NonFiniteError, Trainer, check_weights_finite


def _cfg(bert, **kw) -> TrainConfig:
    base = dict(student=str(bert), mode="full", queries_per_step=4, chunk_size=3, epochs=2,
                lr=1e-3, device="cpu", max_minutes=None)
    return TrainConfig(**{**base, **kw})


def _poison(monkeypatch, when) -> list:
    """Make the loss NaN on the calls of ``_global_loss`` for which ``when(grad, n)``."""
    real = Trainer._global_loss
    calls: list = []

    def fake(self, lists, grad):
        parts = real(self, lists, grad)
        calls.append((grad, [x.qid for x in lists]))
        if when(grad, sum(g == grad for g, _ in calls)):
            parts["loss"] = parts["loss"] * float("nan")
        return parts

    monkeypatch.setattr(Trainer, "_global_loss", fake)
    return calls


def _written_model(out) -> list[str]:
    return sorted(p.name for p in out.rglob("*") if p.suffix in (".safetensors", ".bin")
                  and "train_state" not in p.parts)


def test_nan_loss_stops_at_its_step_naming_the_lists(tiny_bert, tiny_lists, tmp_path,
                                                     monkeypatch):
    calls = _poison(monkeypatch, lambda grad, n: grad and n == 3)
    out = tmp_path / "model"
    with pytest.raises(NonFiniteError, match=r"non-finite loss at step 3 \(nan\) on lists "
                                             r"q\d+") as err:
        run_train(_cfg(tiny_bert), *tiny_lists, out, show_progress=False)
    step3 = [qids for grad, qids in calls if grad][2]
    assert all(q in str(err.value) for q in step3)
    assert not (out / "manifest.json").exists() and _written_model(out) == []


def test_nan_dev_loss_is_an_error_not_a_silent_bad_epoch(tiny_bert, tiny_lists, tmp_path,
                                                        monkeypatch):
    _poison(monkeypatch, lambda grad, n: not grad and n == 2)  # epoch 1's dev loss
    out = tmp_path / "model"
    with pytest.raises(NonFiniteError, match="non-finite dev loss"):
        run_train(_cfg(tiny_bert), *tiny_lists, out, show_progress=False)
    assert not (out / "manifest.json").exists() and _written_model(out) == []


def test_non_finite_weights_are_never_exported():
    model = torch.nn.Linear(2, 2)
    check_weights_finite(model)
    with torch.no_grad():
        model.weight[0, 0] = float("inf")
    with pytest.raises(NonFiniteError, match="weight"):
        check_weights_finite(model)


def test_cli_exits_2_on_nan_learning_rate(tiny_bert, tiny_lists, tmp_path, capsys):
    from corpusfit.cli import main

    lists, corpus = tiny_lists
    code = main(["train", "--lists", str(lists), "--corpus", str(corpus), "--out",
                 str(tmp_path / "m"), "--student", str(tiny_bert), "--set", "lr=.inf"])
    err = capsys.readouterr().err
    assert code == 2 and "lr" in err and "finite" in err and "Traceback" not in err
    assert not (tmp_path / "m" / "manifest.json").exists()

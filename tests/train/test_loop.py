"""The training loop: outputs, logs, manifest-based skip, crash resume, query-only mode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.stages.train import run_train
from corpusfit.train.config import TrainConfig
from corpusfit.train.loop import LOG, STATE_DIR
from corpusfit.train.session import model_dir
from corpusfit.train.trainer import lr_factor
from corpusfit.workspace import file_sha256, iter_jsonl_tolerant


def _cfg(bert, **kw) -> TrainConfig:
    base = dict(student=str(bert), mode="full", queries_per_step=4, chunk_size=3, epochs=3,
                lr=1e-3, patience=5, device="cpu", max_minutes=None)
    return TrainConfig(**{**base, **kw})


def _steps(out) -> list[dict]:
    return [r for r in iter_jsonl_tolerant(out / LOG) if "event" not in r]


def test_full_run_writes_model_log_card_manifest(tiny_bert, tiny_lists, tmp_path):
    out = tmp_path / "model"
    # The trained weights are the subject here, whichever model the dev loss prefers.
    cfg = _cfg(tiny_bert, keep_base_if_better=False)
    result = run_train(cfg, *tiny_lists, out, show_progress=False)
    assert not result.skipped and result.steps == 9 and result.stopped == "all epochs done"
    steps = _steps(out)
    assert [r["step"] for r in steps] == list(range(1, 10))
    assert all({"listwise", "infonce", "loss", "lr", "grad_norm"} <= r.keys() for r in steps)
    devs = [r for r in iter_jsonl_tolerant(out / LOG) if r.get("event") == "dev"]
    assert [d["epoch"] for d in devs] == [0, 1, 2, 3] and all("dev_loss" in d for d in devs)
    model = model_dir(out)
    card = (model / "README.md").read_text()
    assert "keywords" in card and tiny_bert.name in card and "dev_listwise" in card
    assert str(tiny_bert) not in card  # the card is uploaded: no local paths
    assert not (out / STATE_DIR).exists() and (out / "manifest.json").exists()
    # The model folder holds the model and its card only; the records lie beside it.
    assert not {"manifest.json", ".pipeline.json", LOG} & {p.name for p in model.iterdir()}
    from sentence_transformers import SentenceTransformer

    enc = DenseEncoder.load(str(model), device="cpu")
    assert not enc.is_asymmetric
    ours = enc.encode(["lift of a wing"], "passage", show_progress=False)
    st = SentenceTransformer(str(model), device="cpu").encode_document(["lift of a wing"])
    assert np.allclose(ours, st, atol=1e-5)
    base = DenseEncoder.load(str(tiny_bert), device="cpu").encode(["lift of a wing"], "passage",
                                                                  show_progress=False)
    assert not np.allclose(ours, base, atol=1e-4)  # training changed the weights
    again = run_train(cfg, *tiny_lists, out, show_progress=False)
    assert again.skipped and again.steps == 9


def test_seeded_runs_repeat(tiny_bert, tiny_lists, tmp_path):
    cfg = _cfg(tiny_bert, epochs=1)
    run_train(cfg, *tiny_lists, tmp_path / "a", show_progress=False)
    run_train(cfg, *tiny_lists, tmp_path / "b", show_progress=False)
    a, b = _steps(tmp_path / "a"), _steps(tmp_path / "b")
    assert [r["loss"] for r in a] == [r["loss"] for r in b]


class Crash(RuntimeError):
    pass


def test_resume_after_crash_continues(tiny_bert, tiny_lists, tmp_path):
    cfg = _cfg(tiny_bert, checkpoint_every=2)
    run_train(cfg, *tiny_lists, tmp_path / "whole", show_progress=False)

    def crash_at_5(step: int) -> None:
        if step == 5:  # after the checkpoint of step 4, before the next one
            raise Crash

    out = tmp_path / "crashed"
    with pytest.raises(Crash):
        run_train(cfg, *tiny_lists, out, on_step=crash_at_5, show_progress=False)
    assert (out / STATE_DIR / "checkpoint.safetensors").exists()
    assert not (out / "manifest.json").exists()
    assert len(_steps(out)) == 5
    seen: list[int] = []
    result = run_train(cfg, *tiny_lists, out, on_step=seen.append, show_progress=False)
    assert seen == [5, 6, 7, 8, 9]  # continued after step 4, not from scratch
    assert result.steps == 9
    whole, resumed = _steps(tmp_path / "whole"), _steps(out)
    assert [r["step"] for r in resumed] == list(range(1, 10))
    for a, b in zip(whole, resumed, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-6)
    devs = [r for r in iter_jsonl_tolerant(out / LOG) if r.get("event") == "dev"]
    assert [d["epoch"] for d in devs] == [0, 1, 2, 3]  # epoch 0: the base model


def test_query_only_keeps_passage_side(tiny_bert, tiny_lists, tmp_path):
    before = {p.name: file_sha256(p) for p in tiny_bert.iterdir() if p.is_file()}
    out = tmp_path / "qonly"
    # The trained query side is the subject here, whichever model the dev loss prefers.
    result = run_train(_cfg(tiny_bert, mode="query_only", keep_base_if_better=False),
                       *tiny_lists, out, show_progress=False)
    assert result.mode == "query_only"
    assert (model_dir(out) / "router_config.json").exists()  # base = the document route
    assert before == {p.name: file_sha256(p) for p in tiny_bert.iterdir() if p.is_file()}
    trained = p_enc = DenseEncoder.load(str(model_dir(out)), device="cpu")
    base = DenseEncoder.load(str(tiny_bert), device="cpu")
    texts = ["lift of a wing in supersonic flow", "library index of books"]
    assert np.array_equal(p_enc.encode(texts, "passage", show_progress=False),
                          base.encode(texts, "passage", show_progress=False))
    assert not np.allclose(trained.encode(texts, "query", show_progress=False),
                           base.encode(texts, "query", show_progress=False), atol=1e-4)


def test_query_only_trains_against_frozen_bank(tiny_bert, tiny_lists, monkeypatch):
    """The passage embeddings used in every step are the base model's, never recomputed."""
    from corpusfit.train import trainer as trainer_mod
    from corpusfit.train.data import load_training_data
    from corpusfit.train.distributed import DistContext

    data = load_training_data(*tiny_lists)
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    bank = trainer_mod.build_passage_bank(enc, data, None, DistContext(), show_progress=False)
    frozen = bank.clone()
    tr = trainer_mod.Trainer(_cfg(tiny_bert, mode="query_only"), data, enc, DistContext(), 4,
                             passage_bank=bank)
    calls: list[str] = []
    original = tr.gc.forward
    monkeypatch.setattr(tr.gc, "forward", lambda t, kind: calls.append(kind) or original(t, kind))
    for step in range(3):
        tr.train_step(data.train[:4], step)
    assert set(calls) == {"query"} and torch.equal(bank, frozen) and not bank.requires_grad


def test_time_budget_stops_and_still_saves(tiny_bert, tiny_lists, tmp_path):
    result = run_train(_cfg(tiny_bert, max_minutes=1e-9), *tiny_lists, tmp_path / "m",
                       show_progress=False)
    assert result.steps == 1 and result.stopped.startswith("time budget")
    assert _steps(tmp_path / "m")[0]["lr"] == pytest.approx(1e-4)  # schedule ran to its end
    assert (model_dir(tmp_path / "m") / "model.safetensors").exists()


def test_lr_schedule_warmup_then_decay_to_tenth():
    f = [lr_factor(s, 10, 100, 0.1) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[-1] == pytest.approx(0.1) and all(a >= b for a, b in zip(f[9:], f[10:]))


def test_time_budget_defaults():
    assert TrainConfig().time_budget("cpu") == 900 and TrainConfig().time_budget("cuda") is None
    assert TrainConfig(max_minutes=None).time_budget("cpu") is None
    assert TrainConfig(max_minutes=2).time_budget("cuda") == 120
    with pytest.raises(ValueError):
        TrainConfig(max_minutes=0)


def test_default_lr_scales_with_batch():
    assert TrainConfig(queries_per_step=4096).learning_rate() == pytest.approx(2e-4)
    assert TrainConfig(queries_per_step=64).learning_rate() == pytest.approx(2.5e-5)
    assert TrainConfig(queries_per_step=16).learning_rate() == pytest.approx(2e-5)  # floor
    assert TrainConfig(lr=1e-5).learning_rate() == 1e-5


def test_cli_train_then_eval(tiny_bert, tiny_lists, tmp_path, tiny_beir, capsys):
    from corpusfit.cli import main

    lists, corpus = tiny_lists
    out = tmp_path / "cli_model"
    rc = main(["train", "--lists", str(lists), "--corpus", str(corpus), "--student",
               str(tiny_bert), "--out", str(out), "--mode", "query_only", "--epochs", "1",
               "--queries-per-step", "4", "--set", "loss.infonce_temperature=0.02",
               "--eval-data", str(tiny_beir)])
    assert rc == 0 and '"mode": "query_only"' in capsys.readouterr().out
    card = (model_dir(out) / "README.md").read_text()
    assert "| base |" in card and "| trained |" in card and "nDCG@10" in card
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["loss"]["infonce_temperature"] == 0.02
    assert main(["eval", "--data", str(tiny_beir), "--retriever", str(model_dir(out))]) == 0
    assert "nDCG@10" in capsys.readouterr().out
    bad = main(["train", "--lists", str(lists), "--corpus", str(corpus), "--out", str(out),
                "--set", "objective={listwize: 1}"])
    assert bad == 2


def test_a_folder_of_the_old_layout_is_retrained_into_the_new_one(tiny_bert, tiny_lists,
                                                                    tmp_path):
    """corpusfit 0.1.0 wrote the model into the stage folder itself: that folder trains
    once more, and afterwards holds the records beside ``model/`` and nothing of the old."""
    import shutil

    out = tmp_path / "05-train"
    shutil.copytree(tiny_bert, out)
    (out / "modules.json").write_text("[]")
    (out / "corpusfit_encoder.json").write_text("{}")
    (out / "manifest.json").write_text(json.dumps({"config_hash": "old"}))
    result = run_train(_cfg(tiny_bert, epochs=1), *tiny_lists, out, show_progress=False)
    assert not result.skipped and result.out == model_dir(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([".pipeline.json", LOG,
                                                            "lineage.json", "manifest.json",
                                                            "model"])
    assert (model_dir(out) / "modules.json").exists()

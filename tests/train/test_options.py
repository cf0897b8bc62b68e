"""Reference-faithful training options: warmup from lr 0 in steps, dropout off, full mode."""

from __future__ import annotations

import json

import pytest
import torch

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.stages.train import run_train
from corpusfit.train.config import TrainConfig
from corpusfit.train.data import load_training_data
from corpusfit.train.distributed import DistContext
from corpusfit.train.session import model_dir
from corpusfit.train.trainer import Trainer, lr_factor, set_dropout


def test_defaults():
    cfg = TrainConfig()
    assert cfg.warmup == "reference" and cfg.dropout == 0.0 and cfg.keep_base_if_better
    assert cfg.mode == "auto" and cfg.resolved_mode() == "full"  # unchanged
    assert TrainConfig(dropout=True).dropout is None  # older configs: the model's own
    assert TrainConfig(dropout=False).dropout == 0.0
    with pytest.raises(ValueError):
        TrainConfig(dropout=1.5)


def test_reference_warmup_is_max_of_ten_steps_and_half_an_epoch():
    cfg = TrainConfig()
    assert cfg.warmup_steps(total_steps=300, steps_per_epoch=10) == 10
    assert cfg.warmup_steps(total_steps=3000, steps_per_epoch=100) == 50
    assert cfg.warmup_steps(total_steps=9, steps_per_epoch=3) == 4  # capped at half the run
    assert TrainConfig(warmup="fraction").warmup_steps(300, 10) == 30  # warmup_ratio 0.1


def test_reference_schedule_starts_at_zero_and_peaks_after_warmup():
    warmup = TrainConfig().warmup_steps(total_steps=3000, steps_per_epoch=100)
    f = [lr_factor(s, warmup, 3000, 0.1, from_zero=True) for s in range(3000)]
    assert f[0] == 0.0 and f[25] == pytest.approx(0.5)
    assert max(f) == 1.0 and f.index(1.0) == warmup == 50
    assert f[-1] == pytest.approx(0.1) and all(a >= b for a, b in zip(f[50:], f[51:]))
    assert lr_factor(0, warmup, 3000, 0.1) == pytest.approx(1 / 50)  # the fraction rule


def test_trainer_first_step_runs_at_lr_zero(tiny_bert, tiny_lists):
    data = load_training_data(*tiny_lists)
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    cfg = TrainConfig(student=str(tiny_bert), mode="full", queries_per_step=4, chunk_size=4,
                      lr=1e-3, device="cpu", max_minutes=None, epochs=30)
    tr = Trainer(cfg, data, enc, DistContext(), total_steps=90, steps_per_epoch=3)
    assert tr.warmup == 10
    before = [p.detach().clone() for p in enc.model.parameters()]
    parts = tr.train_step(data.train[:4], 0)
    assert parts["lr"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, enc.model.parameters()))
    assert tr.train_step(data.train[:4], 10)["lr"] == pytest.approx(1e-3)


def test_dropout_zero_sets_every_probability(tiny_bert):
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    assert enc.model[0].auto_model.config.hidden_dropout_prob == 0.1  # BERT's own
    assert set_dropout(enc.model, 0.0) > 0
    cfg = enc.model[0].auto_model.config.to_dict()
    assert cfg["hidden_dropout_prob"] == cfg["attention_probs_dropout_prob"] == 0.0
    drops = [m for m in enc.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(m.p == 0.0 for m in drops)
    enc.model.train()  # in training mode the network is now deterministic
    feats = enc.tokenize(["lift of a wing", "library index"], "query")
    assert torch.equal(enc.embed(feats), enc.embed(feats))


def test_trainer_applies_the_configured_dropout(tiny_bert, tiny_lists):
    data = load_training_data(*tiny_lists)
    for value, expected in ((0.0, 0.0), (0.2, 0.2), (None, 0.1)):
        enc = DenseEncoder.load(str(tiny_bert), device="cpu")
        Trainer(TrainConfig(student=str(tiny_bert), dropout=value, device="cpu"), data, enc,
                DistContext(), total_steps=4)
        assert enc.model[0].auto_model.config.hidden_dropout_prob == expected
        assert {m.p for m in enc.model.modules() if isinstance(m, torch.nn.Dropout)} \
            == {expected}


def test_full_mode_trains_both_towers(tiny_bert, tiny_lists, tmp_path):
    cfg = TrainConfig(student=str(tiny_bert), mode="full", queries_per_step=4, chunk_size=3,
                      epochs=2, lr=1e-3, device="cpu", max_minutes=None,
                      keep_base_if_better=False)
    out = tmp_path / "full"
    result = run_train(cfg, *tiny_lists, out, show_progress=False)
    assert result.mode == "full" and result.kept == "trained"
    config = json.loads((model_dir(out) / "config.json").read_text())
    assert config["hidden_dropout_prob"] == 0.0
    trained = DenseEncoder.load(str(model_dir(out)), device="cpu")
    base = DenseEncoder.load(str(tiny_bert), device="cpu")
    assert not trained.is_asymmetric
    text = ["lift of a wing in supersonic flow"]
    for kind in ("query", "passage"):
        assert not torch.allclose(torch.from_numpy(trained.encode(text, kind,
                                                                  show_progress=False)),
                                  torch.from_numpy(base.encode(text, kind, show_progress=False)),
                                  atol=1e-4)


def test_runtime_only_fields_are_marked_and_left_out_of_the_fingerprint(tmp_path):
    from corpusfit.fields import runtime_fields
    from corpusfit.stages.train import TrainStage
    from corpusfit.workspace import config_hash

    assert runtime_fields(TrainConfig) == {"device", "cache_dir", "precision",
                                           "trust_remote_code"}

    def fp(**kw):
        stage = TrainStage(TrainConfig(**kw), tmp_path / "l", tmp_path / "c")
        return config_hash(stage.fingerprint_config())

    base = fp()
    assert fp(device="cpu", cache_dir=str(tmp_path), precision="fp32") == base
    assert fp(seed=1) != base and fp(passages_per_query=4) != base  # these change results
    # the same hash as the hand-kept exclude list gave: trained folders stay up to date
    # (fields added later, init, replay, warm_lists, guard and probe_queries, are left out
    # while they hold their default)
    assert fp(init="previous") != base
    cfg = TrainConfig()
    stage = TrainStage(cfg, tmp_path / "l", tmp_path / "c")
    old = cfg.model_dump(mode="json", exclude={"device", "cache_dir", "precision",
                                               "trust_remote_code", "init", "replay",
                                               "warm_lists", "guard", "probe_queries"})
    old["student_fingerprint"] = stage.fingerprint_config()["student_fingerprint"]
    assert config_hash(old) == base


def test_lists_are_cut_once_by_label_list_size(tmp_path, tiny_beir):
    from corpusfit.config import load_config
    from corpusfit.errors import ConfigError

    assert "list_size" not in TrainConfig.model_fields
    with pytest.raises(ValueError, match="label.list_size"):
        TrainConfig(list_size=5)
    path = tmp_path / "c.yaml"
    path.write_text(f"corpus: {tiny_beir}\ntrain:\n  list_size: 5\n")  # an older config
    with pytest.raises(ConfigError, match="train.*label.list_size"):
        load_config(path)


def test_auto_is_the_cpu_or_gpu_recipe():
    cfg = TrainConfig()
    cpu, gpu = cfg.resolved("cpu"), cfg.resolved("cuda")
    assert (cpu.mode, cpu.passages_per_query, cpu.epochs) == ("full", 4, 3)
    assert (gpu.mode, gpu.passages_per_query, gpu.epochs) == ("full", None, 10)
    assert cpu.resolved("cpu") == cpu  # idempotent
    mine = TrainConfig(mode="query_only", passages_per_query=None, epochs=5).resolved("cpu")
    assert (mine.mode, mine.passages_per_query, mine.epochs) == ("query_only", None, 5)
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError):
        TrainConfig(passages_per_query=1)

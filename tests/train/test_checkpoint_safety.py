"""Resume state is never unpickled: a crafted train_state/checkpoint.pt runs no code."""

from __future__ import annotations

import json
import pickle

import pytest
from safetensors import safe_open

from corpusfit.stages.train import run_train
from corpusfit.train.checkpoint import CHECKPOINT
from corpusfit.train.config import TrainConfig
from corpusfit.train.loop import STATE_DIR


class Payload:
    """Unpickling this writes a marker file: proof that code from data ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _cfg(bert, **kw) -> TrainConfig:
    base = dict(student=str(bert), mode="full", queries_per_step=4, chunk_size=3, epochs=2,
                lr=1e-3, device="cpu", max_minutes=None, checkpoint_every=2)
    return TrainConfig(**{**base, **kw})


class Crash(RuntimeError):
    pass


def _crash_at(n: int):
    def hook(step: int) -> None:
        if step == n:
            raise Crash
    return hook


def test_crafted_pickles_in_train_state_never_run(tiny_bert, tiny_lists, tmp_path):
    out, marker = tmp_path / "model", tmp_path / "pwned"
    cfg = _cfg(tiny_bert)
    with pytest.raises(Crash):
        run_train(cfg, *tiny_lists, out, on_step=_crash_at(3), show_progress=False)
    state = out / STATE_DIR
    for name in ("checkpoint.pt", "best.pt"):
        (state / name).write_bytes(pickle.dumps(Payload(str(marker))))
    seen: list[int] = []
    result = run_train(cfg, *tiny_lists, out, on_step=seen.append, show_progress=False)
    assert not marker.exists()
    assert seen[0] == 3 and result.steps == 6  # resumed after the checkpoint of step 2
    assert (out / "manifest.json").exists()


def test_checkpoint_header_is_json_and_fingerprint_checked_first(tiny_bert, tiny_lists,
                                                                 tmp_path, monkeypatch):
    out = tmp_path / "model"
    cfg = _cfg(tiny_bert, keep_checkpoint=True)
    with pytest.raises(Crash):
        run_train(cfg, *tiny_lists, out, on_step=_crash_at(3), show_progress=False)
    path = out / STATE_DIR / CHECKPOINT
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["corpusfit"])
        keys = set(f.keys())
    assert meta["state"]["global_step"] == 2 and "fingerprint" in meta
    assert any(k.startswith("optimizer.") and k.endswith(".exp_avg") for k in keys)
    # Another config: the tensors are never read (no load_file call), training starts over.
    import corpusfit.train.checkpoint as ckpt

    read: list[str] = []
    real = ckpt.load_file

    def recording(path, *a, **k):
        read.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(ckpt, "load_file", recording)
    seen: list[int] = []
    run_train(_cfg(tiny_bert, lr=2e-3), *tiny_lists, out, on_step=seen.append,
              show_progress=False)
    assert seen[0] == 1
    assert str(path) not in read  # its tensors were never loaded

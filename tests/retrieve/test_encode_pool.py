"""Encoding on several devices (one process each) gives the vectors of one process, in the
input order, into the same embedding cache; ``auto`` stays one process without GPUs."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from corpusfit.retrieve import pool as pool_module
from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.retrieve.settings import POOL_MIN_TEXTS, RetrievalSettings

WORDS = "lift of a wing in supersonic flow heat transfer turbulent boundary layer".split()


def _texts(n: int) -> list[str]:
    """Distinct texts of 1 to 24 words, lengths mixed so the sort reorders them."""
    return [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + (i * 7) % 24))
            for i in range(n)]


def _no_pool(*_args, **_kwargs):
    raise AssertionError("a multi-process pool was started")


def test_two_cpu_processes_give_one_process_vectors_in_order_into_one_cache(
        architectures, tmp_path, monkeypatch):
    """The router model's query route: a lost task would take the document route (its
    default), a lost max length (16 query tokens) would change the long texts."""
    from sentence_transformers import SentenceTransformer

    enc = DenseEncoder.load(str(architectures["router"]), device="cpu")
    texts = _texts(48)
    one = enc.encode(texts, "query", batch_tokens=256, show_progress=False)
    assert np.abs(one - one[::-1]).max() > 1e-3  # rows differ: a wrong order would show
    started = []
    start = SentenceTransformer.start_multi_process_pool
    monkeypatch.setattr(SentenceTransformer, "start_multi_process_pool",
                        lambda self, devices: started.append(devices) or start(self, devices))
    # 256 tokens a batch: several slices of different batch sizes
    two = enc.encode(texts, "query", batch_tokens=256, cache_dir=tmp_path,
                     show_progress=False, devices=["cpu", "cpu"])
    assert started == [["cpu", "cpu"]]
    assert two.shape == one.shape and np.abs(two - one).max() < 1e-5
    assert enc.model.device.type == "cpu"
    # The same cache as one process: nothing is encoded again, by either path.
    monkeypatch.setattr(SentenceTransformer, "start_multi_process_pool", _no_pool)
    calls = []
    monkeypatch.setattr(enc, "_encode_uncached", lambda t, *a, **k: calls.append(t))
    again = enc.encode(texts[::-1], "query", cache_dir=tmp_path, devices=["cpu", "cpu"])
    plain = enc.encode(texts, "query", cache_dir=tmp_path)
    assert calls == [] and np.array_equal(again, two[::-1]) and np.array_equal(plain, two)


def test_slices_cover_every_text_once_longest_first_within_the_budget():
    lengths = [5, 40, 12, 40, 3, 7, 22, 9] * 20
    slices = list(pool_module._slices(lengths, workers=2, batch_tokens=200, max_batch=6))
    order = [int(i) for positions, _ in slices for i in positions]
    assert sorted(order) == list(range(len(lengths)))
    assert [lengths[i] for i in order] == sorted(lengths, reverse=True)
    for positions, batch in slices:
        assert 1 <= batch <= 6 and batch * max(lengths[i] for i in positions) <= 200
        assert len(positions) <= 2 * batch * pool_module.CHUNK_BATCHES
    assert slices[0][1] < slices[-1][1]  # short texts get bigger batches


def test_auto_is_one_process_without_gpus(tiny_bert, monkeypatch):
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(SentenceTransformer, "start_multi_process_pool", _no_pool)
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    texts = _texts(5)
    assert np.array_equal(enc.encode(texts, devices="auto", show_progress=False),
                          enc.encode(texts, show_progress=False))
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert pool_module.pool_devices("auto", cpu, 10**7) is None
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert pool_module.pool_devices("auto", cuda, POOL_MIN_TEXTS) == [
        "cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert pool_module.pool_devices("auto", cuda, POOL_MIN_TEXTS - 1) is None
    assert pool_module.pool_devices("auto", cpu, 10**7) is None  # the encoder was put on a CPU
    assert pool_module.pool_devices(None, cuda, 10**7) is None
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pool_module.pool_devices("auto", cuda, 10**7) is None


def test_encode_devices_is_validated_and_runtime_only():
    from corpusfit.evaluate.stage import EvaluateConfig
    from corpusfit.fields import results_dump
    from corpusfit.retrieve.mine import MineConfig

    for bad, message in ((["cuda:0"], "two or more"), (["gpu0", "cpu"], "'gpu0' is not"),
                         ("all", "auto")):
        with pytest.raises(ValueError, match=message):
            RetrievalSettings(encode_devices=bad)
    for model in (MineConfig, EvaluateConfig):
        assert model().encode_devices == "auto"
        assert results_dump(model(encode_devices=["cuda:0", "cuda:1"])) == results_dump(model())
    assert EvaluateConfig(encode_devices=["cpu", "cpu"]).retrieval().encode_devices == [
        "cpu", "cpu"]


def test_autocast_hooks_give_the_bf16_encoders_vectors(architectures):
    """Pool workers run sentence-transformers' own forward; the hooks put the bf16
    autocast of ``DenseEncoder.embed`` around it."""
    bf16 = DenseEncoder.load(str(architectures["dense-head"]), device="cpu", precision="bf16")
    texts = _texts(6)
    ours = bf16.encode(texts, "passage", show_progress=False)
    model = bf16.model
    plain = model.encode(texts, task="document", convert_to_numpy=True)
    handles = pool_module._autocast_hooks(model)
    try:
        hooked = model.encode(texts, task="document", convert_to_numpy=True)
    finally:
        for handle in handles:
            handle.remove()
    assert np.abs(plain - ours).max() > 1e-4  # bf16 differs from fp32: the test can fail
    assert np.abs(hooked - ours).max() < 1e-5
    assert not torch.is_autocast_enabled("cpu")


def test_progress_is_logged_with_the_time_left_when_stderr_is_no_terminal(
        tiny_bert, caplog, monkeypatch):
    import sys

    from corpusfit.retrieve import progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    texts = _texts(20)
    total = sum(enc._lengths(texts, "passage"))
    with caplog.at_level(logging.INFO, logger="corpusfit.retrieve.encoder"):
        enc.encode(texts, "passage", show_progress=True)
    assert not [r for r in caplog.records if "encode" in r.message]  # done within LOG_EVERY
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with caplog.at_level(logging.INFO, logger="corpusfit.retrieve.encoder"):
        enc.encode(texts, "passage", show_progress=True)
    lines = [r.getMessage() for r in caplog.records if "encode 20 passage texts" in r.message]
    assert lines and all("\r" not in line for line in lines)
    assert "100%" in lines[-1] and f"{total}/{total}" in lines[-1] and "<00:00" in lines[-1]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="corpusfit.retrieve.encoder"):
        enc.encode(texts, "passage", show_progress=False)
    assert not [r for r in caplog.records if "encode" in r.message]

"""precision: auto picks bf16 only where the hardware multiplies bf16 natively."""

from __future__ import annotations

import pytest
import torch

from corpusfit import precision


@pytest.fixture
def flags(monkeypatch):
    def set_flags(**values):
        monkeypatch.setattr(precision, "cpu_flags", lambda: values)
    return set_flags


def test_auto_cpu_needs_native_bf16(flags):
    flags(amx_bf16=True, amx_tile=True, avx512_bf16=True)  # Sapphire Rapids
    assert precision.resolve("auto", "cpu") == "bf16"
    flags(amx_bf16=False, amx_tile=False, avx512_bf16=True)  # e.g. AMD Zen 4
    assert precision.resolve("auto", "cpu") == "bf16"
    flags(avx512_f=True)  # AVX-512 without bf16 (Skylake-X, Zen 3 has none): emulated
    assert precision.resolve("auto", "cpu") == "fp32"
    flags()
    assert precision.resolve("auto", "cpu") == "fp32"


def test_explicit_values_pass_and_unknown_rejected(flags):
    flags()
    assert precision.resolve("bf16", "cpu") == "bf16"
    assert precision.resolve("fp32", "cpu") == "fp32"
    with pytest.raises(ValueError, match="precision"):
        precision.resolve("fp16", "cpu")


def test_autocast_changes_matmul_dtype_only_for_bf16():
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(2, 8)
    with precision.autocast("bf16", "cpu"):
        assert layer(x).dtype == torch.bfloat16
    with precision.autocast("fp32", "cpu"):
        assert layer(x).dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # weights are never cast


def test_bf16_encoding_close_to_fp32_and_cached_apart(tiny_bert, tmp_path):
    from corpusfit.retrieve.encoder import DenseEncoder

    texts = ["the wing of an aircraft", "heat transfer in a boundary layer", "a short one"]
    fp32 = DenseEncoder.load(str(tiny_bert), device="cpu", precision="fp32")
    bf16 = DenseEncoder.load(str(tiny_bert), device="cpu", precision="bf16")
    a, b = fp32.encode(texts, show_progress=False), bf16.encode(texts, show_progress=False)
    assert a.dtype == b.dtype == "float32"
    assert (a * b).sum(1).min() > 0.99  # same directions up to bf16 rounding
    assert not (a == b).all()  # bf16 really ran
    assert fp32.cache_namespace("passage") != bf16.cache_namespace("passage")

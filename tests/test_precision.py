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


def test_auto_cpu_needs_amx(flags):
    flags(amx_bf16=True, amx_tile=True, avx512_bf16=True)
    assert precision.resolve("auto", "cpu") == "bf16"
    flags(amx_bf16=False, amx_tile=False, avx512_bf16=True)  # e.g. AMD Zen 4
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

"""bf16 where the hardware multiplies bf16 natively, fp32 elsewhere.

``precision: auto`` picks bf16 autocast on a CUDA GPU that supports bf16 and on a CPU
with AMX bf16 tiles (Intel Sapphire Rapids and later), fp32 everywhere else. Why not
bf16 on every CPU that *accepts* bf16 (AVX512_BF16, e.g. AMD Zen 4): there torch 2.13
converts and multiplies through slower paths, and encoding measured slower than fp32
(benchmarks/results/precision.md). The choice is logged and part of the embedding
cache key, because bf16 vectors differ from fp32 ones in the third decimal.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Literal

import torch

logger = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16"]


@lru_cache(maxsize=1)
def cpu_flags() -> dict[str, bool]:
    """The bf16-relevant CPU capabilities torch detected (empty off x86)."""
    try:
        caps = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):  # older torch or a non-x86 build
        return {}
    return {k: bool(caps.get(k)) for k in ("amx_bf16", "amx_tile", "avx512_bf16", "avx512_f")}


def native_bf16(device: torch.device | str) -> bool:
    """Whether this device has bf16 matrix units that beat fp32."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        flags = cpu_flags()
        return flags.get("amx_bf16", False) and flags.get("amx_tile", False)
    return False


def resolve(precision: Precision, device: torch.device | str) -> Literal["fp32", "bf16"]:
    """``auto`` -> bf16 where :func:`native_bf16`, else fp32; explicit values pass through."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    return precision


@contextlib.contextmanager
def autocast(precision: Literal["fp32", "bf16"], device: torch.device | str) -> Iterator[None]:
    """Run the block under bf16 autocast (weights stay fp32), or unchanged for fp32."""
    if precision != "bf16":
        yield
        return
    device_type = torch.device(device).type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        yield

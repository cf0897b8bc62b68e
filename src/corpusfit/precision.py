"""bf16 where the hardware multiplies bf16 natively, fp32 elsewhere.

``precision: auto`` picks bf16 autocast on a CUDA GPU that supports bf16 and on a CPU
with bf16 dot-product instructions: AMX tiles (Intel Sapphire Rapids and later) or
AVX512_BF16 (e.g. AMD Zen 4, Intel Cooper Lake). fp32 everywhere else: a CPU without
them emulates bf16 through conversions, slower than fp32. bf16 vectors get their own
embedding cache key (they differ from fp32 ones in the third decimal).

Use :func:`resolve` to turn a config's ``precision`` into ``fp32`` or ``bf16`` for a
device, then ``with autocast(resolved, device):`` around the forward passes.
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
    """Whether this device multiplies bf16 natively (faster than fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        flags = cpu_flags()
        amx = flags.get("amx_bf16", False) and flags.get("amx_tile", False)
        return amx or flags.get("avx512_bf16", False)
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

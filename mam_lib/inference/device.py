"""Choosing a device and an optional mixed-precision context.

``resolve_device(None)`` picks CUDA when present, then Apple MPS, then the CPU. Autocast is
offered on CUDA (bf16 or fp16) and, in bf16 only, on the CPU — worth it where the processor does
bf16 arithmetic natively (Intel AMX or AVX512-BF16: :func:`cpu_has_native_bf16`), where it about
halves the time of an M2M training step; elsewhere oneDNN emulates it. Other requests raise a
clear error instead of silently running in float32.
"""
from __future__ import annotations

import contextlib
import functools
import platform
from pathlib import Path
from typing import ContextManager

import torch

from ..errors import MamError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` as a ``torch.device``; ``None`` means the best available one.

    Raises :class:`MamError` when a CUDA or MPS device is asked for but is not available.
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise MamError(f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N', 'mps' or None (the best available)") \
            from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MamError(f"device {device!r} was asked for but CUDA is not available; use device='cpu' or None")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise MamError(f"device {device!r} was asked for but Apple MPS is not available; use 'cpu' or None")
    return dev


def native_bf16_in_cpuinfo(text: str) -> bool:
    """True when a ``/proc/cpuinfo`` text lists ``amx_bf16`` or ``avx512_bf16`` among the flags."""
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(set(line.split(":", 1)[-1].split()) & {"amx_bf16", "avx512_bf16"})
    return False


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU computes in bfloat16 natively (Intel AMX or AVX512-BF16).

    Read from ``/proc/cpuinfo``, so only Linux answers True: torch has no public query for it.
    """
    if platform.system() != "Linux":
        return False
    try:
        return native_bf16_in_cpuinfo(Path("/proc/cpuinfo").read_text(errors="ignore"))
    except OSError:
        return False


def autocast_context(device: torch.device, precision: str | None) -> ContextManager:
    """Return an autocast context for ``precision`` in {None, "fp32", "bf16", "fp16"} on ``device``.

    ``None`` and ``"fp32"`` give a no-op context. CUDA takes bf16 or fp16, the CPU bf16; MPS none.
    """
    if precision in (None, "fp32", "float32"):
        return contextlib.nullcontext()
    if precision not in AUTOCAST_DTYPES:
        raise MamError(f"unknown precision {precision!r}; choose one of None, 'fp32', 'bf16', 'fp16'")
    dtype = AUTOCAST_DTYPES[precision]
    if device.type == "cpu" and dtype is torch.bfloat16:
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    if device.type != "cuda":
        raise MamError(f"mixed precision ({precision}) is not offered on {device.type}: CUDA takes bf16 or fp16, "
                       "the CPU bf16 only. Use precision=None (float32) here.")
    return torch.autocast(device_type="cuda", dtype=dtype)

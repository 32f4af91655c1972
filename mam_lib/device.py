"""Choosing a device and an optional mixed-precision context.

``resolve_device(None)`` picks CUDA when present, then Apple MPS, then the CPU. Autocast is only
offered on CUDA (bf16 or fp16); on other devices asking for it raises a clear error instead of
silently running in float32.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from .errors import MamError

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
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MamError(f"device {device!r} was asked for but CUDA is not available; use device='cpu' or None")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise MamError(f"device {device!r} was asked for but Apple MPS is not available; use 'cpu' or None")
    return dev


def autocast_context(device: torch.device, precision: str | None) -> ContextManager:
    """Return an autocast context for ``precision`` in {None, "fp32", "bf16", "fp16"} on ``device``.

    ``None`` and ``"fp32"`` give a no-op context. Mixed precision is supported on CUDA only.
    """
    if precision in (None, "fp32", "float32"):
        return contextlib.nullcontext()
    if precision not in AUTOCAST_DTYPES:
        raise MamError(f"unknown precision {precision!r}; choose one of None, 'fp32', 'bf16', 'fp16'")
    if device.type != "cuda":
        raise MamError(f"mixed precision ({precision}) is only offered on CUDA; this device is {device.type}. "
                       "Use precision=None on CPU/MPS.")
    return torch.autocast(device_type="cuda", dtype=AUTOCAST_DTYPES[precision])

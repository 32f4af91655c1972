"""The optimiser's learning-rate schedule and gradient clipping.

:func:`lr_factor` is the multiplier a ``LambdaLR`` applies to ``optim.lr``: linear warm-up, then
a cosine decay. :class:`GradClipper` clips the gradient norm against a moving maximum of past
norms; its state travels in the trainer's checkpoints.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch


def lr_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based).

    Linear warm-up ``(step + 1) / warmup_steps`` for ``step < warmup_steps``, then a cosine from 1
    down to ``min_ratio`` at ``total_steps``.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(max((step - warmup_steps) / span, 0.0), 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class GradClipper:
    """Clip the gradient norm against a moving maximum of past norms.

    The threshold is ``m``, the running maximum of recent norms, which decays by ``decay`` per step
    so that an old spike is forgotten: ``m ← max(decay·m, min(n, growth·m))`` with ``n`` this
    step's norm. A norm above ``m`` is scaled down to ``m``; a sudden spike can raise ``m`` by at
    most ``growth`` per step, while a slow drift of the norm is followed. The first ``start``
    steps only record norms. Non-finite norms (an fp16 overflow, skipped by the scaler) are
    ignored.
    """

    def __init__(self, decay: float = 0.99, start: int = 100, growth: float = 2.0, enabled: bool = True) -> None:
        self.decay = float(decay)
        self.start = int(start)
        self.growth = float(growth)
        self.enabled = bool(enabled)
        self.moving_max = 0.0
        self.seen = 0

    def __call__(self, parameters: Sequence[torch.nn.Parameter]) -> tuple[float, bool]:
        """Clip the gradients of ``parameters`` in place; returns ``(norm before clipping, clipped)``."""
        params = [p for p in parameters if p.grad is not None]
        if not params:
            return 0.0, False
        norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm=float("inf")))
        if not math.isfinite(norm):
            return norm, False
        clipped = False
        if self.enabled and self.seen >= self.start and self.moving_max > 0 and norm > self.moving_max:
            factor = self.moving_max / (norm + 1e-12)
            for p in params:
                p.grad.mul_(factor)
            clipped = True
        if self.seen == 0 or self.moving_max <= 0:
            self.moving_max = norm
        else:
            self.moving_max = max(self.decay * self.moving_max, min(norm, self.growth * self.moving_max))
        self.seen += 1
        return norm, clipped

    def state_dict(self) -> dict[str, Any]:
        return {"moving_max": self.moving_max, "seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.moving_max = float(state["moving_max"])
        self.seen = int(state["seen"])

"""Training losses of the M2M decoder: region-weighted L1, Laplacian-pyramid L1, composition, gradient.

The published recipe scores each output scale with ``L1 + Laplacian L1`` restricted to a region
(see :mod:`mam_lib.training.regions`) and sums the scales with weights os8 1/5, os4 1/5, os1 2/5.
Composition and gradient terms exist for experiments and are off by default.

Conventions for every function here:

* ``pred``, ``target``: ``(B,1,H,W)`` float alphas in [0,1] (any float dtype, any device).
* ``weight``: ``(B,1,H,W)`` region weights, bool or float in [0,1]; ``None`` means every pixel.
  A weighted mean is ``Σ w·|p−t| / (Σ w + eps)``, so an empty region gives a loss of 0.
* Everything is a tensor operation on the inputs' device; nothing goes through NumPy.

The Laplacian pyramid is written out (PyTorch has none): a 5×5 binomial kernel
``[1,4,6,4,1]ᵀ[1,4,6,4,1] / 256`` with reflect padding blurs; a level is the image minus the blurred,
sub-sampled and re-expanded image (zeros inserted, blurred with 4× the kernel). Five band-pass levels
are compared, level ``i`` weighted ``2**i``, with the region weight sub-sampled along.
The blur runs as two 5-tap passes of shifted additions (the kernel is separable) rather than one
``conv2d``: on the CPU, the backward pass of a one-channel 5×5 convolution costs milliseconds per
call, which made the loss about a quarter of a ``cpu-tiny`` training step; the result is the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn.functional as F

#: Loss weight of each M2M output scale in the published recipe.
SCALE_WEIGHTS = {"alpha_os8": 1.0 / 5.0, "alpha_os4": 1.0 / 5.0, "alpha_os1": 2.0 / 5.0}


@dataclass(frozen=True)
class LossConfig:
    """Which terms make up the loss of one scale, and how the scales are summed."""

    l1: float = 1.0  # weight of the region-weighted L1 term
    laplacian: float = 1.0  # weight of the Laplacian-pyramid L1 term
    laplacian_levels: int = 5  # band-pass levels of the pyramid (level i weighted 2**i)
    composition: float = 0.0  # weight of the composition term (needs fg and bg in the batch; off in the recipe)
    gradient: float = 0.0  # weight of the gradient (Sobel) term (off in the recipe)
    weight_os8: float = 1.0 / 5.0  # weight of the alpha_os8 scale
    weight_os4: float = 1.0 / 5.0  # weight of the alpha_os4 scale
    weight_os1: float = 2.0 / 5.0  # weight of the alpha_os1 scale

    def scale_weights(self) -> dict[str, float]:
        """``{"alpha_os8": w8, "alpha_os4": w4, "alpha_os1": w1}``."""
        return {"alpha_os8": self.weight_os8, "alpha_os4": self.weight_os4, "alpha_os1": self.weight_os1}


def _weight_like(weight: torch.Tensor | None, ref: torch.Tensor) -> torch.Tensor | None:
    if weight is None:
        return None
    w = weight.to(ref.dtype)
    if w.shape[-2:] != ref.shape[-2:]:
        raise ValueError(f"weight of size {tuple(w.shape[-2:])} does not match the prediction's {tuple(ref.shape[-2:])}")
    return w


def weighted_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                eps: float = 1e-6) -> torch.Tensor:
    """Mean absolute error over a region: ``Σ w·|p−t| / (Σ w + eps)`` (plain mean when ``weight`` is None).

    Args:
        pred, target: ``(B,C,H,W)`` float.
        weight: ``(B,1,H,W)`` or ``(B,C,H,W)`` bool/float region weights, or None. A one-channel
            weight counts once per channel of ``pred``.

    Returns:
        a scalar tensor (0 for an empty region).
    """
    diff = (pred - target).abs()
    w = _weight_like(weight, diff)
    if w is None:
        return diff.mean()
    w = w.expand_as(diff)
    return (diff * w).sum() / (w.sum() + eps)


#: One row of the binomial kernel, normalised: ``[1,4,6,4,1] / 16``.
_TAPS = tuple(t / 16.0 for t in (1.0, 4.0, 6.0, 4.0, 1.0))


def binomial_kernel(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 5×5 binomial kernel ``[1,4,6,4,1]ᵀ[1,4,6,4,1] / 256`` as ``(1,1,5,5)``."""
    row = torch.tensor(_TAPS, device=device, dtype=dtype)
    return (row[:, None] * row[None, :])[None, None]


def _blur(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """``gain`` × the 5×5 binomial blur of every channel, reflect padding (needs H, W ≥ 3).

    Equal to a depthwise ``conv2d`` with ``gain * binomial_kernel()``, done as a horizontal and a
    vertical 5-tap pass of shifted additions (see the module notes for why).
    """
    h, w = x.shape[-2:]
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    rows = sum(t * padded[..., :, i:i + w] for i, t in enumerate(_TAPS))
    return sum((gain * t) * rows[..., i:i + h, :] for i, t in enumerate(_TAPS))


def _expand(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Up-sample ×2 by zero insertion and a blur with 4× the kernel, cropped to ``size``."""
    b, c, h, w = x.shape
    up = x.new_zeros(b, c, 2 * h, 2 * w)
    up[..., ::2, ::2] = x
    return _blur(up, 4.0)[..., : size[0], : size[1]]


def laplacian_pyramid(x: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """Band-pass levels of the Laplacian pyramid of ``x``.

    Args:
        x: ``(B,C,H,W)`` float.
        levels: number of band-pass levels returned.

    Returns:
        ``levels`` tensors; level ``i`` has size ``ceil(H/2**i) × ceil(W/2**i)`` and holds
        ``g_i − expand(reduce(g_i))`` with ``g_0 = x`` and ``g_{i+1} = reduce(g_i)`` (blur, then keep
        every second row and column). The residual low-pass image is not returned.
    """
    current = x
    pyramid = []
    for _ in range(levels):
        if min(current.shape[-2:]) < 3:
            raise ValueError(f"image of size {tuple(x.shape[-2:])} is too small for a {levels}-level pyramid; "
                             f"use sides of at least {3 * 2 ** (levels - 1)} pixels or fewer levels")
        down = _blur(current)[..., ::2, ::2]
        pyramid.append(current - _expand(down, tuple(current.shape[-2:])))
        current = down
    return pyramid


def weight_pyramid(weight: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """The region weight at every pyramid level: ``weight`` sub-sampled by 2 per level (no blur)."""
    out = [weight]
    for _ in range(levels - 1):
        out.append(out[-1][..., ::2, ::2])
    return out


def laplacian_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                 levels: int = 5) -> torch.Tensor:
    """Laplacian-pyramid L1: ``Σ_i 2**i · weighted_l1(L_i(pred), L_i(target), weight_i)``.

    Args:
        pred, target: ``(B,1,H,W)`` float alphas; sides of at least ``3·2**(levels−1)`` pixels.
        weight: ``(B,1,H,W)`` region weights (sub-sampled per level) or None.
    """
    # the pyramid is linear: the pyramid of the difference is the difference of the pyramids
    bands = laplacian_pyramid(pred - target.to(pred.dtype), levels)
    weights = weight_pyramid(_weight_like(weight, pred), levels) if weight is not None else [None] * levels
    total = pred.new_zeros(())
    for i, (band, w) in enumerate(zip(bands, weights)):
        total = total + (2.0 ** i) * weighted_l1(band, torch.zeros_like(band), w)
    return total


def composition_loss(pred: torch.Tensor, target: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor,
                     weight: torch.Tensor | None = None) -> torch.Tensor:
    """L1 between the image composited with the predicted alpha and with the true alpha.

    ``α̂·F + (1−α̂)·B`` against ``α·F + (1−α)·B``: comparing with the composite of the true alpha
    (rather than the stored image) keeps the loss zero at a perfect prediction even when the image
    was degraded after compositing.

    Args:
        pred, target: ``(B,1,H,W)`` alphas in [0,1].
        fg, bg: ``(B,3,H,W)`` float in [0,1].
        weight: ``(B,1,H,W)`` region weights or None.
    """
    fg = fg.to(pred.dtype)
    bg = bg.to(pred.dtype)
    return weighted_l1(pred * fg + (1 - pred) * bg, target.to(pred.dtype) * fg + (1 - target.to(pred.dtype)) * bg, weight)


def sobel_gradients(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel derivatives of ``(B,1,H,W)``: ``(B,2,H,W)`` (replicate padding)."""
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device, dtype=x.dtype) / 8.0
    kernel = torch.stack((gx, gx.t()))[:, None]
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel)


def gradient_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """L1 between the Sobel gradients of ``pred`` and ``target`` (``(B,1,H,W)``) over the region."""
    return weighted_l1(sobel_gradients(pred), sobel_gradients(target.to(pred.dtype)), weight)


def scale_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, config: LossConfig,
               fg: torch.Tensor | None = None, bg: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """All enabled terms of one scale. Returns ``{"l1": …, "laplacian": …, …, "total": …}`` (scalars)."""
    target = target.to(pred.dtype)
    terms: dict[str, torch.Tensor] = {}
    if config.l1:
        terms["l1"] = weighted_l1(pred, target, weight)
    if config.laplacian:
        terms["laplacian"] = laplacian_l1(pred, target, weight, config.laplacian_levels)
    if config.composition:
        if fg is None or bg is None:
            raise ValueError("the composition loss needs 'fg' and 'bg' in the batch; set composition = 0 or keep them")
        terms["composition"] = composition_loss(pred, target, fg, bg, weight)
    if config.gradient:
        terms["gradient"] = gradient_loss(pred, target, weight)
    factors = {"l1": config.l1, "laplacian": config.laplacian, "composition": config.composition,
               "gradient": config.gradient}
    total = sum(factors[k] * v for k, v in terms.items())
    terms["total"] = total if torch.is_tensor(total) else pred.new_zeros(())
    return terms


def multiscale_loss(outputs: Mapping[str, torch.Tensor], alpha: torch.Tensor,
                    regions: Mapping[str, torch.Tensor | None], config: LossConfig | None = None,
                    fg: torch.Tensor | None = None, bg: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss: the scales' losses weighted os8 1/5, os4 1/5, os1 2/5 (by default).

    Args:
        outputs: ``alpha_os8``, ``alpha_os4``, ``alpha_os1``: ``(B,1,H,W)`` predictions.
        alpha: ``(B,1,H,W)`` the true alpha.
        regions: the region weight of each scale (same keys), ``(B,1,H,W)`` bool/float or None.
        config: which terms and scale weights.
        fg, bg: ``(B,3,H,W)`` in [0,1], only for the composition term.

    Returns:
        ``(total, parts)``: the scalar loss to back-propagate and a dict of floats
        (``loss``, ``loss_os8``, ``loss_os4``, ``loss_os1`` and each term per scale, e.g. ``l1_os1``).
    """
    cfg = config or LossConfig()
    total = None
    parts: dict[str, torch.Tensor] = {}
    for name, w_scale in cfg.scale_weights().items():
        if not w_scale:
            continue
        terms = scale_loss(outputs[name], alpha, regions.get(name), cfg, fg, bg)
        suffix = name.replace("alpha_", "")
        for k, v in terms.items():
            parts[f"loss_{suffix}" if k == "total" else f"{k}_{suffix}"] = v.detach()
        contribution = w_scale * terms["total"]
        total = contribution if total is None else total + contribution
    if total is None:
        raise ValueError("every scale weight is 0: nothing to train")
    parts["loss"] = total.detach()
    return total, {k: float(v) for k, v in parts.items()}

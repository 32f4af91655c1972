"""Where each output scale's loss counts, step by step: the region schedule of the training recipe.

The decoder's three outputs learn different jobs. ``alpha_os8`` must get the whole matte roughly
right; ``alpha_os4`` and ``alpha_os1`` only ever replace the estimate inside bands of uncertain
pixels at inference (:mod:`mam_lib.inference.refinement`), so after a warm-up their losses are restricted
to such bands. With ``W`` the warm-up length (4000 steps in the recipe):

=====================  ==============  =================================================================
steps                  ``alpha_os8``   ``alpha_os4`` / ``alpha_os1``
=====================  ==============  =================================================================
``step < W``           everywhere      everywhere
``W ≤ step < 3W``      everywhere      per batch, at random: the unknown band of the coarse **mask**
                                       (pixels within a random width of its edge) or the trimap's
                                       unknown region
``step ≥ 3W``          everywhere      per batch, at random: the trimap's unknown region, or the
                                       **prediction band**: ``alpha_os4`` counts in the dilated uncertain
                                       pixels of ``alpha_os8``; ``alpha_os1`` in those of the os4-refined
                                       estimate
=====================  ==============  =================================================================

Widths are drawn per sample, uniformly in ``[1, max_width)`` (30 for os4, 15 for os1); a width is
the size of OpenCV's elliptical structuring element, so a band reaches about ``width / 2`` pixels
from the edge. In the prediction-band phase the loss sees the *fused* estimates the inference rule
would produce (``alpha_os4`` inside its band, ``alpha_os8`` elsewhere; then ``alpha_os1`` inside its
band over that), so what is trained is exactly what refinement later keeps.

All bands are tensor operations on the outputs' device, built from :func:`mam_lib.inference.refinement.dilate`
(the same elliptical dilation inference uses); random numbers come from a ``torch.Generator`` that
the caller seeds, so a step's regions are reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import torch
import torch.nn.functional as F

from ..inference.refinement import HIGH, LOW, dilate

#: Region kinds, as reported in :attr:`LossRegions.kinds`.
REGION_KINDS = ("everywhere", "mask_band", "trimap_band", "prediction_band")
#: Phases of the schedule, in order.
PHASES = ("warmup", "mask_or_trimap", "trimap_or_prediction")


@dataclass(frozen=True)
class RegionScheduleConfig:
    """The schedule's knobs; defaults are the published recipe."""

    warmup_steps: int = 4000  # before this step os4/os1 count everywhere (the recipe ties it to the lr warm-up)
    late_phase_factor: int = 3  # from late_phase_factor × warmup_steps on: trimap band or prediction band
    max_width_os4: int = 30  # os4 band widths are drawn in [1, max_width_os4)
    max_width_os1: int = 15  # os1 band widths are drawn in [1, max_width_os1)
    p_trimap: float = 0.5  # probability of using the trimap's unknown region in the two later phases


@dataclass
class LossRegions:
    """The regions of one step.

    Attributes:
        weights: ``alpha_os8`` / ``alpha_os4`` / ``alpha_os1`` → ``(B,1,H,W)`` bool, or None for everywhere.
        outputs: the predictions the loss should score: the decoder's, or in the prediction-band
            phase the fused estimates (same keys, ``(B,1,H,W)``).
        kinds: scale → one of :data:`REGION_KINDS`.
        phase: one of :data:`PHASES`.
        widths: scale → list of the per-sample widths drawn (empty when none were drawn).
    """

    weights: dict[str, torch.Tensor | None]
    outputs: dict[str, torch.Tensor]
    kinds: dict[str, str]
    phase: str
    widths: dict[str, list[int]] = field(default_factory=dict)


def schedule_phase(step: int, config: RegionScheduleConfig) -> str:
    """Phase of the schedule at ``step`` (0-based optimiser step): one of :data:`PHASES`."""
    if step < config.warmup_steps:
        return "warmup"
    if step < config.late_phase_factor * config.warmup_steps:
        return "mask_or_trimap"
    return "trimap_or_prediction"


def trimap_unknown(trimap: torch.Tensor) -> torch.Tensor:
    """Unknown region of a trimap: ``(B,1,H,W)`` bool.

    Accepts float trimaps in {0, 0.5, 1} and 8-bit ones in {0, 128, 255} (any value strictly
    between the definite levels counts as unknown).
    """
    t = trimap.float()
    if t.numel() and float(t.max()) > 1.5:
        t = t / 255.0
    return (t > 0.25) & (t < 0.75)


def _draw_widths(n: int, max_width: int, generator: torch.Generator | None) -> list[int]:
    if max_width <= 1:
        return [1] * n
    return torch.randint(1, max_width, (n,), generator=generator).tolist()


def _per_sample(binary: torch.Tensor, widths: list[int]) -> torch.Tensor:
    """Dilate each sample of ``(B,1,H,W)`` bool by its own elliptical width."""
    return torch.cat([dilate(binary[i:i + 1], w) for i, w in enumerate(widths)], 0)


def mask_band(mask: torch.Tensor, size: tuple[int, int], widths: list[int]) -> torch.Tensor:
    """Pixels near the edge of a coarse mask: ``dilate(m) ∧ dilate(¬m)`` per sample.

    Args:
        mask: ``(B,1,h,w)`` {0,1} float or bool at any resolution (nearest-resized to ``size``).
        size: ``(H, W)`` of the band.
        widths: one elliptical element size per sample; the band reaches about ``width/2`` pixels
            into both sides of the edge.

    Returns:
        ``(B,1,H,W)`` bool.
    """
    m = mask.float()
    if m.shape[-2:] != tuple(size):
        m = F.interpolate(m, size=tuple(size), mode="nearest")
    inside = m > 0.5
    return _per_sample(inside, widths) & _per_sample(~inside, widths)


def prediction_band(alpha: torch.Tensor, widths: list[int]) -> torch.Tensor:
    """Dilated uncertain pixels ``1/255 ≤ α ≤ 254/255`` of a prediction ``(B,1,H,W)``, per-sample widths."""
    a = alpha.detach()
    return _per_sample((a >= LOW) & (a <= HIGH), widths)


class RegionSchedule:
    """Decide, per step, where the loss of each scale counts (see the module docstring)."""

    def __init__(self, config: RegionScheduleConfig | None = None) -> None:
        self.config = config or RegionScheduleConfig()

    def phase(self, step: int) -> str:
        """Phase at ``step``: one of :data:`PHASES`."""
        return schedule_phase(step, self.config)

    def regions(self, step: int, outputs: Mapping[str, torch.Tensor], *, trimap: torch.Tensor | None,
                mask: torch.Tensor | None, generator: torch.Generator | None = None) -> LossRegions:
        """Regions of one step.

        Args:
            step: optimiser step (0-based).
            outputs: the decoder's ``alpha_os8``, ``alpha_os4``, ``alpha_os1``, each ``(B,1,H,W)``.
            trimap: ``(B,1,H,W)`` float {0,0.5,1} or uint8 {0,128,255}; needed after the warm-up.
            mask: the coarse mask M2M was given, ``(B,1,h,w)``; needed in the middle phase.
            generator: CPU generator for the random choices (seed it for reproducible steps).
        """
        cfg = self.config
        phase = self.phase(step)
        a8 = outputs["alpha_os8"]
        b = a8.shape[0]
        size = tuple(a8.shape[-2:])
        out = {k: outputs[k] for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
        weights: dict[str, torch.Tensor | None] = {"alpha_os8": None, "alpha_os4": None, "alpha_os1": None}
        kinds = {"alpha_os8": "everywhere", "alpha_os4": "everywhere", "alpha_os1": "everywhere"}
        widths: dict[str, list[int]] = {}
        if phase == "warmup":
            return LossRegions(weights, out, kinds, phase, widths)
        use_trimap = bool(torch.rand((), generator=generator) < cfg.p_trimap)
        if use_trimap:
            if trimap is None:
                raise ValueError("the region schedule needs the trimap after the warm-up; the batch has none")
            unknown = trimap_unknown(trimap).to(a8.device)
            weights["alpha_os4"] = weights["alpha_os1"] = unknown
            kinds["alpha_os4"] = kinds["alpha_os1"] = "trimap_band"
        elif phase == "mask_or_trimap":
            if mask is None:
                raise ValueError("the region schedule needs the coarse mask in its middle phase; the batch has none")
            w4 = _draw_widths(b, cfg.max_width_os4, generator)
            w1 = _draw_widths(b, cfg.max_width_os1, generator)
            m = mask.to(a8.device)
            weights["alpha_os4"] = mask_band(m, size, w4)
            weights["alpha_os1"] = mask_band(m, size, w1)
            kinds["alpha_os4"] = kinds["alpha_os1"] = "mask_band"
            widths = {"alpha_os4": w4, "alpha_os1": w1}
        else:
            w4 = _draw_widths(b, cfg.max_width_os4, generator)
            w1 = _draw_widths(b, cfg.max_width_os1, generator)
            band4 = prediction_band(out["alpha_os8"], w4)
            fused4 = torch.where(band4, out["alpha_os4"], out["alpha_os8"])
            band1 = prediction_band(fused4, w1)
            fused1 = torch.where(band1, out["alpha_os1"], fused4)
            out["alpha_os4"], out["alpha_os1"] = fused4, fused1
            weights["alpha_os4"], weights["alpha_os1"] = band4, band1
            kinds["alpha_os4"] = kinds["alpha_os1"] = "prediction_band"
            widths = {"alpha_os4": w4, "alpha_os1": w1}
        return LossRegions(weights, out, kinds, phase, widths)

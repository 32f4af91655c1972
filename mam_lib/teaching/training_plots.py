"""Figures about training: the Laplacian pyramid, the loss regions over the schedule, curves, predictions.

Every ``plot_*`` function returns a matplotlib ``Figure``. Conventions: ``alpha`` is ``(H,W)`` float in [0,1],
masks are ``(H,W)`` bool or {0,1}, images ``(H,W,3)`` uint8 RGB (:func:`image_from_sam_tensor`
turns a SAM-normalised ``(3,H,W)`` tensor back into one).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..training.regions import PHASES, RegionSchedule, schedule_phase
from ..training.losses import laplacian_pyramid
from .viz import band_overlay, show_image

_SCALES = ("alpha_os8", "alpha_os4", "alpha_os1")


def _plt():
    import matplotlib.pyplot as plt

    return plt


def image_from_sam_tensor(image: torch.Tensor) -> np.ndarray:
    """``(3,H,W)`` SAM-normalised tensor → ``(H,W,3)`` uint8 RGB."""
    from ..inference.sam import PIXEL_MEAN, PIXEL_STD

    mean = torch.tensor(PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(3, 1, 1)
    rgb = image.detach().float().cpu() * std + mean
    return rgb.clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def plot_laplacian_pyramid(alpha: np.ndarray, levels: int = 5, title: str | None = None):
    """The alpha and its ``levels`` band-pass levels (level ``i`` at ``1/2**i`` size, weight ``2**i``)."""
    plt = _plt()
    x = torch.from_numpy(np.asarray(alpha, np.float32))[None, None]
    bands = laplacian_pyramid(x, levels)
    fig, axes = plt.subplots(1, levels + 1, figsize=(2.4 * (levels + 1), 2.8))
    show_image(axes[0], np.asarray(alpha), "alpha", cmap="gray", vmin=0, vmax=1)
    for i, band in enumerate(bands):
        b = band[0, 0].numpy()
        lim = max(float(np.abs(b).max()), 1e-6)
        show_image(axes[i + 1], b, f"level {i}: {b.shape[1]}×{b.shape[0]}, ×{2 ** i}", cmap="RdBu_r",
                   vmin=-lim, vmax=lim)
    fig.suptitle(title or "Laplacian pyramid: each level keeps the detail of one scale", fontsize=10)
    fig.tight_layout()
    return fig


def plot_region_schedule(schedule: RegionSchedule, outputs: Mapping[str, torch.Tensor], trimap: torch.Tensor,
                         mask: torch.Tensor, steps: Sequence[int] | None = None, seeds: Sequence[int] = (0, 1),
                         background: np.ndarray | None = None):
    """Where each scale's loss counts at a few steps: one row per (step, random draw), one column per scale.

    Args:
        schedule: the region schedule.
        outputs: ``alpha_os8/os4/os1`` of ONE sample, ``(1,1,H,W)``.
        trimap, mask: that sample's ``(1,1,H,W)`` trimap and coarse mask.
        steps: steps to show (default: one in each phase).
        seeds: random draws per step (the schedule picks a region kind at random after the warm-up).
        background: ``(H,W)`` picture the regions are drawn over (default: the os8 output).
    """
    plt = _plt()
    cfg = schedule.config
    if steps is None:
        w = cfg.warmup_steps
        steps = [0, w + w // 2, cfg.late_phase_factor * w + 1]
    rows = [(s, seed) for s in steps for seed in (seeds if schedule_phase(s, cfg) != "warmup" else seeds[:1])]
    base = background if background is not None else outputs["alpha_os8"][0, 0].detach().cpu().numpy()
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.5, 2.5 * len(rows)), squeeze=False)
    for r, (step, seed) in enumerate(rows):
        g = torch.Generator().manual_seed(seed)
        reg = schedule.regions(step, outputs, trimap=trimap, mask=mask, generator=g)
        for c, scale in enumerate(_SCALES):
            weight = reg.weights[scale]
            band = np.ones(base.shape, bool) if weight is None else weight[0, 0].cpu().numpy()
            widths = reg.widths.get(scale)
            extra = f", width {widths[0]}" if widths else ""
            show_image(axes[r, c], band_overlay(np.asarray(base, np.float32), band),
                       f"step {step} ({reg.phase})\n{scale.replace('alpha_', '')}: {reg.kinds[scale]}{extra}")
    fig.suptitle("Loss regions (orange) per scale over the schedule", fontsize=10)
    fig.tight_layout()
    return fig


def plot_training_curves(rows: Sequence[Mapping], title: str | None = None):
    """Training loss per scale and learning rate (left), validation SAD against the coarse mask's (right).

    ``rows``: the run's log (:func:`mam_lib.training.log.read_log`).
    """
    from ..training.log import log_series

    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
    for key, style in (("loss", "-"), ("loss_os8", ":"), ("loss_os4", ":"), ("loss_os1", "--")):
        s, v = log_series(rows, "train", key)
        if s:
            ax1.plot(s, v, style, label=key)
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss")
    ax1.set_yscale("log")
    ax1.legend(fontsize=8, loc="upper right")
    s, v = log_series(rows, "train", "lr")
    if s:
        twin = ax1.twinx()
        twin.plot(s, v, color="0.6", lw=1)
        twin.set_ylabel("learning rate", color="0.5")
    s, v = log_series(rows, "val", "sad")
    if s:
        ax2.plot(s, v, "o-", label="M2M + refinement")
        s2, v2 = log_series(rows, "val", "mask_sad")
        ax2.plot(s2, v2, "s--", color="0.5", label="coarse mask as alpha")
        ax2.legend(fontsize=8)
        ax2.set_ylim(bottom=0)  # from 0: a change reads at its true size
    ax2.set_xlabel("step")
    ax2.set_ylabel("SAD in the unknown region (÷1000)")
    ax2.set_title("validation", fontsize=10)
    fig.suptitle(title or "training curves", fontsize=10)
    fig.tight_layout()
    return fig


def plot_predictions(images: Sequence[np.ndarray], masks: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                     predictions: Mapping[str, Sequence[np.ndarray]], title: str | None = None):
    """One row per sample: image, coarse mask, each named prediction, ground truth; ``title`` on top."""
    plt = _plt()
    n = len(images)
    cols = 3 + len(predictions)
    fig, axes = plt.subplots(n, cols, figsize=(2.3 * cols, 2.4 * n), squeeze=False)
    for i in range(n):
        show_image(axes[i, 0], images[i], "image" if i == 0 else None)
        show_image(axes[i, 1], np.asarray(masks[i], np.float32), "coarse mask" if i == 0 else None, cmap="gray",
                   vmin=0, vmax=1)
        for j, (name, preds) in enumerate(predictions.items()):
            show_image(axes[i, 2 + j], preds[i], name if i == 0 else None, cmap="gray", vmin=0, vmax=1)
        show_image(axes[i, cols - 1], gts[i], "ground truth" if i == 0 else None, cmap="gray", vmin=0, vmax=1)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_metric_bars(results: Mapping[str, Mapping[str, float]], key: str = "sad", title: str | None = None,
                     label: str | None = None):
    """Horizontal bars of one metric per named result, on an axis that starts at 0, each bar labelled
    with its value — so a 7 % change looks like 7 %.

    ``results``: ``{name: {key: value, …}}`` (e.g. :meth:`Trainer.validate` dicts or SAD rows);
    ``label``: the axis label (default: the key). Returns the ``Figure``.
    """
    plt = _plt()
    names = list(results)
    values = [float(results[n][key]) for n in names]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.1))
    bars = ax.barh(range(len(names)), values, color=["0.6" if "mask" in n and "M2M" not in n else "C0" for n in names])
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values + [1e-9]) * 1.18)
    for bar, v in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.3f}", va="center", fontsize=9)
    ax.set_xlabel(label or key)
    ax.set_title(title or key, fontsize=10)
    fig.tight_layout()
    return fig


def saturation(alpha: torch.Tensor | np.ndarray, tolerance: float = 0.01) -> dict[str, float]:
    """How saturated a batch of alphas is: the share of pixels within ``tolerance`` of 0 and of 1, and
    the mean. ``alpha``: any shape, float in [0,1]. A decoder whose heads' tanh saturates (e.g. a fresh
    one in eval mode) gives ``at_0 + at_1`` close to 1."""
    a = torch.as_tensor(alpha).float()
    return {"at_0": float((a <= tolerance).float().mean()), "at_1": float((a >= 1 - tolerance).float().mean()),
            "mean": float(a.mean())}


def metrics_table(results: Mapping[str, Mapping[str, float]], keys: Sequence[str] = ("sad", "mse")) -> str:
    """A plain-text table: one row per named result, SAD and MSE×1e3 columns."""
    header = f"{'':<28}" + "".join(f"{k.upper() + (' ×1e3' if k == 'mse' else ''):>12}" for k in keys)
    lines = [header]
    for name, values in results.items():
        cells = "".join(f"{(1e3 if k == 'mse' else 1.0) * values[k]:>12.3f}" for k in keys)
        lines.append(f"{name:<28}{cells}")
    return "\n".join(lines)


__all__ = ["PHASES", "image_from_sam_tensor", "metrics_table", "plot_laplacian_pyramid", "plot_metric_bars",
           "plot_predictions", "plot_region_schedule", "plot_training_curves", "saturation"]

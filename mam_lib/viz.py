"""Plotting helpers shared by the demo and the notebooks (matplotlib).

Every function draws into a given ``Axes`` (or makes a figure) and returns it, so notebooks
compose them instead of writing plotting code of their own.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib

import numpy as np

from .cutout import checkerboard, rgba_cutout


def _plt():
    import matplotlib.pyplot as plt  # imported lazily so a headless backend can be chosen first

    return plt


def use_headless_backend() -> None:
    """Switch matplotlib to the file-only ``Agg`` backend (for scripts and the CLI)."""
    matplotlib.use("Agg", force=True)


def show_image(ax, image: np.ndarray, title: str | None = None, cmap: str | None = None, vmin=None, vmax=None):
    """Draw an image (``(H,W,3)`` uint8 or ``(H,W)`` float) without axes ticks."""
    ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def draw_prompts(ax, box=None, points=None, labels=None, color: str = "#00e5ff"):
    """Draw a box (``x0,y0,x1,y1``) and points (green = foreground, red = background) on ``ax``."""
    plt = _plt()
    if box is not None:
        x0, y0, x1, y1 = np.asarray(box, dtype=float).reshape(4)
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.5))
    if points is not None:
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        lab = np.ones(len(pts), int) if labels is None else np.asarray(labels).reshape(-1)
        for (x, y), lab_i in zip(pts, lab):
            ax.scatter([x], [y], s=60, marker="*", c="#39ff14" if lab_i == 1 else "#ff3131",
                       edgecolors="white", linewidths=0.8, zorder=3)
    return ax


def overlay_mask(ax, image: np.ndarray, mask: np.ndarray, color=(30, 144, 255), opacity: float = 0.45,
                 title: str | None = None):
    """Draw ``image`` with a binary ``mask`` tinted in ``color``."""
    out = image.astype(np.float32).copy()
    m = np.asarray(mask, dtype=bool)
    out[m] = (1 - opacity) * out[m] + opacity * np.asarray(color, np.float32)
    return show_image(ax, out.astype(np.uint8), title)


def show_cutout(ax, image: np.ndarray, alpha: np.ndarray, title: str | None = None, square: int = 16):
    """Draw the cut-out (image × alpha) over a checkerboard."""
    rgba = rgba_cutout(image, alpha).astype(np.float32)
    board = checkerboard(alpha.shape, square).astype(np.float32)
    a = rgba[..., 3:] / 255.0
    return show_image(ax, (a * rgba[..., :3] + (1 - a) * board).astype(np.uint8), title)


def plot_refinement_stages(image: np.ndarray, result, gt_alpha: np.ndarray | None = None,
                           figsize: Sequence[float] = (13, 6.5)):
    """One figure of the whole inference path of a :class:`~mam_lib.predictor.MattingResult`.

    Top row: the image with its prompt, SAM's mask, ``alpha_os8``, ``alpha_os4``, ``alpha_os1``.
    Bottom row: the start of the refinement, the os4 band, the os1 band, the final alpha, the
    cut-out (or, with ``gt_alpha``, the absolute error of the final alpha).
    """
    plt = _plt()
    fig, axes = plt.subplots(2, 5, figsize=figsize, constrained_layout=True)
    show_image(axes[0, 0], image, "image + prompt")
    draw_prompts(axes[0, 0], result.box, result.points, result.labels)
    overlay_mask(axes[0, 1], image, result.mask, title=f"SAM mask (IoU pred {result.sam.iou:.2f})")
    for ax, key in zip(axes[0, 2:], ("alpha_os8", "alpha_os4", "alpha_os1")):
        show_image(ax, getattr(result, key), key, cmap="gray", vmin=0, vmax=1)
    show_image(axes[1, 0], result.start, f"start ({result.refinement.guidance} guidance)", cmap="gray", vmin=0, vmax=1)
    for ax, key, base in ((axes[1, 1], "os4", result.start), (axes[1, 2], "os1", result.after_os4)):
        overlay_mask(ax, np.repeat((base[..., None] * 255).astype(np.uint8), 3, axis=2), result.bands[key],
                     color=(255, 80, 0), title=f"{key} band ({int(result.bands[key].sum())} px replaced)")
    show_image(axes[1, 3], result.alpha, "final alpha", cmap="gray", vmin=0, vmax=1)
    if gt_alpha is not None:
        err = np.abs(result.alpha - gt_alpha)
        show_image(axes[1, 4], err, f"|error|, SAD {err.sum() / 1000:.2f}", cmap="magma", vmin=0, vmax=1)
    else:
        show_cutout(axes[1, 4], image, result.alpha, "cut-out")
    return fig

"""Figures for the data pipeline: image grids, strand zooms, prompts, trimaps and coarse masks.

All functions take numpy arrays (or the tensor dicts of
:class:`mam_lib.data.dataset.MattingDataset`) and return a ``matplotlib`` figure, or draw on a
given axis; nothing here changes data.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..data.transforms.arrays import to_float_alpha, to_float_image, to_uint8_image
from ..data.transforms.compositing import composite
from ..data.transforms.tensors import from_sam_tensor


def _plt():
    import matplotlib.pyplot as plt

    return plt


def to_display(array: Any) -> np.ndarray:
    """Anything image-like to a numpy array ``imshow`` understands.

    Accepts ``(H, W)``/``(H, W, 3)`` numpy arrays (uint8, bool or float in [0, 1]) and tensors
    ``(1, H, W)`` / ``(3, H, W)``; a 3-channel tensor with values outside [0, 1] is taken to be
    SAM-normalised and un-normalised.
    """
    if hasattr(array, "detach"):
        t = array.detach().cpu()
        if t.ndim == 3 and t.shape[0] == 3:
            if float(t.min()) < -0.01 or float(t.max()) > 1.01:
                return from_sam_tensor(t)
            return t.numpy().transpose(1, 2, 0)
        if t.ndim == 3 and t.shape[0] == 1:
            return t[0].numpy()
        return t.numpy()
    a = np.asarray(array)
    if a.dtype == bool:
        return a.astype(np.float32)
    return a


def show_images(
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    size: float = 3.0,
    cmap: str = "gray",
):
    """A grid of images (colour or grey, see :func:`to_display`) with titles; returns the figure."""
    plt = _plt()
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = to_display(images[k])
        if img.ndim == 2:
            ax.imshow(img, cmap=cmap, vmin=0, vmax=255 if img.dtype == np.uint8 else 1, interpolation="nearest")
        else:
            ax.imshow(img, interpolation="nearest")
        if titles is not None and k < len(titles):
            ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return fig


def detail_window(alpha: np.ndarray, size: int = 64) -> tuple[int, int, int]:
    """The ``size`` square (``x0, y0, size``) holding the most fractional alpha (e.g. strands)."""
    import cv2

    a = to_float_alpha(alpha)
    h, w = a.shape
    size = int(min(size, h, w))
    frac = ((a > 0.02) & (a < 0.98)).astype(np.float32)
    score = cv2.boxFilter(frac, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    half = size // 2
    inner = score[half:h - size + half + 1, half:w - size + half + 1]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return int(x), int(y), size


def show_foreground(fg: np.ndarray, alpha: np.ndarray, zoom: int = 64, bg: np.ndarray | None = None):
    """Foreground, alpha, and a nearest-neighbour zoom of the ``zoom``-pixel window with the most
    fractional alpha (composited on ``bg``, or on a checkerboard); returns the figure."""
    plt = _plt()
    x0, y0, s = detail_window(alpha, zoom)
    a = to_float_alpha(alpha)
    if bg is None:
        bg = checkerboard(a.shape, 8)
    comp = composite(to_float_image(fg), to_float_image(bg), a)
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    axes[0].imshow(fg)
    axes[0].set_title("fg (colour)")
    axes[1].imshow(a, cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("alpha")
    for ax in axes[:2]:
        ax.add_patch(plt.Rectangle((x0, y0), s, s, fill=False, color="red", lw=1.5))
    axes[2].imshow(a[y0:y0 + s, x0:x0 + s], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[2].set_title(f"alpha, {s}x{s} zoom")
    axes[3].imshow(np.clip(comp[y0:y0 + s, x0:x0 + s], 0, 1), interpolation="nearest")
    axes[3].set_title("composite, zoom")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def draw_box(ax, box: Sequence[float], color: str = "lime", lw: float = 2.0, label: str | None = None) -> None:
    """Draw an ``x0, y0, x1, y1`` box (pixel edges) on a matplotlib axis."""
    plt = _plt()
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box).reshape(-1)[:4])
    ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color=color, lw=lw, label=label))


def draw_points(ax, points: Any, labels: Any | None = None, size: float = 60.0) -> None:
    """Draw point prompts: green stars for label 1, red crosses for label 0."""
    pts = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, np.float32).reshape(-1, 2)
    lab = np.ones(len(pts)) if labels is None else np.asarray(
        labels.detach().cpu() if hasattr(labels, "detach") else labels).reshape(-1)
    pos, neg = pts[lab == 1], pts[lab != 1]
    # pixel centres are at +0.5 in our coordinates, at integers in imshow's
    ax.scatter(pos[:, 0] - 0.5, pos[:, 1] - 0.5, marker="*", s=size, c="lime", edgecolors="black", linewidths=0.7)
    ax.scatter(neg[:, 0] - 0.5, neg[:, 1] - 0.5, marker="X", s=size, c="red", edgecolors="black", linewidths=0.7)


def overlay_mask(image: np.ndarray, mask: np.ndarray, color: Sequence[float] = (0.1, 0.5, 1.0),
                 opacity: float = 0.5) -> np.ndarray:
    """``image`` (uint8 or float) with ``mask`` tinted in ``color``; returns ``(H, W, 3) uint8``."""
    img = to_float_image(np.asarray(image))
    m = np.asarray(mask, bool)[..., None]
    tint = np.asarray(color, np.float32)[None, None, :]
    out = np.where(m, (1 - opacity) * img + opacity * tint, img)
    return to_uint8_image(out.astype(np.float32))


def mask_error_map(mask: np.ndarray, alpha: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Agreement of a binary ``mask`` with ``alpha > threshold`` as a colour image: white both,
    black neither, orange mask only (false positive), blue alpha only (missed). ``(H, W, 3) uint8``."""
    gt = to_float_alpha(alpha) > threshold
    m = np.asarray(mask, bool)
    out = np.zeros(gt.shape + (3,), np.uint8)
    out[m & gt] = (255, 255, 255)
    out[m & ~gt] = (255, 140, 0)
    out[~m & gt] = (30, 110, 255)
    return out


def show_sample(sample: Mapping[str, Any], title: str | None = None, size: float = 3.0):
    """All parts of one data-set sample (numpy sample dict or tensor dict): image with box and
    points, alpha, trimap, fg, bg and, when present, the coarse mask against the alpha."""
    plt = _plt()
    image = to_display(sample["image"])
    alpha = to_display(sample["alpha"])
    panels = [("image + prompts", image), ("alpha", alpha), ("trimap", to_display(sample["trimap"])),
              ("fg", to_display(sample["fg"])), ("bg", to_display(sample["bg"]))]
    if "mask" in sample:
        mask = to_display(sample["mask"]) > 0.5
        panels.append(("mask vs alpha", mask_error_map(mask, alpha)))
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size + 0.4))
    for ax, (name, img) in zip(axes, panels):
        if img.ndim == 2:
            ax.imshow(img, cmap="gray", vmin=0, vmax=255 if img.dtype == np.uint8 else 1, interpolation="nearest")
        else:
            ax.imshow(np.clip(img, 0, 255 if img.dtype == np.uint8 else 1), interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    draw_box(axes[0], np.asarray(sample["box"].detach().cpu() if hasattr(sample["box"], "detach") else sample["box"]))
    if "points" in sample:
        draw_points(axes[0], sample["points"], sample.get("labels"))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_batch(batch: Mapping[str, Any], max_items: int = 8, size: float = 2.5):
    """Images (with boxes) over alphas for the first ``max_items`` items of a collated batch."""
    plt = _plt()
    n = min(max_items, int(batch["image"].shape[0]))
    fig, axes = plt.subplots(2, n, figsize=(size * n, 2 * size), squeeze=False)
    for k in range(n):
        axes[0, k].imshow(to_display(batch["image"][k]))
        draw_box(axes[0, k], batch["box"][k].detach().cpu().numpy())
        axes[1, k].imshow(to_display(batch["alpha"][k]), cmap="gray", vmin=0, vmax=1)
        for ax in axes[:, k]:
            ax.axis("off")
    fig.tight_layout()
    return fig


def checkerboard(size: tuple[int, int], cell: int = 16, dark: float = 0.3, light: float = 0.7) -> np.ndarray:
    """A grey checkerboard ``(H, W, 3) float32`` to show transparency behind a foreground."""
    yy, xx = np.indices(size)
    board = np.where(((yy // cell) + (xx // cell)) % 2 == 0, light, dark).astype(np.float32)
    return np.repeat(board[..., None], 3, axis=2)

"""Prompts derived from an alpha: the bounding box, a jittered box, and foreground points."""
from __future__ import annotations

import cv2
import numpy as np

from .arrays import RngLike, as_rng, to_float_alpha


def box_from_alpha(alpha: np.ndarray, rng: RngLike = None, threshold: float = 0.5) -> np.ndarray:
    """Bounding box of ``alpha > threshold``.

    Args:
        alpha: ``(H, W)`` float32 in [0, 1] (or uint8).
        rng: used only when no pixel passes the threshold: then a random box inside the image
            (at least 1/8 of each side) is returned.

    Returns:
        ``(4,) float32`` ``x0, y0, x1, y1`` in pixels; the box edges enclose the foreground
        pixels (``x1 = last column + 1``), so ``x0 <= x < x1`` for every foreground pixel.
    """
    a = to_float_alpha(alpha)
    fg = a > threshold
    cols = np.flatnonzero(fg.any(axis=0))
    if cols.size:
        rows = np.flatnonzero(fg.any(axis=1))
        return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)
    g = as_rng(rng)
    h, w = a.shape
    bw, bh = g.uniform(w / 8, w), g.uniform(h / 8, h)
    x0, y0 = g.uniform(0, w - bw), g.uniform(0, h - bh)
    return np.array([x0, y0, x0 + bw, y0 + bh], np.float32)


def jitter_box(box: np.ndarray, size: tuple[int, int], rng: RngLike = None, amount: float = 0.1) -> np.ndarray:
    """Move each box edge by up to ``amount`` of the box side (as a sloppy user would), clipped
    to the image ``size = (H, W)``. Returns ``(4,) float32``."""
    g = as_rng(rng)
    x0, y0, x1, y1 = (float(v) for v in box)
    bw, bh = x1 - x0, y1 - y0
    d = g.uniform(-amount, amount, 4) * np.array([bw, bh, bw, bh])
    out = np.array([x0 + d[0], y0 + d[1], x1 + d[2], y1 + d[3]])
    h, w = size
    out[[0, 2]] = np.clip(out[[0, 2]], 0, w)
    out[[1, 3]] = np.clip(out[[1, 3]], 0, h)
    if out[2] - out[0] < 1 or out[3] - out[1] < 1:
        return np.asarray(box, np.float32)
    return out.astype(np.float32)


def sample_points(
    alpha: np.ndarray, rng: RngLike = None, num_points: int = 1, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Random point prompts on the foreground.

    Points are drawn (with replacement) from the pixels of ``alpha > threshold`` that are
    farther from the boundary than half the largest such distance, i.e. well inside the object;
    coordinates are pixel centres. When the alpha is empty, points are uniform over the image.

    Returns:
        ``points (K, 2) float32`` of ``x, y``; ``labels (K,) int64``, all 1 (foreground).
    """
    g = as_rng(rng)
    a = to_float_alpha(alpha)
    h, w = a.shape
    fg = (a > threshold).astype(np.uint8)
    labels = np.ones(num_points, np.int64)
    if num_points == 0:
        return np.zeros((0, 2), np.float32), labels
    if not fg.any():
        pts = np.stack([g.uniform(0, w, num_points), g.uniform(0, h, num_points)], 1)
        return pts.astype(np.float32), labels
    dist = cv2.distanceTransform(np.pad(fg, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    idx = np.flatnonzero(dist >= 0.5 * float(dist.max()))
    pick = idx[g.integers(idx.size, size=num_points)]
    pts = np.stack([pick % w + 0.5, pick // w + 0.5], 1)
    return pts.astype(np.float32), labels

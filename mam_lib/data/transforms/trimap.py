"""Trimaps from alphas: definite foreground and background eroded by random widths, the rest
unknown.
"""
from __future__ import annotations

import cv2
import numpy as np

from .arrays import ALPHA_OPAQUE, RngLike, as_rng, to_float_alpha


def trimap_from_alpha(
    alpha: np.ndarray,
    rng: RngLike = None,
    width_range: tuple[int, int] = (1, 30),
) -> np.ndarray:
    """Trimap from an alpha whose definite regions are eroded by random widths.

    Definite foreground is ``alpha >= 254.5/255``, definite background ``alpha <= 0.5/255``;
    each is shrunk by its own width drawn uniformly from ``width_range`` (in pixels, Euclidean
    distance via ``cv2.distanceTransform``); everything else is unknown. With ``rng=None`` both
    widths are ``width_range[1]`` (deterministic).

    Args:
        alpha: ``(H, W) float32 in [0, 1]`` (or uint8).

    Returns:
        ``(H, W) uint8``: 0 background, 128 unknown, 255 foreground. A pixel marked 255 always
        has alpha 1 and a pixel marked 0 always has alpha 0 (in 8-bit precision).
    """
    a = to_float_alpha(alpha)
    if rng is None:
        w_fg = w_bg = int(width_range[1])
    else:
        g = as_rng(rng)
        w_fg = int(g.integers(width_range[0], width_range[1] + 1))
        w_bg = int(g.integers(width_range[0], width_range[1] + 1))
    fg = (a >= ALPHA_OPAQUE).view(np.uint8)
    bg = (a <= 1.0 - ALPHA_OPAQUE).view(np.uint8)
    trimap = np.full(a.shape, 128, np.uint8)
    # distance (in pixels) from each pixel of a region to the nearest pixel outside it (0
    # outside the region); OpenCV does not count the image border as outside
    trimap[cv2.distanceTransform(fg, cv2.DIST_L2, 3) > w_fg] = 255
    trimap[cv2.distanceTransform(bg, cv2.DIST_L2, 3) > w_bg] = 0
    return trimap

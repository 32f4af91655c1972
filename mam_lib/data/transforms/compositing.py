"""The compositing equation ``image = alpha*fg + (1-alpha)*bg`` and the "over" operator that
merges two foregrounds.
"""
from __future__ import annotations

import cv2
import numpy as np

from .arrays import to_float_alpha, to_float_image


def composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha compositing ``I = alpha*fg + (1-alpha)*bg``.

    Args:
        fg: ``(H, W, 3)`` foreground, ``uint8`` or float in [0, 1].
        bg: ``(H, W, 3)`` background, same dtype family as ``fg``.
        alpha: ``(H, W)`` (or ``(H, W, 1)``) ``float32 in [0, 1]`` or ``uint8``.

    Returns:
        ``(H, W, 3)`` image: ``uint8`` (rounded) when both ``fg`` and ``bg`` are ``uint8``,
        otherwise ``float32`` in [0, 1].
    """
    if fg.shape[:2] != bg.shape[:2] or fg.shape[:2] != alpha.shape[:2]:
        raise ValueError(f"fg {fg.shape}, bg {bg.shape} and alpha {alpha.shape} differ in size")
    a = np.ascontiguousarray(to_float_alpha(alpha).reshape(alpha.shape[:2]))
    if not (fg.dtype == np.uint8 and bg.dtype == np.uint8):
        fg, bg = to_float_image(fg), to_float_image(bg)
    # cv2.blendLinear computes (w1*fg + w2*bg) / (w1 + w2) per pixel in one pass; w1 + w2 = 1
    # here, so it is the compositing equation (uint8 results are rounded)
    return cv2.blendLinear(np.ascontiguousarray(fg), np.ascontiguousarray(bg), a, 1.0 - a)


def merge_foregrounds(
    fg1: np.ndarray, alpha1: np.ndarray, fg2: np.ndarray, alpha2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Put foreground 1 in front of foreground 2 (the "over" operator).

    ``alpha = 1 - (1-alpha1)(1-alpha2)`` and ``alpha*fg = alpha1*fg1 + (1-alpha1)*alpha2*fg2``, so
    compositing the result on any background equals compositing fg2 then fg1 on it.

    Args:
        fg1, fg2: ``(H, W, 3) float32 in [0, 1]`` (``uint8`` is converted).
        alpha1, alpha2: ``(H, W) float32 in [0, 1]``.

    Returns:
        ``fg (H, W, 3) float32 in [0, 1]``, ``alpha (H, W) float32 in [0, 1]``. Where both alphas
        are 0 the colour is the mean of the two foregrounds (it is never seen).
    """
    f1, f2 = to_float_image(fg1), to_float_image(fg2)
    a1, a2 = to_float_alpha(alpha1), to_float_alpha(alpha2)
    w2 = (1.0 - a1) * a2
    alpha = a1 + w2
    # fg = (a1*f1 + w2*f2) / (a1 + w2) in one pass; the small offset makes the colour the mean
    # of both where both alphas are 0 (it is never seen there)
    eps = np.float32(1e-4)
    fg = cv2.blendLinear(np.ascontiguousarray(f1), np.ascontiguousarray(f2), a1 + eps, w2 + eps)
    return fg, np.minimum(alpha, np.float32(1.0))

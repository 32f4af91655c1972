"""Turning a matte into files people use: alpha PNG, RGBA cut-out, composite on a new background.

All writers are atomic (a temporary file next to the destination, then a rename), so an
interrupted run never leaves a half-written PNG over a good one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image

from .atomic import atomic_path
from ..errors import ImageReadError
from .images import load_image


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """``(H,W)`` float alpha in [0,1] → uint8 in [0,255], rounded."""
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim != 2:
        raise ImageReadError(f"alpha must be a 2-D (H, W) array, got shape {a.shape}")
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def rgba_cutout(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``(H,W,4)`` uint8: the image's colours with the matte as the alpha channel."""
    img = load_image(image)
    if img.shape[:2] != np.shape(alpha):
        raise ImageReadError(f"image {img.shape[:2]} and alpha {np.shape(alpha)} differ in size")
    return np.dstack([img, alpha_to_uint8(alpha)])


def _background(background, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if isinstance(background, (tuple, list)) and len(background) == 3 and all(np.isscalar(c) for c in background):
        return np.broadcast_to(np.asarray(background, dtype=np.float32), (h, w, 3))
    bg = load_image(background)
    if bg.shape[:2] != (h, w):
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA if bg.shape[0] > h else cv2.INTER_LINEAR)
    return bg.astype(np.float32)


def composite(image: np.ndarray, alpha: np.ndarray, background: "Sequence[int] | np.ndarray | str | os.PathLike" = (0, 177, 64)) -> np.ndarray:
    """``I = αF + (1−α)B`` with the image as F: ``(H,W,3)`` uint8.

    ``background`` is an RGB colour (default green screen), an image array or a path; an image of
    another size is resized to fit (the matte is not moved).
    """
    img = load_image(image).astype(np.float32)
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    bg = _background(background, img.shape[:2])
    return np.clip(np.rint(a * img + (1.0 - a) * bg), 0, 255).astype(np.uint8)


def checkerboard(size: tuple[int, int], square: int = 16, colors=((204, 204, 204), (255, 255, 255))) -> np.ndarray:
    """``(H,W,3)`` uint8 checkerboard, the usual backdrop that shows transparency."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    board = ((yy // square + xx // square) % 2).astype(bool)
    out = np.empty((h, w, 3), np.uint8)
    out[~board] = colors[0]
    out[board] = colors[1]
    return out


def _save_png(path: "str | os.PathLike", array: np.ndarray) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return Path(path)


def save_alpha(path: "str | os.PathLike", alpha: np.ndarray) -> Path:
    """Write the matte as an 8-bit grey PNG."""
    return _save_png(path, alpha_to_uint8(alpha))


def save_rgba(path: "str | os.PathLike", image: np.ndarray, alpha: np.ndarray) -> Path:
    """Write the RGBA cut-out PNG (transparent where α = 0)."""
    return _save_png(path, rgba_cutout(image, alpha))


def save_composite(path: "str | os.PathLike", image: np.ndarray, alpha: np.ndarray, background=(0, 177, 64)) -> Path:
    """Write the composite on ``background`` (a colour, an image array or a path) as a PNG."""
    return _save_png(path, composite(image, alpha, background))

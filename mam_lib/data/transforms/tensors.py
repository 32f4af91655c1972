"""Conversion of images to and from the SAM-normalised ``(3, H, W)`` float32 layout."""
from __future__ import annotations

import cv2
import numpy as np

from .arrays import to_float_image


def _sam_stats() -> tuple[np.ndarray, np.ndarray]:
    from ...inference.sam import PIXEL_MEAN, PIXEL_STD

    return np.asarray(PIXEL_MEAN, np.float32), np.asarray(PIXEL_STD, np.float32)


def to_sam_tensor(image: np.ndarray):
    """Normalise an image as SAM expects, without resizing or padding.

    Args:
        image: ``(H, W, 3)`` RGB ``uint8`` (0..255), or float in [0, 1] (scaled by 255).

    Returns:
        ``torch.Tensor (3, H, W) float32``: ``(pixel - PIXEL_MEAN) / PIXEL_STD`` per channel,
        with :data:`mam_lib.inference.sam.PIXEL_MEAN` / ``PIXEL_STD`` on the 0-255 scale.
    """
    import torch

    return torch.from_numpy(normalize_chw(image))


def normalize_chw(image: np.ndarray) -> np.ndarray:
    """:func:`to_sam_tensor` as numpy: ``(H, W, 3)`` uint8 or float in [0, 1] to ``(3, H, W)``
    float32 ``(pixel*255 - PIXEL_MEAN) / PIXEL_STD`` (one ``cv2.transform`` pass and one
    ``cv2.split`` into the channel planes)."""
    mean, std = _sam_stats()
    x = to_float_image(image)
    scale = np.float32(255.0) / std
    m = np.zeros((3, 4), np.float32)
    m[[0, 1, 2], [0, 1, 2]] = scale
    m[:, 3] = -mean / std
    y = cv2.transform(np.ascontiguousarray(x), m)
    return hwc_to_chw(y)


def hwc_to_chw(image: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` to a contiguous ``(C, H, W)`` copy (``cv2.split`` into the planes)."""
    h, w, c = image.shape
    out = np.empty((c, h, w), image.dtype)
    cv2.split(np.ascontiguousarray(image), [out[k] for k in range(c)])
    return out


def from_sam_tensor(tensor) -> np.ndarray:
    """Inverse of :func:`to_sam_tensor`: ``(3, H, W)`` normalised tensor to ``(H, W, 3) uint8``."""
    mean, std = _sam_stats()
    x = tensor.detach().cpu().numpy().astype(np.float32).transpose(1, 2, 0)
    return np.clip(x * std + mean + 0.5, 0, 255).astype(np.uint8)

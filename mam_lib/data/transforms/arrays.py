"""The array conventions every transform shares: dtypes, value ranges, random generators.

Colours are ``(H, W, 3)`` RGB, ``uint8`` (0..255) or ``float32 in [0, 1]``; alphas are ``(H, W)``
``float32 in [0, 1]`` (``uint8`` and ``uint16`` alphas are converted). A :data:`Sample` is the
dict of arrays that the sample-dict transforms of :mod:`mam_lib.data.transforms.pipeline`
pass along.
"""
from __future__ import annotations

from typing import Any

import numpy as np

Sample = dict[str, Any]
RngLike = np.random.Generator | int | None

#: Alpha at or above this counts as definite foreground (8-bit 255), at or below
#: ``1 - ALPHA_OPAQUE`` as definite background (8-bit 0).
ALPHA_OPAQUE = np.float32(1.0 - 0.5 / 255.0)


def as_rng(rng: RngLike) -> np.random.Generator:
    """A ``np.random.Generator`` from a generator, an integer seed or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def to_float_image(image: np.ndarray) -> np.ndarray:
    """``uint8`` (0..255) or float image to ``float32 in [0, 1]`` (floats are passed through)."""
    if image.dtype == np.uint8:
        return np.multiply(image, np.float32(1.0 / 255.0), dtype=np.float32)
    return image.astype(np.float32, copy=False)


def to_uint8_image(image: np.ndarray) -> np.ndarray:
    """``float`` image in [0, 1] to ``uint8`` with rounding (``uint8`` is passed through)."""
    if image.dtype == np.uint8:
        return image
    return np.clip(image * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)


def to_float_alpha(alpha: np.ndarray) -> np.ndarray:
    """Alpha as ``(H, W) float32 in [0, 1]`` from uint8 (0..255), uint16 (0..65535) or float."""
    if alpha.dtype == np.uint8:
        return np.multiply(alpha, np.float32(1.0 / 255.0), dtype=np.float32)
    if alpha.dtype == np.uint16:
        return np.multiply(alpha, np.float32(1.0 / 65535.0), dtype=np.float32)
    return np.clip(alpha.astype(np.float32, copy=False), 0.0, 1.0)

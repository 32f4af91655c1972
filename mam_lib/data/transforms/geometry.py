"""Geometric augmentation: random affine maps, crops that keep the foreground in view, the fused
affine-and-crop warp, and random background crops.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .arrays import RngLike, as_rng, to_float_alpha


@dataclass
class AffineConfig:
    """Random affine augmentation (the ranges of the published recipe)."""

    degrees: float = 30.0  # rotation drawn uniformly in [-degrees, degrees]
    scale: tuple[float, float] = (0.8, 1.5)  # isotropic scale drawn uniformly in this range
    shear: float = 10.0  # horizontal shear angle in degrees, drawn in [-shear, shear]
    flip_prob: float = 0.5  # probability of a horizontal flip


def affine_matrix(
    center: tuple[float, float],
    degrees: float = 0.0,
    scale: float = 1.0,
    shear: float = 0.0,
    flip: bool = False,
    translate: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Affine map about ``center`` (``x, y``): flip, shear, rotate, scale, then translate.

    Returns:
        ``(2, 3) float64`` matrix for ``cv2.warpAffine`` (OpenCV wants double; it is 6 numbers).
    """
    cx, cy = center
    t = math.radians(degrees)
    sh = math.tan(math.radians(shear))
    f = -1.0 if flip else 1.0
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    lin = scale * rot @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.array([[f, 0.0], [0.0, 1.0]])
    c = np.array([cx, cy])
    offset = c - lin @ c + np.asarray(translate, np.float64)
    return np.concatenate([lin, offset[:, None]], axis=1)


def random_affine_matrix(
    size: tuple[int, int], rng: RngLike = None, config: AffineConfig | None = None
) -> np.ndarray:
    """A random ``(2, 3)`` affine matrix about the centre of an image of ``size = (H, W)``."""
    rng = as_rng(rng)
    cfg = config or AffineConfig()
    h, w = size
    return affine_matrix(
        ((w - 1) / 2.0, (h - 1) / 2.0),
        degrees=float(rng.uniform(-cfg.degrees, cfg.degrees)),
        scale=float(rng.uniform(*cfg.scale)),
        shear=float(rng.uniform(-cfg.shear, cfg.shear)),
        flip=bool(rng.random() < cfg.flip_prob),
    )


def warp(
    array: np.ndarray,
    matrix: np.ndarray,
    out_size: tuple[int, int],
    border: str = "constant",
) -> np.ndarray:
    """``cv2.warpAffine`` with bilinear interpolation into ``out_size = (H, W)``.

    ``border="constant"`` fills with 0 (for alpha), ``"replicate"`` repeats the edge (for colours
    defined everywhere), ``"reflect"`` mirrors (for real photographs).
    """
    mode = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE,
            "reflect": cv2.BORDER_REFLECT_101}[border]
    return cv2.warpAffine(array, matrix, (int(out_size[1]), int(out_size[0])),
                          flags=cv2.INTER_LINEAR, borderMode=mode, borderValue=0)


def random_affine(
    fg: np.ndarray, alpha: np.ndarray, rng: RngLike = None, config: AffineConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate, scale, shear and flip ``fg`` and ``alpha`` together, keeping their size.

    Args:
        fg: ``(H, W, 3)`` uint8 or float32 colour (edges are replicated).
        alpha: ``(H, W)`` alpha (outside the source it becomes 0).

    Returns:
        ``(fg, alpha)`` with the input dtypes and size.
    """
    m = random_affine_matrix(alpha.shape[:2], rng, config)
    size = alpha.shape[:2]
    return warp(fg, m, size, "replicate"), warp(alpha, m, size, "constant")


def _crop_center_from(
    alpha_small: np.ndarray, rng: np.random.Generator, focus_prob: float
) -> tuple[float, float] | None:
    """A random pixel (x, y) of a small alpha: of its unknown band with ``focus_prob``, else of
    its foreground; ``None`` when the alpha is empty."""
    a = to_float_alpha(alpha_small)
    choices = []
    if rng.random() < focus_prob:
        choices.append((a > 0.02) & (a < 0.98))
    choices.append(a > 0.5)
    choices.append(a > 0.0)
    for region in choices:
        idx = np.flatnonzero(region)
        if idx.size:
            k = int(idx[rng.integers(idx.size)])
            return float(k % a.shape[1]), float(k // a.shape[1])
    return None


def random_crop_origin(
    alpha: np.ndarray, crop_size: int, rng: RngLike = None, focus_prob: float = 0.8
) -> tuple[int, int]:
    """Top-left ``(x0, y0)`` of a ``crop_size`` square that keeps foreground in view.

    The crop is centred (then clamped to the image) on a random pixel of the unknown band
    ``0 < alpha < 1`` with probability ``focus_prob``, otherwise on a random foreground pixel; the
    image may be smaller than the crop (then ``x0``/``y0`` are negative and the crop is padded).
    """
    rng = as_rng(rng)
    h, w = alpha.shape[:2]
    factor = max(1, int(max(h, w) // 256))
    small = alpha[::factor, ::factor]
    c = _crop_center_from(small, rng, focus_prob)
    if c is None:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    else:
        cx, cy = (c[0] + 0.5) * factor, (c[1] + 0.5) * factor
    x0 = int(round(cx - crop_size / 2 + rng.uniform(-0.25, 0.25) * crop_size))
    y0 = int(round(cy - crop_size / 2 + rng.uniform(-0.25, 0.25) * crop_size))
    x0 = min(max(x0, min(0, w - crop_size)), max(0, w - crop_size))
    y0 = min(max(y0, min(0, h - crop_size)), max(0, h - crop_size))
    return x0, y0


def crop(array: np.ndarray, origin: tuple[int, int], crop_size: int, border: str = "constant") -> np.ndarray:
    """A ``crop_size`` square at top-left ``origin = (x0, y0)``, padded where it leaves the array."""
    x0, y0 = origin
    h, w = array.shape[:2]
    if x0 >= 0 and y0 >= 0 and x0 + crop_size <= w and y0 + crop_size <= h:
        return array[y0:y0 + crop_size, x0:x0 + crop_size].copy()
    m = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
    return cv2.warpAffine(array, m, (crop_size, crop_size), flags=cv2.INTER_NEAREST,
                          borderMode={"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE,
                                      "reflect": cv2.BORDER_REFLECT_101}[border])


def random_crop(
    fg: np.ndarray, alpha: np.ndarray, crop_size: int, rng: RngLike = None, focus_prob: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``fg`` and ``alpha`` to a ``crop_size`` square keeping foreground in view.

    Images whose shorter side is below ``crop_size`` are first enlarged to it (bilinear).
    See :func:`random_crop_origin`.
    """
    h, w = alpha.shape[:2]
    if min(h, w) < crop_size:
        s = crop_size / min(h, w)
        size = (max(crop_size, int(round(w * s))), max(crop_size, int(round(h * s))))
        fg = cv2.resize(fg, size, interpolation=cv2.INTER_LINEAR)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
    origin = random_crop_origin(alpha, crop_size, rng, focus_prob)
    return crop(fg, origin, crop_size, "replicate"), crop(alpha, origin, crop_size)


def random_affine_crop(
    fg: np.ndarray,
    alpha: np.ndarray,
    crop_size: int,
    rng: RngLike = None,
    config: AffineConfig | None = None,
    focus_prob: float = 0.8,
    fg_border: str = "replicate",
    alpha_border: str = "constant",
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`random_affine` followed by :func:`random_crop`, done as one warp into the crop.

    The crop position is chosen on a 1/8-or-smaller copy of the transformed alpha, then ``fg``
    and ``alpha`` are warped once, straight from the source into the ``crop_size`` square, so the
    cost depends on the crop size, not on the source size. Sources whose transformed extent is
    smaller than the crop are scaled up to cover it.

    Args:
        fg: ``(H, W, 3)`` uint8 or float32 colour.
        alpha: ``(H, W)`` uint8 or float32 alpha.
        crop_size: output side ``S``.
        fg_border: how colour is extended outside the source: ``"replicate"`` for foregrounds,
            ``"reflect"`` for real photographs.
        alpha_border: how alpha is extended: ``"constant"`` (0) for foregrounds, ``"reflect"``
            for real photographs (so mirrored content keeps its alpha).

    Returns:
        ``(fg (S, S, 3), alpha (S, S))`` with the input dtypes.
    """
    rng = as_rng(rng)
    h, w = alpha.shape[:2]
    m = random_affine_matrix((h, w), rng, config)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    ext = hi - lo
    if min(ext) < crop_size:  # enlarge about the centre so the transformed source covers the crop
        s = crop_size / min(ext) * 1.001
        c = (lo + hi) / 2
        m = np.concatenate([s * m[:, :2], (s * (m[:, 2] - c) + c)[:, None]], axis=1)
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        ext = hi - lo
    # choose the crop on a small copy of the transformed alpha
    factor = max(1.0, float(max(ext)) / 192.0)
    small_size = (max(2, int(math.ceil(ext[1] / factor))), max(2, int(math.ceil(ext[0] / factor))))
    to_small = np.array([[1 / factor, 0, -lo[0] / factor], [0, 1 / factor, -lo[1] / factor]])
    m_small = to_small[:, :2] @ m  # to_small after m
    m_small[:, 2] += to_small[:, 2]
    shrink = max(1, int(min(h, w) // 256))
    src_small = alpha[::shrink, ::shrink]
    m_small_src = m_small.copy()
    m_small_src[:, :2] *= shrink
    alpha_small = warp(np.ascontiguousarray(src_small), m_small_src, small_size)
    c = _crop_center_from(alpha_small, rng, focus_prob)
    if c is None:
        cx, cy = rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1])
    else:
        cx, cy = lo[0] + (c[0] + 0.5) * factor, lo[1] + (c[1] + 0.5) * factor
    jitter = rng.uniform(-0.25, 0.25, 2) * crop_size
    x0 = min(max(cx - crop_size / 2 + jitter[0], lo[0]), hi[0] - crop_size)
    y0 = min(max(cy - crop_size / 2 + jitter[1], lo[1]), hi[1] - crop_size)
    final = m.copy()
    final[0, 2] -= x0
    final[1, 2] -= y0
    size = (crop_size, crop_size)
    return warp(fg, final, size, fg_border), warp(alpha, final, size, alpha_border)


def random_background_crop(bg: np.ndarray, crop_size: int, rng: RngLike = None,
                           min_fraction: float = 0.5) -> np.ndarray:
    """A random square of ``bg`` (side between ``min_fraction`` and all of its shorter side),
    resized to ``crop_size`` and flipped with probability 0.5. Returns ``(S, S, 3)`` ``bg.dtype``."""
    g = as_rng(rng)
    h, w = bg.shape[:2]
    side = int(round(min(h, w) * g.uniform(min_fraction, 1.0)))
    side = max(1, min(side, h, w))
    y0, x0 = int(g.integers(0, h - side + 1)), int(g.integers(0, w - side + 1))
    region = bg[y0:y0 + side, x0:x0 + side]
    interp = cv2.INTER_AREA if side > 2 * crop_size else cv2.INTER_LINEAR
    out = cv2.resize(region, (crop_size, crop_size), interpolation=interp)
    if g.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)

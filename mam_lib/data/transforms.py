"""Augmentations and conversions that turn foregrounds, alphas and backgrounds into samples.

Every transform exists twice:

* as a plain function on arrays (:func:`random_affine`, :func:`merge_foregrounds`,
  :func:`trimap_from_alpha`, :func:`random_crop`, :func:`hsv_jitter`, :func:`composite`,
  :func:`degrade`, :func:`box_from_alpha`, :func:`sample_points`, :func:`to_sam_tensor`), usable
  alone;
* as a small callable class taking and returning a *sample dict* (:class:`RandomAffineCrop`,
  :class:`MergeForeground`, :class:`HSVJitter`, :class:`BackgroundCrop`, :class:`Composite`,
  :class:`Degrade`, :class:`MakeTrimap`, :class:`MakeBox`, :class:`SamplePoints`), chained with
  :class:`Compose`. :class:`mam_lib.data.dataset.MattingDataset` runs the same steps.

Sample-dict conventions (numpy stage, before tensors):

====================  ===========================================================
key                   value
====================  ===========================================================
``fg``                ``(H, W, 3) float32 in [0, 1]`` RGB foreground colour
``alpha``             ``(H, W) float32 in [0, 1]``
``bg``                ``(H, W, 3) float32 in [0, 1]`` RGB background
``image``             ``(H, W, 3) float32 in [0, 1]``, ``= alpha*fg + (1-alpha)*bg``
``trimap``            ``(H, W) uint8`` in {0, 128, 255}
``box``               ``(4,) float32`` ``x0, y0, x1, y1`` in pixels
``points``/``labels`` ``(K, 2) float32`` ``x, y`` / ``(K,) int64`` (1 = foreground)
``mask``              ``(H, W) bool`` coarse mask
====================  ===========================================================

The identity ``image = alpha*fg + (1-alpha)*bg`` holds after every transform except
:func:`degrade`, which models camera and compression artefacts on the final image only.

Everything runs in float32 (or uint8) with OpenCV (``warpAffine``, ``distanceTransform``,
``cvtColor``, ``imencode``); nothing loops over pixels in Python.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import cv2
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


# --------------------------------------------------------------------------------------------
# compositing
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# geometry: affine, crop, fused affine+crop
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# trimap, colour, degradations
# --------------------------------------------------------------------------------------------


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


@dataclass
class JitterConfig:
    """Random HSV colour jitter (applied to the foreground of composites)."""

    prob: float = 1.0  # probability of jittering at all
    hue: float = 20.0  # hue shift in degrees, drawn in [-hue, hue]
    saturation: float = 0.25  # saturation multiplied by 1 + U(-s, s)
    value: float = 0.25  # brightness multiplied by 1 + U(-v, v)


def hsv_jitter(image: np.ndarray, rng: RngLike = None, config: JitterConfig | None = None) -> np.ndarray:
    """Random hue shift and saturation/brightness scaling.

    Args:
        image: ``(H, W, 3)`` RGB, uint8 or float32 in [0, 1].

    Returns:
        ``(H, W, 3) float32 in [0, 1]``.
    """
    rng = as_rng(rng)
    cfg = config or JitterConfig()
    img = to_float_image(image)
    if rng.random() >= cfg.prob:
        return img.copy()
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)  # float32: H in [0, 360), S and V in [0, 1]
    dh = float(rng.uniform(-cfg.hue, cfg.hue))
    ds = float(1.0 + rng.uniform(-cfg.saturation, cfg.saturation))
    dv = float(1.0 + rng.uniform(-cfg.value, cfg.value))
    # per-channel scalars in single OpenCV passes; HSV2RGB wraps hues outside [0, 360)
    cv2.add(hsv, (dh, 0.0, 0.0, 0.0), dst=hsv)
    cv2.multiply(hsv, (1.0, ds, dv, 1.0), dst=hsv)
    cv2.min(hsv, (1e9, 1.0, 1.0, 1.0), dst=hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


@dataclass
class DegradationConfig:
    """Optional real-world degradations of the final image (off by default)."""

    prob: float = 0.0  # probability that a sample is degraded at all
    jpeg_prob: float = 0.5  # given degradation: probability of JPEG re-compression
    jpeg_quality: tuple[int, int] = (30, 95)  # JPEG quality range
    blur_prob: float = 0.3  # probability of a Gaussian blur
    blur_sigma: tuple[float, float] = (0.3, 1.5)  # blur sigma range in pixels
    noise_prob: float = 0.4  # probability of additive Gaussian noise
    noise_std: tuple[float, float] = (0.005, 0.04)  # noise std range (image in [0, 1])
    contrast_prob: float = 0.4  # probability of a contrast/brightness change
    contrast: tuple[float, float] = (0.7, 1.3)  # contrast factor range (about mid-grey)


def degrade(image: np.ndarray, rng: RngLike = None, config: DegradationConfig | None = None) -> np.ndarray:
    """Camera and compression artefacts: contrast, blur, noise, JPEG (each with a probability).

    ``config.prob`` gates the whole function; pass ``DegradationConfig(prob=1.0)`` to always
    degrade. The result no longer satisfies ``image = alpha*fg + (1-alpha)*bg``.

    Args:
        image: ``(H, W, 3)`` RGB, uint8 or float32 in [0, 1].

    Returns:
        ``(H, W, 3) float32 in [0, 1]``.
    """
    rng = as_rng(rng)
    cfg = config or DegradationConfig()
    img = to_float_image(image).copy()
    if rng.random() >= cfg.prob:
        return img
    if rng.random() < cfg.contrast_prob:
        c = np.float32(rng.uniform(*cfg.contrast))
        b = np.float32(rng.uniform(-0.05, 0.05))
        img = np.clip((img - 0.5) * c + 0.5 + b, 0.0, 1.0)
    if rng.random() < cfg.blur_prob:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(*cfg.blur_sigma)))
    if rng.random() < cfg.noise_prob:
        noise = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(*cfg.noise_std))
        img = np.clip(img + noise, 0.0, 1.0)
    if rng.random() < cfg.jpeg_prob:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(to_uint8_image(img), cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = to_float_image(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return img.astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# prompts
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# tensors
# --------------------------------------------------------------------------------------------


def _sam_stats() -> tuple[np.ndarray, np.ndarray]:
    from ..inference.sam import PIXEL_MEAN, PIXEL_STD

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


# --------------------------------------------------------------------------------------------
# sample-dict transforms
# --------------------------------------------------------------------------------------------


class Compose:
    """Apply sample-dict transforms in order: ``Compose([t1, t2])(sample, rng)``."""

    def __init__(self, transforms: Sequence[Callable[[Sample, np.random.Generator], Sample]]):
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, rng: RngLike = None) -> Sample:
        g = as_rng(rng)
        for t in self.transforms:
            sample = t(sample, g)
        return sample

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(t) for t in self.transforms)
        return f"Compose([\n  {inner}\n])"


@dataclass
class RandomAffineCrop:
    """Random affine then a crop keeping foreground in view (one warp); sets ``fg``, ``alpha``.

    Reads ``fg`` (uint8 or float) and ``alpha`` of any size; writes ``fg (S,S,3) float32`` and
    ``alpha (S,S) float32``. ``fg_border="reflect"`` suits real photographs.
    """

    crop_size: int
    affine: AffineConfig = field(default_factory=AffineConfig)
    focus_prob: float = 0.8  # probability of centring the crop on the unknown band
    fg_border: str = "replicate"  # how colour extends past the source edge
    alpha_border: str = "constant"  # how alpha extends past the source edge

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        fg, alpha = random_affine_crop(sample["fg"], sample["alpha"], self.crop_size, rng,
                                       self.affine, self.focus_prob, self.fg_border, self.alpha_border)
        return {**sample, "fg": to_float_image(fg), "alpha": to_float_alpha(alpha)}


@dataclass
class MergeForeground:
    """With probability ``prob``, put the sample's foreground in front of a second one.

    ``draw(rng)`` returns another ``(fg, alpha)`` source pair; it is placed with its own random
    affine and crop into the sample's frame and merged with :func:`merge_foregrounds`.
    """

    draw: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    prob: float = 0.5  # probability of merging a second foreground
    affine: AffineConfig = field(default_factory=AffineConfig)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.prob:
            return sample
        size = sample["alpha"].shape[0]
        fg2, a2 = self.draw(rng)
        fg2, a2 = random_affine_crop(fg2, a2, size, rng, self.affine, focus_prob=0.3)
        fg, alpha = merge_foregrounds(sample["fg"], sample["alpha"], fg2, a2)
        return {**sample, "fg": fg, "alpha": alpha}


@dataclass
class HSVJitter:
    """:func:`hsv_jitter` on ``key`` (``"fg"`` for composites, ``"image"`` for photographs)."""

    config: JitterConfig = field(default_factory=JitterConfig)
    key: str = "fg"

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return {**sample, self.key: hsv_jitter(sample[self.key], rng, self.config)}


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


@dataclass
class BackgroundCrop:
    """Replace ``bg`` (any size) by a random ``crop_size`` square of it, as float32 in [0, 1]."""

    crop_size: int
    min_fraction: float = 0.5  # smallest crop side as a fraction of the background's shorter side

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        bg = random_background_crop(sample["bg"], self.crop_size, rng, self.min_fraction)
        return {**sample, "bg": to_float_image(bg)}


class Composite:
    """Set ``image = alpha*fg + (1-alpha)*bg`` (float32)."""

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image = composite(to_float_image(sample["fg"]), to_float_image(sample["bg"]), sample["alpha"])
        return {**sample, "image": image}

    def __repr__(self) -> str:
        return "Composite()"


@dataclass
class Degrade:
    """:func:`degrade` on ``image``."""

    config: DegradationConfig = field(default_factory=DegradationConfig)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return {**sample, "image": degrade(sample["image"], rng, self.config)}


@dataclass
class MakeTrimap:
    """Set ``trimap`` with :func:`trimap_from_alpha`."""

    width_range: tuple[int, int] = (1, 30)  # erosion widths of the definite regions, pixels

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return {**sample, "trimap": trimap_from_alpha(sample["alpha"], rng, self.width_range)}


@dataclass
class MakeBox:
    """Set ``box`` with :func:`box_from_alpha`, optionally moved by :func:`jitter_box`."""

    jitter: float = 0.0  # max edge displacement as a fraction of the box side

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        box = box_from_alpha(sample["alpha"], rng)
        if self.jitter > 0:
            box = jitter_box(box, sample["alpha"].shape[:2], rng, self.jitter)
        return {**sample, "box": box}


@dataclass
class SamplePoints:
    """Set ``points``/``labels`` with :func:`sample_points`."""

    num_points: int = 1  # points per sample

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        pts, labels = sample_points(sample["alpha"], rng, self.num_points)
        return {**sample, "points": pts, "labels": labels}

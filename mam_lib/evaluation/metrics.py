"""Standard alpha-matting metrics: SAD, MSE, MAD, Grad and Conn.

Every metric has the signature ``f(pred, gt, region=None) -> float``:

- ``pred``, ``gt``: ``(H,W)`` alpha mattes. The dtype tells the range: ``uint8`` is read as
  ``[0,255]`` and divided by 255, ``uint16`` as ``[0,65535]``, ``bool`` as {0,1}, and floating
  point arrays must already lie in ``[0,1]``. A trailing channel axis of size 1 is dropped.
- ``region``: which pixels count. A trimap (a numeric array of 0, 128 and 255; pixels equal to 128
  count, the Composition-1k convention; other values are refused), a boolean mask (``True``
  counts), or ``None`` for the whole image.

Which reference the values match
--------------------------------
The formulas follow the Python evaluation code that most matting papers use (the
GCA-Matting / MGMatting / Matting Anything ``evaluate.py`` family, itself a port of Adobe's
MATLAB ``evaluate.m`` from Deep Image Matting):

- SAD  = Σ_region |p − g| ÷ 1000.
- MSE  = mean over the region of (p − g)²; papers print it ×1e3.
- MAD  = mean over the region of |p − g|; papers print it ×1e3.
- Grad = Σ_region (‖∇p‖ − ‖∇g‖)² ÷ 1000, with ∇ the first derivative of a Gaussian (σ = 1.4,
  half-size ⌈σ·√(−2·ln(√(2π)·σ·0.01))⌉ = 4, i.e. 9×9 taps, the 2-D filter normalised to unit L2
  norm, borders replicated). Gradients are taken on the whole image; only the sum is restricted
  to the region.
- Conn: for thresholds t = 0.1, 0.2, …, 1.0, keep the largest 4-connected component Ω_t of
  (p ≥ t) ∧ (g ≥ t); each pixel's level l is the last threshold before it first drops out of
  Ω (1 if it never does); φ = 1 − d·[d ≥ 0.15] with d = α − l, and
  Conn = Σ_region |φ_p − φ_g| ÷ 1000. Components are taken on the whole image.

Known differences from Adobe's MATLAB code, which we do not reproduce by default:

- Conn. The Python reference picks "the largest component" as the label with the most pixels,
  background label included, so whenever the thresholded foreground covers less than the rest of
  the image the *background* is kept as Ω. MATLAB keeps the largest foreground component. Apart
  from MATLAB's single precision this is the only difference between the two Conn codes, and the
  likely reason the Python values come out lower (about 5% on Composition-1k, as the authors of the
  Python port report). One consequence: under the Python rule an all-zero prediction scores
  Conn 0 whenever the ground truth's foreground covers less than half of the image.
  ``conn(..., reference="matlab")`` gives the MATLAB rule.
- Grad. MATLAB rescales each matte with ``mat2gray`` (min–max to [0,1]) before filtering; the
  Python reference divides by 255. The two agree whenever a matte spans the full 0..255 range;
  the authors of the Python port report the remaining difference as below 0.1%.
- Papers that report official Composition-1k numbers use the MATLAB code; compare numbers from
  this module with numbers produced by the same Python family.

Numerical details: everything is computed in float64. Thresholds are exact tenths (i/10), so a
``uint8`` value k counts at threshold t exactly when k/255 ≥ t in exact arithmetic, and ``uint8``
inputs, their float64 (k/255) and their float32 versions give identical Conn values. Ties between
equally large components go to the one whose first pixel comes first in row-major order (the
order of the Python reference's labelling; MATLAB scans column-major). MSE and MAD of an empty
region are 0.0, as in the reference (which divides by count + 1e-8).

Speed: no per-pixel Python; Grad uses OpenCV separable filtering, Conn uses OpenCV's
connected-component labelling (see ``benchmarks/bench_metrics.py`` for timings).
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterable

import cv2
import numpy as np

__all__ = [
    "METRIC_NAMES",
    "PAPER_SCALE",
    "to_unit_alpha",
    "region_mask",
    "sad",
    "mse",
    "mad",
    "gradient_magnitude",
    "grad",
    "conn",
    "all_metrics",
]

#: Metric names in the order tables print them.
METRIC_NAMES: tuple[str, ...] = ("sad", "mse", "mad", "grad", "conn")

#: Factor by which papers multiply each metric when they print it (MSE and MAD are shown ×1e3).
PAPER_SCALE: dict[str, float] = {"sad": 1.0, "mse": 1e3, "mad": 1e3, "grad": 1.0, "conn": 1.0}

#: Relative tolerance on the [0,1] range of float inputs (values within it are clipped).
_RANGE_TOL = 1e-6

#: Value of the unknown class in a trimap.
TRIMAP_UNKNOWN = 128


def to_unit_alpha(alpha: np.ndarray, name: str = "alpha") -> np.ndarray:
    """Return ``alpha`` as a ``(H,W)`` float64 array in [0,1].

    ``alpha``: ``(H,W)`` or ``(H,W,1)``; ``uint8`` (÷255), ``uint16`` (÷65535), ``bool`` or a float
    array already in [0,1] (values outside by more than 1e-6 raise ``ValueError``, which catches
    mattes saved as floats in [0,255]).
    """
    arr = np.asarray(alpha)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a (H,W) array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) / 65535.0
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float64, copy=False)
        lo, hi = float(out.min(initial=0.0)), float(out.max(initial=0.0))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if lo < -_RANGE_TOL or hi > 1.0 + _RANGE_TOL:
            raise ValueError(f"{name} is a float array with values in [{lo:g}, {hi:g}]; float mattes must be in "
                             "[0,1] (divide by 255, or pass a uint8 array)")
        if lo < 0.0 or hi > 1.0:
            out = np.clip(out, 0.0, 1.0)  # a new array: the caller's is never modified
        return out
    raise ValueError(f"{name} has dtype {arr.dtype}; use uint8 in [0,255], uint16, bool or float in [0,1]")


def region_mask(region: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Return the pixels that count as a ``(H,W)`` bool array.

    ``region``: ``None`` (every pixel), a bool mask (``True`` counts) or a trimap, a numeric
    ``(H,W)`` array of 0, 128 and 255 whose pixels equal to 128 count (a ``(H,W,1)`` array is
    accepted too). A trimap holding any other value raises ``ValueError`` (a trimap scaled to
    {0, 0.5, 1}, say, would otherwise count no pixel at all).
    """
    if region is None:
        return np.ones(shape, dtype=bool)
    arr = np.asarray(region)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.shape != tuple(shape):
        raise ValueError(f"region has shape {arr.shape} but the mattes have shape {tuple(shape)}")
    if arr.dtype == np.bool_:
        return arr
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"region has dtype {arr.dtype}; use a bool mask or a trimap with 128 for unknown")
    values = np.unique(arr)
    bad = values[~np.isin(values, (0, TRIMAP_UNKNOWN, 255))]
    if bad.size:
        shown = ", ".join(f"{v:g}" for v in bad[:6].tolist()) + (" …" if bad.size > 6 else "")
        raise ValueError(f"region is a trimap with values other than 0, 128 and 255 ({shown}); a trimap marks "
                         "pixels 0 = background, 128 = unknown, 255 = foreground (or pass a bool mask)")
    return arr == TRIMAP_UNKNOWN


def _prepare(pred, gt, region) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = to_unit_alpha(pred, "pred")
    g = to_unit_alpha(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred has shape {p.shape} but gt has shape {g.shape}")
    return p, g, region_mask(region, p.shape)


def _sum_in(values: np.ndarray, mask: np.ndarray) -> float:
    """Sum of ``values`` over ``mask`` (skips the indexing copy when every pixel counts)."""
    return float(values.sum()) if mask.all() else float(values[mask].sum())


def _sad(p, g, m) -> float:
    return _sum_in(np.abs(p - g), m) / 1000.0


def _mse(p, g, m) -> float:
    count = int(m.sum())
    return _sum_in(np.square(p - g), m) / count if count else 0.0


def _mad(p, g, m) -> float:
    count = int(m.sum())
    return _sum_in(np.abs(p - g), m) / count if count else 0.0


def sad(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """Sum of absolute differences over the region, ÷1000 (alpha in [0,1])."""
    return _sad(*_prepare(pred, gt, region))


def mse(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean squared error over the region (alpha in [0,1]); papers print it ×1e3. Empty region: 0."""
    return _mse(*_prepare(pred, gt, region))


def mad(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean absolute difference over the region (alpha in [0,1]); papers print it ×1e3. Empty region: 0."""
    return _mad(*_prepare(pred, gt, region))


@lru_cache(maxsize=8)
def _gaussian_derivative_taps(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """1-D taps (smoothing ``g``, derivative ``dg``) of the reference's 2-D filter ``g[i]·dg[j]``.

    The reference normalises the 2-D filter to unit L2 norm; for a separable filter that norm is
    ‖g‖·‖dg‖, so normalising each factor separately gives the same filter.
    """
    half = int(math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * 1e-2))))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-(x ** 2) / (2.0 * sigma ** 2)) / (sigma * math.sqrt(2.0 * math.pi))
    dg = -x * g / sigma ** 2
    return g / np.linalg.norm(g), dg / np.linalg.norm(dg)


def gradient_magnitude(alpha: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """Gradient magnitude ‖∇α‖ with first-derivative-of-Gaussian filters, as Grad uses it.

    ``alpha``: ``(H,W)``, any dtype :func:`to_unit_alpha` accepts. Returns ``(H,W)`` float64.
    Convolution (not correlation) with replicated borders, like ``scipy.ndimage.convolve(...,
    mode='nearest')`` in the reference and MATLAB's ``imfilter(..., 'replicate', 'conv')``.
    """
    return _gradient_magnitude(to_unit_alpha(alpha), sigma)


def _gradient_magnitude(a: np.ndarray, sigma: float) -> np.ndarray:
    g, dg = _gaussian_derivative_taps(float(sigma))
    # cv2 filters correlate; convolving with dg is correlating with dg reversed.
    dg_conv = np.ascontiguousarray(dg[::-1])
    gx = cv2.sepFilter2D(a, cv2.CV_64F, dg_conv, g, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(a, cv2.CV_64F, g, dg_conv, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx * gx + gy * gy)


def _grad(p, g, m, sigma: float = 1.4) -> float:
    diff = _gradient_magnitude(p, sigma) - _gradient_magnitude(g, sigma)
    return _sum_in(diff * diff, m) / 1000.0


def grad(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None, sigma: float = 1.4) -> float:
    """Gradient error: Σ_region (‖∇p‖ − ‖∇g‖)² ÷ 1000 (see the module docstring for the filter)."""
    return _grad(*_prepare(pred, gt, region), sigma=sigma)


def _first_pixel_key(labels: np.ndarray, stats: np.ndarray, k: int, column_major: bool) -> tuple[int, int]:
    """Position of component ``k``'s first pixel in row-major (or column-major) scan order."""
    if column_major:
        x = int(stats[k, cv2.CC_STAT_LEFT])
        return x, int(np.argmax(labels[:, x] == k))
    y = int(stats[k, cv2.CC_STAT_TOP])
    return y, int(np.argmax(labels[y] == k))


def _kept_component(both: np.ndarray, reference: str) -> np.ndarray:
    """Ω for one threshold: the component Conn keeps, as a ``(H,W)`` bool array.

    ``both``: ``(H,W)`` uint8 in {0,1}. ``reference="python"``: the label with the most pixels,
    background (label 0, the zeros of ``both``) included; ``"matlab"``: the largest foreground
    component, or nothing if there is none.
    """
    if reference == "python":
        foreground = cv2.countNonZero(both)
        if foreground <= both.size - foreground:
            # No component can outnumber the background, which wins ties too (argmax of a
            # bincount returns the first label): no labelling needed.
            return both == 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(both, connectivity=4, ltype=cv2.CV_32S)
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    if reference == "python":
        if areas[0] >= areas[1:].max(initial=-1):
            return both == 0
    elif n <= 1:
        return np.zeros(both.shape, dtype=bool)
    fg_areas = areas[1:]
    candidates = np.flatnonzero(fg_areas == fg_areas.max()) + 1
    k = int(candidates[0])
    if len(candidates) > 1:
        column_major = reference == "matlab"
        k = min((int(c) for c in candidates), key=lambda c: _first_pixel_key(labels, stats, c, column_major))
    return labels == k


def _conn(p, g, m, step: float = 0.1, theta: float = 0.15, reference: str = "python") -> float:
    if reference not in ("python", "matlab"):
        raise ValueError(f"reference must be 'python' or 'matlab', got {reference!r}")
    n_steps = int(round(1.0 / step))
    if n_steps < 1 or abs(n_steps * step - 1.0) > 1e-9:
        raise ValueError(f"step must divide 1 into a whole number of steps, got {step}")
    thresholds = np.arange(1, n_steps + 1, dtype=np.float64) / n_steps
    lowest = np.minimum(p, g)  # (p >= t) & (g >= t)  <=>  min(p, g) >= t
    alive = np.ones(p.shape, dtype=bool)      # still inside every Ω so far
    count = np.zeros(p.shape, dtype=np.uint8)  # number of consecutive thresholds survived
    for t in thresholds:
        both = (lowest >= t).view(np.uint8)
        omega = _kept_component(both, reference)
        np.logical_and(alive, omega, out=alive)
        if not alive.any():
            break
        count += alive
    # A pixel first dropping out at threshold i has level t_{i-1} = (i-1)/n = count/n; a pixel
    # that never drops out has count = n and level 1.
    level = count * (1.0 / n_steps)
    # |phi_p - phi_g| = |d_g*[d_g >= theta] - d_p*[d_p >= theta]|, computed in place.
    d_p = np.subtract(p, level)
    d_p *= d_p >= theta
    d_g = np.subtract(g, level, out=level)
    d_g *= d_g >= theta
    np.subtract(d_g, d_p, out=d_g)
    return _sum_in(np.abs(d_g, out=d_g), m) / 1000.0


def conn(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None, step: float = 0.1,
         theta: float = 0.15, reference: str = "python") -> float:
    """Connectivity error Σ_region |φ_p − φ_g| ÷ 1000 (see the module docstring).

    ``reference``: ``"python"`` (default) keeps, at each threshold, the label with the most pixels
    with the background counted, as the Python evaluation code of the matting literature does;
    ``"matlab"`` keeps the largest foreground component, as Adobe's MATLAB code does.
    """
    return _conn(*_prepare(pred, gt, region), step=step, theta=theta, reference=reference)


_METRIC_FUNCS = {"sad": _sad, "mse": _mse, "mad": _mad, "grad": _grad, "conn": _conn}


def all_metrics(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None,
                metrics: Iterable[str] = METRIC_NAMES, conn_reference: str = "python") -> dict[str, float]:
    """Compute several metrics at once, converting the inputs only once.

    Returns ``{name: value}`` in the order of ``metrics`` (unscaled: MSE and MAD as plain means;
    multiply by :data:`PAPER_SCALE` to print them as papers do). ``conn_reference`` is passed to
    :func:`conn` as ``reference``.
    """
    p, g, m = _prepare(pred, gt, region)
    out: dict[str, float] = {}
    for name in metrics:
        if name not in _METRIC_FUNCS:
            raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)}")
        if name == "conn":
            out[name] = _conn(p, g, m, reference=conn_reference)
        else:
            out[name] = _METRIC_FUNCS[name](p, g, m)
    return out

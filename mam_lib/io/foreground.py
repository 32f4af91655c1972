"""Foreground colour estimation: the colour ``F`` of the object where the matte is fractional.

A photo is ``I = αF + (1−α)B``. Where ``α`` is strictly between 0 and 1 (hair, soft edges,
glass) the pixel mixes the object's colour ``F`` with the old background ``B``. A cut-out that
keeps the image's colours (``I`` with ``α`` as its alpha channel) therefore carries the old
background into its edges: placed on a new background ``B'`` it shows ``αI + (1−α)B'``, a halo of
``α(1−α)(B − F)``. Estimating ``F`` and writing it instead removes the halo.

:func:`estimate_foreground` runs pymatting's multilevel method (``estimate_foreground_ml``,
Germer et al. 2020: a coarse-to-fine solve of ``I = αF + (1−α)B`` with smooth ``F`` and ``B``)
**on the transition band only**. Pixels with ``α = 0`` or ``α = 1`` need no estimate (``F = I``
where ``α = 1``; ``F`` does not matter where ``α = 0``), so the image is cut into square tiles,
and the method runs on each tile that holds band pixels, enlarged by a margin of context on every
side; the estimate is kept on that tile's band pixels only. A 4000×3000 photo whose band is a thin
outline then costs a small fraction of the whole-image solve. When the enlarged tiles would cover
the whole image anyway, one whole-image solve is run instead.

The tiling is the only hand-written part (with the repetition of a lone pixel, which the method
cannot take): pymatting estimates a whole array at a time.

**Band.** A pixel belongs to the band when its alpha, rounded to 8 bits as the written files store
it, is neither 0 nor 255 (:func:`transition_band`): ``0.5/255 ≤ α < 254.5/255``. Everywhere
else the result is the image's own colour, so files and composites are unchanged outside the band.

**Tiles versus the whole image.** The method is multilevel: its coarsest levels see the whole
array it is given (it also starts from the mean colours of the array's ``α > 0.9`` and ``α < 0.1``
pixels), so a tile's estimate is not identical to the whole-image one. Measured on procedural
composites at 2048×1536 with the defaults (512-pixel tiles, 64 pixels of context): the two differ
by 0.65 of 8-bit level on average in the band (alpha-weighted; single pixels where the colour is
barely determined by up to 77 levels), and the tiled estimate is as close to the true colour
(error 1.82 levels against 1.87 for the whole image and 9.45 for the image's own colours).
``benchmarks/bench_foreground.py`` measures it (``benchmarks/results/foreground_cpu.txt``).
Pass ``band_only=False`` for the whole-image solve.

**Cost.** pymatting compiles its kernels with numba the first time it is imported in an
installation (every kernel of the package: about 110 s on 2 busy cores, then cached on disk next
to the package); a later import takes about 1.5 s, once per process, on the first call that finds
band pixels. The estimate is linear in the pixels it covers: 0.2–0.35 s at 1024×768, 1.6–2.9 s
band-only against 5.1–5.7 s whole-image at 4000×3000 (2 cores). pymatting's resizing kernels run
with numba's thread pool; they are a small part of the work and their parallel sections cost more
than they save on a busy machine (0.90 s against 0.31 s with one thread, 1024×768), so the
estimate runs with one numba thread (set for the calling thread only, and restored).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ImageReadError, MamError
from .images import FLOAT_TOLERANCE, image_to_uint8

#: Default tile side of the band-only estimation, in pixels.
DEFAULT_TILE = 512
#: Default context added on every side of a tile, in pixels.
DEFAULT_MARGIN = 64


def alpha_as_float(alpha: np.ndarray, shape: "tuple[int, int] | None" = None) -> np.ndarray:
    """A matte as ``(H,W)`` float32 in [0,1].

    Accepts float in [0,1] (values within 1/512 outside are clipped), uint8 (÷255), uint16
    (÷65535) and bool. ``shape``, when given, is the ``(H, W)`` the matte must have (the image's).
    Raises :class:`ImageReadError` for another shape, dtype or range and :class:`MamError` for
    NaN or infinite values.
    """
    a = np.asarray(alpha)
    if a.ndim != 2:
        raise ImageReadError(f"alpha must be a 2-D (H, W) array, got shape {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise ImageReadError(f"image {tuple(shape)} and alpha {a.shape} differ in size: give the matte of this image")
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / np.float32(65535)
    if not np.issubdtype(a.dtype, np.floating):
        raise ImageReadError(f"alpha has dtype {a.dtype}; give float in [0, 1] (or uint8 0..255)")
    f = a.astype(np.float32, copy=False)
    if not np.isfinite(f).all():
        raise MamError("the matte holds NaN or infinite values, so no foreground can be estimated: the model "
                       "produced non-finite outputs (check its weights, or the input image)")
    lo, hi = float(f.min()), float(f.max())
    if lo < -FLOAT_TOLERANCE or hi > 1.0 + FLOAT_TOLERANCE:
        raise ImageReadError(f"alpha is {a.dtype} with values in [{lo:g}, {hi:g}]; a float matte must be in [0, 1]")
    return np.clip(f, 0.0, 1.0)


def transition_band(alpha: np.ndarray) -> np.ndarray:
    """``(H,W)`` bool: the pixels whose alpha, rounded to 8 bits, is neither 0 nor 255.

    ``alpha``: ``(H,W)`` float in [0,1] (or any dtype :func:`alpha_as_float` accepts).
    """
    a = alpha_as_float(alpha)
    return (a >= np.float32(0.5 / 255)) & (a < np.float32(254.5 / 255))


def _check_settings(tile: int, margin: int, regularization: float, gradient_weight: float) -> None:
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 16:
        raise ConfigError(f"tile must be a whole number of pixels of at least 16, got {tile!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, np.integer)) or margin < 0:
        raise ConfigError(f"margin must be a whole number of pixels of at least 0, got {margin!r}")
    for name, value in (("regularization", regularization), ("gradient_weight", gradient_weight)):
        if not np.isfinite(value) or value < 0:
            raise ConfigError(f"{name} must be a number ≥ 0, got {value!r}")
    if regularization == 0 and gradient_weight == 0:
        raise ConfigError("regularization and gradient_weight cannot both be 0: the estimate would be undetermined")


def _solve(image_u8: np.ndarray, alpha: np.ndarray, regularization: float, gradient_weight: float) -> np.ndarray:
    """pymatting's multilevel estimate on one array: ``(h,w,3)`` float32 in [0,1]."""
    import numba  # imported on use, as pymatting: loading them takes seconds
    from pymatting import estimate_foreground_ml

    h, w = alpha.shape
    if max(h, w) < 2:  # the method needs log2(longest side) > 0 levels: repeat the pixel
        image_u8 = np.pad(image_u8, ((0, 1), (0, 1), (0, 0)), mode="edge")
        alpha = np.pad(alpha, ((0, 1), (0, 1)), mode="edge")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # for this thread only; see "Cost" in the module docstring
    try:
        f = estimate_foreground_ml(image_u8.astype(np.float32) / np.float32(255), alpha,
                                   regularization=float(regularization), gradient_weight=float(gradient_weight))
    finally:
        numba.set_num_threads(threads)
    return np.asarray(f, dtype=np.float32)[:h, :w]


def band_tiles(band: np.ndarray, tile: int = DEFAULT_TILE, margin: int = DEFAULT_MARGIN
               ) -> list[tuple[tuple[slice, slice], tuple[slice, slice]]]:
    """The tiles of ``band`` (``(H,W)`` bool) that hold band pixels, row by row.

    Each entry is ``(inner, outer)``: ``inner`` the tile's ``(rows, cols)`` slices (tiles do not
    overlap; they cover the image), ``outer`` the tile enlarged by ``margin`` pixels on every side,
    clipped to the image.
    """
    h, w = band.shape
    ny, nx = -(-h // tile), -(-w // tile)
    padded = np.zeros((ny * tile, nx * tile), bool)
    padded[:h, :w] = band
    occupied = padded.reshape(ny, tile, nx, tile).any(axis=(1, 3))
    out = []
    for ty, tx in zip(*np.nonzero(occupied)):
        y0, x0 = int(ty) * tile, int(tx) * tile
        y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
        inner = (slice(y0, y1), slice(x0, x1))
        outer = (slice(max(0, y0 - margin), min(h, y1 + margin)), slice(max(0, x0 - margin), min(w, x1 + margin)))
        out.append((inner, outer))
    return out


def estimate_foreground(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    band_only: bool = True,
    tile: int = DEFAULT_TILE,
    margin: int = DEFAULT_MARGIN,
    regularization: float = 1e-5,
    gradient_weight: float = 1.0,
) -> np.ndarray:
    """The foreground colour ``F`` of ``image`` under ``alpha``: ``(H,W,3)`` float32 in [0,1].

    Args:
        image: ``(H,W,3)`` uint8 RGB, or any array :func:`mam_lib.io.images.image_to_uint8`
            accepts (float in [0,1], uint16, grey, RGBA…).
        alpha: ``(H,W)`` float in [0,1] (uint8 0..255 and bool also accepted).
        band_only: estimate on the tiles that hold transition pixels (default), or on the whole
            image at once (``False``: slower on large images, same colours up to the small
            differences described in the module docstring).
        tile: side of the tiles, in pixels (≥ 16).
        margin: context added on every side of a tile, in pixels (≥ 0).
        regularization, gradient_weight: pymatting's smoothness weights (its defaults).

    Returns:
        Straight (not premultiplied) foreground colours: the estimate on the band
        (:func:`transition_band`), the image's own colours (÷255) everywhere else. An ``alpha``
        without band pixels returns the image at once, without loading pymatting.

    Raises :class:`ImageReadError` for an image or matte of the wrong shape, dtype or range (or of
    different sizes), :class:`MamError` for a matte with NaN, :class:`ConfigError` for bad settings.
    """
    _check_settings(tile, margin, regularization, gradient_weight)
    img = image_to_uint8(image, "the image")
    a = alpha_as_float(alpha, img.shape[:2])
    band = (a >= np.float32(0.5 / 255)) & (a < np.float32(254.5 / 255))
    out = img.astype(np.float32) / np.float32(255)
    if not band.any():
        return out
    tiles = band_tiles(band, int(tile), int(margin)) if band_only else []
    covered = sum((o[0].stop - o[0].start) * (o[1].stop - o[1].start) for _, o in tiles)
    if not band_only or covered >= band.size:
        f = _solve(img, a, regularization, gradient_weight)
        out[band] = f[band]
        return out
    for (ys, xs), (oy, ox) in tiles:
        f = _solve(img[oy, ox], a[oy, ox], regularization, gradient_weight)
        sel = band[ys, xs]
        inner = f[ys.start - oy.start: ys.stop - oy.start, xs.start - ox.start: xs.stop - ox.start]
        out[ys, xs][sel] = inner[sel]
    return out


def foreground_to_uint8(fg: np.ndarray) -> np.ndarray:
    """``(H,W,3)`` float foreground in [0,1] → uint8 in [0,255], rounded."""
    return np.clip(np.rint(np.asarray(fg, np.float32) * np.float32(255)), 0, 255).astype(np.uint8)

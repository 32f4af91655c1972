"""Simulated SAM masks: a binary, slightly wrong version of a ground-truth alpha.

The Mask-to-Matte decoder refines a coarse mask into an alpha matte. With real SAM weights the
mask comes from SAM; without them (offline training, tests, CPU tutorials) this module makes a
mask with the typical errors of a SAM mask, in the spirit of the perturbed masks used to train
mask-guided matting refiners:

1. **Threshold** – the alpha is binarised at a threshold drawn from ``threshold_range``
   (SAM's masks cut semi-transparent regions at an unpredictable level).
2. **Low resolution** – with probability ``lowres_prob`` the binary mask is reduced so its longer
   side is ``lowres_size`` pixels (SAM predicts 256x256 logits); the next steps run on that
   small mask, which is finally enlarged with bilinear interpolation and re-thresholded:
   corners round off and details below a few pixels vanish (and the simulation is cheap).
3. **Missed thin parts** – with probability ``thin_prob`` a morphological opening with a disc of
   radius in ``thin_radius`` pixels removes strands, fingers and other structures thinner than
   about twice that radius.
4. **Erosion / dilation** – the mask grows or shrinks by a signed distance drawn in
   ``morph_range`` pixels (negative erodes, positive dilates).
5. **Boundary jitter** – the boundary moves by smooth noise of amplitude up to ``jitter``
   pixels (the signed distance to the boundary is perturbed by low-frequency noise). Steps 4
   and 5 happen together with probability ``boundary_prob`` (SAM's boundary is often right).
6. **Holes** – with probability ``hole_prob``, 1 to ``max_holes`` blobs of radius in
   ``hole_radius`` (fraction of the object size) are cut from the inside of the mask.
7. **Spurious blobs** – with probability ``blob_prob``, a few blobs touching the object are added
   (SAM often leaks into neighbouring regions).

Pixel sizes are given for a 1024-pixel image and scaled with ``max(H, W) / 1024``.

Guarantees (checked by the tests): the output is a ``bool`` array of the alpha's size; with every
step disabled (:meth:`CoarseMaskConfig.exact`) it equals ``alpha > 0.5``; without holes, thin-part
removal and blobs, every changed pixel lies within ``|morph| + jitter (+ low-resolution blur)``
pixels of the boundary of ``alpha > threshold``; dilation-only configs contain ``alpha >
threshold`` and erosion-only configs are contained in it; the same ``rng`` seed gives the same
mask; an all-zero alpha gives an all-False mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .procedural import value_noise
from .transforms.arrays import as_rng, to_float_alpha


@dataclass
class CoarseMaskConfig:
    """Perturbations of :func:`simulate_coarse_mask`; pixel values are for a 1024-pixel side."""

    threshold_range: tuple[float, float] = (0.2, 0.8)  # binarisation threshold of the alpha
    lowres_prob: float = 0.7  # probability of the low-resolution round trip
    lowres_size: int = 256  # longer side of the low-resolution mask (SAM's logit size)
    thin_prob: float = 0.5  # probability of removing thin parts with an opening
    thin_radius: tuple[float, float] = (2.0, 8.0)  # radius of the opening disc, pixels
    boundary_prob: float = 1.0  # probability of the boundary errors (erosion/dilation and jitter) at all
    morph_range: tuple[float, float] = (-12.0, 12.0)  # signed erosion(-)/dilation(+), pixels
    jitter: float = 8.0  # max amplitude of boundary displacement noise, pixels
    jitter_scale: float = 0.08  # spatial scale of the jitter noise, fraction of the image side
    hole_prob: float = 0.15  # probability of cutting holes
    max_holes: int = 3  # at most this many holes
    hole_radius: tuple[float, float] = (0.03, 0.12)  # hole radius, fraction of the object size
    blob_prob: float = 0.1  # probability of adding spurious blobs next to the object
    max_blobs: int = 2  # at most this many blobs

    @classmethod
    def exact(cls) -> "CoarseMaskConfig":
        """No perturbation: the mask is ``alpha > 0.5``."""
        return cls(threshold_range=(0.5, 0.5), lowres_prob=0.0, thin_prob=0.0, morph_range=(0.0, 0.0),
                   jitter=0.0, hole_prob=0.0, blob_prob=0.0)

    @classmethod
    def mild(cls) -> "CoarseMaskConfig":
        """Small boundary errors only (a good SAM mask)."""
        return cls(threshold_range=(0.4, 0.6), morph_range=(-4.0, 4.0), jitter=3.0, thin_prob=0.3,
                   hole_prob=0.0, blob_prob=0.0)

    @classmethod
    def sam_like(cls) -> "CoarseMaskConfig":
        """The errors SAM's masks have on photographs: a boundary that is exact or off by a few
        pixels, thin parts (strands, fingers) missed, the detail of a 256² logit grid, an
        occasional leak into a neighbour — and no holes cut into the object."""
        return cls(boundary_prob=0.5, morph_range=(-8.0, 8.0), jitter=6.0, hole_prob=0.0, blob_prob=0.05)

    @classmethod
    def hard(cls) -> "CoarseMaskConfig":
        """Large errors: strong erosion/dilation, jitter, frequent holes and leaks."""
        return cls(morph_range=(-25.0, 25.0), jitter=16.0, thin_prob=0.8, hole_prob=0.4, blob_prob=0.3)


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """Signed Euclidean distance from pixel centres to the boundary, taken half a pixel beyond
    the outermost mask pixels: positive inside (0.5 for boundary pixels), negative outside
    (-0.5 next to the mask), float32."""
    m = mask.astype(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return np.where(m > 0, inside - 0.5, 0.5 - outside).astype(np.float32)


def simulate_coarse_mask(
    alpha: np.ndarray,
    rng: np.random.Generator | int | None = None,
    config: CoarseMaskConfig | None = None,
) -> np.ndarray:
    """Make a SAM-like coarse mask from a ground-truth alpha (see the module docstring).

    Args:
        alpha: ``(H, W) float32 in [0, 1]`` (uint8 0..255 is accepted).
        rng: generator or seed; the same seed gives the same mask.
        config: perturbations; ``None`` uses the defaults of :class:`CoarseMaskConfig`.

    Returns:
        ``(H, W) bool`` mask.
    """
    g = as_rng(rng)
    cfg = config or CoarseMaskConfig()
    a = to_float_alpha(alpha)
    h, w = a.shape
    px = max(h, w) / 1024.0  # pixel sizes in the config are for a 1024 side

    t = float(g.uniform(*cfg.threshold_range))
    mask = a > t
    if not mask.any():
        return mask

    lowres = g.random() < cfg.lowres_prob and max(h, w) > cfg.lowres_size
    if lowres:  # continue on a low-resolution mask, enlarged at the end (as SAM's 256x256 logits)
        s = cfg.lowres_size / max(h, w)
        small = cv2.resize(mask.view(np.uint8).astype(np.float32), (max(1, round(w * s)), max(1, round(h * s))),
                           interpolation=cv2.INTER_AREA)
        mask = small > 0.5
        px *= s
        if not mask.any():
            return np.zeros((h, w), bool)
    mask = _perturb(mask, g, cfg, px)
    if lowres:
        mask = cv2.resize(mask.view(np.uint8).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    return mask


def _perturb(mask: np.ndarray, g: np.random.Generator, cfg: CoarseMaskConfig, px: float) -> np.ndarray:
    """Steps 3-7 of the module docstring on a binary mask; ``px`` is pixels per 1024-frame pixel."""
    h, w = mask.shape

    if g.random() < cfg.thin_prob:
        r = max(1, int(round(g.uniform(*cfg.thin_radius) * px)))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc) > 0

    morph = float(g.uniform(*cfg.morph_range)) * px
    amp = float(g.uniform(0.0, cfg.jitter)) * px
    if cfg.boundary_prob < 1.0 and g.random() >= cfg.boundary_prob:  # no draw at 1.0: the default stream is kept
        morph = amp = 0.0
    if (morph != 0.0 or amp > 0.0) and mask.any():
        sd = _signed_distance(mask)
        level = np.float32(-morph)
        if amp > 0.0:
            noise = value_noise(g, (h, w), max(4.0, cfg.jitter_scale * max(h, w)), octaves=2)
            level = level + np.float32(amp) * (2.0 * noise - 1.0)
        mask = sd > level

    if g.random() < cfg.hole_prob and mask.any():
        m8 = mask.astype(np.uint8)
        ys, xs = np.nonzero(m8)
        size = float(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)
        inner = cv2.distanceTransform(m8, cv2.DIST_L2, 3)
        for _ in range(int(g.integers(1, cfg.max_holes + 1))):
            r = g.uniform(*cfg.hole_radius) * size
            cand = np.flatnonzero(inner > r * 1.2)
            if cand.size == 0:
                break
            k = int(cand[g.integers(cand.size)])
            cv2.ellipse(m8, (k % w, k // w), (max(1, int(r)), max(1, int(r * g.uniform(0.5, 1.0)))),
                        float(g.uniform(0, 180)), 0, 360, 0, -1)
        mask = m8 > 0

    if g.random() < cfg.blob_prob and mask.any():
        m8 = mask.astype(np.uint8)
        edge = np.flatnonzero(cv2.morphologyEx(m8, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)))
        ys, xs = np.nonzero(m8)
        size = float(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)
        for _ in range(int(g.integers(1, cfg.max_blobs + 1))):
            if edge.size == 0:
                break
            k = int(edge[g.integers(edge.size)])
            r = g.uniform(0.03, 0.1) * size
            cv2.ellipse(m8, (k % w, k // w), (max(1, int(r)), max(1, int(r * g.uniform(0.4, 1.0)))),
                        float(g.uniform(0, 180)), 0, 360, 1, -1)
        mask = m8 > 0
    return mask


def mask_iou(mask: np.ndarray, alpha: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of a binary ``mask`` and ``alpha > threshold`` (1.0 when both are empty)."""
    gt = to_float_alpha(alpha) > threshold
    union = np.count_nonzero(mask | gt)
    return 1.0 if union == 0 else float(np.count_nonzero(mask & gt)) / union


__all__ = ["CoarseMaskConfig", "simulate_coarse_mask", "mask_iou"]

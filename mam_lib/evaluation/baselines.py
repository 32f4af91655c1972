"""Baselines to compare MAM against: a mask used as the alpha, and classical trimap-based matting.

- "mask as alpha": the coarse mask (SAM's, or a simulated one) taken as the matte, α ∈ {0, 1}.
  It is what segmentation alone gives, and the floor any matting stage must beat.
- Closed-form matting (Levin et al. 2008) and KNN matting (Chen et al. 2013), both from
  ``pymatting``, fed a trimap made from the coarse mask: the mask eroded by ``erode_px`` pixels
  is definite foreground, the outside of the mask dilated by ``dilate_px`` pixels is definite
  background, the band between is unknown (:func:`trimap_from_mask`).

``pymatting`` compiles its kernels with numba on first use (tens of seconds once per process, then
cached on disk); time these baselines after a warm-up call (:func:`warm_up_pymatting`).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["TrimapFromMaskConfig", "trimap_from_mask", "mask_as_alpha", "closed_form_alpha", "knn_alpha",
           "BASELINES", "run_baseline", "warm_up_pymatting"]


@dataclass(frozen=True)
class TrimapFromMaskConfig:
    """How a trimap is made from a coarse mask."""

    erode_px: int = 10  # the mask shrunk by this radius (elliptical kernel) is definite foreground
    dilate_px: int = 10  # outside the mask grown by this radius is definite background


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def trimap_from_mask(mask: np.ndarray, config: TrimapFromMaskConfig | None = None) -> np.ndarray:
    """Trimap from a coarse mask by erosion (definite fg) and dilation (definite bg).

    ``mask``: ``(H,W)`` bool (or 0/1, 0/255 integers). Returns ``(H,W)`` uint8 in {0, 128, 255}.
    The image border does not erode the mask (OpenCV's default border for erosion).
    """
    cfg = config or TrimapFromMaskConfig()
    m = (np.asarray(mask) > 0).astype(np.uint8)
    if m.ndim != 2:
        raise ValueError(f"mask must be (H,W), got shape {m.shape}")
    fg = cv2.erode(m, _disc(cfg.erode_px)) if cfg.erode_px > 0 else m
    grown = cv2.dilate(m, _disc(cfg.dilate_px)) if cfg.dilate_px > 0 else m
    trimap = np.full(m.shape, 128, dtype=np.uint8)
    trimap[grown == 0] = 0
    trimap[fg > 0] = 255
    return trimap


def mask_as_alpha(mask: np.ndarray) -> np.ndarray:
    """The mask itself as a matte: ``(H,W)`` float32 in {0, 1}."""
    return (np.asarray(mask) > 0).astype(np.float32)


def _pymatting_inputs(image: np.ndarray, trimap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H,W,3) uint8 RGB, got {img.shape} {img.dtype}")
    tri = np.asarray(trimap)
    if tri.shape != img.shape[:2]:
        raise ValueError(f"trimap {tri.shape} and image {img.shape[:2]} differ in size")
    return img.astype(np.float64) / 255.0, tri.astype(np.float64) / 255.0


def _degenerate(trimap: np.ndarray) -> np.ndarray | None:
    """The trivial matte when the trimap has no definite foreground (all 0) or background (all 1)."""
    if not (trimap == 255).any():
        return np.zeros(trimap.shape, np.float32)
    if not (trimap == 0).any():
        return np.ones(trimap.shape, np.float32)
    return None


def closed_form_alpha(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """Closed-form matting (``pymatting.estimate_alpha_cf``).

    ``image``: ``(H,W,3)`` uint8 RGB; ``trimap``: ``(H,W)`` uint8 {0,128,255}. Returns ``(H,W)``
    float32 in [0,1]. A trimap without definite foreground gives all zeros, one without definite
    background all ones (nothing to propagate).
    """
    trivial = _degenerate(np.asarray(trimap))
    if trivial is not None:
        return trivial
    from pymatting import estimate_alpha_cf

    img, tri = _pymatting_inputs(image, trimap)
    return np.clip(estimate_alpha_cf(img, tri), 0.0, 1.0).astype(np.float32)


def knn_alpha(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """KNN matting (``pymatting.estimate_alpha_knn``); arguments and result as :func:`closed_form_alpha`."""
    trivial = _degenerate(np.asarray(trimap))
    if trivial is not None:
        return trivial
    from pymatting import estimate_alpha_knn

    img, tri = _pymatting_inputs(image, trimap)
    return np.clip(estimate_alpha_knn(img, tri), 0.0, 1.0).astype(np.float32)


#: Baselines that need an image and a coarse mask, by name.
BASELINES = ("mask", "closed_form", "knn")


def run_baseline(name: str, image: np.ndarray, mask: np.ndarray,
                 config: TrimapFromMaskConfig | None = None) -> np.ndarray:
    """Matte ``image`` from a coarse ``mask`` with baseline ``name`` (one of :data:`BASELINES`).

    Returns ``(H,W)`` float32 in [0,1].
    """
    if name == "mask":
        return mask_as_alpha(mask)
    trimap = trimap_from_mask(mask, config)
    if name == "closed_form":
        return closed_form_alpha(image, trimap)
    if name == "knn":
        return knn_alpha(image, trimap)
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")


def warm_up_pymatting() -> None:
    """Run both pymatting solvers once on a tiny image so numba compilation is not timed later."""
    rng = np.random.default_rng(0)
    image = (rng.random((24, 24, 3)) * 255).astype(np.uint8)
    mask = np.zeros((24, 24), bool)
    mask[6:18, 6:18] = True
    config = TrimapFromMaskConfig(erode_px=2, dilate_px=2)
    run_baseline("closed_form", image, mask, config)
    run_baseline("knn", image, mask, config)

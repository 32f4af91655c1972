"""Iterative refinement: from ``alpha_os8`` to ``alpha_os4`` to ``alpha_os1``, band by band.

This is MAM's published inference rule. With ``a8, a4, a1`` the decoder's outputs at the
original image size and ``m`` SAM's binary mask there:

1. **Start.** ``guidance="alpha"`` (default): ``a8``, with every pixel outside the bounding box of
   ``m`` set to 0 (an empty mask has no box, so everything is 0). ``guidance="mask"``: ``m``, with
   the ring just outside the mask — pixels where ``m = 0`` that an erosion of the background
   ``1 − m`` removes — taken from ``a8``.
2. **os4.** The band is the dilation of ``{α ≥ 1/255}`` minus ``{α > 254/255}``: one-sided, it
   reaches *outward* from everything that is not background but never overwrites pixels the
   current estimate is sure are foreground. Those pixels take ``a4``.
3. **os1.** The same again on the updated estimate, with the os1 width, taking ``a1``.

The two-sided variant dilates ``{1/255 ≤ α ≤ 254/255}`` instead (it may overwrite confident
foreground next to the transition). Structuring elements are OpenCV's ``MORPH_ELLIPSE`` of size
``width // 2`` (widths: os8 10, os4 20, os1 10). Everything runs as tensor operations on the
tensors' own device: a dilation is a convolution of the binary map with the elliptical kernel,
anchored as OpenCV anchors it, so the bands equal ``cv2.dilate``'s exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

GUIDANCE_MODES = ("alpha", "mask")
LOW = 1.0 / 255.0  # below this an alpha counts as background
HIGH = 1.0 - 1.0 / 255.0  # above this an alpha counts as foreground


@dataclass(frozen=True)
class RefinementConfig:
    """Knobs of the refinement; defaults are the published inference settings."""

    guidance: str = "alpha"  # "alpha": start from alpha_os8 clipped to the mask's box; "mask": start from the mask
    width_os8: int = 10  # ring width around the mask in "mask" guidance (kernel size width // 2)
    width_os4: int = 20  # band width where alpha_os4 replaces the estimate
    width_os1: int = 10  # band width where alpha_os1 replaces the estimate
    two_sided: bool = False  # dilate only the transition {1/255 ≤ α ≤ 254/255} instead of {α ≥ 1/255}

    def __post_init__(self) -> None:
        if self.guidance not in GUIDANCE_MODES:
            raise ValueError(f"guidance must be one of {GUIDANCE_MODES}, got {self.guidance!r}")
        for name in ("width_os8", "width_os4", "width_os1"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)}")

    def with_(self, **changes) -> "RefinementConfig":
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@lru_cache(maxsize=32)
def _ellipse_np(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)).astype(np.float32)


def ellipse_kernel(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """OpenCV's ``MORPH_ELLIPSE`` structuring element of ``size × size`` as a float32 tensor."""
    return torch.from_numpy(_ellipse_np(int(size))).to(device)


def dilate(mask: torch.Tensor, size: int) -> torch.Tensor:
    """Binary dilation of ``mask`` ``(B,1,H,W)`` bool with an elliptical element of ``size``.

    Equals ``cv2.dilate(mask, getStructuringElement(MORPH_ELLIPSE, (size, size)))`` (OpenCV anchors
    an even-sized element at ``size // 2``; pixels beyond the border do not count). ``size ≤ 1``
    returns the mask unchanged. Runs as one convolution on the mask's device.
    """
    if size <= 1:
        return mask.clone()
    kernel = ellipse_kernel(size, mask.device)[None, None]
    a = size // 2
    padded = F.pad(mask.float(), (a, size - 1 - a, a, size - 1 - a))
    return F.conv2d(padded, kernel) > 0.5


def uncertain_band(alpha: torch.Tensor, width: int, two_sided: bool = False) -> torch.Tensor:
    """Pixels a finer scale may overwrite: ``(B,1,H,W)`` bool.

    One-sided (default): ``dilate(α ≥ 1/255) ∧ ¬(α > 254/255)``. Two-sided:
    ``dilate(1/255 ≤ α ≤ 254/255)``. The element size is ``width // 2``.
    """
    size = int(width) // 2
    if two_sided:
        return dilate((alpha >= LOW) & (alpha <= HIGH), size)
    return dilate(alpha >= LOW, size) & ~(alpha > HIGH)


def mask_ring(mask: torch.Tensor, width: int) -> torch.Tensor:
    """The ring just outside a binary mask: ``m = 0`` pixels that eroding ``1 − m`` removes.

    Erosion of the background by the element equals the complement of the mask's dilation, so
    the ring is ``dilate(m) ∧ ¬m``. ``mask``: ``(B,1,H,W)``, any dtype, non-zero = inside.
    """
    m = mask > 0.5 if mask.dtype != torch.bool else mask
    return dilate(m, int(width) // 2) & ~m


def outside_mask_box(mask: torch.Tensor) -> torch.Tensor:
    """Pixels outside the (inclusive) bounding box of each mask: ``(B,1,H,W)`` bool.

    An empty mask has no box: all its pixels are outside.
    """
    m = mask > 0.5 if mask.dtype != torch.bool else mask
    rows = m.any(dim=-1)  # (B,1,H)
    cols = m.any(dim=-2)  # (B,1,W)

    def between(v: torch.Tensor) -> torch.Tensor:
        v = v.to(torch.int32)
        return (v.cumsum(-1) > 0) & (v.flip(-1).cumsum(-1).flip(-1) > 0)

    inside = between(rows)[..., :, None] & between(cols)[..., None, :]
    return ~inside


@dataclass
class RefinementSteps:
    """Everything the refinement did, for plotting and teaching. All tensors ``(B,1,H,W)``.

    Attributes:
        alpha: the final matte, float in [0,1].
        start: the initial estimate (step 1).
        after_os4: the estimate after the os4 replacement.
        band_os8: pixels of the start that came from the mask's box clipping ("alpha" guidance: set
            to 0 outside the box) or from ``alpha_os8`` ("mask" guidance: the ring).
        band_os4, band_os1: pixels replaced by ``alpha_os4`` and ``alpha_os1``.
        config: the settings used.
    """

    alpha: torch.Tensor
    start: torch.Tensor
    after_os4: torch.Tensor
    band_os8: torch.Tensor
    band_os4: torch.Tensor
    band_os1: torch.Tensor
    config: RefinementConfig = field(default_factory=RefinementConfig)


def refine(alpha_os8: torch.Tensor, alpha_os4: torch.Tensor, alpha_os1: torch.Tensor, mask: torch.Tensor,
           config: RefinementConfig | None = None) -> RefinementSteps:
    """Apply MAM's iterative refinement (see the module docstring).

    Args:
        alpha_os8, alpha_os4, alpha_os1: ``(B,1,H,W)`` float in [0,1], the decoder's outputs at the
            image's size (padding cropped away).
        mask: ``(B,1,H,W)`` SAM's mask at the same size, bool or {0,1} float.
        config: guidance mode, band widths, one- or two-sided bands.
    """
    cfg = config or RefinementConfig()
    m = (mask > 0.5) if mask.dtype != torch.bool else mask
    if cfg.guidance == "mask":
        band8 = mask_ring(m, cfg.width_os8)
        start = torch.where(band8, alpha_os8, m.to(alpha_os8.dtype))
    else:
        band8 = outside_mask_box(m)
        start = alpha_os8.masked_fill(band8, 0.0)
    band4 = uncertain_band(start, cfg.width_os4, cfg.two_sided)
    after4 = torch.where(band4, alpha_os4, start)
    band1 = uncertain_band(after4, cfg.width_os1, cfg.two_sided)
    final = torch.where(band1, alpha_os1, after4)
    return RefinementSteps(alpha=final, start=start, after_os4=after4, band_os8=band8, band_os4=band4,
                           band_os1=band1, config=cfg)

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
anchored as OpenCV anchors it, so the bands equal ``cv2.dilate``'s exactly; on the CPU the
dilation *is* ``cv2.dilate`` (about 100× faster there than a convolution: 17 ms against 2.5 s at
4000×3000).

:func:`refine_in_rows` applies the same rule to a matte much larger than the decoder's output,
a band of rows at a time and only around the mask, with the same result bit for bit.
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
    if mask.device.type == "cpu":  # OpenCV's own dilation: the same pixels, ~100× faster than a CPU convolution
        element = _ellipse_np(int(size)).astype(np.uint8)
        flat = mask.reshape(-1, *mask.shape[-2:])
        out = [torch.from_numpy(cv2.dilate(m.numpy().astype(np.uint8), element) > 0) for m in flat]
        return torch.stack(out).reshape(mask.shape)
    return dilate_by_convolution(mask, size)


def dilate_by_convolution(mask: torch.Tensor, size: int) -> torch.Tensor:
    """:func:`dilate` as one convolution with the elliptical element: the form used on a GPU."""
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


def refinement_halo(config: RefinementConfig) -> int:
    """How far (pixels) the refinement can reach beyond the mask: the three element sizes, plus one."""
    return int(config.width_os8) // 2 + int(config.width_os4) // 2 + int(config.width_os1) // 2 + 1


def matte_region(mask: np.ndarray, config: RefinementConfig | None = None) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)``: the only pixels where the refined matte can be non-zero, None if nowhere.

    The bounding box of ``mask`` ``(H,W)`` grown by :func:`refinement_halo` and clipped to the image.
    Outside it the start is 0 in both guidance modes ("alpha" clips to the mask's box, "mask"
    starts from the mask and a ring around it), 0 lies in no band, so the matte stays exactly 0 —
    whatever the decoder outputs there. The predictor's fast path evaluates the decoder only here.
    """
    margin = refinement_halo(config or RefinementConfig())
    m = np.asarray(mask, dtype=bool)
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if len(rows) == 0:
        return None
    h, w = m.shape
    return (max(0, int(rows[0]) - margin), min(h, int(rows[-1]) + 1 + margin),
            max(0, int(cols[0]) - margin), min(w, int(cols[-1]) + 1 + margin))


def refine_in_rows(lowres: dict[str, torch.Tensor], mask: np.ndarray, config: RefinementConfig | None = None,
                   rows_per_band: int = 512) -> np.ndarray:
    """:func:`refine` of the decoder's outputs resized to ``mask``'s size, without making them whole.

    Args:
        lowres: ``alpha_os8``, ``alpha_os4``, ``alpha_os1``, each ``(1,1,h,w)`` or ``(h,w)`` float:
            the decoder's outputs cropped to the valid region, before resizing.
        mask: ``(H,W)`` bool, SAM's mask at the photo's size.
        config: refinement settings.
        rows_per_band: rows refined at a time (memory ≈ 40 bytes × width × this).

    Returns ``(H,W)`` float32: bit for bit the ``alpha`` of ``refine(a8, a4, a1, mask)`` where each
    ``a = F.interpolate(lowres[...], (H, W), mode="bilinear").clamp(0, 1)``, as the predictor's
    full-size path computes it. Why it is the same:

    * every step is pixel-wise except the dilations, and a dilation's output row depends on at most
      ``size`` rows on each side, so each band of rows is computed with a halo of the three element
      sizes and only its own rows are kept;
    * outside :func:`matte_region` (the mask's bounding box grown by that halo) the result is
      exactly 0 and nothing is computed there;
    * the resize of a band of rows is :class:`~mam_lib.inference.resize.RowResizer`, identical to the
      full ``F.interpolate``.

    Peak memory is the output, the mask and a few bands: about 0.6 GB at 12000×9000 instead of ~12 GB.
    """
    from .resize import RowResizer  # noqa: PLC0415 (kept next to its only user)

    cfg = config or RefinementConfig()
    m_full = np.asarray(mask, dtype=bool)
    H, W = m_full.shape
    out = np.zeros((H, W), np.float32)
    halo = refinement_halo(cfg)
    roi = matte_region(m_full, cfg)
    if roi is None:
        return out
    y0, y1, x0, x1 = roi
    resizers = {k: RowResizer(lowres[k], (H, W), cols=(x0, x1)) for k in ("alpha_os8", "alpha_os4", "alpha_os1")}

    def rows(key: str, q0: int, q1: int) -> np.ndarray:
        return resizers[key].rows(q0, q1).clamp_(0, 1).cpu().numpy()

    rows_in, cols_in = np.flatnonzero(m_full.any(axis=1)), np.flatnonzero(m_full.any(axis=0))
    by0, by1, bx0, bx1 = int(rows_in[0]), int(rows_in[-1]) + 1, int(cols_in[0]) - x0, int(cols_in[-1]) + 1 - x0
    step = max(1, int(rows_per_band))
    for r0 in range(y0, y1, step):
        r1 = min(y1, r0 + step)
        q0, q1 = max(y0, r0 - halo), min(y1, r1 + halo)
        m = m_full[q0:q1, x0:x1]
        start = rows("alpha_os8", q0, q1)
        if cfg.guidance == "mask":
            ring = _dilate_np(m, int(cfg.width_os8) // 2) & ~m
            start = np.where(ring, start, m.astype(np.float32))
        else:  # 0 outside the mask's bounding box
            start[:max(0, by0 - q0)] = 0
            start[max(0, by1 - q0):] = 0
            start[:, :max(0, bx0)] = 0
            start[:, max(0, bx1):] = 0
        band4 = _band_np(start, cfg.width_os4, cfg.two_sided)
        after4 = np.where(band4, rows("alpha_os4", q0, q1), start)
        del start, band4
        band1 = _band_np(after4, cfg.width_os1, cfg.two_sided)
        final = np.where(band1, rows("alpha_os1", q0, q1), after4)
        out[r0:r1, x0:x1] = final[r0 - q0:r1 - q0]
    return out


_LOW32, _HIGH32 = np.float32(LOW), np.float32(HIGH)


def _dilate_np(m: np.ndarray, size: int) -> np.ndarray:
    """:func:`dilate` of a bool array with OpenCV (bool viewed as 0/1 bytes, no copy)."""
    if size <= 1:
        return m.copy()
    return cv2.dilate(np.ascontiguousarray(m).view(np.uint8), _ellipse_np(size).astype(np.uint8)).view(bool)


def _band_np(alpha: np.ndarray, width: int, two_sided: bool) -> np.ndarray:
    """:func:`uncertain_band` of a float32 array, in NumPy (the same pixels; thresholds in float32)."""
    size = int(width) // 2
    if two_sided:
        return _dilate_np((alpha >= _LOW32) & (alpha <= _HIGH32), size)
    band = _dilate_np(alpha >= _LOW32, size)
    band &= ~(alpha > _HIGH32)
    return band

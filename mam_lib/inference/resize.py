"""Bilinear resizing to a large size, a band of rows at a time, with the bits of one full resize.

The predictor brings the decoder's ``(h, w)`` outputs to the photo's size with
``F.interpolate(x, (H, W), mode="bilinear", align_corners=False)``. For a 12000×9000 photo each
such map is 432 MB, and the refinement needs several. :class:`RowResizer` gives any band of
rows of that same resize without making the whole map:

1. the width is resized once for all source rows with ``F.interpolate`` itself
   (``(h, W)`` floats: 37 MB for 768 source rows and a 12000-pixel width);
2. each output row then blends its two source rows with the weights torch computes —
   source coordinate ``fl(s · (i + 0.5) − 0.5)`` with ``s = fl(h / H)`` rounded once, clamped at 0 —
   as ``torch.addcmul(λ1 · row1, λ0, row0)``, the fused multiply-add torch's own CPU kernel uses.

The result equals the full ``F.interpolate`` bit for bit on torch's CPU kernel for outputs of a few
thousand pixels and more (``tests/inference/test_resize.py`` checks up- and down-sizing and odd
sizes); torch computes very small outputs on another code path without the fused multiply-add, so
outputs below ``full_below`` pixels are simply resized whole, once. On other devices the result
agrees to float rounding. torch has no public "resize these rows only" operation, hence this module.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def source_rows(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source row indices ``i0, i1`` (int64) and weights ``l0, l1`` (float32) of each output row.

    ``align_corners=False`` bilinear: ``x = max(0, s·(i + 0.5) − 0.5)`` with ``s = in/out`` in
    float32 and ``x`` rounded once to float32 (as a fused multiply-add computes it), ``i0 = ⌊x⌋``,
    ``i1 = min(i0 + 1, in − 1)``, ``l1 = x − i0``, ``l0 = 1 − l1``.
    """
    scale = np.float32(in_size) / np.float32(out_size)
    x = (np.float64(scale) * (np.arange(out_size, dtype=np.float64) + 0.5) - 0.5).astype(np.float32)
    x = np.maximum(x, np.float32(0))
    i0 = np.minimum(np.floor(x).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    l1 = (x - i0.astype(np.float32)).astype(np.float32)
    l0 = (np.float32(1) - l1).astype(np.float32)
    return i0, i1, l0, l1


class RowResizer:
    """Rows of ``F.interpolate(source, size, mode="bilinear", align_corners=False)``, on demand.

    Args:
        source: ``(h, w)`` or ``(1, 1, h, w)`` float tensor.
        size: ``(H, W)`` output size.
        cols: optional ``(c0, c1)``: only these output columns are ever asked for (saves memory).
        full_below: outputs of fewer pixels are resized whole at once (small, and exact whatever
            code path torch takes for them).

    ``rows(r0, r1)`` returns the ``(r1 − r0, c1 − c0)`` float32 block of the full resize.
    """

    def __init__(self, source: torch.Tensor, size: tuple[int, int], cols: tuple[int, int] | None = None,
                 full_below: int = 4_000_000) -> None:
        src = source.reshape(1, 1, *source.shape[-2:]).float()
        h, w = src.shape[-2:]
        H, W = int(size[0]), int(size[1])
        self.size = (H, W)
        self.cols = cols or (0, W)
        self._whole = None
        if H * W < full_below:
            full = F.interpolate(src, (H, W), mode="bilinear", align_corners=False)
            self._whole = full[0, 0, :, self.cols[0]:self.cols[1]]
            return
        wide = src if w == W else F.interpolate(src, (h, W), mode="bilinear", align_corners=False)
        self._wide = wide[0, 0, :, self.cols[0]:self.cols[1]]
        self._same_height = h == H
        i0, i1, l0, l1 = source_rows(h, H)
        dev = src.device
        self._i0, self._i1 = torch.from_numpy(i0).to(dev), torch.from_numpy(i1).to(dev)
        self._l0, self._l1 = torch.from_numpy(l0).to(dev)[:, None], torch.from_numpy(l1).to(dev)[:, None]

    def rows(self, r0: int, r1: int) -> torch.Tensor:
        """Output rows ``r0:r1`` (columns ``cols``) of the full resize, float32."""
        if self._whole is not None:
            return self._whole[r0:r1].clone()
        if self._same_height:
            return self._wide[r0:r1].clone()
        top = self._wide.index_select(0, self._i0[r0:r1])
        bottom = self._wide.index_select(0, self._i1[r0:r1])
        return torch.addcmul(bottom.mul_(self._l1[r0:r1]), self._l0[r0:r1], top)

    def full(self) -> torch.Tensor:
        """The whole ``(H, c1 − c0)`` resize."""
        return self.rows(0, self.size[0])

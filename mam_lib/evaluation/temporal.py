"""Temporal coherence of a matted clip: dtSSD and MESSDdt, next to the per-frame metrics.

A video matte can score well frame by frame and still flicker. The video-matting literature
(Erofeev et al., "Perceptually Motivated Benchmark for Video Matting", BMVC 2015; used by DVM,
TCVOM, MODNet, RVM) measures this with two numbers. For predicted alphas ``α_t`` and ground truth
``g_t`` (both in [0,1]) over a region ``R`` of ``N = |R|`` pixels:

* **dtSSD** compares the temporal derivatives::

      dtSSD(t) = sqrt( (1/N) Σ_{p∈R} ((α_t(p) − α_{t−1}(p)) − (g_t(p) − g_{t−1}(p)))² ),   t = 1 … T−1

  zero when the prediction changes exactly as the ground truth does (a constant error too);
  papers print it ×1e2 (:data:`TEMPORAL_SCALE`). This is RVM's ``MetricDTSSD``.
* **MESSDdt** compares the squared error of a pixel with the squared error of the same point of
  the object one frame earlier, found by following the motion ``v_t`` from frame ``t`` to ``t−1``::

      E_t = (α_t − g_t)²
      MESSDdt(t) = (1/N) Σ_{p∈R} | E_t(p) − E_{t−1}(p + v_t(p)) |

  zero when the error moves with the object (a stable error); large when it flickers. The motion is
  the optical flow between the ground-truth alphas (OpenCV's Farneback flow on the 8-bit mattes, as
  TCVOM's evaluation code computes it), or given (``flows=``: a procedural clip knows its exact
  motion, :func:`mam_lib.data.video.make_clip`), or none (``flow="none"``: zero motion, for static
  clips and tests). ``E_{t−1}`` is sampled bilinearly at ``p + v_t(p)``, clamped at the border.
  Printed ×1e3 here (the squared-error scale of MSE); published tables use different factors, so
  compare numbers computed the same way.

A clip's value is the mean over its ``T−1`` frame pairs (RVM's spreadsheet also averages a 0 for
frame 0, which lowers its means by a factor ``(T−1)/T``; we do not). Per-frame SAD and MSE are
:mod:`mam_lib.evaluation.metrics`' (SAD ÷1000, MSE a plain mean). Inputs follow that module's
rules: ``uint8`` is ÷255, ``uint16`` ÷65535, floats must lie in [0,1]; ``region`` is None (all
pixels), a bool mask or a trimap (pixels = 128 count), one for the clip or one per frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from .metrics import all_metrics, region_mask, to_unit_alpha

__all__ = [
    "TEMPORAL_NAMES",
    "TEMPORAL_SCALE",
    "dtssd",
    "messddt",
    "alpha_flow",
    "ClipScores",
    "clip_metrics",
]

#: Temporal metric names in the order tables print them.
TEMPORAL_NAMES: tuple[str, ...] = ("dtssd", "messddt")
#: Factor each temporal metric is multiplied by when printed (see the module docstring).
TEMPORAL_SCALE: dict[str, float] = {"dtssd": 1e2, "messddt": 1e3}
#: The flow options of :func:`messddt`.
FLOW_MODES = ("farneback", "none")


def _pair(pred_t, pred_tm1, gt_t, gt_tm1, region) -> tuple[np.ndarray, ...]:
    arrays = [to_unit_alpha(a, n) for a, n in ((pred_t, "pred"), (pred_tm1, "previous pred"), (gt_t, "gt"),
                                               (gt_tm1, "previous gt"))]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"the frames of a pair differ in shape: {sorted(shapes)}")
    return (*arrays, region_mask(region, arrays[0].shape))


def dtssd(pred_t: np.ndarray, pred_tm1: np.ndarray, gt_t: np.ndarray, gt_tm1: np.ndarray,
          region: np.ndarray | None = None) -> float:
    """dtSSD of one frame pair (unscaled; printed ×1e2). Arrays ``(H,W)`` in the metrics' rules;
    an empty region gives 0."""
    p, pm, g, gm, m = _pair(pred_t, pred_tm1, gt_t, gt_tm1, region)
    n = int(m.sum())
    if not n:
        return 0.0
    d = (p - pm) - (g - gm)
    return math.sqrt(float(np.square(d[m]).sum()) / n)


def alpha_flow(gt_t: np.ndarray, gt_tm1: np.ndarray) -> np.ndarray:
    """``(H,W,2)`` float32 motion ``v`` from frame ``t`` to ``t−1``: ``gt_t(p) ≈ gt_tm1(p + v(p))``,
    OpenCV's Farneback flow on the 8-bit ground-truth mattes (TCVOM's settings: pyramid 0.5, 5 levels,
    window 10, 2 iterations, poly_n 7, sigma 1.5, Gaussian window)."""
    a = np.clip(np.rint(to_unit_alpha(gt_t, "gt") * 255), 0, 255).astype(np.uint8)
    b = np.clip(np.rint(to_unit_alpha(gt_tm1, "previous gt") * 255), 0, 255).astype(np.uint8)
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 5, 10, 2, 7, 1.5, cv2.OPTFLOW_FARNEBACK_GAUSSIAN)


def _warp(values: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``values`` sampled at ``p + flow(p)`` (bilinear, border replicated)."""
    h, w = values.shape
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(values.astype(np.float32), xx + flow[..., 0], yy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE).astype(np.float64)


def messddt(pred_t: np.ndarray, pred_tm1: np.ndarray, gt_t: np.ndarray, gt_tm1: np.ndarray,
            region: np.ndarray | None = None, flow: "np.ndarray | str" = "farneback") -> float:
    """MESSDdt of one frame pair (unscaled; printed ×1e3).

    ``flow``: ``(H,W,2)`` motion from frame ``t`` to ``t−1`` in pixels (``x``, ``y``), ``"farneback"``
    (estimated on the ground truth by :func:`alpha_flow`) or ``"none"`` (no motion).
    """
    p, pm, g, gm, m = _pair(pred_t, pred_tm1, gt_t, gt_tm1, region)
    n = int(m.sum())
    if not n:
        return 0.0
    err_t, err_tm1 = np.square(p - g), np.square(pm - gm)
    if isinstance(flow, str):
        if flow not in FLOW_MODES:
            raise ValueError(f"flow must be an (H,W,2) array or one of {FLOW_MODES}, got {flow!r}")
        flow = None if flow == "none" else alpha_flow(gt_t, gt_tm1)
    if flow is not None:
        flow = np.asarray(flow, np.float32)
        if flow.shape != p.shape + (2,):
            raise ValueError(f"flow must have shape {p.shape + (2,)}, got {flow.shape}")
        err_tm1 = _warp(err_tm1, flow)
    return float(np.abs(err_t - err_tm1)[m].sum()) / n


@dataclass
class ClipScores:
    """The scores of a clip.

    Attributes:
        frames: per frame ``t = 0 … T−1``: ``{"frame": t, "sad": …, "mse": …, "dtssd": …, "messddt": …}``
            (the temporal ones NaN at frame 0), unscaled.
        means: per-frame metrics averaged over the ``T`` frames, temporal ones over the ``T−1`` pairs.
    """

    frames: list[dict] = field(default_factory=list)
    means: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        """One line of the means, scaled as printed (MSE ×1e3, dtSSD ×1e2, MESSDdt ×1e3)."""
        scale = {"sad": 1.0, "mse": 1e3, "mad": 1e3, "grad": 1.0, "conn": 1.0, **TEMPORAL_SCALE}
        label = {"sad": "SAD", "mse": "MSE(x1e3)", "mad": "MAD(x1e3)", "grad": "Grad", "conn": "Conn",
                 "dtssd": "dtSSD(x1e2)", "messddt": "MESSDdt(x1e3)"}
        return "  ".join(f"{label[k]} {v * scale[k]:.3f}" for k, v in self.means.items())


def clip_metrics(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                 region: "np.ndarray | Sequence[np.ndarray | None] | None" = None,
                 frame_metrics: Sequence[str] = ("sad", "mse"), temporal: Sequence[str] = TEMPORAL_NAMES,
                 flows: "Sequence[np.ndarray | None] | str" = "farneback") -> ClipScores:
    """Per-frame and temporal metrics of a clip.

    Args:
        preds, gts: ``T`` mattes each, ``(H,W)`` (uint8, uint16, bool or float in [0,1]).
        region: None, one region for every frame, or one per frame (see the module docstring).
        frame_metrics: names of :mod:`mam_lib.evaluation.metrics` computed on every frame.
        temporal: names of :data:`TEMPORAL_NAMES`.
        flows: for MESSDdt: ``"farneback"``, ``"none"``, or ``T`` motions where ``flows[t]`` ``(H,W,2)``
            goes from frame ``t`` to ``t−1`` (``flows[0]`` is ignored).

    Raises ``ValueError`` when the two sequences differ in length or a frame in shape.
    """
    if len(preds) != len(gts):
        raise ValueError(f"the prediction has {len(preds)} frames but the ground truth {len(gts)}")
    if not len(preds):
        raise ValueError("the clip has no frames")
    bad = [k for k in temporal if k not in TEMPORAL_NAMES]
    if bad:
        raise ValueError(f"unknown temporal metric(s) {', '.join(bad)}; choose from {', '.join(TEMPORAL_NAMES)}")
    per_frame_region = region is not None and not isinstance(region, np.ndarray)
    if per_frame_region and len(region) != len(preds):
        raise ValueError(f"give one region per frame ({len(preds)}), got {len(region)}")
    if not isinstance(flows, str) and len(flows) != len(preds):
        raise ValueError(f"give one flow per frame ({len(preds)}), got {len(flows)}")
    scores = ClipScores()
    for t in range(len(preds)):
        r = region[t] if per_frame_region else region
        row: dict = {"frame": t, **all_metrics(preds[t], gts[t], r, frame_metrics)}
        for name in temporal:
            if t == 0:
                row[name] = math.nan
            elif name == "dtssd":
                row[name] = dtssd(preds[t], preds[t - 1], gts[t], gts[t - 1], r)
            else:
                f = flows if isinstance(flows, str) else (flows[t] if flows[t] is not None else "none")
                row[name] = messddt(preds[t], preds[t - 1], gts[t], gts[t - 1], r, flow=f)
        scores.frames.append(row)
    for name in frame_metrics:
        scores.means[name] = float(np.mean([row[name] for row in scores.frames]))
    for name in temporal:
        values = [row[name] for row in scores.frames[1:]]
        scores.means[name] = float(np.mean(values)) if values else math.nan
    return scores

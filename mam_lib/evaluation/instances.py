"""Matching predicted to ground-truth instances of one image (HIM2K, RWP-636).

The rule: predicted and ground-truth instances of one image are compared as binary masks α > 0; the
intersection-over-union matrix is solved for the one-to-one assignment with the largest total IoU
(Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``); an assigned pair counts as a match
when its IoU ≥ 0.5. This is the rule of the instance matting quality (IMQ) evaluation of HIM2K.
Unmatched ground-truth instances are misses, unmatched predictions are extras.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import DatasetError
from .metrics import to_unit_alpha


def instance_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of the masks α > 0 of two ``(H,W)`` mattes (0 when both are empty)."""
    p = to_unit_alpha(pred, "pred") > 0
    g = to_unit_alpha(gt, "gt") > 0
    if p.shape != g.shape:
        raise DatasetError(f"instances differ in size: {p.shape} and {g.shape}")
    union = int(np.count_nonzero(p | g))
    return int(np.count_nonzero(p & g)) / union if union else 0.0


@dataclass(frozen=True)
class InstanceMatch:
    """One row of an instance matching: indices into the two lists (None when unmatched) and the IoU."""

    pred_index: int | None
    gt_index: int | None
    iou: float
    matched: bool  # assigned and IoU ≥ the threshold


def match_instances(pred_alphas: Sequence[np.ndarray], gt_alphas: Sequence[np.ndarray],
                    iou_threshold: float = 0.5) -> list[InstanceMatch]:
    """Match predicted to ground-truth instances of one image (see the module docstring for the rule).

    ``pred_alphas``, ``gt_alphas``: ``(H,W)`` mattes (uint8 or float), all of one size. Returns one
    entry per ground-truth instance, in order (``pred_index`` None, or an assignment with IoU below
    ``iou_threshold``, when it is missed), followed by one entry per prediction left unassigned.
    """
    pred_masks = [to_unit_alpha(a, "pred") > 0 for a in pred_alphas]
    gt_masks = [to_unit_alpha(a, "gt") > 0 for a in gt_alphas]
    shapes = {m.shape for m in pred_masks + gt_masks}
    if len(shapes) > 1:
        raise DatasetError(f"instances of one image differ in size: {sorted(shapes)}")
    n, m = len(pred_masks), len(gt_masks)
    iou = np.zeros((n, m), dtype=np.float64)
    if n and m:
        p = np.stack([x.ravel() for x in pred_masks]).astype(np.float32)
        g = np.stack([x.ravel() for x in gt_masks]).astype(np.float32)
        inter = p @ g.T
        union = p.sum(1)[:, None] + g.sum(1)[None, :] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    rows, cols = linear_sum_assignment(-iou) if n and m else (np.array([], int), np.array([], int))
    by_gt = {int(c): int(r) for r, c in zip(rows, cols)}
    out = []
    for j in range(m):
        i = by_gt.get(j)
        value = float(iou[i, j]) if i is not None else 0.0
        out.append(InstanceMatch(i, j, value, i is not None and value >= iou_threshold))
    assigned = set(by_gt.values())
    out.extend(InstanceMatch(i, None, 0.0, False) for i in range(n) if i not in assigned)
    return out

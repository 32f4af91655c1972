"""Instance matching: the one-to-one assignment of largest total IoU, and the IoU threshold."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from mam_lib.evaluation import instances as I


def _interval(lo: int, hi: int, n: int = 20) -> np.ndarray:
    a = np.zeros((1, n), np.uint8)
    a[0, lo:hi] = 255
    return a


def test_match_instances_maximises_total_iou():
    # 1-row images: gt0 = [0,10), gt1 = [10,20).
    # pred0 = [2,14): IoU 8/14 with gt0, 4/18 with gt1; pred1 = [0,8): 8/10 with gt0;
    # pred2 = [11,20): 9/10 with gt1. Best assignment: pred1-gt0, pred2-gt1; pred0 is extra.
    gts = [_interval(0, 10), _interval(10, 20)]
    preds = [_interval(2, 14), _interval(0, 8), _interval(11, 20)]
    matches = I.match_instances(preds, gts)
    by_gt = {m.gt_index: m for m in matches if m.gt_index is not None}
    assert by_gt[0].pred_index == 1 and by_gt[0].iou == pytest.approx(0.8) and by_gt[0].matched
    assert by_gt[1].pred_index == 2 and by_gt[1].iou == pytest.approx(0.9) and by_gt[1].matched
    extras = [m for m in matches if m.gt_index is None]
    assert [m.pred_index for m in extras] == [0]
    # the assignment is the best over all permutations
    iou = np.array([[I.instance_iou(p, g) for g in gts] for p in preds])
    best = max(sum(iou[i, j] for j, i in enumerate(perm)) for perm in itertools.permutations(range(3), 2))
    assert by_gt[0].iou + by_gt[1].iou == pytest.approx(best)
    # an assignment below IoU 0.5 is not a match; no prediction at all is a miss
    (low,) = I.match_instances([_interval(0, 4)], [_interval(0, 10)])
    assert low.iou == pytest.approx(0.4) and not low.matched
    (miss,) = I.match_instances([], [_interval(0, 10)])
    assert miss.pred_index is None and not miss.matched

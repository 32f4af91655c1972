"""dtSSD and MESSDdt on hand-made sequences with known values: mam_lib.evaluation.temporal."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mam_lib.evaluation.temporal import alpha_flow, clip_metrics, dtssd, messddt


def _blob(shift: int, size=(40, 60)) -> np.ndarray:
    a = np.zeros(size, np.float32)
    a[10:30, 10 + shift:30 + shift] = 1.0
    a[9, 10 + shift:30 + shift] = 0.5
    return a


def test_static_perfect_prediction_scores_zero():
    gt = [_blob(0)] * 5
    scores = clip_metrics(gt, gt)
    assert scores.means == {"sad": 0.0, "mse": 0.0, "dtssd": 0.0, "messddt": 0.0}
    assert math.isnan(scores.frames[0]["dtssd"]) and scores.frames[1]["dtssd"] == 0.0


def test_moving_perfect_prediction_scores_zero_and_a_constant_offset_has_zero_dtssd():
    gt = [_blob(s) for s in range(5)]
    assert clip_metrics(gt, gt).means["dtssd"] == 0.0
    assert clip_metrics(gt, gt).means["messddt"] == 0.0
    offset = [np.clip(g + 0.1, 0, 1) for g in gt]  # wrong, but wrong in the same way on every frame
    static_gt = [np.full((8, 8), 0.5, np.float32)] * 4
    static_offset = [np.full((8, 8), 0.6, np.float32)] * 4
    s = clip_metrics(static_offset, static_gt)
    assert s.means["dtssd"] == 0.0 and s.means["messddt"] == pytest.approx(0.0, abs=1e-7)
    assert s.means["sad"] == pytest.approx(64 * 0.1 / 1000)
    assert clip_metrics(offset, gt).means["sad"] > 0


def test_flicker_has_the_known_values():
    """Ground truth static at 0.5; the prediction alternates 0.5 and 0.5 + d: every pair's temporal
    difference is ±d, so dtSSD = d; the squared error alternates 0 and d², so MESSDdt = d²."""
    d = 0.2
    gt = [np.full((10, 12), 0.5, np.float32)] * 6
    pred = [np.full((10, 12), 0.5 + (d if t % 2 else 0.0), np.float32) for t in range(6)]
    s = clip_metrics(pred, gt, flows="none")
    assert s.means["dtssd"] == pytest.approx(d, rel=1e-6)
    assert s.means["messddt"] == pytest.approx(d * d, rel=1e-5)
    assert s.means["mse"] == pytest.approx(3 * d * d / 6, rel=1e-5)
    # uint8 inputs follow the metrics' rule (÷255)
    p8 = [np.full((4, 4), 100 + 51 * (t % 2), np.uint8) for t in range(3)]
    g8 = [np.full((4, 4), 100, np.uint8)] * 3
    assert dtssd(p8[1], p8[0], g8[1], g8[0]) == pytest.approx(51 / 255)


def test_region_restricts_the_pixels():
    gt = [np.zeros((4, 4), np.float32)] * 2
    pred = [np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)]
    pred[1][0, 0] = 1.0
    region = np.zeros((4, 4), bool)
    region[0, :2] = True  # 2 pixels, one of them flickers by 1
    assert dtssd(pred[1], pred[0], gt[1], gt[0], region) == pytest.approx(math.sqrt(1 / 2))
    assert dtssd(pred[1], pred[0], gt[1], gt[0]) == pytest.approx(math.sqrt(1 / 16))
    assert dtssd(pred[1], pred[0], gt[1], gt[0], np.zeros((4, 4), bool)) == 0.0


def test_messddt_follows_the_motion():
    """An error that moves with the object is stable: zero MESSDdt with the true motion, not without it."""
    gt = [_blob(0), _blob(4)]
    pred = [g.copy() for g in gt]
    pred[0][15, 15] = 0.0  # the same point of the object is wrong in both frames
    pred[1][15, 19] = 0.0
    motion = np.zeros(gt[0].shape + (2,), np.float32)
    motion[..., 0] = -4.0  # frame 1 → frame 0: four pixels to the left
    assert messddt(pred[1], pred[0], gt[1], gt[0], flow=motion) == 0.0
    assert messddt(pred[1], pred[0], gt[1], gt[0], flow="none") == pytest.approx(2 / gt[0].size)
    flow = alpha_flow(gt[1], gt[0])
    assert flow.shape == gt[0].shape + (2,) and flow.dtype == np.float32


def test_bad_inputs_raise():
    a = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="frames"):
        clip_metrics([a, a], [a])
    with pytest.raises(ValueError, match="differ in shape"):
        dtssd(a, np.zeros((4, 5), np.float32), a, a)
    with pytest.raises(ValueError, match="float mattes must be in"):
        dtssd(a + 200, a, a, a)
    with pytest.raises(ValueError, match="flow"):
        messddt(a, a, a, a, flow="sideways")

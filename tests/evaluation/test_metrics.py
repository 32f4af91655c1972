"""Matting metrics: hand-computed values, independent reference formulas, dtypes and regions."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import label

from mam_lib.evaluation import metrics as M


# ---------------------------------------------------------------------------------------------
# independent, straightforward versions of the formulas (written from the definitions)
# ---------------------------------------------------------------------------------------------


def _gaussian_derivative_filter_2d(sigma: float = 1.4) -> np.ndarray:
    """hx[i, j] = G(i - h) * G'(j - h), normalised to unit L2 norm, built entry by entry."""
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * 0.01)))
    size = 2 * half + 1
    hx = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            u, v = i - half, j - half
            g_u = math.exp(-u * u / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
            g_v = math.exp(-v * v / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
            hx[i, j] = g_u * (-v * g_v / sigma ** 2)
    return hx / math.sqrt((hx ** 2).sum())


def _reference_grad(p: np.ndarray, g: np.ndarray, m: np.ndarray) -> float:
    hx = _gaussian_derivative_filter_2d()
    hy = hx.T

    def amplitude(a):
        return np.hypot(ndimage.convolve(a, hx, mode="nearest"), ndimage.convolve(a, hy, mode="nearest"))

    return float(((amplitude(p) - amplitude(g)) ** 2)[m].sum() / 1000)


def _reference_conn(p: np.ndarray, g: np.ndarray, m: np.ndarray, background_counts: bool) -> float:
    level = -np.ones_like(p)
    for i in range(1, 11):
        t = i / 10
        labels = label((p >= t) & (g >= t), connectivity=1)
        counts = np.bincount(labels.ravel())
        if background_counts:
            omega = labels == np.argmax(counts)
        elif len(counts) > 1:
            omega = labels == (np.argmax(counts[1:]) + 1)
        else:
            omega = np.zeros_like(labels, dtype=bool)
        level[(level == -1) & ~omega] = (i - 1) / 10
    level[level == -1] = 1.0
    d_p, d_g = p - level, g - level
    phi_p = 1 - d_p * (d_p >= 0.15)
    phi_g = 1 - d_g * (d_g >= 0.15)
    return float(np.abs(phi_p - phi_g)[m].sum() / 1000)


def _random_pair(rng: np.random.Generator, shape=(48, 64)) -> tuple[np.ndarray, np.ndarray]:
    """A smooth ground-truth matte with sharp and soft parts, and a noisy, blurred prediction (uint8)."""
    field = ndimage.gaussian_filter(rng.random(shape), 4)
    gt = np.clip((field - field.mean()) * 25 + 0.5, 0, 1)
    pred = np.clip(ndimage.gaussian_filter(gt, 1.5) + rng.normal(0, 0.08, shape), 0, 1)
    return np.rint(pred * 255).astype(np.uint8), np.rint(gt * 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# identity and hand-computed values
# ---------------------------------------------------------------------------------------------


def test_identity_gives_zero_for_every_metric():
    _, gt = _random_pair(np.random.default_rng(0))
    trimap = np.where(np.random.default_rng(1).random(gt.shape) < 0.5, 128, 0).astype(np.uint8)
    for region in (None, trimap):
        values = M.all_metrics(gt, gt, region)
        assert set(values) == set(M.METRIC_NAMES)
        assert all(v == 0.0 for v in values.values()), values
        assert M.conn(gt, gt, region, reference="matlab") == 0.0


def test_sad_mse_mad_by_hand():
    pred = np.array([[0, 255], [51, 0]], dtype=np.uint8)  # 0, 1, 0.2, 0
    gt = np.zeros((2, 2), dtype=np.uint8)
    assert M.sad(pred, gt) == pytest.approx((1 + 0.2) / 1000)
    assert M.mse(pred, gt) == pytest.approx((1 + 0.04) / 4)
    assert M.mad(pred, gt) == pytest.approx((1 + 0.2) / 4)


def test_grad_of_a_ramp_matches_the_filter_response_by_hand():
    # alpha = a*x: away from the left/right borders the x-derivative filter answers
    # -a * sum_ij hx[i, j] * (j - h) and the y filter answers 0, so |grad| is constant there.
    w, h = 40, 12
    a = 1.0 / (w - 1)
    ramp = np.tile(np.arange(w) * a, (h, 1))
    hx = _gaussian_derivative_filter_2d()
    half = hx.shape[0] // 2
    offsets = np.arange(-half, half + 1)
    slope_response = abs(a * (hx * offsets[None, :]).sum())
    interior = np.zeros((h, w), dtype=bool)
    interior[:, half:w - half] = True
    expected = interior.sum() * slope_response ** 2 / 1000
    assert M.grad(ramp, np.zeros((h, w)), interior) == pytest.approx(expected, rel=1e-10)
    # a constant offset changes no gradient
    assert M.grad(ramp * 0.5 + 0.25, ramp * 0.5, None) == pytest.approx(0.0, abs=1e-20)


def test_conn_by_hand_foreground_larger_than_background():
    # 3x3 ground truth of ones; the prediction's centre is 0.5. For t <= 0.5 the whole square is
    # the largest component; from t = 0.6 the centre drops out (level 0.5) while the 4-connected
    # ring survives to t = 1 (level 1). Only the centre errs: phi_p = 1 - 0*... = 1,
    # phi_g = 1 - (1 - 0.5) = 0.5  ->  Conn = 0.5 / 1000 with either component rule.
    gt = np.ones((3, 3))
    pred = np.ones((3, 3))
    pred[1, 1] = 0.5
    assert M.conn(pred, gt) == pytest.approx(0.5 / 1000)
    assert M.conn(pred, gt, reference="matlab") == pytest.approx(0.5 / 1000)


def test_conn_by_hand_small_foreground_shows_the_two_component_rules():
    # 5x5 zeros with a 2x2 block: gt 1.0, prediction 0.92.
    gt = np.zeros((5, 5))
    gt[1:3, 1:3] = 1.0
    pred = gt * 0.92
    # Python rule: at t = 0.1 the background (21 px) outnumbers the block (4 px) and is kept, so
    # the block gets level 0: phi_p = 1 - 0.92, phi_g = 0 -> 4 * 0.08 / 1000.
    assert M.conn(pred, gt) == pytest.approx(4 * 0.08 / 1000)
    # MATLAB rule: the block is kept up to t = 0.9 and gets level 0.9: d_p = 0.02 and d_g = 0.1 are
    # both below 0.15, so phi_p = phi_g = 1 -> 0.
    assert M.conn(pred, gt, reference="matlab") == pytest.approx(0.0, abs=1e-15)
    # An all-zero prediction: the Python rule keeps the background at every threshold (Conn 0),
    # the MATLAB rule gives every pixel level 0, so the block costs |1 - 0| each.
    empty = np.zeros((5, 5))
    assert M.conn(empty, gt) == 0.0
    assert M.conn(empty, gt, reference="matlab") == pytest.approx(4 / 1000)


def test_conn_ties_follow_the_scan_order_of_each_reference():
    # Two 6-pixel components A (top right) and B (bottom left), 4 background pixels:
    #   0 A A A / B 0 A A / B B 0 A / B B B 0.  A comes first row-major, B first column-major.
    A = np.triu(np.ones((4, 4), bool), 1)
    B = np.tril(np.ones((4, 4), bool), -1)
    gt = (A | B).astype(np.float64)
    pred = A * 1.0 + B * 0.95
    # Python rule keeps A at t=0.1..0.9: B gets level 0 -> phi_p = 0.05, phi_g = 0 -> 6 * 0.05.
    assert M.conn(pred, gt) == pytest.approx(6 * 0.05 / 1000)
    # MATLAB rule keeps B until t = 1, where only A is left: B gets level 0.9, d_p = 0.05 and
    # d_g = 0.1 are below 0.15 -> 0; A dropped at t = 0.1 has p = g -> 0.
    assert M.conn(pred, gt, reference="matlab") == pytest.approx(0.0, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# agreement with independent formulas on random mattes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_all_metrics_match_straightforward_formulas(seed):
    rng = np.random.default_rng(seed)
    pred_u8, gt_u8 = _random_pair(rng)
    trimap = rng.choice(np.array([0, 128, 255], dtype=np.uint8), size=gt_u8.shape)
    p, g, m = pred_u8 / 255.0, gt_u8 / 255.0, trimap == 128
    values = M.all_metrics(pred_u8, gt_u8, trimap)
    assert values["sad"] == pytest.approx(np.abs(p - g)[m].sum() / 1000, rel=1e-12)
    assert values["mse"] == pytest.approx(((p - g) ** 2)[m].mean(), rel=1e-12)
    assert values["mad"] == pytest.approx(np.abs(p - g)[m].mean(), rel=1e-12)
    assert values["grad"] == pytest.approx(_reference_grad(p, g, m), rel=1e-9)
    assert values["conn"] == pytest.approx(_reference_conn(p, g, m, background_counts=True), rel=1e-12)
    assert M.conn(pred_u8, gt_u8, trimap, reference="matlab") == pytest.approx(
        _reference_conn(p, g, m, background_counts=False), rel=1e-12)


def test_uint8_and_float_inputs_agree():
    pred_u8, gt_u8 = _random_pair(np.random.default_rng(5))
    u8 = M.all_metrics(pred_u8, gt_u8)
    f64 = M.all_metrics(pred_u8 / 255.0, gt_u8 / 255.0)
    f32 = M.all_metrics((pred_u8 / np.float32(255)).astype(np.float32), (gt_u8 / np.float32(255)).astype(np.float32))
    for name in M.METRIC_NAMES:
        assert f64[name] == pytest.approx(u8[name], rel=1e-12, abs=1e-15), name
        assert f32[name] == pytest.approx(u8[name], rel=1e-5, abs=1e-9), name
    # values exactly on a threshold (153/255 = 0.6) count as reaching it in every dtype
    pred = np.full((4, 4), 153, np.uint8)
    gt = np.full((4, 4), 255, np.uint8)
    assert M.conn(pred, gt) == M.conn(pred / 255.0, gt / 255.0) == pytest.approx(
        M.conn(pred.astype(np.float32) / np.float32(255), gt.astype(np.float32) / np.float32(255)), rel=1e-6)


def test_float_input_out_of_range_is_refused():
    gt = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"\[0,1\]"):
        M.sad(np.full((4, 4), 200.0), gt)
    with pytest.raises(ValueError, match="shape"):
        M.sad(np.zeros((4, 5)), gt)


# ---------------------------------------------------------------------------------------------
# regions
# ---------------------------------------------------------------------------------------------


def test_region_trimap_bool_mask_and_none():
    pred = np.array([[0, 255], [51, 0]], dtype=np.uint8)
    gt = np.zeros((2, 2), dtype=np.uint8)
    trimap = np.array([[128, 0], [128, 255]], dtype=np.uint8)  # counts (0,0): 0 and (1,0): 0.2
    mask = trimap == 128
    assert M.sad(pred, gt, trimap) == pytest.approx(0.2 / 1000)
    assert M.mse(pred, gt, trimap) == pytest.approx(0.04 / 2)
    assert M.mad(pred, gt, trimap) == pytest.approx(0.2 / 2)
    for name in M.METRIC_NAMES:
        assert M.all_metrics(pred, gt, mask)[name] == M.all_metrics(pred, gt, trimap)[name]
        assert M.all_metrics(pred, gt, None)[name] == M.all_metrics(pred, gt, np.ones((2, 2), bool))[name]
    np.testing.assert_array_equal(M.region_mask(None, (2, 3)), np.ones((2, 3), bool))
    # an empty region: SAD 0, and MSE/MAD 0 instead of a division by zero
    none = np.zeros((2, 2), dtype=np.uint8)
    assert M.sad(pred, gt, none) == M.mse(pred, gt, none) == M.mad(pred, gt, none) == 0.0


def test_grad_and_conn_use_the_whole_image_but_sum_only_the_region():
    pred_u8, gt_u8 = _random_pair(np.random.default_rng(7))
    p, g = pred_u8 / 255.0, gt_u8 / 255.0
    left = np.zeros(gt_u8.shape, bool)
    left[:, : gt_u8.shape[1] // 2] = True
    whole = _reference_grad(p, g, np.ones_like(left))
    part = _reference_grad(p, g, left)
    assert M.grad(pred_u8, gt_u8, left) == pytest.approx(part, rel=1e-9)
    assert M.grad(pred_u8, gt_u8, ~left) == pytest.approx(whole - part, rel=1e-9)
    assert M.conn(pred_u8, gt_u8, left) + M.conn(pred_u8, gt_u8, ~left) == pytest.approx(M.conn(pred_u8, gt_u8))

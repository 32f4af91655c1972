"""Refinement rules on small hand-made tensors, and agreement with an OpenCV formulation."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mam_lib.inference.refinement import (RefinementConfig, dilate, dilate_by_convolution, mask_ring, matte_region,
                                         outside_mask_box, refine, refine_in_rows, uncertain_band)


def t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))[None, None]


def ellipse(size):
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


@pytest.mark.parametrize("size", [2, 3, 5, 10, 15])
def test_dilate_equals_opencv(size):
    rng = np.random.default_rng(size)
    m = (rng.random((37, 41)) > 0.97).astype(np.uint8)
    m[0, 5] = m[-1, -1] = 1  # touch the borders
    ours = dilate(t(m) > 0.5, size)[0, 0].numpy()
    np.testing.assert_array_equal(ours, cv2.dilate(m, ellipse(size)).astype(bool))
    # the GPU form (one convolution, anchored as OpenCV anchors even elements) gives the same pixels
    conv = dilate_by_convolution(t(m) > 0.5, size)[0, 0].numpy()
    np.testing.assert_array_equal(conv, cv2.dilate(m, ellipse(size)).astype(bool))


def test_outside_mask_box_is_inclusive_and_handles_empty():
    m = np.zeros((6, 7))
    m[2, 1] = m[4, 3] = 1
    out = outside_mask_box(t(m))[0, 0].numpy()
    expect = np.ones((6, 7), bool)
    expect[2:5, 1:4] = False
    np.testing.assert_array_equal(out, expect)
    assert outside_mask_box(t(np.zeros((4, 4)))).all()


def test_alpha_guidance_zeroes_outside_the_box_then_replaces_bands():
    a8 = np.full((9, 9), 0.5, np.float32)
    a4 = np.full((9, 9), 0.25, np.float32)
    a1 = np.full((9, 9), 0.75, np.float32)
    mask = np.zeros((9, 9))
    mask[3:6, 3:6] = 1
    steps = refine(t(a8), t(a4), t(a1), t(mask), RefinementConfig(width_os4=2, width_os1=2))
    start = steps.start[0, 0].numpy()
    assert (start[3:6, 3:6] == 0.5).all() and start.sum() == pytest.approx(0.5 * 9)
    # width 2 -> element size 1: no dilation, the band is exactly the non-background, non-foreground pixels
    assert steps.band_os4[0, 0].numpy().sum() == 9
    final = steps.alpha[0, 0].numpy()
    assert (final[3:6, 3:6] == 0.75).all() and (final[0] == 0).all()


def test_one_sided_band_never_overwrites_confident_foreground():
    alpha = np.zeros((11, 11), np.float32)
    alpha[3:8, 3:8] = 1.0
    alpha[5, 2] = 0.5  # a soft pixel next to the solid block
    one = uncertain_band(t(alpha), 6)[0, 0].numpy()
    two = uncertain_band(t(alpha), 6, two_sided=True)[0, 0].numpy()
    assert not one[alpha > 254 / 255].any()  # solid foreground untouched
    assert one[0, 0] == 0 and one[2, 4]  # reaches outward from everything that is not background
    assert two[5, 3]  # two-sided reaches into the solid block next to the soft pixel
    assert not two[3, 7]  # but only near the transition


def test_mask_guidance_starts_from_mask_and_takes_a8_on_the_outer_ring():
    mask = np.zeros((12, 12))
    mask[4:8, 4:8] = 1
    a8 = np.full((12, 12), 0.3, np.float32)
    ones = np.ones((12, 12), np.float32)
    steps = refine(t(a8), t(ones), t(ones), t(mask), RefinementConfig(guidance="mask", width_os8=6))
    ring = steps.band_os8[0, 0].numpy()
    expected_ring = (cv2.erode((1 - mask).astype(np.uint8), ellipse(3)) == 0) & (mask == 0)
    np.testing.assert_array_equal(ring, expected_ring)
    start = steps.start[0, 0].numpy()
    np.testing.assert_array_equal(start[ring], np.float32(0.3))
    np.testing.assert_array_equal(start[mask == 1], 1.0)
    assert (start[~ring & (mask == 0)] == 0).all()
    np.testing.assert_array_equal(mask_ring(t(mask), 6)[0, 0].numpy(), expected_ring)


def _opencv_reference(a8, a4, a1, m, guidance, w8, w4, w1, two_sided):
    """The published rule written with OpenCV on NumPy arrays, independently of the library."""
    if guidance == "alpha":
        ys, xs = np.nonzero(m)
        keep = np.zeros_like(m, bool)
        if len(ys):
            keep[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
        cur = np.where(keep, a8, 0).astype(np.float32)
    else:
        bg_eroded = cv2.erode((1 - m).astype(np.uint8), ellipse(w8 // 2))
        ring = (m == 0) & (bg_eroded == 0)
        cur = np.where(ring, a8, m).astype(np.float32)
    for w, nxt in ((w4, a4), (w1, a1)):
        if two_sided:
            band = cv2.dilate(((cur >= 1 / 255) & (cur <= 1 - 1 / 255)).astype(np.uint8), ellipse(w // 2)) > 0
        else:
            band = (cv2.dilate((cur >= 1 / 255).astype(np.uint8), ellipse(w // 2)) > 0) & ~(cur > 1 - 1 / 255)
        cur = np.where(band, nxt, cur)
    return cur


@pytest.mark.parametrize("guidance", ["alpha", "mask"])
@pytest.mark.parametrize("two_sided", [False, True])
def test_refine_matches_opencv_formulation(guidance, two_sided):
    rng = np.random.default_rng(7)
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-(((yy - 24) / 10.0) ** 2 + ((xx - 30) / 14.0) ** 2))
    m = (blob > 0.5).astype(np.float32)
    a8 = np.clip(blob * 1.3 + rng.normal(0, 0.05, (h, w)), 0, 1).astype(np.float32)
    a8[a8 < 0.05] = 0
    a8[a8 > 0.95] = 1
    a4 = rng.random((h, w)).astype(np.float32)
    a1 = rng.random((h, w)).astype(np.float32)
    cfg = RefinementConfig(guidance=guidance, two_sided=two_sided, width_os8=10, width_os4=20, width_os1=10)
    ours = refine(t(a8), t(a4), t(a1), t(m), cfg).alpha[0, 0].numpy()
    ref = _opencv_reference(a8, a4, a1, m, guidance, 10, 20, 10, two_sided)
    np.testing.assert_array_equal(ours, ref)


def test_batch_items_are_refined_independently():
    mask = torch.zeros(2, 1, 8, 8)
    mask[0, :, 1:3, 1:3] = 1
    mask[1, :, 5:7, 5:7] = 1
    a = torch.full((2, 1, 8, 8), 0.5)
    steps = refine(a, a, a, mask, RefinementConfig(width_os4=2, width_os1=2))
    assert steps.alpha[0, 0, 1, 1] == 0.5 and steps.alpha[0, 0, 6, 6] == 0
    assert steps.alpha[1, 0, 6, 6] == 0.5 and steps.alpha[1, 0, 1, 1] == 0


def test_config_validates():
    with pytest.raises(ValueError, match="guidance"):
        RefinementConfig(guidance="trimap")
    with pytest.raises(ValueError, match="width_os4"):
        RefinementConfig(width_os4=-1)
    assert RefinementConfig().with_(guidance="mask", width_os4=None).guidance == "mask"


def _soft_disc(h, w, seed=0):
    """Decoder-like outputs (1,1,h,w): a soft disc plus noise, so every band and threshold occurs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((yy - h * 0.45) / h, (xx - w * 0.55) / w)
    base = 1 / (1 + np.exp((r - 0.25) * 40))
    return {k: torch.from_numpy(np.clip(base + rng.normal(0, s, base.shape), 0, 1).astype(np.float32))[None, None]
            for k, s in (("alpha_os8", 0.08), ("alpha_os4", 0.04), ("alpha_os1", 0.02))}


@pytest.mark.parametrize("guidance,two_sided", [("alpha", False), ("mask", False), ("alpha", True)])
@pytest.mark.parametrize("size", [(61, 83), (150, 211), (40, 50)])
def test_refine_in_rows_is_the_full_size_refinement_bit_for_bit(guidance, two_sided, size):
    low = _soft_disc(48, 64)
    H, W = size
    full = {k: torch.nn.functional.interpolate(v, (H, W), mode="bilinear", align_corners=False).clamp_(0, 1)
            for k, v in low.items()}
    mask = full["alpha_os8"] > 0.5
    cfg = RefinementConfig(guidance=guidance, two_sided=two_sided, width_os4=8, width_os1=6, width_os8=4)
    expected = refine(full["alpha_os8"], full["alpha_os4"], full["alpha_os1"], mask, cfg).alpha[0, 0].numpy()
    for rows in (7, 1024):  # many bands with halos across band edges, and one band
        got = refine_in_rows(low, mask[0, 0].numpy(), cfg, rows_per_band=rows)
        np.testing.assert_array_equal(got, expected)


def test_matte_region_bounds_where_the_matte_can_be_non_zero():
    low = _soft_disc(48, 64)
    cfg = RefinementConfig(width_os4=8, width_os1=6, width_os8=4)
    mask = np.zeros((120, 160), bool)
    mask[40:60, 70:100] = True
    y0, y1, x0, x1 = matte_region(mask, cfg)
    assert (y0, y1, x0, x1) == (40 - 10, 60 + 10, 70 - 10, 100 + 10)  # halo: 4//2 + 8//2 + 6//2 + 1
    full = {k: torch.nn.functional.interpolate(v, mask.shape, mode="bilinear", align_corners=False).clamp_(0, 1)
            for k, v in low.items()}
    for guidance in ("alpha", "mask"):
        c = cfg.with_(guidance=guidance)
        alpha = refine(full["alpha_os8"], full["alpha_os4"], full["alpha_os1"], t(mask.astype(np.uint8)) > 0.5,
                       c).alpha[0, 0].numpy()
        outside = np.ones_like(mask)
        outside[y0:y1, x0:x1] = False
        assert alpha[~outside].max() > 0 and alpha[outside].max() == 0
    assert matte_region(np.zeros((5, 5), bool), cfg) is None
    np.testing.assert_array_equal(refine_in_rows(low, np.zeros((30, 40), bool), cfg), np.zeros((30, 40), np.float32))

"""The simulated coarse mask has the properties its module documents."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mam_lib.data.coarse_mask import CoarseMaskConfig, mask_iou, simulate_coarse_mask
from mam_lib.data.procedural import make_foreground

OFF = dict(threshold_range=(0.5, 0.5), lowres_prob=0.0, thin_prob=0.0, morph_range=(0.0, 0.0), jitter=0.0,
           hole_prob=0.0, blob_prob=0.0)


def cfg(**changes) -> CoarseMaskConfig:
    return CoarseMaskConfig(**{**OFF, **changes})


@pytest.fixture(scope="module")
def alpha():
    return make_foreground(2, (256, 256), "hair")[1]


def _disc(size=256, r=70):
    yy, xx = np.mgrid[0:size, 0:size]
    return ((xx - size / 2) ** 2 + (yy - size / 2) ** 2 < r * r).astype(np.float32)


def _distance_to_boundary(gt: np.ndarray) -> np.ndarray:
    g = gt.astype(np.uint8)
    return np.minimum(cv2.distanceTransform(g, cv2.DIST_L2, 5), cv2.distanceTransform(1 - g, cv2.DIST_L2, 5))


def test_output_type_and_exact_config(alpha):
    m = simulate_coarse_mask(alpha, 0)
    assert m.dtype == bool and m.shape == alpha.shape
    assert np.array_equal(simulate_coarse_mask(alpha, 0, CoarseMaskConfig.exact()), alpha > 0.5)
    assert np.array_equal(simulate_coarse_mask((alpha * 255).round().astype(np.uint8), 0, CoarseMaskConfig.exact()),
                          alpha > 0.5)


def test_deterministic_per_seed(alpha):
    assert np.array_equal(simulate_coarse_mask(alpha, 5), simulate_coarse_mask(alpha, 5))
    assert np.array_equal(simulate_coarse_mask(alpha, np.random.default_rng(5)), simulate_coarse_mask(alpha, 5))
    masks = [simulate_coarse_mask(alpha, s) for s in range(6)]
    assert len({m.tobytes() for m in masks}) == 6


def test_threshold_range():
    ramp = np.tile(np.linspace(0, 1, 101, dtype=np.float32), (8, 1))
    for s in range(5):
        m = simulate_coarse_mask(ramp, s, cfg(threshold_range=(0.3, 0.6)))
        t = ramp[0][~m[0]].max()  # the binarisation threshold lies between the columns
        assert 0.29 <= t <= 0.61
        assert (m == (ramp > t)).all()


def test_dilation_contains_and_erosion_is_contained(alpha):
    gt = alpha > 0.5
    for s in range(3):
        grown = simulate_coarse_mask(alpha, s, cfg(morph_range=(3.0, 10.0)))
        shrunk = simulate_coarse_mask(alpha, s, cfg(morph_range=(-10.0, -3.0)))
        assert (grown >= gt).all() and grown.sum() > gt.sum()
        assert (shrunk <= gt).all() and shrunk.sum() < gt.sum()


def test_boundary_changes_stay_near_the_boundary(alpha):
    gt = alpha > 0.5
    dist = _distance_to_boundary(gt)
    px = 256 / 1024  # config sizes are for a 1024 side
    morph, jitter = 16.0, 12.0
    limit = (morph + jitter) * px + 1.5
    for s in range(4):
        m = simulate_coarse_mask(alpha, s, cfg(morph_range=(-morph, morph), jitter=jitter))
        changed = m != gt
        assert changed.any()
        assert dist[changed].max() <= limit


def test_low_resolution_round_trip_rounds_details():
    a = _disc(512, 150)
    a[250:262, 100:400] = 1.0  # add a thin bar
    a[100:102, 256] = 1.0
    m = simulate_coarse_mask(a, 0, cfg(lowres_prob=1.0, lowres_size=64))
    changed = m != (a > 0.5)
    assert changed.any()
    assert _distance_to_boundary(a > 0.5)[changed].max() <= 2 * 512 / 64 + 1


def test_holes_are_cut_inside():
    a = _disc(256, 90)
    inner = cv2.erode((a > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    for s in range(3):
        m = simulate_coarse_mask(a, s, cfg(hole_prob=1.0, max_holes=2))
        assert (~m & inner).sum() > 20  # holes well inside the object
        assert not (m & (a <= 0.5)).any()  # nothing added outside


def test_thin_parts_are_missed():
    a = _disc(256, 60)
    a[126:128, 190:250] = 1.0  # a 2-pixel strand sticking out of the disc
    m = simulate_coarse_mask(a, 0, cfg(thin_prob=1.0, thin_radius=(8.0, 8.0)))
    assert not m[126:128, 200:250].any()  # the strand is gone
    core = cv2.erode((a > 0.5).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert m[core].all()  # the body stays


def test_spurious_blobs_touch_the_object():
    a = _disc(256, 60)
    m = simulate_coarse_mask(a, 1, cfg(blob_prob=1.0, max_blobs=2))
    extra = m & (a <= 0.5)
    assert extra.any()
    n, labels = cv2.connectedComponents(m.astype(np.uint8))
    assert n == 2  # one connected region: the blobs are attached


def test_empty_alpha_gives_empty_mask():
    assert not simulate_coarse_mask(np.zeros((64, 64), np.float32), 0).any()


def test_presets_are_ordered_by_difficulty(alpha):
    def mean_iou(c):
        return np.mean([mask_iou(simulate_coarse_mask(alpha, s, c), alpha) for s in range(6)])

    mild = mean_iou(CoarseMaskConfig.mild())
    default = mean_iou(CoarseMaskConfig())
    hard = mean_iou(CoarseMaskConfig.hard())
    assert 0.5 < hard < mild < 1.0
    assert 0.5 < default < 1.0
    assert mask_iou(alpha > 0.5, alpha) == 1.0


def test_boundary_prob_decides_how_often_the_boundary_moves(alpha):
    gt = alpha > 0.5
    moved = dict(morph_range=(4.0, 10.0), jitter=0.0)
    never = [simulate_coarse_mask(alpha, s, cfg(boundary_prob=0.0, **moved)) for s in range(4)]
    assert all(np.array_equal(m, gt) for m in never)
    always = [simulate_coarse_mask(alpha, s, cfg(boundary_prob=1.0, **moved)) for s in range(4)]
    assert not any(np.array_equal(m, gt) for m in always)
    half = [np.array_equal(simulate_coarse_mask(alpha, s, cfg(boundary_prob=0.5, **moved)), gt) for s in range(40)]
    assert 8 <= sum(half) <= 32  # about half of the masks keep the exact boundary


def test_sam_like_masks_cut_no_holes_and_often_keep_the_boundary():
    a = _disc(256, 90)
    inner = cv2.erode((a > 0.5).astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    masks = [simulate_coarse_mask(a, s, CoarseMaskConfig.sam_like()) for s in range(12)]
    assert all(m[inner].all() for m in masks)  # the inside is never cut: errors stay at the boundary
    exact = sum(mask_iou(m, a) > 0.99 for m in masks)
    assert 2 <= exact <= 10  # some masks are (nearly) exact, others are off
    with_holes = [simulate_coarse_mask(a, s, CoarseMaskConfig()) for s in range(12)]
    assert any(not m[inner].all() for m in with_holes)  # the default simulation does cut holes

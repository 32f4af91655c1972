"""Plotting helpers: the arrays they compute and the panels they draw."""
from __future__ import annotations

import cv2
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mam_lib.teaching import viz  # noqa: E402
from mam_lib.io.cutout import checkerboard  # noqa: E402
from mam_lib.inference.refinement import RefinementConfig  # noqa: E402
from mam_lib.teaching.refinement_report import stand_in_result  # noqa: E402

H, W = 96, 128


@pytest.fixture(scope="module")
def alpha():
    """A solid disc with a soft (blurred) rim on a 96×128 canvas."""
    disc = np.zeros((H, W), np.float32)
    cv2.circle(disc, (80, 50), 22, 1.0, -1)
    return cv2.GaussianBlur(disc, (0, 0), 3.0)


@pytest.fixture(scope="module")
def image(alpha):
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 255, (H, W, 3)).astype(np.float32)
    fg = np.array([220, 120, 60], np.float32)
    return np.clip(alpha[..., None] * fg + (1 - alpha[..., None]) * bg, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def result(alpha):
    return stand_in_result(alpha, seed=1)


def _shown(ax) -> np.ndarray:
    return np.asarray(ax.images[0].get_array())


def test_pick_zoom_box_finds_the_soft_pixels():
    a = np.zeros((60, 90), np.float32)
    a[40:50, 10:20] = 0.5  # the only semi-transparent patch
    a[0:20, 60:90] = 1.0  # solid: not of interest
    x0, y0, x1, y1 = viz.pick_zoom_box(a, size=16)
    assert (x1 - x0, y1 - y0) == (16, 16)
    assert x0 <= 10 and x1 >= 20 and y0 <= 40 and y1 >= 50


def test_pick_zoom_box_bool_mask_empty_and_oversized():
    m = np.zeros((50, 70), bool)
    m[5:9, 60:66] = True
    x0, y0, x1, y1 = viz.pick_zoom_box(m, size=10)
    assert x0 <= 60 and x1 >= 66 and y0 <= 5 and y1 >= 9
    assert viz.pick_zoom_box(np.zeros((50, 70), bool), size=10) == (30, 20, 40, 30)  # centred
    assert viz.pick_zoom_box(np.full((50, 70), 0.5, np.float32), size=500) == (0, 0, 50, 50)  # clipped to fit


def test_crop_and_grey_conversion(alpha):
    assert viz.crop(alpha, (10, 20, 50, 30)).shape == (10, 40)
    assert viz.crop(alpha, None) is alpha
    rgb = viz.alpha_to_rgb(np.array([[0.0, 0.5, 1.0]]))
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    assert rgb[0, :, 0].tolist() == [0, 128, 255] and (rgb[..., 0] == rgb[..., 2]).all()


def test_band_overlay_tints_only_the_band(alpha):
    band = np.zeros_like(alpha, bool)
    band[30:40, 30:60] = True
    out = viz.band_overlay(alpha, band)
    grey = viz.alpha_to_rgb(alpha)
    np.testing.assert_array_equal(out[~band], grey[~band])
    # inside the band every pixel moved towards the band colour
    dist_before = np.abs(grey[band].astype(float) - viz.BAND_COLOR).sum(1)
    dist_after = np.abs(out[band].astype(float) - viz.BAND_COLOR).sum(1)
    assert (dist_after < dist_before).all()


def test_error_map(alpha):
    gt = alpha
    pred = np.clip(alpha + 0.1, 0, 1)
    np.testing.assert_allclose(viz.error_map(pred, gt, signed=True), pred - gt, atol=1e-6)
    assert (viz.error_map(gt, pred) >= 0).all()
    with pytest.raises(ValueError, match="differ in size"):
        viz.error_map(alpha, alpha[:10])


def test_cutout_on_checkerboard(image):
    ones = np.ones((H, W), np.float32)
    np.testing.assert_array_equal(viz.cutout_on_checkerboard(image, ones), image)
    np.testing.assert_array_equal(viz.cutout_on_checkerboard(image, 0 * ones, square=8), checkerboard((H, W), 8))


def test_outline_keeps_image_orientation(image, alpha):
    fig, ax = plt.subplots()
    viz.overlay_mask(ax, image, alpha > 0.5, outline=True)
    bottom, top = ax.get_ylim()
    assert bottom > top  # image rows still grow downwards after drawing the contour
    assert len(ax.collections) > 0  # the contour was drawn


def test_show_error_title_has_sad(alpha):
    fig, ax = plt.subplots()
    pred = np.zeros_like(alpha)
    viz.show_error(ax, pred, alpha, "err")
    assert f"SAD {alpha.sum() / 1000:.2f}" in ax.get_title()
    np.testing.assert_allclose(_shown(ax), alpha, atol=1e-6)


def test_zoom_inset_shows_the_box(alpha):
    fig, ax = plt.subplots()
    viz.show_alpha_zoom(ax, alpha, "a", zoom_box=(60, 30, 100, 70))
    inset = ax.child_axes[0]
    assert inset.get_xlim() == pytest.approx((59.5, 99.5))
    assert inset.get_ylim() == pytest.approx((69.5, 29.5))


def test_show_change_scales_to_the_changes():
    fig, ax = plt.subplots()
    before = np.zeros((10, 10), np.float32)
    after = before.copy()
    after[2, 2] = 0.3
    viz.show_change(ax, before, after)
    assert ax.images[0].get_clim() == pytest.approx((-0.3, 0.3))
    assert "±0.30" in ax.get_title()


def test_stage_grid_panels_follow_the_result(result, alpha):
    fig = viz.plot_stage_grid(result, alpha)
    axes = np.array(fig.axes[:12]).reshape(4, 3)
    for j, key in enumerate(("os8", "os4", "os1")):
        assert f"band {int(result.bands[key].sum())} px" in axes[0, j].get_title()
    np.testing.assert_allclose(_shown(axes[2, 0]), result.start)
    np.testing.assert_allclose(_shown(axes[2, 1]), result.after_os4)
    np.testing.assert_allclose(_shown(axes[2, 2]), result.alpha)
    np.testing.assert_allclose(_shown(axes[1, 2]), result.alpha - result.after_os4, atol=1e-6)
    # without a known alpha there is no error row
    assert len(viz.plot_stage_grid(result).axes) == 9


def test_crop_box_restricts_every_panel(result, alpha):
    box = (40, 20, 104, 76)
    fig = viz.plot_stage_grid(result, alpha, crop_box=box)
    assert all(_shown(ax).shape[:2] == (56, 64) for ax in fig.axes)
    fig = viz.plot_refinement_comparison({"a": result, "b": result}, alpha, crop_box=box)
    assert len(fig.axes) == 8 and all(_shown(ax).shape[:2] == (56, 64) for ax in fig.axes)


def test_comparison_rows_are_labelled(result, alpha):
    other = stand_in_result(alpha, seed=1, refinement=RefinementConfig(two_sided=True))
    fig = viz.plot_refinement_comparison({"one": result, "two": other})
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 6
    assert titles[0].startswith("one") and titles[3].startswith("two")
    assert f"{int(other.bands['os1'].sum())} px" in titles[4]
    with pytest.raises(ValueError):
        viz.plot_refinement_comparison({})


def test_overview_figures(image, result, alpha):
    fig = viz.plot_refinement_stages(image, result, gt_alpha=alpha)
    assert len(fig.axes) >= 10 and "SAD" in fig.axes[9].get_title()
    fig = viz.plot_refinement_stages(image, result, figsize=(10, 4))  # the older call form still works
    assert tuple(fig.get_size_inches()) == pytest.approx((10, 4))
    fig = viz.plot_decoder_outputs(image, result, alpha)
    titles = [ax.get_title() for ax in fig.axes]
    assert {"alpha_os8", "alpha_os4", "alpha_os1", "known alpha"} <= set(titles)
    summary = viz.plot_refinement_summary(result, image=image)
    assert summary.axes[-1].get_title() == "cut-out"


def test_figure_to_png_closes(result):
    fig = viz.plot_refinement_summary(result)
    png = viz.figure_to_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


def test_text_instances_figure_draws_each_box_and_matte(image, alpha):
    from types import SimpleNamespace

    from mam_lib.inference.text import Detections

    dets = Detections(boxes=np.array([[58, 28, 102, 72], [5, 5, 30, 20]], np.float32),
                      scores=np.array([0.8, 0.4], np.float32), phrases=["disc", ""], text="the disc.",
                      image_size=(H, W))
    results = [SimpleNamespace(alpha=alpha, box=d.box, detection=d) for d in dets]
    fig = viz.plot_text_instances(image, dets, results)
    axes = fig.axes
    assert len(axes) == 6  # image + 2 instances, on two rows
    assert axes[0].get_title() == "'the disc.': 2 box(es)" and len(axes[0].patches) == 2
    assert [t.get_text() for t in axes[0].texts] == ["1: disc 0.80", "2: — 0.40"]
    assert axes[1].get_title() == "1: disc 0.80" and axes[4].get_title() == "alpha 1"
    empty = viz.plot_text_instances(image, Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [],
                                                      "the cat."), [])
    assert "no box above the thresholds" in [t.get_text() for a in empty.axes for t in a.texts]


def test_sam_candidates_figure_marks_the_kept_one(image, alpha):
    masks = np.stack([alpha > 0.9, alpha > 0.5, alpha > 0.1])
    fig = viz.plot_sam_candidates(image, masks, [0.3, 0.9, 0.5], box=[50, 20, 110, 80], gt_alpha=alpha,
                                  title="three candidates")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 3 and "(kept)" in titles[1] and "(kept)" not in titles[0] + titles[2]
    assert "predicted IoU 0.90" in titles[1] and "true IoU 1.00" in titles[1]
    assert fig._suptitle.get_text() == "three candidates"
    assert len(fig.axes[0].patches) == 1  # the box drawn on the first panel


def test_mask_iou():
    a = np.zeros((4, 4), bool)
    b = a.copy()
    a[:2] = True
    b[1:3] = True
    assert viz.mask_iou(a, b) == pytest.approx(4 / 12)
    assert viz.mask_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0


def test_figures_take_a_title_and_a_mask_title(image, result, alpha):
    fig = viz.plot_refinement_stages(image, result, alpha, title="stand-in path", mask_title="stand-in mask")
    assert fig._suptitle.get_text() == "stand-in path" and fig.axes[1].get_title() == "stand-in mask"
    untitled = viz.plot_refinement_stages(image, result, alpha)
    assert untitled._suptitle is None and untitled.axes[1].get_title() == "coarse mask (not from SAM)"
    assert viz.plot_stage_grid(result, alpha, title="grid")._suptitle.get_text() == "grid"
    assert viz.plot_decoder_outputs(image, result, alpha, title="outputs")._suptitle.get_text() == "outputs"
    assert viz.plot_refinement_comparison({"a": result}, alpha, title="cmp")._suptitle.get_text() == "cmp"

"""Trimap comparison: metrics only in the unknown region, closed form on an easy case, panels that show something."""
from __future__ import annotations

import cv2
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from mam_lib.inference import guides as G  # noqa: E402
from mam_lib.inference.m2m import calibrated_random_m2m  # noqa: E402
from mam_lib.inference.predictor import MattingPredictor  # noqa: E402
from mam_lib.io.samples import DemoSample  # noqa: E402
from mam_lib.teaching import trimap_comparison as tc  # noqa: E402

H, W = 60, 80


@pytest.fixture(scope="module")
def alpha() -> np.ndarray:
    """A solid disc with a soft rim."""
    disc = np.zeros((H, W), np.float32)
    cv2.circle(disc, (40, 30), 16, 1.0, -1)
    return np.clip(cv2.GaussianBlur(disc, (0, 0), 2.0), 0, 1)


@pytest.fixture(scope="module")
def image(alpha) -> np.ndarray:
    """An easy composite: a flat orange foreground over a flat blue background (colour lines hold)."""
    fg, bg = np.array([230, 140, 40], np.float32), np.array([30, 60, 200], np.float32)
    a = alpha[..., None]
    return np.clip(np.rint(a * fg + (1 - a) * bg), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def trimap(alpha) -> np.ndarray:
    return tc.trimap_of_width(alpha, 3)


def test_trimap_of_width_keeps_only_sure_pixels_definite(alpha):
    tight, rough = tc.trimap_of_width(alpha, 2), tc.trimap_of_width(alpha, 8)
    for t in (tight, rough):
        assert set(np.unique(t)) == {0, 128, 255}
        assert np.all(alpha[t == 255] >= 254.5 / 255) and np.all(alpha[t == 0] <= 0.5 / 255)
    assert (rough == 128).sum() > (tight == 128).sum()
    with pytest.raises(ValueError):
        tc.trimap_of_width(alpha, 0)


def test_metrics_count_only_the_unknown_region(alpha, trimap):
    rng = np.random.default_rng(0)
    pred = rng.random((H, W)).astype(np.float32)           # wrong everywhere ...
    pred[trimap == 128] = alpha[trimap == 128]             # ... except in the unknown region
    assert tc.unknown_metrics(pred, alpha, trimap) == {"SAD": 0.0, "MSE×1e3": 0.0, "Grad": pytest.approx(0.0, abs=50)}
    # Grad's gradients see the neighbours, so only SAD and MSE are exactly 0; a prediction that is
    # right everywhere gives 0 for all three
    assert tc.unknown_metrics(alpha, alpha, trimap) == {"SAD": 0.0, "MSE×1e3": 0.0, "Grad": 0.0}
    off = alpha.copy()
    off[trimap == 128] = 0.5
    sad = tc.unknown_metrics(off, alpha, trimap)["SAD"]
    assert sad == pytest.approx(np.abs(0.5 - alpha[trimap == 128]).sum() / 1000)
    # the same error outside the unknown region changes nothing
    off2 = off.copy()
    off2[trimap != 128] = 1 - off2[trimap != 128]
    assert tc.unknown_metrics(off2, alpha, trimap)["SAD"] == sad


def test_closed_form_beats_a_constant_on_an_easy_case_and_the_table_has_every_row(image, alpha, trimap):
    comparison = tc.compare_on_trimaps(None, image, alpha, {"tight": trimap}, prompts={})
    cf, const = comparison.run("tight", tc.CLOSED_FORM), comparison.run("tight", tc.CONSTANT)
    assert cf.seconds > 0 and const.seconds == 0
    for header in ("SAD", "MSE×1e3", "Grad"):
        assert cf.metrics[header] < 0.25 * const.metrics[header], header
    np.testing.assert_array_equal(const.alpha[trimap == 128], 0.5)
    assert comparison.winners() == {"tight": tc.CLOSED_FORM}
    table = comparison.table()
    assert table.columns == ("trimap", "method", "unknown px", "SAD", "MSE×1e3", "Grad", "seconds")
    assert table.column("method") == [tc.CLOSED_FORM, tc.CONSTANT]
    assert table.column("unknown px") == [int((trimap == 128).sum())] * 2
    assert "closed form (pymatting)" in str(table) and "<table>" in comparison._repr_html_()


@pytest.mark.slow
def test_with_a_predictor_the_trimaps_regions_are_kept_and_timed(tiny_sam, image, alpha, trimap):
    predictor = MattingPredictor(tiny_sam, calibrated_random_m2m(0), device="cpu")
    predictor.set_image(image)  # a copy of it: the comparison sees it is the same image and does not encode it again
    encoding = predictor.encoding
    comparison = tc.compare_on_trimaps(predictor, image.copy(), alpha, {"tight": trimap},
                                       prompts={"M2M": {}, "M2M + box": {"box": [20, 10, 60, 50]}}, closed_form=False)
    assert predictor.encoding is encoding and comparison.encode_seconds > 0
    assert comparison.methods() == ["M2M", "M2M + box", tc.CONSTANT]
    for method in ("M2M", "M2M + box"):
        run = comparison.run("tight", method)
        assert run.seconds > 0 and run.result.guide.kind == "trimap"
        check = tc.region_check(run.alpha, trimap, run.result.alpha_os1)
        assert check["fg_all_one"] and check["bg_all_zero"] and check["unknown_max_diff"] < 1e-6
        assert check["unknown_px"] == int((trimap == 128).sum())
    rows = tc.comparison_panels(comparison)
    assert len(rows) == 1 and [p.title.split(" (")[0] for p in rows[0]][:3] == ["trimap tight", "M2M", "M2M + box"]
    errors = [p for p in rows[0] if p.kind == "error"]
    assert len(errors) == 2 and all(not p.array[trimap != 128].any() for p in errors)  # 0 outside the unknown region
    assert tc.plot_panels(rows) is not None


def test_region_check_reads_scribbles_and_finds_a_broken_region():
    marks = np.zeros((4, 5), np.uint8)
    marks[0, :2], marks[1, :2], marks[2, :2] = G.FG, G.BG, G.UNKNOWN
    a = np.zeros((4, 5), np.float32)
    a[0, :2], a[2, :2] = 1.0, 0.3
    check = tc.region_check(a, marks, finest=np.full((4, 5), 0.3, np.float32))
    assert check == {"fg_px": 2, "bg_px": 2, "unknown_px": 2, "fg_all_one": True, "bg_all_zero": True,
                     "unknown_max_diff": pytest.approx(0.0)}
    a[1, 0] = 0.5
    assert not tc.region_check(a, marks)["bg_all_zero"] and tc.region_check(a, marks)["unknown_max_diff"] is None


def test_mask_path_panels_show_the_mask_its_cells_and_the_padding(image, alpha):
    mask = alpha >= 0.5
    input_size = (768, 1024)  # an 80×60 photo in SAM's frame
    low = G.mask_to_lowres(mask, input_size)
    panels = tc.mask_path_panels(image, mask, low, input_size, alpha)
    assert [p.kind for p in panels] == ["image", "alpha", "image", "alpha"]
    frame = panels[1].array
    assert frame.shape == (256, 256) and set(np.unique(frame)) == {0.0, 0.25, 1.0}  # background, padding, mask
    assert np.all(frame[192:] == 0.25) and np.any(frame[:192] == 1) and np.any(frame[:192] == 0)
    back = tc.lowres_at_photo_size(low, input_size, mask.shape)
    assert back.shape == mask.shape and (back == mask).mean() > 0.9  # the cells are the mask, but for the edge
    text = tc.describe_panels(panels)
    assert "constant" not in text and "M2M's 256² input: 0–1" in text
    assert tc.plot_panels(panels) is not None


def test_describe_panels_says_when_a_panel_is_one_value():
    text = tc.describe_panels([tc.Panel("flat (x)", np.zeros((3, 3))), tc.Panel("ramp", np.linspace(0, 1, 9))])
    assert text == "panel values: flat: constant 0 | ramp: 0–1"


def test_scribble_panels_and_overlay(image, alpha):
    s = np.zeros((H, W), np.uint8)
    s[2:6, 2:20], s[28:32, 35:45], s[10:14, 60:70] = G.BG, G.FG, G.UNKNOWN
    over = tc.scribble_overlay(image, s)
    assert over.shape == image.shape and over.dtype == np.uint8
    assert np.array_equal(over[s == G.FREE], image[s == G.FREE])
    assert not np.array_equal(over[s == G.BG], image[s == G.BG])
    panels = tc.scribble_panels(image, s, np.zeros_like(alpha), alpha, alpha)
    assert panels[0].title == f"strokes ({int((s != 0).sum())} px painted)"
    assert panels[-1].title.endswith("SAD 0.00") and not panels[-1].array.any()
    assert panels[-2].array.max() > 0.9


def test_scaled_sample_scales_the_prompt_with_the_image(image, alpha):
    sample = DemoSample(image=image, alpha=alpha, box=np.array([20, 10, 60, 50], np.float32),
                        points=np.array([[40, 30]], np.float32), labels=np.array([1]), folder=None)
    half = tc.scaled_sample(sample, 0.5)
    assert half.image.shape == (30, 40, 3) and half.alpha.shape == (30, 40)
    np.testing.assert_allclose(half.box, [10, 5, 30, 25])
    np.testing.assert_allclose(half.points, [[20, 15]])
    assert 0 <= half.alpha.min() and half.alpha.max() <= 1
    assert tc.scaled_sample(sample, 1) is sample


def test_honesty_note_is_plain_about_random_weights():
    note = tc.honesty_note(False)
    assert "RANDOM weights" in note and "meaningless" in note and "closed-form matting" in note
    assert "random" not in tc.honesty_note(True).lower()

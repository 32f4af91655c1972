"""Masks, trimaps and scribbles as prompts: the mask path, the trimap's regions, the marks, bad guides."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mam_lib.errors import PromptError
from mam_lib.inference import guides as G
from mam_lib.inference.m2m import calibrated_random_m2m
from mam_lib.inference.predictor import MattingPredictor

H, W = 150, 200


def _image() -> np.ndarray:
    rng = np.random.default_rng(1)
    img = (rng.random((H, W, 3)) * 80).astype(np.uint8)
    img[40:110, 60:150] = (220, 170, 80)
    return img


def _predictor(sam, backend: str) -> MattingPredictor:
    p = MattingPredictor(sam, calibrated_random_m2m(0), device="cpu", backend=backend)
    p.set_image(_image())
    return p


@pytest.fixture(scope="module", params=["fast", "eager"])
def predictor(request, tiny_sam):
    """Both backends: the marks are applied to the row-wise and to the full-size refinement."""
    return _predictor(tiny_sam, request.param)


@pytest.fixture(scope="module")
def fast(tiny_sam):
    return _predictor(tiny_sam, "fast")


def _trimap() -> np.ndarray:
    t = np.zeros((H, W), np.uint8)
    t[30:120, 50:160] = 128
    t[45:105, 65:145] = 255
    return t


def test_an_earlier_sam_prediction_as_mask_gives_the_sam_path_exactly(fast):
    predictor = fast
    sam_result = predictor.predict(box=[60, 40, 150, 110])
    again = predictor.predict(mask=sam_result.sam)
    np.testing.assert_array_equal(again.alpha, sam_result.alpha)
    np.testing.assert_array_equal(again.mask, sam_result.mask)


def test_a_full_size_sam_mask_comes_back_to_sams_low_res_mask_but_for_edge_cells(tiny_sam):
    """SAM's own full-size mask (smooth logits, as a trained SAM gives) → M2M's 256² input: the same
    cells as SAM's low-res mask except a few on its edge, for photos of several shapes."""
    p = MattingPredictor(tiny_sam, calibrated_random_m2m(0), device="cpu")
    yy, xx = np.mgrid[:256, :256]
    logits = torch.tensor(40.0 - np.hypot(yy - 90, xx - 110) + 8 * np.sin(xx / 7.0), dtype=torch.float32)[None]
    for size in ((300, 400), (768, 1024), (333, 517), (1000, 1500)):
        p.set_image(np.zeros((*size, 3), np.uint8))
        h, w = p.encoding.input_size
        full = p.sam_predictor.full_size_mask(logits)
        low = G.mask_to_lowres(full, (h, w))
        ref = (logits[0] > 0).numpy()
        valid = (slice(0, h // 4), slice(0, w // 4))
        differ = low[valid] != ref[valid]
        edge = np.zeros_like(ref)
        for axis in (0, 1):
            for shift in (1, -1):
                edge |= ref != np.roll(ref, shift, axis)
        assert differ.sum() <= 0.2 * edge[valid].sum(), size  # at most a fifth of the edge cells
        assert not (differ & ~edge[valid]).any(), size  # and only there
        assert not low[h // 4 + 1:].any() and not low[:, w // 4 + 1:].any()  # nothing in the padding


def test_the_mask_path_runs_m2m_and_the_refinement_on_the_given_mask(fast):
    predictor = fast
    yy, xx = np.mgrid[:H, :W]
    disc = (yy - 75) ** 2 + (xx - 100) ** 2 < 40 ** 2
    for given in (disc, disc.astype(np.uint8), disc.astype(np.uint8) * 255, disc.astype(np.float32)):
        r = predictor.predict(mask=given)
        np.testing.assert_array_equal(r.mask, disc)
        assert r.sam.index == -1 and np.isnan(r.sam.iou)
        assert r.alpha.shape == (H, W) and r.alpha.dtype == np.float32
        assert r.alpha[~r.bands["os1"] & ~disc].max() == 0  # alpha guidance: nothing outside the box but bands
    low = r.sam.mask_lowres[0, 0].numpy()
    np.testing.assert_array_equal(low > 0.5, G.mask_to_lowres(disc, predictor.encoding.input_size))
    # the logits can be passed back to SAM as a mask prompt
    follow = predictor.predict(box=[60, 35, 140, 115], mask_input=r.sam.logits_lowres)
    assert follow.alpha.shape == (H, W)


def test_trimap_regions_are_respected_exactly_and_the_unknown_region_comes_from_the_finest_step(predictor):
    t = _trimap()
    for kwargs in ({}, {"box": [60, 40, 150, 110]}, {"points": [[100, 75]]}):
        r = predictor.predict(trimap=t, **kwargs)
        assert np.all(r.alpha[t == 255] == 1.0) and np.all(r.alpha[t == 0] == 0.0)
        np.testing.assert_allclose(r.alpha[t == 128], r.alpha_os1[t == 128], atol=1e-6)
        assert r.guide.kind == "trimap"
        # a change of refinement keeps the trimap's regions
        again = predictor.refine(r, guidance="mask")
        assert np.all(again.alpha[t == 255] == 1.0) and np.all(again.alpha[t == 0] == 0.0)
    # without a prompt the coarse mask is the foreground plus the near half of the unknown region
    r = predictor.predict(trimap=t)
    assert r.mask[t == 255].all() and not r.mask[t == 0].any()
    assert 0 < r.mask[t == 128].mean() < 1


def test_trimap_mask_splits_the_unknown_region_at_its_middle():
    marks = np.full((1, 11), G.UNKNOWN, np.uint8)
    marks[0, :2], marks[0, -2:] = G.FG, G.BG
    np.testing.assert_array_equal(G.trimap_mask(marks)[0], [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    only_unknown = np.full((3, 3), G.UNKNOWN, np.uint8)
    assert G.trimap_mask(only_unknown).all()


def test_scribbles_set_alpha_where_painted_and_edit_the_mask_m2m_reads(predictor):
    box = [60, 40, 150, 110]
    plain = predictor.predict(box=box)
    s = np.zeros((H, W), np.uint8)
    s[50:70, 70:100] = G.BG          # a hole in the object
    s[5:15, 5:25] = G.FG             # a part SAM missed, far away
    s[120:140, 160:190] = G.UNKNOWN  # a soft region outside the box
    r = predictor.predict(box=box, scribbles=s)
    assert np.all(r.alpha[s == G.BG] == 0) and np.all(r.alpha[s == G.FG] == 1)
    np.testing.assert_allclose(r.alpha[s == G.UNKNOWN], r.alpha_os1[s == G.UNKNOWN], atol=1e-6)
    free = s == G.FREE
    assert r.mask[s == G.FG].all() and not r.mask[s == G.BG].any()
    np.testing.assert_array_equal(r.mask[free], plain.mask[free])  # unpainted pixels keep SAM's mask
    low = r.sam.mask_lowres[0, 0].numpy() > 0.5
    h, w = predictor.encoding.input_size
    assert low[G._touched(s == G.FG, (h, w))].all() and not low[G._touched(s == G.BG, (h, w))].any()
    # scribbles painted over a trimap win
    t = _trimap()
    over = np.zeros((H, W), np.uint8)
    over[70:80, 90:100] = G.BG  # inside the trimap's foreground
    r2 = predictor.predict(trimap=t, scribbles=over)
    assert np.all(r2.alpha[70:80, 90:100] == 0) and r2.guide.kind == "trimap + scribbles"
    # only unknown strokes: SAM's mask is kept as it is
    soft = np.zeros((H, W), np.uint8)
    soft[120:140, 160:190] = G.UNKNOWN
    r3 = predictor.predict(box=box, scribbles=soft)
    assert r3.sam is plain.sam or np.array_equal(r3.mask, plain.mask)


@pytest.mark.parametrize("kwargs, words", [
    ({"mask": np.zeros((H, W), bool)}, "empty"),
    ({"mask": np.ones((H // 2, W), bool)}, "200×75 but the image is 200×150"),
    ({"mask": np.ones((H, W, 3), np.uint8)}, "colour image"),
    ({"mask": np.full((H, W), 200.0)}, "divide it by 255"),
    ({"mask": np.full((H, W), np.nan)}, "NaN"),
    ({"mask": np.full((H, W), 300, np.int32)}, "0..255"),
    ({"trimap": np.full((H, W), 255, np.uint8)}, "no unknown (128) pixels"),
    ({"trimap": np.full((H, W), 100, np.uint8)}, "other than 0, 128 and 255"),
    ({"trimap": np.zeros((H, 10), np.uint8)}, "10×150"),
    ({"trimap": np.zeros((H, W), np.float32)}, "8-bit grey"),
    ({"scribbles": np.full((H, W), 7, np.uint8)}, "other than 0..3"),
    ({"scribbles": np.full((H, W), 2, np.uint8)}, "mark no foreground"),
    ({"mask": np.ones((H, W), bool), "box": [1, 1, 50, 50]}, "either a mask or a box"),
])
def test_bad_guides_get_a_clear_error(fast, kwargs, words):
    predictor = fast
    with pytest.raises(PromptError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        predictor.predict(**kwargs)

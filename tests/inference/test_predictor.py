"""MattingPredictor end to end with the tiny SAM and a random M2M (mechanics, not quality)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mam_lib.errors import ImageReadError, PromptError
from mam_lib.inference.refinement import RefinementConfig


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    img = np.full((180, 240, 3), 90, np.uint8)
    img[40:150, 60:190] = (230, 120, 60)
    return np.clip(img + rng.integers(0, 25, img.shape), 0, 255).astype(np.uint8)


def test_predict_shapes_ranges_and_bands(tiny_predictor, image):
    tiny_predictor.set_image(image)
    r = tiny_predictor.predict(box=[50, 30, 200, 160])
    for key in ("alpha", "alpha_os8", "alpha_os4", "alpha_os1", "start", "after_os4"):
        arr = getattr(r, key)
        assert arr.shape == (180, 240) and arr.dtype == np.float32
        assert arr.min() >= 0 and arr.max() <= 1
    assert r.mask.shape == (180, 240) and r.mask.dtype == bool
    assert set(r.bands) == {"os8", "os4", "os1"}
    assert r.sam.mask_lowres.shape == (1, 1, 256, 256)
    # the final alpha is what the bands say: os1 pixels from alpha_os1, the rest from the os4 stage
    np.testing.assert_array_equal(r.alpha[r.bands["os1"]], r.alpha_os1[r.bands["os1"]])
    np.testing.assert_array_equal(r.alpha[~r.bands["os1"]], r.after_os4[~r.bands["os1"]])
    assert {"sam", "m2m", "refine", "total"} <= set(r.timings)


def test_prompts_do_not_rerun_the_image_encoder(tiny_predictor, image, monkeypatch):
    tiny_predictor.set_image(image)
    calls = []
    encoder = tiny_predictor.sam.image_encoder
    monkeypatch.setattr(encoder, "forward", lambda *a, **k: calls.append(1))
    tiny_predictor.predict(box=[50, 30, 200, 160])
    tiny_predictor.predict(points=[[120, 90]], labels=[1])
    tiny_predictor.predict(points=[[120, 90], [5, 5]], labels=[1, 0], box=[50, 30, 200, 160], guidance="mask")
    assert calls == []


def test_eval_is_deterministic_and_refine_reuses_outputs(tiny_predictor, image):
    tiny_predictor.set_image(image)
    a = tiny_predictor.predict(box=[50, 30, 200, 160])
    b = tiny_predictor.predict(box=[50, 30, 200, 160])
    np.testing.assert_array_equal(a.alpha, b.alpha)
    again = tiny_predictor.refine(a)
    np.testing.assert_array_equal(again.alpha, a.alpha)
    wide = tiny_predictor.refine(a, RefinementConfig(width_os4=40, width_os1=30))
    assert wide.bands["os4"].sum() >= a.bands["os4"].sum()
    mask_mode = tiny_predictor.refine(a, guidance="mask")
    np.testing.assert_array_equal(mask_mode.start[a.mask], 1.0)


def test_several_boxes_give_one_matte_each(tiny_predictor, image):
    tiny_predictor.set_image(image)
    boxes = [[50, 30, 200, 160], [0, 0, 100, 90]]
    many = tiny_predictor.predict_boxes(boxes)
    assert len(many) == 2
    for box, res in zip(boxes, many):
        single = tiny_predictor.predict(box=box)
        np.testing.assert_allclose(res.alpha, single.alpha, atol=1e-5)
        np.testing.assert_array_equal(res.box, np.asarray(box, np.float32))


def test_image_inputs_are_converted(tiny_predictor, image, tmp_path):
    grey = image[..., 0]
    tiny_predictor.set_image(grey)
    assert tiny_predictor.image.shape == (180, 240, 3)
    assert (tiny_predictor.image[..., 0] == tiny_predictor.image[..., 2]).all()
    rgba = np.dstack([image, np.zeros(image.shape[:2], np.uint8)])
    tiny_predictor.set_image(rgba)
    np.testing.assert_array_equal(tiny_predictor.image, image)  # alpha dropped, colours kept
    Image.fromarray(image).save(tmp_path / "x.png")
    tiny_predictor.set_image(tmp_path / "x.png")
    np.testing.assert_array_equal(tiny_predictor.image, image)
    tiny_predictor.set_image(Image.fromarray(image))
    np.testing.assert_array_equal(tiny_predictor.image, image)


def test_bad_inputs_are_explained(tiny_predictor, image, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageReadError, match="could not be read"):
        tiny_predictor.set_image(tmp_path / "broken.png")
    with pytest.raises(ImageReadError, match="does not exist"):
        tiny_predictor.set_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="shape"):
        tiny_predictor.set_image(np.zeros((4, 4, 5), np.uint8))
    tiny_predictor.set_image(image)
    with pytest.raises(PromptError, match="boxes must be"):
        tiny_predictor.predict_boxes(np.zeros((2, 3)))
    with pytest.raises(PromptError, match="outside"):
        tiny_predictor.predict(box=[300, 200, 400, 300])


# --- the fast path against the eager (published) one ------------------------------------------

@pytest.fixture(scope="module")
def pair(tiny_sam):
    """The same SAM and decoder behind the eager and the fast backend (the decoder not saturated)."""
    import torch

    from mam_lib.inference.m2m import calibrated_random_m2m
    from mam_lib.inference.predictor import MattingPredictor

    m2m = calibrated_random_m2m(seed=2)
    eager = MattingPredictor(tiny_sam, m2m, device="cpu", backend="eager")
    fast = MattingPredictor(tiny_sam, m2m, device="cpu", backend="fast")
    return eager, fast, torch


def _object_mask_sam(predictor, torch):
    """Make SAM return a disc in the middle (a random SAM's mask covers nearly everything)."""
    from mam_lib.inference.sam import SamPrediction

    sp = predictor.sam_predictor
    yy, xx = np.mgrid[0:256, 0:256]
    logits = torch.from_numpy((40.0 - np.hypot(yy - 70, xx - 90)).astype(np.float32))[None]
    sp.predict = lambda **kw: SamPrediction(mask_lowres=(logits > 0).float()[None], mask=sp.full_size_mask(logits),
                                            logits_lowres=logits, iou=0.5, index=0)


def test_fast_and_eager_give_the_same_matte_and_steps(pair, image):
    eager, fast, torch = pair
    for p in (eager, fast):
        p.set_image(image)
    e, f = eager.predict(box=[50, 30, 200, 160]), fast.predict(box=[50, 30, 200, 160])
    assert f.lowres_window is not None and not f.has_details  # the full-size maps are not made per click
    np.testing.assert_array_equal(e.mask, f.mask)
    assert np.abs(e.alpha - f.alpha).max() < 1e-4
    assert 0.02 < e.alpha.std()  # a matte with structure, so agreeing means something
    for key in ("alpha_os8", "alpha_os4", "alpha_os1", "start", "after_os4"):  # computed on first access
        assert np.abs(getattr(e, key) - getattr(f, key)).max() < 1e-4
    assert f.has_details


def test_fast_path_runs_the_decoder_only_where_the_matte_can_be_non_zero(pair, image):
    eager, fast, torch = pair
    for p in (eager, fast):
        p.set_image(image)
        _object_mask_sam(p, torch)
    try:
        e, f = eager.predict(box=[50, 30, 200, 160]), fast.predict(box=[50, 30, 200, 160])
        y0, y1, x0, x1 = f.lowres_window
        h, w = f.lowres["alpha_os8"].shape[-2:]
        assert (y1 - y0) * (x1 - x0) < 0.5 * h * w  # the disc's box plus the bands' reach
        outside = torch.ones(h, w, dtype=torch.bool)
        outside[y0:y1, x0:x1] = False
        assert float(f.lowres["alpha_os1"][0, 0][outside].abs().max()) == 0.0
        assert np.abs(e.alpha - f.alpha).max() < 1e-4
        # wider bands reach beyond the window: the decoder then runs everywhere, and still agrees
        wide = RefinementConfig(width_os4=120, width_os1=90)
        fw, ew = fast.refine(f, wide), eager.refine(e, wide)
        assert fw.lowres_window is None
        assert np.abs(ew.alpha - fw.alpha).max() < 1e-4
        # an empty mask: a zero matte, with no decoder run at all
        empty = torch.full((1, 256, 256), -5.0)
        from mam_lib.inference.sam import SamPrediction
        fast.sam_predictor.predict = lambda **kw: SamPrediction(
            mask_lowres=torch.zeros(1, 1, 256, 256), mask=np.zeros(image.shape[:2], bool), logits_lowres=empty,
            iou=0.1, index=0)
        prepared = fast.fast_decoder()
        calls = []
        prepared.forward = lambda *a, **k: calls.append(1)
        z = fast.predict(box=[50, 30, 200, 160])
        assert z.alpha.max() == 0 and calls == []
    finally:
        for p in (eager, fast):
            p.sam_predictor.__dict__.pop("predict", None)
        fast.fast_decoder().__dict__.pop("forward", None)


def test_exact_backend_gives_the_eager_matte_bit_for_bit(pair, image):
    """"exact" keeps the published decoder arithmetic and only refines a band of rows at a time:
    on a photo larger than SAM's frame (so the refinement works at a size the decoder never saw)
    its matte, its steps and a trimap-guided matte equal the eager ones exactly."""
    import cv2

    from mam_lib.inference.predictor import MattingPredictor

    eager, fast, torch = pair
    exact = MattingPredictor(eager.sam, eager.m2m, device="cpu", backend="exact")
    photo = cv2.resize(image, (image.shape[1] * 5 // 2 + 3, image.shape[0] * 5 // 2 + 1))  # ~2.5× past 1024
    box = np.array([50, 30, 200, 160]) * 5 // 2
    for p in (eager, exact):
        p.set_image(photo)
    e, x = eager.predict(box=box), exact.predict(box=box)
    assert not x.has_details  # the full-size maps are made only when read
    np.testing.assert_array_equal(e.mask, x.mask)
    assert 0.02 < e.alpha.std()
    np.testing.assert_array_equal(e.alpha, x.alpha)
    for key in ("alpha_os8", "alpha_os4", "alpha_os1", "start", "after_os4"):
        np.testing.assert_array_equal(getattr(e, key), getattr(x, key))
    assert exact._fast is None  # the prepared decoder is never built
    trimap = np.full(photo.shape[:2], 128, np.uint8)
    trimap[:40], trimap[-40:] = 0, 255
    ge, gx = eager.predict(box=box, trimap=trimap), exact.predict(box=box, trimap=trimap)
    np.testing.assert_array_equal(ge.alpha, gx.alpha)
    # the fast path's decoder rounds differently: near, not equal (what makes this test mean something)
    fast.set_image(photo)
    f = fast.predict(box=box)
    assert 0 < np.abs(e.alpha - f.alpha).max() < 1e-4


def test_fast_decoder_follows_new_weights(pair, image):
    eager, fast, torch = pair
    from mam_lib.inference.m2m import calibrated_random_m2m

    fast.set_image(image)
    before = fast.predict(box=[50, 30, 200, 160]).alpha
    prepared = fast.fast_decoder()
    state = {k: v.clone() for k, v in fast.m2m.state_dict().items()}
    try:
        fast.m2m.load_state_dict(calibrated_random_m2m(seed=9).state_dict())
        assert fast.fast_decoder() is not prepared
        eager.set_image(image)
        after = fast.predict(box=[50, 30, 200, 160]).alpha
        assert np.abs(after - before).max() > 1e-3
        assert np.abs(after - eager.predict(box=[50, 30, 200, 160]).alpha).max() < 1e-4
    finally:
        fast.m2m.load_state_dict(state)


def test_sam_mask_is_segment_anythings_own(tiny_predictor, image):
    tiny_predictor.set_image(image)
    ours = tiny_predictor.sam_predictor.predict(box=[50, 30, 200, 160])
    masks, iou, _ = tiny_predictor.sam_predictor.predictor.predict(box=np.array([50, 30, 200, 160]))
    np.testing.assert_array_equal(ours.mask, masks[int(iou.argmax())])


def test_unknown_backend_is_refused(tiny_sam):
    from mam_lib.errors import MamError
    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    with pytest.raises(MamError, match="backend must be one of"):
        MattingPredictor(tiny_sam, load_m2m(None), device="cpu", backend="turbo")

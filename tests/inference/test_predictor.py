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

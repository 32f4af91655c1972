"""The stand-in path: a predictor that says which path it shows and, on an image whose alpha it
knows, makes M2M's outputs from that alpha while SAM still runs on the prompt."""
from __future__ import annotations

import numpy as np
import pytest

from mam_lib.evaluation.metrics import sad
from mam_lib.inference.stand_in import (KINDS, StandInConfig, TeachingPredictor, frame_version, stand_in_outputs,
                                        stand_in_result, teaching_predictor)
from mam_lib.io.samples import load_demo_sample
from mam_lib.teaching import refinement_report


@pytest.fixture(scope="module")
def sample():
    return load_demo_sample()


@pytest.fixture(scope="module")
def predictor(sample):
    p = teaching_predictor("demo", sam_variant="tiny", device="cpu")
    p.set_image(sample.image)
    return p


def test_the_teaching_module_re_exports_the_stand_ins():
    assert refinement_report.stand_in_outputs is stand_in_outputs
    assert refinement_report.stand_in_result is stand_in_result
    assert refinement_report.StandInConfig is StandInConfig


def test_stand_in_outputs_keep_the_traits_of_a_decoder(sample):
    outs = stand_in_outputs(sample.alpha, seed=0)
    errors = {k: sad(outs[k], sample.alpha) for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
    assert errors["alpha_os8"] > errors["alpha_os4"] > 0  # coarser is softer
    solid = sample.alpha > 0.999
    assert (outs["alpha_os1"][solid] < 0.99).mean() > 0.3  # the fine head is noisy inside solid regions
    assert outs["mask"].dtype == bool and 0.15 < outs["mask"].mean() < 0.3


def test_frame_version_survives_the_resize_back(sample):
    import torch
    import torch.nn.functional as F

    frame = frame_version(sample.alpha, (768, 1024))
    assert frame.shape == (768, 1024) and frame.dtype == np.float32 and 0 <= frame.min() and frame.max() <= 1
    back = F.interpolate(torch.from_numpy(frame)[None, None], sample.alpha.shape, mode="bilinear",
                         align_corners=False)[0, 0].numpy()
    assert sad(back, sample.alpha) < 0.4  # a plain enlargement gives 1.6


def test_a_known_image_gets_the_stand_in_path_with_a_meaningful_matte(predictor, sample):
    assert predictor.kind == "stand-in" and "Stand-in path" in predictor.banner and "'demo'" in predictor.banner
    result = predictor.predict(box=sample.box)
    # SAM ran (its own prediction is kept), but the mask M2M read is the known object's
    assert predictor.last_sam is not None and 0 <= predictor.last_sam.index < 3
    assert np.isnan(result.sam.iou) and result.sam.index == -1
    inter = (result.mask & (sample.alpha > 0.5)).sum() / (result.mask | (sample.alpha > 0.5)).sum()
    assert inter > 0.9
    # the refinement improves step by step and ends close to the known alpha
    steps = [sad(getattr(result, k), sample.alpha) for k in ("start", "after_os4", "alpha")]
    assert steps[0] > steps[1] > steps[2] and steps[2] < 2.0
    assert result.alpha.std() > 0.3  # structure, not one value
    # the same numbers as the stand-ins made directly on the photo
    direct = stand_in_result(sample.alpha, box=sample.box)
    assert abs(steps[2] - sad(direct.alpha, sample.alpha)) < 0.5


def test_the_prompt_selects_what_the_stand_in_shows(predictor, sample):
    empty = predictor.predict(points=[[3, 3]])  # a point on the background selects nothing
    assert empty.alpha.max() == 0 and not empty.mask.any()
    on_object = predictor.predict(points=sample.points, labels=sample.labels)
    assert sad(on_object.alpha, sample.alpha) < 2.0
    removed = predictor.predict(box=sample.box, points=sample.points, labels=[0])  # background point on it
    assert removed.alpha.max() == 0
    from_mask = predictor.predict(mask=sample.alpha > 0.5)  # a mask prompt: the objects it covers
    assert sad(from_mask.alpha, sample.alpha) < 2.0


def test_model_path_shows_the_random_outputs_and_says_so(predictor, sample):
    with predictor.model_path():
        assert predictor.kind == "random" and "Random weights" in predictor.banner
        random = predictor.predict(box=sample.box)
    assert predictor.kind == "stand-in"
    assert np.isfinite(random.sam.iou) and sad(random.alpha, sample.alpha) > 10


def test_an_unknown_image_stays_on_the_model(sample):
    p = teaching_predictor("demo", sam_variant="tiny", device="cpu")
    p.set_image(sample.image[::-1].copy())  # other pixels
    assert p.kind == "random" and p.known_alpha is None
    result = p.predict(box=[10, 10, 200, 200])
    assert np.isfinite(result.sam.iou)


def test_published_weights_never_stand_in(sample):
    base = teaching_predictor(None, sam_variant="tiny", device="cpu")
    p = TeachingPredictor(base.sam, base.m2m, device="cpu", real_weights=True)
    p.add_known_alpha(sample.image, sample.alpha, "demo")
    p.set_image(sample.image)
    assert p.kind == "published" and p.known_alpha is None and "Published weights" in p.banner


def test_a_trained_decoder_file_is_loaded_and_named(tmp_path, sample):
    import torch

    from mam_lib.inference.checkpoints import load_m2m, save_m2m_checkpoint

    torch.manual_seed(5)
    path = save_m2m_checkpoint(load_m2m(None), tmp_path / "m2m_trained.pth")
    p = teaching_predictor(None, sam_variant="tiny", m2m_checkpoint=path, device="cpu")
    assert p.kind == "trained" and "m2m_trained.pth" in p.banner and "trained by 02_training" in p.description
    missing = teaching_predictor(None, sam_variant="tiny", m2m_checkpoint=tmp_path / "none.pth", device="cpu")
    assert missing.kind == "random"
    assert set(KINDS) == {"published", "stand-in", "trained", "random"}


def test_the_widget_says_which_path_the_loaded_image_gets(sample):
    pytest.importorskip("ipywidgets")
    from mam_lib.widget import MattingWidget

    p = teaching_predictor("demo", sam_variant="tiny", device="cpu")
    app = MattingWidget(p, image=sample.image[:, ::-1].copy(), display_size=160)  # not the sample's pixels
    assert "Random weights" in app.warning.value
    app.load_image(sample.folder / "image.png", name="demo")
    assert "Stand-in path" in app.warning.value
    app.session.set_box(sample.box.tolist())
    assert app.wait(120)
    alpha = app.session.alpha(app.session.current.name)
    assert sad(alpha, sample.alpha) < 2.0
    app.close()


def test_a_tighter_box_gives_a_tighter_matte(predictor, sample):
    point = predictor.predict(points=sample.points, labels=sample.labels)
    x0, y0, x1, y1 = sample.box
    tight = predictor.predict(box=[x0 + 40, y0 + 30, x1 - 40, y1], points=sample.points, labels=sample.labels)
    assert not (tight.mask[:, : int(x0) + 38]).any() and point.mask[:, : int(x0) + 38].any()
    assert tight.alpha.sum() < point.alpha.sum()  # the start was cut to the smaller mask's box
    full = predictor.predict(box=sample.box)
    assert sad(full.alpha, sample.alpha) < 2.0


def test_more_points_on_the_hair_widen_the_mask(predictor, sample):
    box = predictor.predict(box=sample.box)
    more = predictor.predict(box=sample.box, points=[[330, 320]], labels=[1])  # a click beside the hair
    assert more.mask.sum() > box.mask.sum()
    with_bg = predictor.predict(box=sample.box, points=[[330, 320]], labels=[0])
    assert with_bg.mask.sum() <= box.mask.sum()

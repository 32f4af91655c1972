"""Benchmark presets: lookup, folder layouts, pairing, prompts from ground truth, instance matching."""
from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from mam_lib.evaluation import benchmarks as B
from mam_lib.evaluation import instances as I
from mam_lib.evaluation import prediction as P
from mam_lib.errors import DatasetError, PromptError
from mam_lib.evaluation.folders import read_alpha


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


def test_every_published_benchmark_has_a_preset_with_its_region_convention():
    expected = {"ppm-100": "all", "am-2k": "all", "composition-1k": "unknown", "distinctions-646": "unknown",
                "him2k": "all", "rwp-636": "all", "refmatte-rw100": "all"}
    for name, region in expected.items():
        preset = B.get_preset(name)
        assert preset.region == region
        if region == "unknown":
            assert preset.trimap_dirs, name
    assert B.get_preset("him2k").instances == "folder"
    assert B.get_preset("rwp-636").is_instance and not B.get_preset("ppm-100").is_instance
    # aliases and spellings
    assert B.get_preset("Comp1K").name == "composition-1k"
    assert B.get_preset("RefMatte_RW100").name == "refmatte-rw100"
    with pytest.raises(DatasetError, match="unknown benchmark"):
        B.get_preset("imagenet")


def test_resolve_layout_finds_candidate_folders_and_names_what_is_missing(tmp_path):
    root = tmp_path / "Composition-1k-testset"
    for sub in ("merged", "alpha_copy", "trimaps"):
        (root / sub).mkdir(parents=True)
    layout = B.resolve_layout(B.get_preset("composition-1k"), root)
    assert (layout.image_dir.name, layout.alpha_dir.name, layout.trimap_dir.name) == ("merged", "alpha_copy", "trimaps")
    # an explicit folder wins over the candidates
    (root / "my_alphas").mkdir()
    assert B.resolve_layout(B.get_preset("composition-1k"), root, alpha_dir="my_alphas").alpha_dir == root / "my_alphas"
    # the trimap folder is required for a trimap benchmark, and the message lists the candidates
    (root / "trimaps").rmdir()
    with pytest.raises(DatasetError, match="trimaps"):
        B.resolve_layout(B.get_preset("composition-1k"), root)
    with pytest.raises(DatasetError, match="does not exist"):
        B.resolve_layout(B.get_preset("ppm-100"), tmp_path / "nowhere")


def test_list_samples_pairs_by_stem_and_reports_the_unpaired(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    a = np.zeros((8, 8), np.uint8)
    for stem in ("p1", "p2", "only_image"):
        _write(tmp_path / "image" / f"{stem}.jpg", img)
    for stem in ("p1", "p2", "only_alpha"):
        _write(tmp_path / "matte" / f"{stem}.png", a)
    preset = B.get_preset("ppm-100")
    listing = B.list_samples(preset, B.resolve_layout(preset, tmp_path))
    assert [s.name for s in listing.samples] == ["p1.png", "p2.png"]
    assert listing.samples[0].image_path.suffix == ".jpg"
    assert listing.images_without_alpha == ["only_image"]
    assert listing.alphas_without_image == ["only_alpha"]


def test_instance_folders_give_one_sample_per_instance(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    a = np.zeros((8, 8), np.uint8)
    _write(tmp_path / "images" / "natural" / "crowd.jpg", img)
    for inst in ("00", "01", "02"):
        _write(tmp_path / "alphas" / "natural" / "crowd" / f"{inst}.png", a)
    preset = B.get_preset("him2k")
    listing = B.list_samples(preset, B.resolve_layout(preset, tmp_path))
    assert [s.name for s in listing.samples] == ["crowd/00.png", "crowd/01.png", "crowd/02.png"]
    assert {s.image_path.name for s in listing.samples} == {"crowd.jpg"}


def test_box_and_point_prompts_from_ground_truth_by_hand():
    alpha = np.zeros((10, 12), np.uint8)
    alpha[2:5, 3:8] = 200  # rows 2..4, columns 3..7 are above 0.5
    alpha[8, 0] = 127  # 127/255 < 0.5: not part of the box
    alpha[0, 11] = 128  # 128/255 > 0.5: part of the box
    np.testing.assert_array_equal(P.box_from_gt(alpha), [3, 0, 11, 4])
    alpha[0, 11] = 0
    np.testing.assert_array_equal(P.box_from_gt(alpha), [3, 2, 7, 4])
    np.testing.assert_array_equal(P.box_from_gt(alpha / 255.0), [3, 2, 7, 4])
    np.testing.assert_array_equal(P.point_from_gt(alpha), [[5.0, 3.0]])
    prompt = P.prompt_from_gt(alpha, "point")
    np.testing.assert_array_equal(prompt["labels"], [1])
    with pytest.raises(PromptError):
        P.box_from_gt(np.full((4, 4), 100, np.uint8))
    with pytest.raises(PromptError):
        P.prompt_from_gt(alpha, "scribble")


def _interval(lo: int, hi: int, n: int = 20) -> np.ndarray:
    a = np.zeros((1, n), np.uint8)
    a[0, lo:hi] = 255
    return a


def test_match_instances_maximises_total_iou():
    # 1-row images: gt0 = [0,10), gt1 = [10,20).
    # pred0 = [2,14): IoU 8/14 with gt0, 4/18 with gt1; pred1 = [0,8): 8/10 with gt0;
    # pred2 = [11,20): 9/10 with gt1. Best assignment: pred1-gt0, pred2-gt1; pred0 is extra.
    gts = [_interval(0, 10), _interval(10, 20)]
    preds = [_interval(2, 14), _interval(0, 8), _interval(11, 20)]
    matches = I.match_instances(preds, gts)
    by_gt = {m.gt_index: m for m in matches if m.gt_index is not None}
    assert by_gt[0].pred_index == 1 and by_gt[0].iou == pytest.approx(0.8) and by_gt[0].matched
    assert by_gt[1].pred_index == 2 and by_gt[1].iou == pytest.approx(0.9) and by_gt[1].matched
    extras = [m for m in matches if m.gt_index is None]
    assert [m.pred_index for m in extras] == [0]
    # the assignment is the best over all permutations
    iou = np.array([[I.instance_iou(p, g) for g in gts] for p in preds])
    best = max(sum(iou[i, j] for j, i in enumerate(perm)) for perm in itertools.permutations(range(3), 2))
    assert by_gt[0].iou + by_gt[1].iou == pytest.approx(best)
    # an assignment below IoU 0.5 is not a match; no prediction at all is a miss
    (low,) = I.match_instances([_interval(0, 4)], [_interval(0, 10)])
    assert low.iou == pytest.approx(0.4) and not low.matched
    (miss,) = I.match_instances([], [_interval(0, 10)])
    assert miss.pred_index is None and not miss.matched


class _RecordingPredictor:
    """Stands in for MattingPredictor: records calls and returns the mask of its box."""

    def __init__(self):
        self.images_set = 0
        self.prompts = []

    def set_image(self, image):
        self.images_set += 1
        self.shape = image.shape[:2]

    def predict(self, box=None, points=None, labels=None, guidance=None):
        self.prompts.append((None if box is None else box.tolist(), None if points is None else points.tolist()))
        alpha = np.zeros(self.shape, np.float32)
        if box is not None:
            x0, y0, x1, y1 = (int(v) for v in box)
            alpha[y0:y1 + 1, x0:x1 + 1] = 1.0
        return type("Result", (), {"alpha": alpha})()


def test_predict_samples_encodes_each_image_once_and_names_outputs_like_the_ground_truth(tmp_path):
    img = np.zeros((16, 16, 3), np.uint8)
    _write(tmp_path / "data" / "images" / "natural" / "duo.jpg", img)
    a0 = np.zeros((16, 16), np.uint8)
    a0[2:6, 3:9] = 255
    a1 = np.zeros((16, 16), np.uint8)
    a1[10:14, 1:4] = 255
    _write(tmp_path / "data" / "alphas" / "natural" / "duo" / "0.png", a0)
    _write(tmp_path / "data" / "alphas" / "natural" / "duo" / "1.png", a1)
    _write(tmp_path / "data" / "alphas" / "natural" / "duo" / "2.png", np.zeros((16, 16), np.uint8))  # empty
    preset = B.get_preset("him2k")
    listing = B.list_samples(preset, B.resolve_layout(preset, tmp_path / "data"))
    predictor = _RecordingPredictor()
    report = P.predict_samples(predictor, listing.samples, tmp_path / "out", prompt="box", progress=False)
    assert predictor.images_set == 1
    assert predictor.prompts == [([3, 2, 8, 5], None), ([1, 10, 3, 13], None)]
    assert report.written == ["duo/0.png", "duo/1.png"] and report.empty_gt == ["duo/2.png"]
    np.testing.assert_array_equal(read_alpha(tmp_path / "out" / "duo" / "0.png"), a0)
    assert not read_alpha(tmp_path / "out" / "duo" / "2.png").any()
    # point prompts are the box centres; existing files can be kept
    predictor = _RecordingPredictor()
    report = P.predict_samples(predictor, listing.samples[:1], tmp_path / "out2", prompt="point", progress=False)
    assert predictor.prompts == [(None, [[5.5, 3.5]])]
    report = P.predict_samples(_RecordingPredictor(), listing.samples[:1], tmp_path / "out2", skip_existing=True,
                               progress=False)
    assert report.kept == ["duo/0.png"] and not report.written


def test_trimap_from_mask_erodes_foreground_and_dilates_background():
    from mam_lib.evaluation.baselines import TrimapFromMaskConfig, trimap_from_mask

    mask = np.zeros((21, 21), bool)
    mask[5:16, 5:16] = True  # an 11x11 square
    trimap = trimap_from_mask(mask, TrimapFromMaskConfig(erode_px=2, dilate_px=3))
    assert set(np.unique(trimap)) == {0, 128, 255}
    rows_fg = np.flatnonzero((trimap == 255).any(axis=1))
    assert (rows_fg[0], rows_fg[-1]) == (7, 13)  # shrunk by 2 on each side
    rows_known_or_unknown = np.flatnonzero((trimap > 0).any(axis=1))
    assert (rows_known_or_unknown[0], rows_known_or_unknown[-1]) == (2, 18)  # grown by 3
    assert (trimap[mask] > 0).all() and (trimap[~mask] < 255).all()


def test_closed_form_recovers_the_alpha_of_white_over_black():
    from mam_lib.evaluation.baselines import closed_form_alpha, knn_alpha

    # alpha ramps from 0 to 1 across the unknown columns; the image is alpha * white + (1-alpha) * black
    h, w = 12, 30
    alpha = np.clip((np.arange(w) - 10) / 10.0, 0, 1)[None, :].repeat(h, 0)
    image = np.rint(alpha[..., None].repeat(3, 2) * 255).astype(np.uint8)
    trimap = np.where(alpha == 0, 0, np.where(alpha == 1, 255, 128)).astype(np.uint8)
    estimate = closed_form_alpha(image, trimap)
    assert estimate.shape == (h, w) and estimate.dtype == np.float32
    assert np.abs(estimate - alpha).max() < 0.02
    # nothing to propagate: no definite foreground gives zeros, no definite background ones
    assert not knn_alpha(image, np.where(trimap == 255, 128, trimap).astype(np.uint8)).any()
    assert closed_form_alpha(image, np.where(trimap == 0, 128, trimap).astype(np.uint8)).min() == 1.0

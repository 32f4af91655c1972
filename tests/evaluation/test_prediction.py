"""Predicting a benchmark: prompts derived from the ground truth, one alpha file per sample."""
from __future__ import annotations

import numpy as np
import pytest

from mam_lib.errors import PromptError
from mam_lib.evaluation import benchmarks as B
from mam_lib.evaluation import prediction as P
from mam_lib.evaluation.folders import read_alpha


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


def test_predict_samples_encodes_each_image_once_and_names_outputs_like_the_ground_truth(tmp_path, write_file):
    img = np.zeros((16, 16, 3), np.uint8)
    write_file(tmp_path / "data" / "images" / "natural" / "duo.jpg", img)
    a0 = np.zeros((16, 16), np.uint8)
    a0[2:6, 3:9] = 255
    a1 = np.zeros((16, 16), np.uint8)
    a1[10:14, 1:4] = 255
    write_file(tmp_path / "data" / "alphas" / "natural" / "duo" / "0.png", a0)
    write_file(tmp_path / "data" / "alphas" / "natural" / "duo" / "1.png", a1)
    write_file(tmp_path / "data" / "alphas" / "natural" / "duo" / "2.png", np.zeros((16, 16), np.uint8))  # empty
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

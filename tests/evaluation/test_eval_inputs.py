"""Evaluation inputs that break the rules are refused with the reason, never scored as garbage."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mam_lib.errors import OutputError
from mam_lib.evaluation import metrics as M
from mam_lib.evaluation.benchmarks import BenchmarkSample
from mam_lib.evaluation.prediction import predict_samples


def test_a_trimap_with_other_values_is_refused_not_read_as_an_empty_region():
    gt = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match="other than 0, 128 and 255"):
        M.sad(gt, gt, np.array([[0, 0.5], [1, 0.5]], np.float32))  # was: no pixel counted, SAD 0
    assert M.sad(gt, gt, np.array([[0, 128], [255, 128]], np.uint8)) == 0.0


def test_predictions_are_never_written_over_their_inputs(tmp_path):
    image, alpha = tmp_path / "images" / "0.png", tmp_path / "alphas" / "0.png"
    for path in (image, alpha):
        path.parent.mkdir()
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    sample = BenchmarkSample("0.png", image, alpha)
    with pytest.raises(OutputError, match="over the input"):
        predict_samples(object(), [sample], tmp_path / "alphas", progress=False)
    assert np.asarray(Image.open(alpha)).max() == 0

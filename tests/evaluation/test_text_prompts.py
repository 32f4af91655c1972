"""Text prompts of a benchmark: RefMatte-RW100's expressions, and predictions made from them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mam_lib.errors import DatasetError, PromptError
from mam_lib.evaluation import benchmarks as B
from mam_lib.evaluation import prediction as P
from mam_lib.evaluation import text_prompts as TP
from mam_lib.evaluation.folders import read_alpha
from mam_lib.inference.text import Detection, TextPromptConfig


def write_rw100(root, write_file, index: bool = True):
    """A two-image RefMatte-RW100 folder: image_all/, mask/, the label file (and the index file)."""
    img = np.zeros((16, 20, 3), np.uint8)
    for stem in ("0001", "0002"):
        write_file(root / "image_all" / f"{stem}.jpg", img)
        alpha = np.zeros((16, 20), np.uint8)
        alpha[4:10, 5:12] = 255
        write_file(root / "mask" / f"{stem}.png", alpha)
    labels = {"0001": {"image_name": "0001.jpg", "expressions": ["the dog on the left", "a brown dog"]},
              "0002": {"image_name": "0002.jpg", "expressions": ["the woman in a hat", "the person"]}}
    (root / TP.RW100_LABELS).write_text(json.dumps(labels))
    if index:
        (root / TP.RW100_INDEX).write_text(json.dumps({"0001.jpg": 1, "0002.jpg": 0}))
    return root


def test_rw100_expressions_are_chosen_by_the_evaluation_index(tmp_path, write_file):
    root = write_rw100(tmp_path / "RefMatte_RW_100", write_file)
    prompts = TP.benchmark_text_prompts(root)
    assert prompts.texts == {"0001": "a brown dog", "0002": "the woman in a hat"} and not prompts.note
    (root / TP.RW100_INDEX).unlink()
    prompts = TP.benchmark_text_prompts(root)
    assert prompts.texts == {"0001": "the dog on the left", "0002": "the woman in a hat"}
    assert "first expression" in prompts.note
    # a file of one's own: stem (or file name) → text
    own = tmp_path / "texts.json"
    own.write_text(json.dumps({"0001.jpg": "the cat", "0002": "a chair"}))
    assert TP.benchmark_text_prompts(root, own).texts == {"0001": "the cat", "0002": "a chair"}
    # the preset finds RefMatte-RW100's image_all/ folder
    layout = B.resolve_layout(B.get_preset("refmatte-rw100"), root)
    assert layout.image_dir.name == "image_all" and layout.alpha_dir.name == "mask"


def test_missing_or_malformed_text_files_are_explained(tmp_path):
    with pytest.raises(DatasetError, match="--texts"):
        TP.benchmark_text_prompts(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(DatasetError, match="JSON object"):
        TP.read_text_prompts(bad)
    bad.write_text(json.dumps({"0001": {"expressions": []}}))
    with pytest.raises(DatasetError, match="expressions"):
        TP.read_text_prompts(bad)
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="not a readable JSON"):
        TP.read_text_prompts(bad)
    (tmp_path / TP.RW100_INDEX).write_text(json.dumps({"0001": 5}))
    bad.write_text(json.dumps({"0001": {"expressions": ["a"]}}))
    with pytest.raises(DatasetError, match="not an index"):
        TP.read_text_prompts(bad)


class _TextPredictor:
    """Stands in for MattingPredictor's text path: records texts and settings; finds a box for dogs only."""

    def __init__(self):
        self.calls = []

    def set_image(self, image):
        self.shape = image.shape[:2]

    def predict_text(self, text, text_config=None, guidance=None):
        self.calls.append((text, text_config, guidance))
        if "dog" not in text:
            return []
        alpha = np.zeros(self.shape, np.float32)
        alpha[2:8, 3:9] = 1.0
        det = Detection(np.array([3, 2, 9, 8], np.float32), 0.9, "dog", text)
        return [type("Result", (), {"alpha": alpha, "detection": det})()]


def test_predict_samples_with_text_prompts(tmp_path, write_file):
    root = write_rw100(tmp_path / "rw100", write_file)
    preset = B.get_preset("refmatte-rw100")
    samples = B.list_samples(preset, B.resolve_layout(preset, root)).samples
    texts = TP.benchmark_text_prompts(root).texts
    predictor = _TextPredictor()
    report = P.predict_samples(predictor, samples, tmp_path / "out", prompt="text", texts=texts, progress=False)
    assert [c[0] for c in predictor.calls] == ["a brown dog", "the woman in a hat"]
    assert all(c[1] == TextPromptConfig.mam_benchmark() for c in predictor.calls)  # MAM's thresholds, best box only
    assert report.written == ["0001.png"] and report.no_detection == ["0002.png"]
    assert read_alpha(tmp_path / "out" / "0001.png")[2:8, 3:9].all()
    assert not read_alpha(tmp_path / "out" / "0002.png").any()  # no box: an all-zero alpha, scored as a miss
    assert report.text_prompts["0001.png"] == {"text": "a brown dog", "box": [3.0, 2.0, 9.0, 8.0], "score": 0.9,
                                               "phrase": "dog"}
    # thresholds can be changed (the count stays one: the best box); a missing text skips the sample
    mine = TextPromptConfig(box_threshold=0.1, text_threshold=0.2)
    predictor = _TextPredictor()
    report = P.predict_samples(predictor, samples, tmp_path / "out2", prompt="text", texts={"0001": "a dog"},
                               text_config=mine, progress=False)
    assert predictor.calls[0][1] == mine.with_(max_detections=1)
    assert report.skipped == [("0002.png", "no text expression for image '0002'")]
    with pytest.raises(PromptError, match="texts"):
        P.predict_samples(predictor, samples, tmp_path / "out3", prompt="text", progress=False)

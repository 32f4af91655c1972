"""Text prompts: the tiny random Grounding DINO, thresholds, the predictor's text path, missing pieces.

Every detector here is built offline (``build_tiny_grounding_dino``) or saved by the test itself;
nothing is downloaded (``tests/conftest.py`` sets the Hugging Face libraries offline).
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from mam_lib.errors import CheckpointError, ConfigError, DownloadError, MissingExtraError, PromptError
from mam_lib.inference import text as T
from mam_lib.inference import weights


def _image(h: int = 60, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(3)
    img = (rng.random((h, w, 3)) * 60).astype(np.uint8)
    img[15:45, 20:60] = (230, 180, 90)
    return img


@pytest.fixture
def text_predictor(tiny_sam, tiny_text_detector):
    """A fresh predictor (the shared tiny SAM, a random M2M) given the tiny detector."""
    import torch

    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    torch.manual_seed(0)
    predictor = MattingPredictor(tiny_sam, load_m2m(None), device="cpu", text_detector=tiny_text_detector)
    predictor.set_image(_image())
    return predictor


def test_tiny_detector_gives_pixel_boxes_scores_and_phrases_best_first(tiny_text_detector):
    img = _image()
    dets = tiny_text_detector.detect(img, "The cat on the LEFT", box_threshold=0.0,
                                     config=T.TextPromptConfig(nms_iou=None))
    assert dets.text == "the cat on the left."  # lower case, ending with a dot, as Grounding DINO expects
    n = len(dets)
    assert n == 30  # every query passes a zero threshold (num_queries of the tiny model), none was empty
    assert dets.boxes.shape == (n, 4) and dets.boxes.dtype == np.float32
    assert dets.scores.shape == (n,) and dets.scores.dtype == np.float32
    assert len(dets.phrases) == n and all(isinstance(p, str) for p in dets.phrases)
    assert np.all(np.diff(dets.scores) <= 0) and np.all((dets.scores >= 0) & (dets.scores <= 1))
    b = dets.boxes
    assert np.all(b[:, 0] >= 0) and np.all(b[:, 2] <= 80) and np.all(b[:, 1] >= 0) and np.all(b[:, 3] <= 60)
    assert np.all(b[:, 2] - b[:, 0] >= 1) and np.all(b[:, 3] - b[:, 1] >= 1)
    assert "[SEP]" not in " ".join(dets.phrases) and dets.image_size == (60, 80)
    best = dets.best()
    assert best.score == pytest.approx(float(dets.scores[0])) and np.array_equal(best.box, b[0])
    # the same seed builds the same detector
    again = T.build_tiny_grounding_dino(seed=0, device="cpu").detect(img, "the cat on the left", box_threshold=0.0,
                                                                     config=T.TextPromptConfig(nms_iou=None))
    np.testing.assert_allclose(again.boxes, dets.boxes, atol=1e-4)
    # its own settings keep at most 3 boxes
    assert len(tiny_text_detector.detect(img, "the cat")) <= 3


def test_thresholds_filter_the_boxes_and_the_phrases(tiny_text_detector):
    img = _image()
    everything = T.TextPromptConfig(box_threshold=0.0, nms_iou=None)
    all_dets = tiny_text_detector.detect(img, "a dog", config=everything)
    counts = []
    for threshold in (0.0, 0.5, 0.9, 0.999, 1.0):
        dets = tiny_text_detector.detect(img, "a dog", box_threshold=threshold, config=everything)
        assert np.all(dets.scores > threshold) or (threshold == 0.0 and np.all(dets.scores >= 0))
        assert len(dets) == int(np.sum(all_dets.scores > threshold))
        counts.append(len(dets))
    assert counts == sorted(counts, reverse=True) and counts[-1] == 0
    # a token counts in a phrase only above the text threshold: at 1.0 none does
    assert set(tiny_text_detector.detect(img, "a dog", text_threshold=1.0, config=everything).phrases) == {""}
    # duplicate suppression and the maximum count
    capped = tiny_text_detector.detect(img, "a dog", config=everything.with_(max_detections=4))
    np.testing.assert_array_equal(capped.scores, all_dets.scores[:4])
    nms = tiny_text_detector.detect(img, "a dog", config=everything.with_(nms_iou=0.0))
    assert 1 <= len(nms) <= len(all_dets)


def test_settings_and_captions_are_checked():
    with pytest.raises(ConfigError, match="box_threshold"):
        T.TextPromptConfig(box_threshold=1.5)
    with pytest.raises(ConfigError, match="text_threshold"):
        T.TextPromptConfig(text_threshold=-0.1)
    with pytest.raises(ConfigError, match="max_detections"):
        T.TextPromptConfig(max_detections=0)
    assert T.TextPromptConfig.mam_benchmark() == T.TextPromptConfig(0.25, 0.5, 0.8, 1)
    assert T.caption_of("  The  Dog on the left ") == "the dog on the left."
    with pytest.raises(PromptError, match="empty"):
        T.caption_of(" . ")


def test_the_text_path_mattes_each_detected_box(text_predictor):
    predictor = text_predictor
    config = T.TextPromptConfig(box_threshold=0.0, max_detections=2)
    dets = predictor.detect_text("the cat", text_config=config)
    assert len(dets) == 2
    results = predictor.predict_text("the cat", text_config=config)
    assert len(results) == len(dets)  # one matte per box
    for result, box, score, phrase in zip(results, dets.boxes, dets.scores, dets.phrases):
        np.testing.assert_array_equal(result.box, box)  # the detector's box is the prompt
        assert result.detection.score == pytest.approx(float(score)) and result.detection.phrase == phrase
        assert result.alpha.shape == (60, 80) and result.alpha.dtype == np.float32
        assert result.timings["detect"] == dets.ms
    # predict(text=) mattes the best box
    single = predictor.predict(text="the cat", box_threshold=0.0)
    top = predictor.detect_text("the cat", box_threshold=0.0)
    np.testing.assert_array_equal(single.box, top.boxes[0])
    assert single.detection.score == pytest.approx(float(top.scores[0]))
    # re-running the refinement keeps the detection
    assert predictor.refine(results[0]).detection is results[0].detection


def test_nothing_above_the_thresholds(text_predictor):
    assert text_predictor.predict_text("the cat", box_threshold=1.0) == []
    with pytest.raises(PromptError, match="lower the thresholds"):
        text_predictor.predict(text="the cat", box_threshold=1.0)
    with pytest.raises(PromptError, match="not both"):
        text_predictor.predict(text="the cat", box=[0, 0, 10, 10])
    assert text_predictor.matte_detections(text_predictor.detect_text("the cat", box_threshold=1.0)) == []
    elsewhere = text_predictor.text_detector.detect(_image(30, 40), "the cat", box_threshold=0.0)
    with pytest.raises(PromptError, match="detect on the image that is set"):
        text_predictor.matte_detections(elsewhere)


def test_without_a_detector_or_cached_weights_the_error_says_how_to_get_them(tiny_sam):
    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    predictor = MattingPredictor(tiny_sam, load_m2m(None), device="cpu")
    with pytest.raises(PromptError, match="set_image"):
        predictor.detect_text("the cat")
    predictor.set_image(_image())
    with pytest.raises(CheckpointError, match="mam download grounding-dino-tiny"):
        predictor.predict(text="the cat")
    with pytest.raises(CheckpointError, match="mam download grounding-dino-tiny"):
        T.load_text_detector("auto")
    with pytest.raises(CheckpointError, match="mam download grounding-dino-tiny"):
        T.TextDetector.from_pretrained("grounding-dino-tiny")


def test_a_detector_saved_in_the_cache_folder_is_found_and_loaded(tiny_sam, tiny_text_detector):
    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    folder = weights.cache_dir() / "grounding-dino-tiny"
    tiny_text_detector.model.save_pretrained(folder)
    tiny_text_detector.processor.save_pretrained(folder)
    assert weights.find_checkpoint("grounding-dino-tiny") == folder
    img = _image()
    loaded = T.TextDetector.from_pretrained("grounding-dino-tiny", device="cpu", config=tiny_text_detector.config)
    assert loaded.description == "Grounding DINO (grounding-dino-tiny)"
    a = tiny_text_detector.detect(img, "the dog", box_threshold=0.0)
    b = loaded.detect(img, "the dog", box_threshold=0.0)
    np.testing.assert_allclose(b.boxes, a.boxes, atol=1e-4)
    assert b.phrases == a.phrases
    # a predictor without a detector loads the cached one on its first text prompt
    predictor = MattingPredictor(tiny_sam, load_m2m(None), device="cpu")
    predictor.set_image(img)
    config = T.TextPromptConfig(box_threshold=0.0)
    np.testing.assert_allclose(predictor.detect_text("the dog", text_config=config).boxes,
                               loaded.detect(img, "the dog", config=config).boxes, atol=1e-4)
    assert predictor.text_detector.description == loaded.description
    # a folder that is not a Grounding DINO is refused with what it lacks
    (folder / "model.safetensors").unlink()
    assert weights.find_checkpoint("grounding-dino-tiny") is None
    with pytest.raises(CheckpointError, match="config.json, the weights"):
        T.TextDetector.from_pretrained(folder)


def test_without_the_text_extra_a_text_prompt_says_how_to_install_it(monkeypatch, tiny_sam):
    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    predictor = MattingPredictor(tiny_sam, load_m2m(None), device="cpu")
    predictor.set_image(_image())
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` now raises ImportError
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    for call in (T.require_transformers, T.build_tiny_grounding_dino, lambda: predictor.predict(text="the cat"),
                 lambda: predictor.predict_text("the cat"), lambda: T.load_text_detector("tiny")):
        with pytest.raises(MissingExtraError, match=r"pip install -e '\.\[text\]'") as info:
            call()
        assert isinstance(info.value, ImportError) and "transformers" in str(info.value)
    with pytest.raises(MissingExtraError, match=r"pip install -e '\.\[text\]'"):
        weights.download("grounding-dino-tiny")
    assert not isinstance(MissingExtraError("x"), DownloadError)

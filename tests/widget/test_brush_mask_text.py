"""The brush (foreground / background / unknown strokes), "use my mask" and the text box, in the
session and in the widget: what reaches the predictor, undo, the prompts JSON, the pictures."""
from __future__ import annotations

import datetime
import io
import json
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from mam_lib.errors import PromptError
from mam_lib.inference.guides import BG, FG, UNKNOWN
from mam_lib.widget import MattingSession
from mam_lib.widget.app import MattingWidget
from mam_lib.widget.prompts import prompts_from_dict, scribble_map
from widget_testing import H, W, StubPredictor, decode, events, sample_image, settle


class RecordingPredictor(StubPredictor):
    """The stub predictor, keeping every keyword a computation was given (mask, scribbles, …)."""

    def __init__(self) -> None:
        super().__init__()
        self.kwargs: list[dict] = []

    def predict(self, box=None, points=None, labels=None, refinement=None, **kw):
        self.kwargs.append(dict(kw, box=box, points=points))
        return super().predict(box=box, points=points, labels=labels, refinement=refinement)


@pytest.fixture
def stub():
    return RecordingPredictor()


@pytest.fixture
def session(stub):
    s = MattingSession(stub)
    s.set_image(sample_image(), name="test.png")
    return s


def _upload(name: str, content: bytes, mime: str = "image/png") -> tuple[dict, ...]:
    return ({"name": name, "type": mime, "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


# --- session -------------------------------------------------------------------------------------


def test_strokes_reach_the_predictor_as_scribbles_and_undo_takes_them_back(session, stub):
    session.set_box([40, 30, 120, 90])
    session.add_stroke("bg", [[60, 50], [80, 50]], radius=4)
    session.add_stroke("unknown", [[130, 100]], radius=3)
    sent = stub.kwargs[-1]["scribbles"]
    assert sent.shape == (H, W) and sent.dtype == np.uint8
    assert sent[50, 60] == BG and sent[50, 80] == BG and sent[50, 70] == BG  # along the line
    assert sent[100, 130] == UNKNOWN and sent[10, 10] == 0
    assert sent[50, 60 - 6] == 0  # the radius is respected
    assert stub.kwargs[-1]["box"] is not None  # box and strokes combine
    assert session.current.prompts.describe() == "box + 2 strokes"
    session.undo()
    assert len(session.current.prompts.strokes) == 1 and session.has_matte()
    session.undo()
    assert session.current.prompts.strokes == () and session.current.prompts.box is not None
    with pytest.raises(PromptError, match="brush mode"):
        session.add_stroke("pink", [[1, 1]], 3)
    with pytest.raises(PromptError, match="radius"):
        session.add_stroke("fg", [[1, 1]], 0)


def test_later_strokes_paint_over_earlier_ones():
    from mam_lib.widget.prompts import make_stroke

    marks = scribble_map([make_stroke("fg", [[10, 10], [30, 10]], 3), make_stroke("bg", [[20, 10]], 3)], (20, 40))
    assert marks[10, 12] == FG and marks[10, 20] == BG and marks[10, 28] == FG


def test_a_mask_replaces_the_prompt_and_points_on_it_are_refused(session, stub):
    session.add_point(80, 60)
    mask = np.zeros((H, W), np.uint8)
    mask[30:90, 40:120] = 255
    session.set_mask(mask)
    p = session.current.prompts
    assert p.points == () and p.box is None and p.mask is not None
    np.testing.assert_array_equal(stub.kwargs[-1]["mask"], mask > 0)
    assert stub.kwargs[-1]["points"] is None and stub.kwargs[-1]["box"] is None
    with pytest.raises(PromptError, match="matted from your mask"):
        session.add_point(10, 10)
    session.add_stroke("bg", [[50, 40]], 3)  # the brush still corrects it
    assert "mask" in stub.kwargs[-1] and "scribbles" in stub.kwargs[-1]
    with pytest.raises(PromptError, match="but the image is 160×120"):
        session.set_mask(np.ones((10, 10), bool))
    with pytest.raises(PromptError, match="empty"):
        session.set_mask(np.zeros((H, W), bool))


def test_strokes_and_masks_are_saved_in_the_prompts_json_and_load_back(session, stub, tmp_path):
    session.set_box([40, 30, 120, 90])
    plain = session.prompts_dict()
    assert plain["version"] == 1  # files without strokes or masks stay readable by older readers
    session.add_stroke("fg", [[50, 40], [60, 45]], 5)
    session.add_object()
    mask = np.zeros((H, W), bool)
    mask[10:40, 10:50] = True
    session.set_mask(mask)
    path = session.save_prompts(tmp_path / "p.json")
    data = json.loads(path.read_text())
    assert data["version"] == 2
    assert data["objects"][0]["strokes"] == [{"mode": "fg", "radius": 5.0, "points": [[50.0, 40.0], [60.0, 45.0]]}]
    assert set(data["objects"][1]["mask"]) == {"png_base64"}
    before = [o.prompts.key() for o in session.objects]
    session.reset()
    session.load_prompts(path)
    assert [o.prompts.key() for o in session.objects] == before  # the same strokes and the same mask
    np.testing.assert_array_equal(session.objects[1].prompts.mask.array, mask)
    bad = json.loads(path.read_text())
    bad["objects"][0]["strokes"][0]["mode"] = "sky"
    with pytest.raises(PromptError, match="stroke #1: a brush mode"):
        prompts_from_dict(bad)
    bad["objects"][0]["strokes"] = [{"mode": "fg", "radius": 2, "points": []}]
    with pytest.raises(PromptError, match="one or more finite"):
        prompts_from_dict(bad)


def test_painting_changes_the_real_matte_through_the_trimap_path(tiny_predictor):
    s = MattingSession(tiny_predictor)
    s.set_image(sample_image())
    s.set_box([40, 30, 120, 90])
    s.add_stroke("bg", [[60, 50], [100, 50]], 6)
    s.add_stroke("fg", [[10, 10]], 4)
    marks = scribble_map(s.current.prompts.strokes, (H, W))
    alpha = s.alpha()
    assert np.all(alpha[marks == BG] == 0) and np.all(alpha[marks == FG] == 1)
    assert s.mask()[marks == FG].all()  # the stroke reached the mask M2M read


# --- widget --------------------------------------------------------------------------------------


@pytest.fixture
def app(stub):
    big = cv2.resize(sample_image(), (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)  # shown at half size
    widget = MattingWidget(stub, image=big, display_size=160)
    yield widget
    widget.close()


def test_the_brush_paints_strokes_in_image_pixels_and_draws_them_at_once(app, stub):
    events(app, ("mousedown", 80, 60), ("mouseup", 80, 60))  # a point first
    settle(app)
    app.tool.value = "bg"
    app.brush_size.value = 5  # screen pixels: 10 image pixels at this scale
    before = decode(app.canvas.value)
    events(app, ("mousedown", 20, 20), ("mousemove", 40, 20))
    preview = decode(app.canvas.value)  # the stroke in progress is drawn before any compute
    assert np.abs(preview[20, 30].astype(int) - before[20, 30].astype(int)).sum() > 30
    assert len(app.session.current.prompts.strokes) == 0
    events(app, ("mousemove", 60, 25), ("mouseup", 60, 25))
    stroke = app.session.current.prompts.strokes[0]
    assert stroke.mode == BG and stroke.radius == 10.0
    assert stroke.points == ((40.0, 40.0), (80.0, 40.0), (120.0, 50.0))
    settle(app)
    assert stub.kwargs[-1]["scribbles"][40, 60] == BG
    assert app.session.current.prompts.points == ((160.0, 120.0),)  # the point stays
    app.tool.value = "prompt"
    events(app, ("mousedown", 30, 30), ("mouseup", 30, 30))
    assert len(app.session.current.prompts.points) == 2  # back to clicks
    app.undo_button.click()
    app.undo_button.click()
    assert app.session.current.prompts.strokes == ()


def test_use_my_mask_upload(app, stub):
    mask = np.zeros((2 * H, 2 * W), np.uint8)
    mask[60:180, 80:240] = 255
    app.mask_upload.value = _upload("mask.png", _png(mask))
    assert "from your mask" in app.message
    settle(app)
    np.testing.assert_array_equal(stub.kwargs[-1]["mask"], mask > 0)
    app.mask_upload.value = _upload("small.png", _png(np.full((10, 10), 255, np.uint8)))
    assert "but the image is 320×240" in app.message and "Traceback" not in app.message


def test_find_with_the_tiny_detector_adds_one_object_per_box(tiny_sam, tiny_text_detector):
    import torch

    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    torch.manual_seed(0)
    predictor = MattingPredictor(tiny_sam, load_m2m(None), device="cpu", text_detector=tiny_text_detector)
    app = MattingWidget(predictor, image=sample_image(), display_size=160)
    try:
        app.text_prompt.value = "the cat"
        app.box_threshold.value = 0.0
        app.find_button.click()
        settle(app)
        expected = tiny_text_detector.detect(sample_image(), "the cat", box_threshold=0.0)
        s = app.session
        assert len(expected) >= 2 and len(s.objects) == len(expected)  # the empty first object was used
        for obj, box in zip(s.objects, expected.boxes):
            np.testing.assert_allclose(obj.prompts.box, box, atol=1e-3)
            assert obj.result is not None  # each matte computed on the worker
        assert "Found" in app.message and s.current_index == 0
        s.undo()  # one step takes every found object back
        assert len(s.objects) == 1 and s.current.prompts.is_empty
        app.find("the cat", box_threshold=0.95)
        settle(app)
        assert "Nothing found" in app.message and len(s.objects) == 1
        app.find("   ")
        assert "Type what to find" in app.message
    finally:
        app.close()


def test_find_without_the_text_extra_says_how_to_install_it(stub, monkeypatch, tiny_predictor):
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` raises ImportError
    monkeypatch.setattr(tiny_predictor, "text_detector", None)
    app = MattingWidget(tiny_predictor, image=sample_image(), display_size=160)
    try:
        app.find("the cat")
        settle(app)
        assert "pip install -e '.[text]'" in app.message and "Traceback" not in app.message
        assert len(app.session.objects) == 1
    finally:
        app.close()
    plain = MattingWidget(stub, image=sample_image(), display_size=160)
    try:
        plain.find("the cat")
        settle(plain)
        assert "takes no text prompts" in plain.message
    finally:
        plain.close()

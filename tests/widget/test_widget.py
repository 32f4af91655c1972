"""The interactive matting widget without a browser: session state, events, merge, undo, JSON, export, errors.

Most tests drive a cheap stand-in predictor with ``MattingPredictor``'s interface
(``widget_testing.StubPredictor``: its "SAM mask" is a disc around each foreground point and the
box), so they test the session's own logic in milliseconds. The tests marked with the real tiny predictor check the parts that only the real
pipeline shows: the image encoder runs once per image, whatever the prompts.
"""
from __future__ import annotations

import datetime
import io
import json

import cv2
import nbformat
import numpy as np
import papermill
import pytest
from PIL import Image

from mam_lib.io.cutout import alpha_to_uint8, composite, rgba_cutout
from mam_lib.errors import ImageReadError, PromptError
from mam_lib.io.images import load_alpha, load_image
from mam_lib.inference.refinement import RefinementConfig
from mam_lib.inference.sam import IMAGE_SIZE
from mam_lib.widget import (MattingSession, ObjectPrompts, encode_prompt, image_in_sam_frame, merge_alpha,
                            sam_prompt_inputs)
from mam_lib.widget import render
from mam_lib.widget.app import MattingWidget
from widget_testing import H, W, StubPredictor, events, sample_image, settle


@pytest.fixture
def image():
    return sample_image()


@pytest.fixture
def stub():
    return StubPredictor()


@pytest.fixture
def session(stub, image):
    s = MattingSession(stub)
    s.set_image(image, name="test.png")
    return s


# --- session -------------------------------------------------------------------------------------


def test_points_and_box_combine_and_reach_the_predictor(session, stub):
    session.add_point(80, 60)
    session.add_point(45, 35, label=0)
    session.set_box([120, 90, 30, 20])  # corners in any order
    call = stub.predict_calls[-1]
    np.testing.assert_allclose(call["points"], [[80, 60], [45, 35]])
    np.testing.assert_array_equal(call["labels"], [1, 0])
    np.testing.assert_allclose(call["box"], [30, 20, 120, 90])
    s = session.summary()
    assert (s.n_points, s.n_foreground, s.n_background, s.has_box) == (2, 1, 1, True)
    assert s.coverage == pytest.approx(float(session.alpha().mean()))
    assert 0 < s.coverage < 1
    assert session.latency is not None and not session.latency.cached
    assert stub.encode_calls == 1


def test_undo_and_reset_restore_prompts_and_mattes_from_the_cache(session, stub):
    session.add_point(80, 60)
    one_point = session.alpha().copy()
    session.set_box([30, 20, 130, 100])
    assert not np.array_equal(session.alpha(), one_point)
    n_predicts = len(stub.predict_calls)
    assert session.undo() is not None
    assert session.current.prompts.box is None and len(session.current.prompts.points) == 1
    np.testing.assert_array_equal(session.alpha(), one_point)
    assert len(stub.predict_calls) == n_predicts  # the earlier result was reused
    session.add_object()
    session.add_point(20, 20)
    session.reset()
    assert session.object_names == ["object 1"] and session.current.prompts.is_empty
    assert not session.alpha().any()
    session.undo()
    assert session.object_names == ["object 1", "object 2"] and session.current.name == "object 2"
    assert session.current.prompts.points == ((20.0, 20.0),)
    session.undo(), session.undo(), session.undo()
    assert session.undo() is None and not session.can_undo


def test_bad_prompts_are_refused_with_a_message_and_change_nothing(session, stub):
    session.add_point(80, 60)
    before = session.prompts_dict()
    with pytest.raises(PromptError, match="outside the 160×120 image"):
        session.add_point(W + 5, 10)
    with pytest.raises(PromptError, match="outside"):
        session.add_point(-1, 10)
    with pytest.raises(PromptError, match="empty box"):
        session.set_box([50, 40, 50, 90])
    with pytest.raises(PromptError, match="outside"):
        session.set_box([200, 200, 300, 300])
    with pytest.raises(PromptError, match="label"):
        session.add_point(10, 10, label=2)
    assert session.prompts_dict() == before
    assert len(stub.predict_calls) == 1


def test_no_image_and_unreadable_image(stub, tmp_path):
    s = MattingSession(stub)
    with pytest.raises(PromptError, match="no image is loaded"):
        s.add_point(1, 1)
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(ImageReadError, match="could not be read"):
        s.set_image(bad)
    with pytest.raises(ImageReadError, match="does not exist"):
        s.set_image(tmp_path / "missing.jpg")
    assert not s.has_image and stub.encode_calls == 0


def test_merge_is_the_union_of_two_mattes_and_stays_live(session):
    session.add_point(60, 50)
    first = session.add_object()
    session.add_point(110, 70)
    merged = session.merge("object 1", first)
    a1, a2 = session.alpha("object 1"), session.alpha(first)
    np.testing.assert_allclose(session.alpha(merged), 1 - (1 - a1) * (1 - a2), atol=1e-6)
    assert session.alpha(merged).max() <= 1 and (session.alpha(merged) >= np.maximum(a1, a2) - 1e-6).all()
    np.testing.assert_array_equal(session.mask(merged), session.mask("object 1") | session.mask(first))
    with pytest.raises(PromptError, match="merge"):
        session.add_point(10, 10)
    with pytest.raises(PromptError, match="remove the merge first"):
        session.remove_object("object 1")
    session.select(first)
    session.set_box([90, 40, 150, 110])
    np.testing.assert_allclose(session.alpha(merged), 1 - (1 - a1) * (1 - session.alpha(first)), atol=1e-6)
    session.remove_object(merged)
    session.remove_object("object 1")
    assert session.object_names == [first]


def test_merge_alpha_formula():
    rng = np.random.default_rng(0)
    a, b, c = rng.random((3, 8, 9)).astype(np.float32)
    np.testing.assert_allclose(merge_alpha(a, b), 1 - (1 - a) * (1 - b), atol=1e-6)
    np.testing.assert_allclose(merge_alpha(a, b, c), merge_alpha(merge_alpha(a, b), c), atol=1e-6)
    with pytest.raises(PromptError):
        merge_alpha(a, np.zeros((2, 2)))


def test_refinement_changes_rerun_only_the_refinement(session, stub):
    session.add_point(80, 60)
    n_predicts, before = len(stub.predict_calls), session.alpha().copy()
    session.set_refinement(guidance="mask", width_os4=30)
    assert len(stub.predict_calls) == n_predicts and stub.refine_calls >= 1
    assert session.current.result.refinement == RefinementConfig(guidance="mask", width_os4=30)
    assert not np.array_equal(session.alpha(), before)
    with pytest.raises(PromptError, match="guidance"):
        session.set_refinement(guidance="magic")


def test_prompts_json_round_trip(session, stub, image, tmp_path):
    session.set_prompts(box=[30, 20, 130, 100], points=[[80, 60], [35, 25]], labels=[1, 0])
    session.add_object("glass")
    session.add_point(120, 40)
    session.merge("object 1", "glass", name="both")
    session.set_refinement(width_os1=14)
    path = session.save_prompts(tmp_path / "p" / "prompts.json")
    data = json.loads(path.read_text())
    assert data["format"] == "mam-prompts" and data["current"] == "both"
    assert data["image"] == {"name": "test.png", "width": W, "height": H}

    other = MattingSession(StubPredictor())
    other.set_image(image)
    other.load_prompts(path)
    assert other.prompts_dict()["objects"] == session.prompts_dict()["objects"]
    assert other.current.name == "both" and other.refinement.width_os1 == 14
    for name in ("object 1", "glass", "both"):
        np.testing.assert_allclose(other.alpha(name), session.alpha(name), atol=1e-6)
    # loading the same prompts again reuses the cached results, and is undoable
    n = len(other.predictor.predict_calls)
    other.load_prompts(path.read_text())
    assert len(other.predictor.predict_calls) == n
    other.undo()
    assert other.object_names == ["object 1", "glass", "both"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="other"), "not a prompts file"),
    (lambda d: d["objects"][0].update(labels=[1, 1, 1]), "2 points but 3 labels"),
    (lambda d: d["objects"][0].update(points=[[80, 60], [500, 25]]), "outside"),
    (lambda d: d["objects"][0].update(box=[40, 40, 40, 90]), "empty box"),
    (lambda d: d["objects"].append({"name": "object 1", "points": []}), "unique"),
    (lambda d: d["objects"].append({"name": "m", "merge": ["object 1", "nope"]}), "merge"),
    (lambda d: d["image"].update(width=999), "999×120 image"),
    (lambda d: d.update(refinement={"guidance": "magic"}), "refinement"),
])
def test_bad_prompts_files_give_clear_errors(session, change, message):
    session.set_prompts(box=[30, 20, 130, 100], points=[[80, 60], [35, 25]], labels=[1, 0])
    data = session.prompts_dict()
    change(data)
    before = session.prompts_dict()
    with pytest.raises(PromptError, match=message):
        session.load_prompts(data)
    assert session.prompts_dict() == before


def test_invalid_json_text(session):
    with pytest.raises(PromptError, match="not valid JSON"):
        session.load_prompts(b"{not json")


def test_export_writes_the_matte_the_cutout_the_composite_and_the_prompts(session, image, tmp_path):
    with pytest.raises(PromptError, match="no prompt yet"):
        session.export(tmp_path)
    session.set_box([30, 20, 130, 100])
    paths = session.export(tmp_path / "out", "cat", background=(10, 20, 30))
    assert {p.name for p in paths.values()} == {"cat_alpha.png", "cat_rgba.png", "cat_composite.png",
                                                "cat_prompts.json"}
    alpha = session.alpha()
    np.testing.assert_array_equal(np.asarray(Image.open(paths["alpha"])), alpha_to_uint8(alpha))
    rgba = np.asarray(Image.open(paths["rgba"]))
    assert rgba.shape == (H, W, 4)
    np.testing.assert_array_equal(rgba[..., 3], alpha_to_uint8(alpha))
    np.testing.assert_array_equal(rgba, rgba_cutout(image, alpha))  # the estimated foreground colours
    np.testing.assert_array_equal(load_image(paths["composite"]), composite(image, alpha, (10, 20, 30)))
    np.testing.assert_allclose(load_alpha(paths["alpha"]), alpha, atol=0.5 / 255 + 1e-6)
    assert json.loads(paths["prompts"].read_text())["objects"][0]["box"] == [30, 20, 130, 100]
    with pytest.raises(PromptError, match="folder"):
        session.export(tmp_path, "a/b")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths.values())


def test_prompts_map_to_sams_1024_frame():
    prompts = ObjectPrompts("o").with_point(100, 50, 1).with_point(10, 470, 0).with_box((20, 30, 600, 400))
    inputs = sam_prompt_inputs(prompts, (480, 640))
    scale = IMAGE_SIZE / 640
    assert inputs.scale == pytest.approx(scale) and inputs.input_size == (768, 1024)
    np.testing.assert_allclose(inputs.points_1024, np.array([[100, 50], [10, 470]]) * scale, rtol=1e-5)
    np.testing.assert_allclose(inputs.box_1024, np.array([20, 30, 600, 400]) * scale, rtol=1e-5)
    assert [r["kind"] for r in inputs.rows] == ["point", "point", "box corner", "box corner"]
    frame = image_in_sam_frame(np.full((480, 640, 3), 200, np.uint8))
    assert frame.shape == (1024, 1024, 3) and (frame[:768] == 200).all() and (frame[768:] == 0).all()


def test_prompt_encoder_tokens(tiny_sam):
    base = ObjectPrompts("o").with_point(100, 50, 1).with_point(10, 70, 0)
    sparse, dense = encode_prompt(tiny_sam, sam_prompt_inputs(base, (480, 640)))
    assert sparse.shape == (1, 3, 256) and dense.shape == (1, 256, 64, 64)  # 2 points + 1 padding token
    sparse, _ = encode_prompt(tiny_sam, sam_prompt_inputs(base.with_box((5, 5, 300, 200)), (480, 640)))
    assert sparse.shape == (1, 4, 256)  # 2 points + 2 box corners
    with pytest.raises(PromptError):
        encode_prompt(tiny_sam, sam_prompt_inputs(ObjectPrompts("e"), (480, 640)))


# --- rendering -------------------------------------------------------------------------------------


def test_views_show_prompts_mattes_and_cutouts(image):
    prompts = ObjectPrompts("o").with_point(40, 30, 1).with_point(120, 90, 0).with_box((20, 10, 140, 110))
    mask = np.zeros((H, W), bool)
    mask[30:90, 40:120] = True
    view = render.prompt_view(image, 1.0, [prompts], 0, [mask])
    assert view.shape == image.shape and view.dtype == np.uint8
    # markers: filled in the label's colour (sampled off the white +/− glyph)
    assert np.abs(view[28, 38].astype(int) - render.FOREGROUND_COLOR).sum() < 40
    assert np.abs(view[88, 118].astype(int) - render.BACKGROUND_COLOR).sum() < 40
    assert not np.array_equal(view[60, 60], image[60, 60])  # the mask is tinted
    np.testing.assert_array_equal(view[115, 5], image[115, 5])  # far from everything: untouched
    alpha = mask.astype(np.float32)
    a = render.alpha_view(alpha, 0.5)
    assert a.shape == (H // 2, W // 2, 3) and a[30, 40, 0] == 255 and a[2, 2, 0] == 0
    cut = render.cutout_view(image, alpha, 1.0, (255, 0, 255))
    np.testing.assert_array_equal(cut[60, 60], image[60, 60])
    np.testing.assert_array_equal(cut[5, 5], [255, 0, 255])
    decoded = cv2.cvtColor(cv2.imdecode(np.frombuffer(render.png_bytes(view), np.uint8), cv2.IMREAD_COLOR),
                           cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(decoded, view)


# --- the widget, driven by the events ipyevents sends ---------------------------------------------


def _upload(name: str, content: bytes, mime: str) -> tuple[dict, ...]:
    """A FileUpload value as the browser sends it."""
    return ({"name": name, "type": mime, "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


@pytest.fixture
def app(stub, image):
    big = cv2.resize(image, (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)  # 320×240 shown at 160×120
    return MattingWidget(stub, image=big, display_size=160)


def test_clicks_and_drags_become_prompts_in_image_pixels(app, stub):
    assert app._scale == 0.5
    events(app, ("mousedown", 50, 40), ("mouseup", 50, 40))
    assert app.session.current.prompts.points == ((100.0, 80.0),)
    assert app.session.current.prompts.labels == (1,)
    events(app, ("mousedown", 20, 20), ("mouseup", 21, 21), shiftKey=True)  # a 1 px wobble is still a click
    events(app, ("mousedown", 30, 90), ("mouseup", 30, 90), altKey=True)
    app.mode.value = 0
    events(app, ("mousedown", 70, 70), ("mouseup", 70, 70))
    assert app.session.current.prompts.labels == (1, 0, 0, 0)
    app.mode.value = 1
    events(app, ("mousedown", 10, 15), ("mousemove", 40, 40), ("mousemove", 100, 90), ("mouseup", 120, 100))
    assert app.session.current.prompts.box == (20.0, 30.0, 240.0, 200.0)
    settle(app)
    status = app.status.value
    assert "data-points='4'" in status and "data-box='1'" in status and "data-background='3'" in status
    assert f"data-coverage='{app.session.alpha().mean():.6f}'" in status
    assert app.canvas.value and app.matte.value and app.message_html.value == ""
    assert stub.encode_calls == 1


def test_positions_come_from_the_element_box_when_the_picture_is_being_redrawn(app):
    """While a redrawn picture decodes, ipyevents reports dataX/dataY as 0; the position relative to
    the element (shown here at twice the picture's 160×120 size) is used instead."""
    def event(kind, rx, ry):
        return {"type": kind, "dataX": 0, "dataY": 0, "relativeX": rx, "relativeY": ry, "boundingRectWidth": 320,
                "boundingRectHeight": 240, "button": 0, "buttons": 0 if kind == "mouseup" else 1}
    for e in (event("mousedown", 20, 30), event("mousemove", 100, 100), event("mouseup", 240, 200)):
        app.handle_event(e)
    assert app.session.current.prompts.box == (20.0, 30.0, 240.0, 200.0)


def test_drag_released_outside_the_picture_still_draws_the_box(app):
    """The box ends where the pointer left the picture (the moves before only drew it)."""
    events(app, ("mousedown", 100, 100), ("mousemove", 150, 115), ("mouseleave", 159, 119))
    assert app.session.current.prompts.box == (200.0, 200.0, 318.0, 238.0)
    events(app, ("mousedown", 100, 100), ("mouseleave", 158, 101))  # no move got through: a box all the same
    assert app.session.current.prompts.box == (200.0, 200.0, 316.0, 202.0)


def test_widget_shows_messages_instead_of_tracebacks(app, tmp_path, capsys):
    events(app, ("mousedown", 40, 40), ("mousemove", 70, 40), ("mouseup", 80, 40))  # a flat drag
    assert "empty box" in app.message and "error" in app.message_html.value
    assert app.session.current.prompts.is_empty
    assert app.load_image(tmp_path / "missing.png") is False
    assert "does not exist" in app.message
    app.upload.value = _upload("notes.txt", b"hello", "text/plain")
    assert "'notes.txt' could not be read as an image" in app.message
    assert app.load_prompts("{broken") is False and "not valid JSON" in app.message
    app.session.add_point(10, 10)
    app.merge_button.click()
    assert "second object" in app.message
    app.add_object_button.click()
    app.merge_button.click()
    app.objects.value = app.session.object_names[-1]
    events(app, ("mousedown", 5, 5), ("mouseup", 5, 5))
    assert "is a merge" in app.message
    assert app.last_error is None  # all of these were expected, none unexpected
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_widget_controls_change_the_refinement_and_views(app, stub):
    events(app, ("mousedown", 80, 60), ("mouseup", 80, 60))
    settle(app)
    n = len(stub.predict_calls)
    alpha_png = app.matte.value
    app.guidance.value = "mask"
    assert app.session.refinement.guidance == "mask"
    app.width_os4.value = 40
    assert app.session.refinement.width_os4 == 40
    settle(app)
    assert len(stub.predict_calls) == n and stub.refine_calls >= 1  # the refinement only
    app.view.value = "cutout"
    assert app.matte.value != alpha_png
    app.background.value = "colour"
    app.bg_color.value = "#ff0000"
    cut = cv2.imdecode(np.frombuffer(app.matte.value, np.uint8), cv2.IMREAD_COLOR)
    assert tuple(cut[0, 0]) == (0, 0, 255)  # BGR red where α = 0
    app.undo_button.click()
    assert app.session.current.prompts.is_empty
    app.session.add_point(30, 30)  # code that drives the session updates the view
    assert "data-points='1'" in app.status.value


def test_widget_export_and_prompts_upload(app, tmp_path):
    events(app, ("mousedown", 80, 60), ("mouseup", 80, 60))
    app.export_dir.value = str(tmp_path)
    app.export_stem.value = "thing"
    app.export_button.click()
    assert "Exported" in app.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing_alpha.png", "thing_composite.png",
                                                         "thing_prompts.json", "thing_rgba.png"]
    content = (tmp_path / "thing_prompts.json").read_bytes()
    app.reset_button.click()
    assert app.session.current.prompts.is_empty
    app.load_prompts_upload.value = _upload("thing_prompts.json", content, "application/json")
    assert app.session.current.prompts.points == ((160.0, 120.0),)
    assert "Loaded prompts" in app.message


def test_image_upload_loads_and_encodes(app, stub, image):
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    app.upload.value = _upload("photo.png", buf.getvalue(), "image/png")
    assert app.session.image_name == "photo.png" and app.session.size == (H, W)
    assert stub.encode_calls == 2 and app._scale == 1.0


# --- with the real (tiny, random) pipeline ---------------------------------------------------------


def test_clicks_do_not_rerun_the_image_encoder(tiny_predictor, image):
    calls = []
    hook = tiny_predictor.sam.image_encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        app = MattingWidget(tiny_predictor, image=image, display_size=W)
        assert len(calls) == 1 and app.session.encode_count == 1
        events(app, ("mousedown", 80, 60), ("mouseup", 80, 60))  # SAM decoder + M2M + refinement
        settle(app)
        alpha = app.session.alpha().copy()
        app.guidance.value = "mask"  # refinement only
        settle(app)
        app.undo_button.click()
        app.session.load_prompts(app.session.prompts_dict())  # undoable, nothing to compute
        app.session.undo()
        assert len(calls) == 1, "a prompt re-ran SAM's image encoder"
    finally:
        hook.remove()
    assert alpha.shape == (H, W) and alpha.dtype == np.float32 and 0 <= alpha.min() <= alpha.max() <= 1
    s = app.session
    assert s.current.prompts.is_empty and s.refinement.guidance == "mask"
    (latency,) = s.latencies
    assert not latency.cached and latency.m2m > 0 and latency.total >= latency.m2m
    assert "data-encodes='1'" in app.status.value


# --- notebook 04 -------------------------------------------------------------------------------------


def test_notebook_04_runs_headless(repo_root, tmp_path):
    out_dir = tmp_path / "export"
    executed = tmp_path / "04.ipynb"
    papermill.execute_notebook(
        str(repo_root / "notebooks" / "04_interactive_prompting.ipynb"), str(executed),
        parameters={"SAM_VARIANT": "tiny", "EXPORT_DIR": str(out_dir), "DISPLAY_SIZE": 320},
        kernel_name="python3", cwd=str(repo_root / "notebooks"), progress_bar=False)
    names = sorted(p.name for p in out_dir.iterdir())
    assert any(n.endswith("_alpha.png") for n in names) and any(n.endswith("_rgba.png") for n in names)
    assert any(n.endswith("_prompts.json") for n in names)
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "SAM 1024 frame" in text and "encoder calls: 1" in text
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    # offline, the demo sample takes the stand-in path and says so; its mattes have the object's size
    assert "Stand-in path" in text and "RemovableHandle" not in str(outputs)
    import re

    first, second, merged = (float(v) for v in re.findall(r"([\d.]+)%", text.split("α coverage:")[1].splitlines()[0]))
    assert 10 < first < 40 and 0 < second and merged >= max(first, second)

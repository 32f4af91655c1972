"""The refinement sliders re-run only the refinement and redraw from its new result."""
from __future__ import annotations

import io

import cv2
import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

from mam_lib.inference.refinement import RefinementConfig  # noqa: E402
from mam_lib.teaching.refinement_report import stand_in_result  # noqa: E402
from mam_lib.teaching.refinement_widgets import RefinementExplorer, refinement_explorer  # noqa: E402

H, W = 90, 120


@pytest.fixture(scope="module")
def alpha():
    a = np.zeros((H, W), np.float32)
    cv2.circle(a, (60, 45), 25, 1.0, -1)
    cv2.circle(a, (60, 45), 38, 0.4, 2)
    return cv2.GaussianBlur(a, (0, 0), 1.2)


@pytest.fixture(scope="module")
def results(alpha):
    return {"a": stand_in_result(alpha, seed=0), "b": stand_in_result(alpha, seed=5)}


@pytest.fixture
def predictor(tiny_predictor, monkeypatch):
    """The tiny predictor with SAM and M2M made to fail if anything calls them."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the explorer must not run SAM or M2M")

    monkeypatch.setattr(tiny_predictor.sam_predictor, "predict", forbidden)
    monkeypatch.setattr(tiny_predictor.sam_predictor, "set_image", forbidden)
    monkeypatch.setattr(tiny_predictor.m2m, "forward", forbidden)
    monkeypatch.setattr(tiny_predictor, "_decode", forbidden)  # either backend's decoder run
    return tiny_predictor


def _png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_slider_change_refines_again(predictor, results, alpha):
    ex = RefinementExplorer(predictor, results["a"], alpha)
    assert ex.redraws == 1 and ex.result.refinement == RefinementConfig()
    first_png = ex.figure.value
    assert first_png[:4] == b"\x89PNG" and "SAD" in ex.table.value
    ex.controls["width_os4"].value = 50
    assert ex.redraws == 2
    expected = predictor.refine(results["a"], RefinementConfig(width_os4=50))
    assert ex.result.refinement == expected.refinement
    np.testing.assert_array_equal(ex.result.bands["os4"], expected.bands["os4"])
    np.testing.assert_allclose(ex.result.alpha, expected.alpha)
    assert ex.result.bands["os4"].sum() > results["a"].bands["os4"].sum()
    assert ex.figure.value != first_png
    ex.controls["two_sided"].value = True
    ex.controls["guidance"].value = "mask"
    assert ex.result.refinement == RefinementConfig(guidance="mask", width_os4=50, two_sided=True)
    assert f"{int(ex.result.bands['os1'].sum())} px" in ex.status.value


def test_set_redraws_once_and_reset_restores_published_settings(predictor, results):
    ex = refinement_explorer(predictor, results["a"])
    ex.set(width_os4=10, width_os1=30, width_os8=20, two_sided=True)
    assert ex.redraws == 2
    assert ex.config == RefinementConfig(width_os8=20, width_os4=10, width_os1=30, two_sided=True)
    ex.reset_button.click()
    assert ex.config == RefinementConfig() and ex.result.refinement == RefinementConfig()
    assert ex.redraws == 3
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(width=3)
    assert ex.table.value == ""  # no known alpha, no table


def test_source_dropdown_and_zoom(predictor, results, alpha):
    ex = RefinementExplorer(predictor, results, alpha, crop_box=(20, 10, 60, 50))
    assert ex.controls["source"].layout.display != "none"
    ex.controls["source"].value = "b"
    assert ex.source is results["b"]
    np.testing.assert_allclose(ex.result.alpha, predictor.refine(results["b"], RefinementConfig()).alpha)
    full = _png_size(ex.figure.value)
    ex.controls["zoom"].value = True
    zoomed = _png_size(ex.figure.value)
    assert zoomed != full  # square crop panels instead of 4:3 ones
    single = RefinementExplorer(predictor, results["a"])
    assert single.controls["source"].layout.display == "none"
    assert single.controls["zoom"].disabled


def test_displays_as_a_widget(predictor, results):
    ex = RefinementExplorer(predictor, results["a"])
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    with pytest.raises(ValueError):
        RefinementExplorer(predictor, {})

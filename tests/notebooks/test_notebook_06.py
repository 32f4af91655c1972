"""notebooks/06_masks_and_trimaps.ipynb: committed clean, runs headless (small image, one trimap, random weights)."""
from __future__ import annotations

import re

import pytest
from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "06_masks_and_trimaps.ipynb"


def test_committed_clean_with_every_heavy_knob_in_the_parameters_cell(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    for knob in ("SAM_VARIANT", "SCALE", "TRIMAP_WIDTHS", "COMBINE_BOX", "DEVICE"):
        assert knob in params.source
    assert params.source.count("full scale") >= 4
    text = (repo_root / "notebooks" / NOTEBOOK).read_text()
    assert "Expected runtime" in text and "(07_video.ipynb)" in text


@pytest.fixture(scope="module")
def executed(repo_root, tmp_path_factory):
    return run_notebook(repo_root, NOTEBOOK, tmp_path_factory.mktemp("nb06"),
                        {"SAM_VARIANT": "tiny", "SCALE": 0.25, "TRIMAP_WIDTHS": [6], "COMBINE_BOX": True})


@pytest.mark.slow
def test_the_mask_reaches_m2m_as_its_cells(executed):
    text = outputs_text(executed)
    assert "predict(mask=...) gave M2M exactly these: True" in text
    assert "result.mask is the given mask: True | SAM's mask decoder skipped: True" in text


@pytest.mark.slow
def test_the_table_has_both_methods_with_numbers_and_says_the_weights_are_random(executed):
    text = outputs_text(executed)
    rows = {}
    for method in ("M2M, trimap", "M2M, trimap + box", "closed form (pymatting)", "unknown = 0.5 (reference)"):
        match = re.search(rf"±2 px\s+{re.escape(method)}\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
        assert match, method
        rows[method] = [float(v) for v in match.groups()]
    assert rows["M2M, trimap"][0] == rows["closed form (pymatting)"][0] > 0  # the same unknown region
    assert rows["closed form (pymatting)"][4] > 0 and rows["M2M, trimap"][4] > 0  # both timed
    assert rows["closed form (pymatting)"][1] < rows["unknown = 0.5 (reference)"][1]  # SAD
    assert "These M2M numbers come from RANDOM weights" in text and "meaningless" in text
    assert "trimap ±2 px: lowest SAD" in text


@pytest.mark.slow
def test_regions_are_respected_and_the_figures_show_structure(executed):
    text = outputs_text(executed)
    checks = re.findall(r"foreground px: (\w+) \| alpha = 0 on all \d+ background px: (\w+)", text)
    assert len(checks) == 2 and all(c == ("True", "True") for c in checks)
    assert "alpha = 1 under all" in text and "background-stroke px: True" in text
    summaries = [line for line in text.splitlines() if line.startswith("panel values: ")]
    assert len(summaries) == 3 and not any("constant" in line for line in summaries)
    assert "M2M's 256² input: 0–1" in summaries[0] and "closed form: 0–1" in summaries[1]
    assert output_kinds(executed).count("image/png") == 3
    assert "<Axes" not in text

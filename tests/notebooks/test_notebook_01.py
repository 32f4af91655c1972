"""notebooks/01_data_synthesis.ipynb: committed clean, runs headless with tiny settings, writes its data set."""
from __future__ import annotations

import json
import re

import numpy as np

from mam_lib.data.sources import image_alpha_folder
from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "01_data_synthesis.ipynb"


def test_committed_without_outputs_and_one_parameters_cell(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert 'OUT_DIR = "../outputs/synthetic"' in params.source
    assert "full scale" in params.source


def test_runs_and_writes_a_small_data_set(repo_root, tmp_path):
    out_dir = tmp_path / "synthetic"
    executed = run_notebook(repo_root, NOTEBOOK, tmp_path, {
        "OUT_DIR": str(out_dir), "N_SAMPLES": 3, "SAMPLE_SIZE": 64, "SOURCE_SIZE": 96, "CROP_SIZE": 64})
    text = outputs_text(executed)
    # the merge identity printed by the notebook holds
    diff = float(re.search(r"merged and layered compositing: ([0-9.e+-]+)", text).group(1))
    assert diff < 1e-3
    assert "MattingDataset train" in text and "6 foregrounds" in text
    # the hair figure promises fractional strands: the printed share says they are there
    fractional = float(re.search(r"hair: ([\d.]+)% of the pixels have a fractional alpha", text).group(1))
    assert fractional > 1.0
    assert "scikit-image sample photos (train: rocket" in text and "held out: astronaut, coffee, chelsea" in text
    assert "<Axes" not in text and "<matplotlib" not in text
    assert output_kinds(executed).count("image/png") >= 12
    # the data set later notebooks read
    src = image_alpha_folder(out_dir)
    assert len(src) == 3
    image, alpha = src.load(0)
    assert image.shape == (64, 64, 3) and alpha.shape == (64, 64)
    boxes = json.loads((out_dir / "boxes.json").read_text())
    assert sorted(boxes) == ["0000", "0001", "0002"]
    assert len(list((out_dir / "trimaps").glob("*.png"))) == 3
    assert np.ptp(image) > 0

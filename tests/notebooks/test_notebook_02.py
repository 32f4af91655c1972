"""notebooks/02_training.ipynb: committed clean, runs top to bottom headless with tiny settings."""
from __future__ import annotations

import re

import pytest
from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

from mam_lib.inference.checkpoints import load_m2m_weights, read_checkpoint
from mam_lib.inference.m2m import M2MDecoder

NOTEBOOK = "02_training.ipynb"


def test_committed_without_outputs_and_one_parameters_cell(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert 'M2M_OUT = "../outputs/notebook02/m2m_trained.pth"' in params.source
    assert "full scale: 1024" in params.source and "full scale: 20_000" in params.source


@pytest.mark.slow
def test_trains_and_saves_weights(repo_root, tmp_path):
    weights = tmp_path / "m2m_trained.pth"
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {
        "CROP_SIZE": 64, "TRAIN_ITEMS": 8, "VAL_ITEMS": 4, "STEPS": 3, "WARMUP": 1, "BATCH_SIZE": 4, "SHOW": 2,
        "OUT_DIR": str(tmp_path / "run"), "M2M_OUT": str(weights)})
    text = outputs_text(nb)
    assert "completed after 3 steps" in text
    assert "M2M after, simulated mask" in text and "coarse mask as alpha" in text
    # the precise-mask figure: the same held-out crops with the alpha > 0.5 as the mask
    assert "precise mask as alpha" in text and "M2M after, precise mask" in text
    ratios = re.search(r"ratio to the mask: simulated mask ([\d.]+), precise mask ([\d.]+)", text)
    assert ratios and all(float(r) > 0 for r in ratios.groups())
    # the "before" column is black because the fresh decoder saturates: the notebook measures it
    at_0, at_1 = (float(v) for v in re.search(r"alpha_os8: ([\d.]+)% of the pixels ≈ 0, ([\d.]+)% ≈ 1", text).groups())
    assert at_0 + at_1 > 90
    # the loss example agrees with its explanation: the pyramid charges wrong structure, blur by its width
    lap = {name: [float(v) for v in re.findall(r"\d+\.\d+", line[16:])] for line in text.splitlines()
           for name in ("binarised", "blurred, σ = 1", "blurred, σ = 3", "blurred, σ = 6", "exact")
           if line.startswith(name)}
    assert lap["exact"][1] == 0 and lap["blurred, σ = 6"][1] > 3 * lap["blurred, σ = 1"][1]
    assert lap["binarised"][1] > lap["blurred, σ = 3"][1] and lap["binarised"][2] > lap["blurred, σ = 3"][2]
    assert output_kinds(nb).count("image/png") >= 5  # pyramid, region schedule, curves, SAD bars, predictions
    assert "<Axes" not in text and "<matplotlib" not in text
    obj = read_checkpoint(weights)
    load_m2m_weights(M2MDecoder(), obj, strict=True)
    assert obj["training"]["step"] == 3
    assert (tmp_path / "run" / "log.jsonl").is_file()

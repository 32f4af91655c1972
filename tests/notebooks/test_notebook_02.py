"""notebooks/02_training.ipynb: committed clean, runs top to bottom headless with tiny settings."""
from __future__ import annotations

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
    assert "M2M after training" in text and "coarse mask as alpha" in text
    assert output_kinds(nb).count("image/png") >= 4  # pyramid, region schedule, curves, predictions
    obj = read_checkpoint(weights)
    load_m2m_weights(M2MDecoder(), obj, strict=True)
    assert obj["training"]["step"] == 3
    assert (tmp_path / "run" / "log.jsonl").is_file()

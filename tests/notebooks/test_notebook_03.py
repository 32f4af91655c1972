"""notebooks/03_iterative_refinement.ipynb: committed clean, runs top to bottom headless."""
from __future__ import annotations

import pytest
import torch
from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "03_iterative_refinement.ipynb"


def test_committed_without_outputs_and_one_parameters_cell(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert 'TRAINED_M2M = "../outputs/notebook02/m2m_trained.pth"' in params.source


@pytest.mark.slow
def test_runs_headless_with_a_trained_m2m_file(repo_root, tmp_path):
    from mam_lib.inference.checkpoints import load_m2m, save_m2m_checkpoint

    torch.manual_seed(123)
    trained = save_m2m_checkpoint(load_m2m(None), tmp_path / "m2m_trained.pth")
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {"SAM_VARIANT": "tiny", "TRAINED_M2M": str(trained),
                                                      "ZOOM_SIZE": 120})
    text = outputs_text(nb)
    assert "Random weights show the mechanics, not quality" in text
    assert "trained by 02_training" in text and str(trained) in text
    # the per-step table, the comparisons and the slider app all rendered
    assert "after os1 (final)" in text and "alpha_os1 alone" in text
    assert "mask guidance" in text and "two-sided, widths 60/40" in text and "fg px rewritten" in text
    kinds = output_kinds(nb)
    assert kinds.count("image/png") >= 6
    assert "application/vnd.jupyter.widget-view+json" in kinds

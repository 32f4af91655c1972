"""notebooks/03_iterative_refinement.ipynb: committed clean, runs top to bottom headless; offline the
steps are shown on the stand-in path (each step lowers the error), the model's own outputs once."""
from __future__ import annotations

import re

import pytest
import torch
from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "03_iterative_refinement.ipynb"


def test_committed_without_outputs_and_one_parameters_cell(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert 'TRAINED_M2M = "../outputs/notebook02/m2m_trained.pth"' in params.source
    assert 'SAM_VARIANT = "vit_b"' in params.source


def _sad_of(text: str, step: str) -> list[float]:
    """The SAD of every printed table row that starts with ``step`` (px set, then SAD, …)."""
    out = []
    for line in text.splitlines():
        if line.startswith(step):
            numbers = re.findall(r"\d+\.\d+", line[len(step):])
            out.append(float(numbers[0]))
    return out


@pytest.mark.slow
def test_runs_headless_with_a_trained_m2m_file(repo_root, tmp_path):
    from mam_lib.inference.checkpoints import load_m2m, save_m2m_checkpoint

    torch.manual_seed(123)
    trained = save_m2m_checkpoint(load_m2m(None), tmp_path / "m2m_trained.pth")
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {"SAM_VARIANT": "tiny", "TRAINED_M2M": str(trained),
                                                      "ZOOM_SIZE": 120})
    text = outputs_text(nb)
    assert "Stand-in path" in text and "trained by 02_training" in text and str(trained) in text
    assert "Trained M2M (m2m_trained.pth) with the tiny random SAM" in text  # the contrast says what it is
    # the per-step table, the comparisons and the slider app all rendered
    assert "after os1 (final)" in text and "alpha_os1 alone" in text
    assert "mask guidance" in text and "two-sided, widths 60/40" in text and "fg px rewritten" in text
    # on the stand-in path every step lowers the error, and the final matte is close to the known alpha
    start, after_os4, final = (_sad_of(text, name)[0] for name in ("start", "after os4", "after os1 (final)"))
    assert start > after_os4 > final and final < 2.0
    assert final < min(_sad_of(text, "alpha_os1 alone")[0], _sad_of(text, "alpha_os8 alone")[0])
    # the model's own (random SAM) final matte, shown once, is far worse
    assert _sad_of(text, "after os1 (final)")[1] > 5 * final
    kinds = output_kinds(nb)
    assert kinds.count("image/png") >= 6
    assert "application/vnd.jupyter.widget-view+json" in kinds
    assert "<Axes" not in text and "RemovableHandle" not in text

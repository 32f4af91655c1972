"""notebooks/05_text_prompts.ipynb: committed clean, runs top to bottom headless with the tiny random detector."""
from __future__ import annotations

from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "05_text_prompts.ipynb"


def test_committed_clean(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert "TEXT_MODEL" in params.source and "BOX_THRESHOLD" in params.source and "full scale" in params.source


def test_text_prompt_notebook_runs_offline(repo_root, tmp_path):
    out_dir = tmp_path / "text"
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {"SAM_VARIANT": "tiny", "TEXT_MODEL": "tiny", "BOX_THRESHOLD": 0.0,
                                                      "MAX_INSTANCES": 1, "OUT_DIR": str(out_dir)})
    text = outputs_text(nb)
    assert "tiny random Grounding DINO" in text and "meaningless" in text  # says plainly what runs
    assert "caption 'a cat.'" in text and "1 box(es)" in text and "boxes (1, 4) float32" in text
    assert "instance 1:" in text and "the same matte as instance 1: True" in text
    assert sorted(p.name for p in out_dir.iterdir()) == ["alpha.png", "cutout.png"]
    assert output_kinds(nb).count("image/png") >= 2  # the boxes, then the instances

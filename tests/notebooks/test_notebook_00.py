"""notebooks/00_tour.ipynb: committed clean, runs top to bottom headless and writes its files."""
from __future__ import annotations

from notebook_support import check_committed_clean, outputs_text, run_notebook

NOTEBOOK = "00_tour.ipynb"


def test_committed_clean(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert "SAM_VARIANT" in params.source and "full scale" in params.source


def test_tour_notebook_runs(repo_root, tmp_path):
    out_dir = tmp_path / "tour"
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {"SAM_VARIANT": "tiny", "OUT_DIR": str(out_dir)})
    assert sorted(p.name for p in out_dir.iterdir()) == ["alpha.png", "composite.png", "cutout.png"]
    text = outputs_text(nb)
    assert "random weights" in text and "'alpha_os1': (1, 1, 1024, 1024)" in text
    assert "M2M trainable parameters: 2714619" in text

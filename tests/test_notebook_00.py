"""notebooks/00_tour.ipynb runs top to bottom headless and writes its files."""
from __future__ import annotations

import nbformat
import papermill


def test_tour_notebook_runs(repo_root, tmp_path):
    out_dir = tmp_path / "tour"
    papermill.execute_notebook(
        str(repo_root / "notebooks" / "00_tour.ipynb"), str(tmp_path / "executed.ipynb"),
        parameters={"SAM_VARIANT": "tiny", "OUT_DIR": str(out_dir)}, kernel_name="python3",
        cwd=str(repo_root / "notebooks"), progress_bar=False)
    assert sorted(p.name for p in out_dir.iterdir()) == ["alpha.png", "composite.png", "cutout.png"]
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "random weights" in text and "'alpha_os1': (1, 1, 1024, 1024)" in text

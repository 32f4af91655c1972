"""notebooks/00_tour.ipynb: committed clean, runs top to bottom headless, shows a meaningful matte
offline (the stand-in path) and the random model once, and writes its files."""
from __future__ import annotations

import re

from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "00_tour.ipynb"


def test_committed_clean(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    assert 'SAM_VARIANT = "vit_b"' in params.source and "full scale" in params.source.lower()


def _row(text: str, name: str) -> list[float]:
    """The numbers of a printed MetricsTable row (SAD, MSE×1e3, MAD×1e3, Grad, Conn)."""
    line = next(line for line in text.splitlines() if line.startswith(name))
    return [float(v) for v in re.findall(r"-?\d+\.\d+", line[len(name):])]


def test_tour_notebook_runs(repo_root, tmp_path):
    out_dir = tmp_path / "tour"
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {"SAM_VARIANT": "tiny", "OUT_DIR": str(out_dir)})
    assert sorted(p.name for p in out_dir.iterdir()) == ["alpha.png", "composite.png", "cutout.png"]
    text = outputs_text(nb)
    assert "Stand-in path" in text and "Random weights" in text  # each path says what it is
    assert "'alpha_os1': (1, 1, 1024, 1024)" in text and "'mask': (1, 1, 1024, 1024)" in text
    assert "M2M trainable parameters: 2714619" in text
    # the stand-in matte has structure (not one value) and is close to the known alpha; the random one is not
    std = float(re.search(r"mean \d\.\d+, std (\d\.\d+)", text).group(1))
    assert std > 0.2
    stand_in_sad = _row(text, "final alpha (stand-in path")[0]
    random_sad = _row(text, "final alpha (random weights)")[0]
    assert stand_in_sad < 2.0 and random_sad > 5 * stand_in_sad
    mask_sad = _row(text, "mask as alpha")[0]
    assert _row(text, "final alpha  ")[0] < mask_sad
    # SAM's three candidates were shown with their predicted IoU
    assert len(re.search(r"predicted IoU: ([-\d., ]+)", text).group(1).split(",")) == 3
    assert output_kinds(nb).count("image/png") >= 4
    # no stray object reprs (<Axes …>, <matplotlib.text…>) among the outputs
    assert "<Axes" not in text and "<matplotlib" not in text and "RemovableHandle" not in text

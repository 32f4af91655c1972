"""notebooks/07_video.ipynb: committed clean, runs top to bottom headless on a tiny clip with the tiny random SAM."""
from __future__ import annotations

from notebook_support import check_committed_clean, output_kinds, outputs_text, run_notebook

NOTEBOOK = "07_video.ipynb"


def test_committed_clean(repo_root):
    params = check_committed_clean(repo_root / "notebooks" / NOTEBOOK)
    for knob in ("SAM_VARIANT", "FRAMES", "SIZE", "SMOOTHING", "OUT_DIR", "full scale"):
        assert knob in params.source


def test_video_notebook_runs_offline(repo_root, tmp_path):
    out_dir = tmp_path / "video"
    nb = run_notebook(repo_root, NOTEBOOK, tmp_path, {"SAM_VARIANT": "tiny", "FRAMES": 3, "SIZE": [48, 64],
                                                      "OUT_DIR": str(out_dir)})
    text = outputs_text(nb)
    assert "meaningless" in text and "mechanics" in text  # says plainly what the numbers are
    assert "3 frames of 64x48" in text and "computed 3 frames (0 already written)" in text
    assert "propagated from frame 0: SAD" in text and "dtSSD(x1e2)" in text and "ground-truth box every frame:" in text
    assert "alpha sequence read back: (3, 48, 64) float32" in text
    files = sorted(p.name for p in (out_dir / "obj1").iterdir())
    assert files == ["alpha", "alpha.mp4", "composite", "composite.mp4", "rgba", "state"]
    assert output_kinds(nb).count("image/png") >= 3 and "text/html" in output_kinds(nb)  # figures and the player

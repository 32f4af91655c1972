"""The demo takes the stand-in path offline and says so; --no-stand-in shows the random model."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from mam_lib.io.samples import load_demo_sample
from mam_lib.teaching.demo import run_demo


def test_demo_offline_shows_the_stand_in_path(tmp_path):
    lines: list[str] = []
    out = run_demo(tmp_path / "a", device="cpu", log=lines.append)
    summary = json.loads(out.summary.read_text())
    if summary["real_weights"]:  # published weights cached on this machine: nothing stands in
        assert summary["path"] == "published"
        return
    assert summary["path"] == "stand-in" and "Stand-in path" in summary["banner"]
    assert any("Stand-in path" in line for line in lines) and any("random weights" in line for line in lines)
    alpha = np.asarray(Image.open(out.alpha), np.float32) / 255
    known = load_demo_sample().alpha
    assert np.abs(alpha - known).sum() / 1000 < 2.0 and alpha.std() > 0.2  # a matte, not one value
    assert summary["sad_vs_known_alpha"] < 2.0

    random = run_demo(tmp_path / "b", device="cpu", log=lines.append, stand_in=False)
    summary = json.loads(random.summary.read_text())
    assert summary["path"] == "random" and summary["sad_vs_known_alpha"] > 10

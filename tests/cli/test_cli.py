"""The ``mam`` command: demo end to end, matte, download listing, and plain error messages."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mam_lib.cli import main


def test_demo_end_to_end_as_console_script(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "mam_lib.cli", "demo", "-o", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "random weights" in proc.stdout  # says plainly which model it used
    for name in ("demo_alpha.png", "demo_cutout.png", "demo_composite.png", "demo_stages.png", "demo_summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    alpha = np.asarray(Image.open(tmp_path / "demo_alpha.png"))
    image = np.asarray(Image.open(tmp_path / "demo_cutout.png"))
    assert alpha.ndim == 2 and image.shape == alpha.shape + (4,)
    np.testing.assert_array_equal(image[..., 3], alpha)
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    assert summary["real_weights"] is False and summary["sad_vs_known_alpha"] >= 0


def test_matte_writes_cutout_alpha_and_composite(tmp_path, capsys):
    img = np.zeros((64, 80, 3), np.uint8)
    img[16:48, 20:60] = 255
    Image.fromarray(img).save(tmp_path / "in.png")
    code = main(["matte", str(tmp_path / "in.png"), "--box", "15", "10", "65", "55", "--point", "40", "30",
                 "--bg-point", "2", "2", "-o", str(tmp_path / "cut.png"), "--alpha-out", str(tmp_path / "a.png"),
                 "--composite-out", str(tmp_path / "c.png"), "--background", "255,0,0"])
    assert code == 0
    assert Image.open(tmp_path / "cut.png").mode == "RGBA"
    assert np.asarray(Image.open(tmp_path / "a.png")).shape == (64, 80)
    assert np.asarray(Image.open(tmp_path / "c.png")).shape == (64, 80, 3)
    assert "wrote" in capsys.readouterr().out


def test_backend_option_gives_the_predictors_backends_and_exact_is_eager_bit_for_bit(tmp_path, capsys, monkeypatch):
    from mam_lib.cli._common import BACKEND_CHOICES
    from mam_lib.inference import predictor as predictor_module
    from mam_lib.inference.predictor import BACKENDS

    assert BACKEND_CHOICES == BACKENDS
    built, real_build = [], predictor_module.build_predictor

    def build(*args, **kwargs):
        predictor, real = real_build(*args, **kwargs)
        built.append(predictor.backend)
        return predictor, real

    monkeypatch.setattr(predictor_module, "build_predictor", build)
    img = np.zeros((300, 420, 3), np.uint8)
    img[80:220, 100:330] = (230, 180, 90)
    Image.fromarray(img).save(tmp_path / "in.png")
    alphas = {}
    for backend in ("exact", "eager"):
        out = tmp_path / f"{backend}_alpha.png"
        assert main(["matte", str(tmp_path / "in.png"), "--box", "90", "70", "340", "230", "--backend", backend,
                     "-o", str(tmp_path / f"{backend}_cut.png"), "--alpha-out", str(out)]) == 0
        alphas[backend] = np.asarray(Image.open(out))
    assert built == ["exact", "eager"]
    assert alphas["exact"].std() > 0
    np.testing.assert_array_equal(alphas["exact"], alphas["eager"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["matte", str(tmp_path / "in.png"), "--box", "0", "0", "5", "5", "--backend", "turbo",
              "-o", str(tmp_path / "t.png")])
    assert "invalid choice: 'turbo'" in capsys.readouterr().err


def test_user_errors_are_one_line_without_traceback(tmp_path, capsys):
    assert main(["matte", str(tmp_path / "missing.png"), "--box", "0", "0", "5", "5", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "in.png")
    assert main(["matte", str(tmp_path / "in.png"), "--box", "10", "10", "5", "15", "-o", str(tmp_path / "o.png")]) == 2
    assert "empty box" in capsys.readouterr().err
    assert main(["matte", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png")]) == 2
    assert "give a prompt" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_download_lists_the_registry(capsys):
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out
    assert "sam_vit_b_01ec64.pth" in out and "mam_vitb.pth" in out and "fetch by hand" in out

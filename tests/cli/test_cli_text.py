"""``mam matte --text`` and ``mam predict-benchmark --prompt text`` with the tiny random detector."""
from __future__ import annotations

import json
import sys

import numpy as np
from PIL import Image

from mam_lib.cli import main


def _photo(path):
    img = np.zeros((48, 64, 3), np.uint8)
    img[12:36, 16:48] = (240, 200, 120)
    Image.fromarray(img).save(path)
    return path


def test_matte_text_writes_one_numbered_file_per_instance(tmp_path, capsys):
    photo = _photo(tmp_path / "in.png")
    code = main(["matte", str(photo), "--text", "the cat", "--text-model", "tiny", "--box-threshold", "0",
                 "--max-instances", "2", "-o", str(tmp_path / "cut.png"), "--alpha-out", str(tmp_path / "a.png")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_1.png", "a_2.png", "cut_1.png", "cut_2.png", "in.png"]
    assert "instance 1/2:" in captured.out and "instance 2/2:" in captured.out
    assert "boxes are meaningless" in captured.err  # says plainly that the detector is random
    assert Image.open(tmp_path / "cut_2.png").mode == "RGBA"
    # a single instance goes to the names given
    assert main(["matte", str(photo), "--text", "the cat", "--text-model", "tiny", "--max-instances", "1",
                 "-o", str(tmp_path / "one.png")]) == 0
    assert (tmp_path / "one.png").is_file() and not (tmp_path / "one_1.png").exists()


def test_matte_text_refuses_before_writing_anything(tmp_path, capsys, monkeypatch):
    photo = _photo(tmp_path / "in.png")
    out = str(tmp_path / "cut.png")

    def error_of(*args) -> str:
        assert main(["matte", str(photo), *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        return err

    assert "not both" in error_of("--text", "the cat", "--box", "1", "1", "9", "9", "-o", out)
    assert "empty" in error_of("--text", " ", "--text-model", "tiny", "-o", out)
    assert "[0, 1]" in error_of("--text", "the cat", "--box-threshold", "1.5", "-o", out)
    assert "mam download grounding-dino-tiny" in error_of("--text", "the cat", "-o", out)  # nothing cached
    # an existing file among the numbered outputs is refused before any matte is written
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "cut_2.png")
    capsys.readouterr()
    assert main(["matte", str(photo), "--text", "the cat", "--text-model", "tiny", "--box-threshold", "0",
                 "--max-instances", "2", "-o", out]) == 2
    assert "cut_2.png" in capsys.readouterr().err and not (tmp_path / "cut_1.png").exists()
    # nothing above the threshold
    assert main(["matte", str(photo), "--text", "the cat", "--text-model", "tiny", "--box-threshold", "1",
                 "-o", out]) == 2
    assert "lower --box-threshold" in capsys.readouterr().err
    # without the text extra
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert "pip install -e '.[text]'" in error_of("--text", "the cat", "--text-model", "tiny", "-o", out)
    assert not (tmp_path / "cut.png").exists()


def test_predict_benchmark_rw100_with_text_prompts(tmp_path, capsys):
    root = tmp_path / "RefMatte_RW_100"
    for sub in ("image_all", "mask"):
        (root / sub).mkdir(parents=True)
    _photo(root / "image_all" / "0001.jpg")
    alpha = np.zeros((48, 64), np.uint8)
    alpha[12:36, 16:48] = 255
    Image.fromarray(alpha).save(root / "mask" / "0001.png")
    (root / "refmatte_rw100_label.json").write_text(json.dumps(
        {"0001": {"image_name": "0001.jpg", "expressions": ["the orange box", "a box"]}}))
    (root / "eval_index_expression.json").write_text(json.dumps({"0001.jpg": 1}))
    out = tmp_path / "preds"
    code = main(["predict-benchmark", "refmatte-rw100", "--root", str(root), "--out", str(out), "--prompt", "text",
                 "--text-model", "tiny", "--box-threshold", "0", "--sam-variant", "tiny", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (out / "0001.png").is_file()
    manifest = json.loads((out / "predict_benchmark.json").read_text())
    assert manifest["prompt"] == "text" and manifest["text"]["box_threshold"] == 0.0
    assert manifest["text"]["text_threshold"] == 0.5  # MAM's evaluation value
    assert manifest["text"]["prompts"]["0001.png"]["text"] == "a box"
    assert "meaningless" in manifest["text"]["detector"]
    # a benchmark without expressions needs --texts
    (root / "refmatte_rw100_label.json").unlink()
    assert main(["predict-benchmark", "ppm-100", "--root", str(root), "--images", "image_all", "--alphas", "mask",
                 "--out", str(tmp_path / "p2"), "--prompt", "text", "--text-model", "tiny"]) == 2
    assert "--texts" in capsys.readouterr().err

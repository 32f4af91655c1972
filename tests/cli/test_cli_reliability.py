"""The ``mam`` command with bad input: inputs are never overwritten, existing files need --overwrite, and
every problem is one line ``mam CMD: error: …`` with exit status 2 (checked before any model is built)."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
from PIL import Image

import mam_lib.inference.predictor as predictor_module
from mam_lib.cli import main
from mam_lib.io.images import load_image


class _FakePredictor:
    """Stands in for SAM + M2M: the CLI's file handling is what is tested here, in milliseconds."""

    description = "fake"
    built = 0

    def __init__(self):
        _FakePredictor.built += 1
        self.image = None

    def set_image(self, image):
        self.image = load_image(image)

    def predict(self, **kwargs):
        alpha = np.zeros(self.image.shape[:2], np.float32)
        alpha[2:-2, 2:-2] = 1.0
        return types.SimpleNamespace(alpha=alpha, timings={"total": 1.0})


@pytest.fixture()
def fake(monkeypatch):
    _FakePredictor.built = 0
    monkeypatch.setattr(predictor_module, "build_predictor", lambda *a, **k: (_FakePredictor(), False))
    return _FakePredictor


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(np.full((24, 32, 3), 120, np.uint8)).save(path)
    return path


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _matte(photo, *extra):
    return ["matte", str(photo), "--box", "2", "2", "20", "20", *extra]


@pytest.mark.parametrize("option", ["-o", "--alpha-out", "--composite-out"])
def test_matte_never_writes_over_its_input(fake, photo, tmp_path, capsys, option):
    before = photo.read_bytes()
    args = _matte(photo, "-o", str(tmp_path / "cut.png"))
    args = args[:-2] + ["-o", str(photo)] if option == "-o" else args + [option, str(photo)]
    assert main(args + ["--overwrite"]) == 2
    assert "is also an input" in _error(capsys)
    assert photo.read_bytes() == before and fake.built == 0


@pytest.mark.parametrize("extra, message", [
    (["-o", "{tmp}"], "is a folder"),
    (["-o", "{photo}/x.png"], "is a file, not a folder"),
    (["-o", "{tmp}/cut.jpg"], "transparency"),  # was: PNG bytes under a .jpg name
    (["-o", "{tmp}/a.png", "--alpha-out", "{tmp}/a.png"], "name the same file"),
    (["-o", "{tmp}/a.png", "--composite-out", "{tmp}/c.png", "--background", "300,0,0"], "0..255"),
    (["-o", "{tmp}/a.png", "--device", "banana"], "'banana' is not a device"),
    (["-o", "{tmp}/a.png", "--sam-checkpoint", "{tmp}/empty.pth"], "is empty"),
])
def test_matte_refuses_unusable_outputs_and_options_in_one_line(fake, photo, tmp_path, capsys, extra, message):
    (tmp_path / "empty.pth").write_bytes(b"")
    args = [a.format(tmp=tmp_path, photo=photo) for a in extra]
    assert main(_matte(photo, *args)) == 2
    assert message in _error(capsys)
    assert fake.built == 0


def test_matte_replaces_its_own_outputs_but_not_other_files(fake, photo, tmp_path, capsys):
    out = tmp_path / "cut.png"
    assert main(_matte(photo, "-o", str(out))) == 0
    assert main(_matte(photo, "-o", str(out))) == 0  # its own earlier output: replaced
    other = tmp_path / "holiday.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(other)
    before = other.read_bytes()
    capsys.readouterr()
    assert main(_matte(photo, "-o", str(other))) == 2
    assert "already exists; pass --overwrite" in _error(capsys)
    assert other.read_bytes() == before
    assert main(_matte(photo, "-o", str(other), "--overwrite")) == 0
    assert Image.open(other).mode == "RGBA"


def test_file_system_errors_that_no_check_caught_are_one_line_too(monkeypatch, capsys):
    import mam_lib.cli.download as download

    def broken(args):
        raise PermissionError(13, "Permission denied", "/somewhere/locked")

    monkeypatch.setattr(download, "run", broken)
    assert main(["download", "--list"]) == 2
    line = _error(capsys)
    assert "Permission denied" in line and "/somewhere/locked" in line


def _benchmark(root):
    for sub in ("images", "alphas"):
        (root / sub).mkdir(parents=True)
    for name in ("0", "1"):
        Image.fromarray(np.full((24, 32, 3), 100, np.uint8)).save(root / "images" / f"{name}.png")
        alpha = np.zeros((24, 32), np.uint8)
        alpha[4:20, 6:26] = 255
        Image.fromarray(alpha).save(root / "alphas" / f"{name}.png")
    return root


def test_predict_benchmark_never_writes_over_the_ground_truth(fake, tmp_path, capsys):
    root = _benchmark(tmp_path / "s")
    before = (root / "alphas" / "0.png").read_bytes()
    for out in (root / "alphas", root / "alphas" / "preds", root / "images"):
        assert main(["predict-benchmark", str(root), "--out", str(out), "--no-progress", "--overwrite"]) == 2
        assert "input folder" in _error(capsys)
    assert (root / "alphas" / "0.png").read_bytes() == before and fake.built == 0
    out = tmp_path / "preds"
    out.mkdir()
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(out / "0.png")  # not written by the command
    assert main(["predict-benchmark", str(root), "--out", str(out), "--no-progress"]) == 2
    assert "did not write (0.png); pass --overwrite" in _error(capsys)
    assert main(["predict-benchmark", str(root), "--out", str(out), "--no-progress", "--overwrite"]) == 0
    assert main(["predict-benchmark", str(root), "--out", str(out), "--no-progress"]) == 0  # its own: replaced
    manifest = json.loads((out / "predict_benchmark.json").read_text())
    assert manifest["written"] == 2 and manifest["backend"] == "fast"


def test_eval_csv_never_replaces_a_ground_truth_file(tmp_path, capsys):
    root = _benchmark(tmp_path / "s")
    before = (root / "alphas" / "0.png").read_bytes()
    args = ["eval", "--pred", str(root / "alphas"), "--gt", str(root / "alphas"), "--no-progress"]
    assert main(args + ["--csv", str(root / "alphas" / "0.png"), "--overwrite"]) == 2
    assert "is also an input" in _error(capsys)
    assert (root / "alphas" / "0.png").read_bytes() == before
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own,table\n")
    assert main(args + ["--csv", str(notes)]) == 2
    assert "already exists" in _error(capsys)
    assert main(args + ["--csv", str(tmp_path / "m.csv")]) == 0
    assert main(args + ["--csv", str(tmp_path / "m.csv")]) == 0  # its own table: replaced


def test_eval_goes_on_past_files_that_break_the_rules(tmp_path, capsys):
    for sub in ("pred", "gt", "trimap"):
        (tmp_path / sub).mkdir()
    alpha = np.zeros((8, 8), np.uint8)
    alpha[2:6, 2:6] = 255
    trimap = np.where(alpha > 0, 255, 0).astype(np.uint8)
    trimap[1:7, 1] = 128
    for name in ("a", "b", "c"):
        Image.fromarray(alpha).save(tmp_path / "gt" / f"{name}.png")
        Image.fromarray(trimap).save(tmp_path / "trimap" / f"{name}.png")
    Image.fromarray(alpha).save(tmp_path / "pred" / "a.png")
    Image.fromarray(alpha.astype(np.float32), mode="F").save(tmp_path / "pred" / "b.tif")  # float in 0..255
    Image.fromarray(alpha).save(tmp_path / "pred" / "c.png")
    bad_trimap = trimap.copy()
    bad_trimap[0, 0] = 37
    Image.fromarray(bad_trimap).save(tmp_path / "trimap" / "c.png")
    code = main(["eval", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--trimap",
                 str(tmp_path / "trimap"), "--no-progress", "--strict"])
    out = capsys.readouterr().out
    assert code == 3  # was: a traceback from the float prediction, nothing evaluated
    assert "b: " in out and r"[0, 255]" in out and "c: " in out and "37" in out
    rows = (tmp_path / "pred" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["name", "a", "MEAN"]


def test_train_write_config_refuses_a_photo_and_foreign_files(photo, tmp_path, capsys):
    before = photo.read_bytes()
    assert main(["train", "--preset", "cpu-tiny", "--write-config", str(photo)]) == 2
    assert "TOML" in _error(capsys) and photo.read_bytes() == before
    theirs = tmp_path / "theirs.toml"
    theirs.write_text("title = 'something else'\n")
    assert main(["train", "--preset", "cpu-tiny", "--write-config", str(theirs)]) == 2
    assert "already exists" in _error(capsys)
    mine = tmp_path / "mine.toml"
    for _ in range(2):  # its own config: written, then replaced
        assert main(["train", "--preset", "cpu-tiny", "--write-config", str(mine)]) == 0
    assert main(["train", str(mine), "--write-config", str(mine), "--overwrite"]) == 2
    assert "is also an input" in _error(capsys)


def test_synth_into_a_used_folder(tmp_path, capsys):
    out = tmp_path / "set"
    base = ["synth", "--size", "32", "--quiet", str(out)]
    assert main(base + ["-n", "3"]) == 0
    assert main(base + ["-n", "2"]) == 2  # was: 2 of 3 overwritten, a stale third, boxes.json of two
    assert "already holds a synthetic data set (3 samples); pass --overwrite" in _error(capsys)
    assert main(base + ["-n", "2", "--overwrite"]) == 0
    for sub in ("images", "alphas", "trimaps"):
        assert sorted(p.name for p in (out / sub).iterdir()) == ["0000.png", "0001.png"]
    assert sorted(json.loads((out / "boxes.json").read_text())) == ["0000", "0001"]
    theirs = tmp_path / "theirs"
    (theirs / "images").mkdir(parents=True)
    (theirs / "images" / "holiday.png").write_bytes(b"x")
    assert main(["synth", "--size", "32", "--quiet", "-n", "1", "--overwrite", str(theirs)]) == 2
    assert "did not write" in _error(capsys)
    assert [p.name for p in (theirs / "images").iterdir()] == ["holiday.png"]

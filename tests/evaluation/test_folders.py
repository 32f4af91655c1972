"""``mam eval`` and ``mam predict-benchmark`` on small temporary folders."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from mam_lib.cli import main
from mam_lib.evaluation.folders import evaluate_folders, read_alpha


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


def _disc(shape, center, radius, blur=5) -> np.ndarray:
    a = np.zeros(shape, np.uint8)
    cv2.circle(a, center, radius, 255, -1)
    return cv2.GaussianBlur(a, (0, 0), blur) if blur else a


@pytest.fixture()
def folders(tmp_path):
    """gt: a, b, c (+ trimaps); pred: a (exact), b (shifted), d (no ground truth); c has no prediction."""
    shape = (40, 48)
    gt = {k: _disc(shape, (20 + 3 * i, 20), 10) for i, k in enumerate("abc")}
    for k, a in gt.items():
        _write(tmp_path / "gt" / f"{k}.png", a)
        trimap = np.where((a > 0) & (a < 255), 128, np.where(a == 255, 255, 0)).astype(np.uint8)
        _write(tmp_path / "trimap" / f"{k}.png", trimap)
    _write(tmp_path / "pred" / "a.png", gt["a"])
    _write(tmp_path / "pred" / "b.png", np.roll(gt["b"], 3, axis=1))
    _write(tmp_path / "pred" / "d.png", gt["a"])
    return tmp_path, gt


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def test_eval_cli_reports_missing_files_and_writes_the_csv(folders, capsys):
    root, gt = folders
    out_csv = root / "report" / "metrics.csv"
    rc = main(["eval", "--pred", str(root / "pred"), "--gt", str(root / "gt"), "--trimap", str(root / "trimap"),
               "--csv", str(out_csv), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0
    assert "missing predictions (1" in captured.out and " c" in captured.out
    assert "predictions without ground truth (1): d" in captured.out
    assert "MSE(x1e3)" in captured.out and "unknown region" in captured.out
    rows = _read_csv(out_csv)
    assert list(rows) == ["a", "b", "MEAN"]
    assert float(rows["a"]["sad"]) == 0.0 and float(rows["a"]["conn"]) == 0.0
    # b's numbers are those of the plain formulas on the unknown region of its trimap
    pred_b = np.roll(gt["b"], 3, axis=1) / 255.0
    gt_b = gt["b"] / 255.0
    unknown = (gt["b"] > 0) & (gt["b"] < 255)
    assert float(rows["b"]["sad"]) == pytest.approx(np.abs(pred_b - gt_b)[unknown].sum() / 1000, rel=1e-6)
    assert float(rows["b"]["mse"]) == pytest.approx(((pred_b - gt_b) ** 2)[unknown].mean(), rel=1e-6)
    assert int(rows["b"]["pixels"]) == unknown.sum()
    assert float(rows["MEAN"]["sad"]) == pytest.approx(float(rows["b"]["sad"]) / 2, rel=1e-6)
    # the table prints MSE x1e3
    mean_mse = float(rows["MEAN"]["mse"])
    assert f"{mean_mse * 1e3:.3f}" in captured.out
    # --strict turns reported problems into a non-zero exit status; the default CSV is PRED/metrics.csv
    assert main(["eval", "--pred", str(root / "pred"), "--gt", str(root / "gt"), "--region", "all", "--strict",
                 "--no-progress"]) == 3
    assert list(_read_csv(root / "pred" / "metrics.csv")) == ["a", "b", "MEAN"]


def test_eval_reports_size_mismatches_and_unreadable_files_without_crashing(folders, capsys):
    root, _ = folders
    _write(root / "pred" / "c.png", np.zeros((10, 10), np.uint8))  # wrong size
    (root / "gt" / "e.png").write_bytes(b"not a png")
    (root / "pred" / "e.png").write_bytes(b"not a png either")
    result = evaluate_folders(root / "pred", root / "gt", progress=False)
    reasons = dict(result.skipped)
    assert "10x10" in reasons["c"] and "48x40" in reasons["c"]
    assert "could not be read" in reasons["e"]
    assert [r["name"] for r in result.rows] == ["a", "b"]


def test_eval_cli_refuses_unusable_arguments(folders, capsys):
    root, _ = folders
    assert main(["eval", "--pred", str(root / "pred"), "--gt", str(root / "gt"), "--region", "unknown"]) == 2
    assert "needs a trimap folder" in capsys.readouterr().err
    assert main(["eval", "--pred", str(root / "nowhere"), "--gt", str(root / "gt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = root / "empty"
    empty.mkdir()
    assert main(["eval", "--pred", str(empty), "--gt", str(root / "gt"), "--no-progress"]) == 2
    assert "nothing could be evaluated" in capsys.readouterr().err


def test_instance_folders_are_matched_by_iou_not_by_name(tmp_path):
    shape = (30, 60)
    left, right = _disc(shape, (15, 15), 8, 0), _disc(shape, (45, 15), 8, 0)
    _write(tmp_path / "gt" / "img" / "0.png", left)
    _write(tmp_path / "gt" / "img" / "1.png", right)
    _write(tmp_path / "gt" / "img2" / "0.png", left)  # no prediction folder for img2
    _write(tmp_path / "pred" / "img" / "0.png", right)  # names swapped
    _write(tmp_path / "pred" / "img" / "1.png", left)
    _write(tmp_path / "pred" / "img" / "2.png", _disc(shape, (30, 5), 2, 0))  # an extra instance
    by_iou = evaluate_folders(tmp_path / "pred", tmp_path / "gt", instances="folder", match="iou", progress=False)
    assert [r["name"] for r in by_iou.rows] == ["img/0", "img/1"]
    assert [r["pred"] for r in by_iou.rows] == ["img/1", "img/0"]
    assert all(r["sad"] == 0.0 and r["matched"] and r["iou"] == 1.0 for r in by_iou.rows)
    assert by_iou.unmatched_pred == ["img/2"] and by_iou.missing_pred == ["img2/0"] and not by_iou.extra_pred
    by_name = evaluate_folders(tmp_path / "pred", tmp_path / "gt", instances="folder", match="name", progress=False)
    assert all(r["sad"] > 0 for r in by_name.rows)


def test_missed_instances_are_scored_against_an_empty_matte(tmp_path):
    shape = (30, 60)
    gt = _disc(shape, (15, 15), 8)
    _write(tmp_path / "gt" / "img" / "0.png", gt)
    _write(tmp_path / "pred" / "img" / "0.png", _disc(shape, (45, 15), 8))  # no overlap: IoU 0
    result = evaluate_folders(tmp_path / "pred", tmp_path / "gt", instances="folder", progress=False)
    (row,) = result.rows
    assert not row["matched"] and row["pred"] == ""
    assert row["sad"] == pytest.approx((gt / 255.0).sum() / 1000, rel=1e-9)
    assert result.unmatched_pred == ["img/0"] and result.problems == 0


@pytest.mark.slow
def test_predict_benchmark_cli_writes_predictions_that_eval_reads(tmp_path, capsys):
    # Runs the real predictor with the tiny random SAM on one 64x80 image (seconds on a CPU).
    data = tmp_path / "set"
    rng = np.random.default_rng(0)
    _write(data / "images" / "x.jpg", (rng.random((64, 80, 3)) * 255).astype(np.uint8))
    _write(data / "alphas" / "x.png", _disc((64, 80), (40, 30), 15))
    _write(data / "alphas" / "y.png", _disc((64, 80), (40, 30), 15))  # no image: reported and skipped
    out = tmp_path / "pred"
    rc = main(["predict-benchmark", str(data), "--out", str(out), "--sam-variant", "tiny", "--prompt", "box",
               "--device", "cpu", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "ground truth without an image" in captured.err
    alpha = read_alpha(out / "x.png")
    assert alpha.shape == (64, 80) and alpha.dtype == np.uint8
    assert (out / "predict_benchmark.json").is_file()
    rc = main(["eval", "--pred", str(out), "--gt", str(data / "alphas"), "--no-progress"])
    assert rc == 0
    assert "missing predictions (1, not in the means): y" in capsys.readouterr().out


def test_eval_cli_with_a_benchmark_preset_uses_its_folders_and_region(folders, capsys):
    root, _ = folders
    bench = root / "Composition-1k-testset"
    bench.mkdir()
    (root / "gt").rename(bench / "alpha_copy")
    (root / "trimap").rename(bench / "trimaps")
    (bench / "merged").mkdir()
    rc = main(["eval", "--pred", str(root / "pred"), "--benchmark", "comp1k", "--root", str(bench), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("Composition-1k") and "trimap unknown region" in out
    assert main(["eval", "--pred", str(root / "pred"), "--benchmark", "comp1k"]) == 2
    assert "needs --root" in capsys.readouterr().err

"""Time each matting metric on a 2000x2000 matte pair on this machine.

    python benchmarks/bench_metrics.py [--size 2000] [--repeats 5] [--out benchmarks/results/metrics_cpu.txt]

Prints the median wall time of ``mam_lib.evaluation.metrics.{sad,mse,mad,grad,conn}`` (uint8 inputs, whole
image and trimap region), of ``all_metrics``, and, for comparison, of a straightforward
implementation of Grad (``scipy.ndimage.convolve`` with the 2-D filter) and Conn
(``skimage.measure.label`` per threshold), and checks that both give the same values.
The report is also written to ``--out``.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage
from skimage.measure import label

from mam_lib.evaluation import metrics as M
from mam_lib.io.atomic import atomic_write_text


def make_pair(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A matte with large smooth and sharp regions, a noisy blurred prediction and a trimap (uint8)."""
    rng = np.random.default_rng(seed)
    small = ndimage.gaussian_filter(rng.random((size // 8, size // 8)), 3)
    field = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    gt = np.clip((field - field.mean()) * 30 + 0.5, 0, 1)
    pred = np.clip(cv2.GaussianBlur(gt, (0, 0), 3) + rng.normal(0, 0.03, gt.shape), 0, 1)
    gt_u8 = np.rint(gt * 255).astype(np.uint8)
    unknown = cv2.dilate(((gt_u8 > 0) & (gt_u8 < 255)).astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    trimap = np.where(unknown, 128, np.where(gt_u8 == 255, 255, 0)).astype(np.uint8)
    return np.rint(pred * 255).astype(np.uint8), gt_u8, trimap


def median_time(fn, repeats: int) -> tuple[float, object]:
    value = fn()  # warm-up (first-call allocations, OpenCV initialisation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def straightforward_grad(p: np.ndarray, g: np.ndarray) -> float:
    sigma = 1.4
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * 0.01)))
    x = np.arange(-half, half + 1)
    gauss = np.exp(-x ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    hx = np.outer(gauss, -x * gauss / sigma ** 2)
    hx /= np.sqrt((hx ** 2).sum())

    def amp(a):
        return np.hypot(ndimage.convolve(a, hx, mode="nearest"), ndimage.convolve(a, hx.T, mode="nearest"))

    return float(((amp(p) - amp(g)) ** 2).sum() / 1000)


def straightforward_conn(p: np.ndarray, g: np.ndarray) -> float:
    level = -np.ones_like(p)
    for i in range(1, 11):
        labels = label((p >= i / 10) & (g >= i / 10), connectivity=1)
        omega = labels == np.argmax(np.bincount(labels.ravel()))
        level[(level == -1) & ~omega] = (i - 1) / 10
    level[level == -1] = 1
    d_p, d_g = p - level, g - level
    return float(np.abs((1 - d_p * (d_p >= 0.15)) - (1 - d_g * (d_g >= 0.15))).sum() / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "metrics_cpu.txt"))
    args = parser.parse_args(argv)

    pred, gt, trimap = make_pair(args.size)
    lines = [
        f"mam_lib.evaluation.metrics on a {args.size}x{args.size} uint8 matte pair, median of {args.repeats} runs",
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical CPUs; python {platform.python_version()}, numpy {np.__version__}, "
        f"opencv {cv2.__version__}, OpenCV threads {cv2.getNumThreads()}",
        f"load average at start (1/5/15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other processes share the CPUs when this is above the CPU count)",
        f"unknown region: {int((trimap == 128).sum())} px ({100 * (trimap == 128).mean():.1f}% of the image); "
        f"foreground above 0.1 in both: {100 * ((pred >= 26) & (gt >= 26)).mean():.0f}% of the image",
        "",
        f"{'metric':<34}{'seconds':>9}{'value':>16}",
    ]
    rows = []
    for name in M.METRIC_NAMES:
        fn = getattr(M, name)
        rows.append((f"{name} (whole image)", *median_time(lambda: fn(pred, gt), args.repeats)))
        rows.append((f"{name} (trimap region)", *median_time(lambda: fn(pred, gt, trimap), args.repeats)))
    rows.append(("conn, reference='matlab'", *median_time(lambda: M.conn(pred, gt, reference="matlab"), args.repeats)))
    rows.append(("all_metrics (all five, trimap)",
                 *median_time(lambda: M.all_metrics(pred, gt, trimap), args.repeats)))
    for title, seconds, value in rows:
        shown = "" if isinstance(value, dict) else f"{value:.6g}"
        lines.append(f"{title:<34}{seconds:>9.3f}{shown:>16}")

    p, g = pred / 255.0, gt / 255.0
    ref_grad_s, ref_grad = median_time(lambda: straightforward_grad(p, g), 1)
    ref_conn_s, ref_conn = median_time(lambda: straightforward_conn(p, g), 1)
    lines += [
        "",
        "for comparison, straightforward versions (scipy.ndimage.convolve 9x9 / skimage label per threshold):",
        f"{'grad (whole image)':<34}{ref_grad_s:>9.3f}{ref_grad:>16.6g}",
        f"{'conn (whole image)':<34}{ref_conn_s:>9.3f}{ref_conn:>16.6g}",
    ]
    same_grad = math.isclose(ref_grad, M.grad(pred, gt), rel_tol=1e-9)
    same_conn = math.isclose(ref_conn, M.conn(pred, gt), rel_tol=1e-9)
    lines.append(f"same values: grad {same_grad}, conn {same_conn}")
    report = "\n".join(lines) + "\n"
    print(report, end="")
    atomic_write_text(args.out, report)
    print(f"wrote {args.out}")
    return 0 if same_grad and same_conn else 1


if __name__ == "__main__":
    sys.exit(main())

"""Baselines side by side on a small held-out procedural set (CPU, a couple of minutes).

    python benchmarks/bench_baselines.py [--samples 8] [--size 320] [--out benchmarks/results/baselines_cpu.md]

Each sample is a procedural foreground (``mam_lib.data.procedural.make_foreground``) composited on a
procedural background, with seeds disjoint from the ones the training data draws by default.
Every method gets the same prompt, the box of the ground truth's α > 0.5 (the benchmark
protocol of ``mam predict-benchmark``), or a coarse mask:

- "SAM mask as alpha (tiny SAM)": the mask SAM predicts for the box, used as the matte;
- "simulated coarse mask as alpha": ``mam_lib.data.coarse_mask.simulate_coarse_mask`` of the ground
  truth (a SAM-like mask with typical errors), used as the matte;
- "closed-form matting" and "KNN matting" (pymatting) with a trimap made from that simulated
  coarse mask (eroded: definite foreground, outside the dilated mask: definite background);
- "MattingPredictor": SAM + M2M + refinement for the box.

Metrics are computed in the unknown band of the ground truth (its fractional pixels, dilated by
``--band`` pixels, Composition-1k style); MSE and MAD are shown ×1e3. Seconds are wall time per
image on this machine (SAM rows include the image encoding). pymatting is warmed up first, so its
one-time numba compilation is not counted.

Without published checkpoints the SAM rows use the ``tiny`` random SAM and a random M2M: those
rows show that the pipeline runs and what it costs, not matting quality. Pass ``--sam-variant``,
``--sam-checkpoint`` and ``--m2m-checkpoint`` to measure real weights.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from mam_lib.io.atomic import atomic_write_text
from mam_lib.evaluation.baselines import TrimapFromMaskConfig, mask_as_alpha, run_baseline, trimap_from_mask, warm_up_pymatting
from mam_lib.evaluation.prediction import box_from_gt
from mam_lib.data.coarse_mask import simulate_coarse_mask
from mam_lib.evaluation.metrics import PAPER_SCALE, all_metrics, conn
from mam_lib.data.procedural import make_background, make_foreground
from mam_lib.data.transforms import composite, trimap_from_alpha

#: First seed of the held-out set (the training data's procedural items use other seeds by default).
HELD_OUT_SEED = 7_000_000

COLUMNS = ("sad", "mse", "grad", "conn", "conn_matlab", "mad")
LABELS = {"sad": "SAD", "mse": "MSE (x1e3)", "grad": "Grad", "conn": "Conn", "conn_matlab": "Conn (MATLAB rule)",
          "mad": "MAD (x1e3)"}


def held_out_sample(index: int, size: int) -> dict:
    """Sample ``index``: ``image`` (H,W,3) uint8, ``alpha`` (H,W) float32, ``mask`` (H,W) bool, ``box``."""
    seed = HELD_OUT_SEED + index
    fg, alpha = make_foreground(seed, (size, size))
    bg = make_background(seed, (size, size))
    image = composite(fg, bg, alpha)
    mask = simulate_coarse_mask(alpha, np.random.default_rng(seed))
    return {"image": image, "alpha": alpha, "mask": mask, "box": box_from_gt(alpha)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--size", type=int, default=320, help="square image side in pixels")
    parser.add_argument("--band", type=int, default=10, help="dilation of the ground truth's unknown band, px")
    parser.add_argument("--erode", type=int, default=10, help="trimap from mask: erosion radius, px")
    parser.add_argument("--dilate", type=int, default=10, help="trimap from mask: dilation radius, px")
    parser.add_argument("--sam-variant", default="tiny")
    parser.add_argument("--sam-checkpoint", default=None)
    parser.add_argument("--m2m-checkpoint", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "baselines_cpu.md"))
    args = parser.parse_args(argv)

    import torch

    from mam_lib.inference.predictor import MattingPredictor

    torch.manual_seed(0)
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    warm_up_pymatting()
    warm_s = time.perf_counter() - t0
    predictor = MattingPredictor.from_pretrained(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint,
                                                 device=args.device)
    real_weights = args.sam_checkpoint is not None and args.m2m_checkpoint is not None
    trimap_cfg = TrimapFromMaskConfig(erode_px=args.erode, dilate_px=args.dilate)

    rows = {
        "sam_mask": f"SAM mask as alpha ({args.sam_variant} SAM{'' if real_weights else ', random weights'})",
        "coarse_mask": "simulated coarse mask as alpha",
        "closed_form": "closed-form matting (pymatting), trimap from the simulated mask",
        "knn": "KNN matting (pymatting), trimap from the simulated mask",
        "predictor": f"MattingPredictor ({predictor.description})",
    }
    scores: dict[str, list[dict]] = {k: [] for k in rows}
    seconds: dict[str, list[float]] = {k: [] for k in rows}
    degenerate = 0
    for i in range(args.samples):
        s = held_out_sample(i, args.size)
        band = trimap_from_alpha(s["alpha"], None, (args.band, args.band))
        if not (band == 128).any():
            continue

        t = time.perf_counter()
        predictor.set_image(s["image"])
        encode_s = time.perf_counter() - t
        t = time.perf_counter()
        result = predictor.predict(box=s["box"], guidance="alpha")
        predict_s = time.perf_counter() - t
        sam_s = encode_s + result.timings["sam"] / 1000
        outputs = {"sam_mask": (mask_as_alpha(result.mask), sam_s), "predictor": (result.alpha, encode_s + predict_s),
                   "coarse_mask": (mask_as_alpha(s["mask"]), 0.0)}
        for name in ("closed_form", "knn"):
            t = time.perf_counter()
            alpha = run_baseline(name, s["image"], s["mask"], trimap_cfg)
            outputs[name] = (alpha, time.perf_counter() - t)
        tri = trimap_from_mask(s["mask"], trimap_cfg)
        degenerate += int(not (tri == 255).any() or not (tri == 0).any())
        for key, (alpha, sec) in outputs.items():
            values = all_metrics(alpha, s["alpha"], band)
            values["conn_matlab"] = conn(alpha, s["alpha"], band, reference="matlab")
            scores[key].append(values)
            seconds[key].append(sec)
        print(f"sample {i + 1}/{args.samples} done", file=sys.stderr)

    n = len(scores["predictor"])
    header = ["method", *(LABELS[c] for c in COLUMNS), "s / image"]
    table = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for key, title in rows.items():
        means = {c: float(np.mean([r[c] for r in scores[key]])) * PAPER_SCALE.get(c, 1.0) for c in COLUMNS}
        cells = [title, *(f"{means[c]:.3f}" for c in COLUMNS), f"{np.mean(seconds[key]):.2f}"]
        table.append("| " + " | ".join(cells) + " |")
    notes = [
        f"Held-out procedural set: {n} images of {args.size}x{args.size} (seeds {HELD_OUT_SEED}..."
        f"{HELD_OUT_SEED + args.samples - 1}), box prompt = bounding box of alpha > 0.5.",
        f"Metrics in the ground truth's unknown band (fractional alpha dilated by {args.band} px); "
        "SAD, Grad, Conn /1000. Conn keeps the Python evaluation code's component rule, under which a nearly "
        "empty matte scores close to 0; 'Conn (MATLAB rule)' keeps the largest foreground component as Adobe's "
        "MATLAB code does (see mam_lib.evaluation.metrics).",
        f"Trimaps for pymatting: simulated coarse mask eroded by {args.erode} px (foreground) and dilated by "
        f"{args.dilate} px (background); {degenerate} of {n} had no definite foreground or background "
        "(then the matte is all 0 or all 1).",
        f"Seconds: wall time per image on {platform.processor() or platform.machine()} with {os.cpu_count()} "
        f"logical CPUs (load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at the end), "
        f"torch {torch.__version__} on {args.device}; pymatting numba warm-up ({warm_s:.1f} s) "
        "excluded; SAM rows include the image encoding.",
    ]
    if not real_weights:
        notes.append("SAM and M2M have random weights (no checkpoints given): the 'SAM mask' and 'MattingPredictor' "
                     "rows show that the pipeline runs and what it costs, NOT matting quality.")
    text = "\n".join(["# Baselines on the held-out procedural set (CPU)", "", *table, "", *(f"- {x}" for x in notes)])
    print(text)
    atomic_write_text(args.out, text + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

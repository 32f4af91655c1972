"""Video matting on the CPU: frames per second, the share of each stage, and propagation against an oracle.

    python benchmarks/bench_video.py [--frames 12] [--size 640x480] [--kinds hair] [--repeats 2] [--device cpu] [--out FILE]

On a procedural clip (:func:`mam_lib.data.video.make_clip`, known alpha) it runs
:class:`mam_lib.inference.video.VideoMatting` twice with the tiny SAM (random weights) and a random M2M
whose batch-norm statistics were measured on random inputs
(:func:`mam_lib.inference.m2m.calibrated_random_m2m`, so its alphas are not saturated):

* **propagation**: the ground-truth box on frame 0 only; every later frame starts from the previous
  frame's box and SAM logits;
* **oracle**: the ground-truth box of every frame as its prompt (each frame a keyframe).

After a warm-up run of two frames, the two schemes run ``--repeats`` times, interleaved, and the
fastest run of each is reported (the cores of this machine are shared, so single runs vary by 2-3×).
It prints the frames per second of each (frames written to a folder, as ``mam matte-video`` does), the
share of each stage (reading the frame, SAM's image encoder, SAM's prompt path, M2M, the refinement,
writing the PNG files), and for both runs the mean per-frame SAD and MSE and the temporal dtSSD and
MESSDdt (with the clip's own motion). **With random weights the mattes are meaningless: the quality
figures show the mechanics (that both schemes run and are scored the same way), not which is better.**
The tiny SAM's image encoder is much cheaper than ViT-B's (about 14 s per frame on this CPU), so with
real weights the encoder's share dominates.

The report is also written to ``--out`` (default ``benchmarks/results/video_<device>.txt``).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mam_lib.data.video import ClipConfig, make_clip
from mam_lib.evaluation.temporal import clip_metrics
from mam_lib.inference.m2m import calibrated_random_m2m
from mam_lib.inference.predictor import MattingPredictor
from mam_lib.inference.sam import build_sam
from mam_lib.inference.video import STAGES, VideoMatting
from mam_lib.io.atomic import atomic_write_text
from mam_lib.io.video import read_alpha_sequence

ROOT = Path(__file__).resolve().parents[1]


def _run(predictor, clip, keyframes: str, folder: Path):
    video = VideoMatting(predictor)
    boxes = clip.boxes["obj1"]
    frames = range(len(clip)) if keyframes == "oracle" else [0]
    for t in frames:
        if np.isfinite(boxes[t]).all():
            video.prompt(t, box=boxes[t])
    run = video.run(clip.frames, folder, progress=False, videos=False)
    alpha = read_alpha_sequence(folder / "obj1" / "alpha", len(clip))
    return run, alpha


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--size", default="640x480", help="WxH")
    ap.add_argument("--kinds", default="hair")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each scheme, interleaved; the fastest is reported")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    torch.manual_seed(0)
    sam = build_sam("tiny", seed=0, device=args.device)
    predictor = MattingPredictor(sam, calibrated_random_m2m(seed=0), device=args.device)
    t0 = time.perf_counter()
    clip = make_clip(ClipConfig(size=(h, w), frames=args.frames, kinds=tuple(args.kinds.split(",")), seed=0))
    make_s = time.perf_counter() - t0
    gt = clip.alphas["obj1"]
    flows = [clip.motion("obj1", t) for t in range(len(clip))]
    lines = [f"# video matting: procedural clip of {len(clip)} frames of {w}x{h} ({args.kinds}); "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), torch {torch.__version__} "
             f"({torch.get_num_threads()} threads), device {args.device}, load average {load:.1f} at the start",
             f"# command: python benchmarks/bench_video.py --frames {args.frames} --size {args.size} --kinds {args.kinds}"
             f" --repeats {args.repeats} --device {args.device}",
             "# models: tiny SAM (random weights) + calibrated random M2M: the mattes are meaningless, the quality",
             "# figures show the mechanics of the two prompting schemes, not which is better",
             f"clip drawn in {make_s:.1f} s"]
    if load > 1.5:
        lines.append("# the two cores were shared with other work during this run, so these times are higher than "
                     "on an idle machine")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_video_") as tmp:
        warm = make_clip(ClipConfig(size=(h, w), frames=2, kinds=tuple(args.kinds.split(",")), seed=1))
        _run(predictor, warm, "propagation", Path(tmp) / "warm-up")
        for r in range(args.repeats):
            for name in ("propagation", "oracle"):
                run, alpha = _run(predictor, clip, name, Path(tmp) / f"{name}-{r}")
                print(f"{name} run {r + 1}: {run.wall_s:.1f} s", flush=True)
                if name not in results or run.wall_s < results[name][0].wall_s:
                    results[name] = (run, clip_metrics(list(alpha), list(gt), flows=flows))
    for name in ("propagation", "oracle"):
        run, scores = results[name]
        shares = run.stage_shares()
        per_frame = {k: run.timings[k] / max(len(run.computed), 1) for k in STAGES}
        lines.append(f"{name}: {run.frames_per_second:.3f} frames/s ({run.wall_s:.1f} s for {len(run.computed)} "
                     f"frames, {run.wall_s / max(len(run.computed), 1):.2f} s per frame; fastest of {args.repeats})")
        lines.append("  per frame, ms: " + ", ".join(f"{k} {per_frame[k]:.0f}" for k in STAGES))
        lines.append("  share: " + ", ".join(f"{k} {100 * shares[k]:.1f}%" for k in STAGES))
        lines.append(f"  quality vs ground truth: {scores.table()}")
    lines.append("per-frame SAD (propagation | oracle): " + " ".join(
        f"{a['sad']:.2f}|{b['sad']:.2f}" for a, b in zip(results["propagation"][1].frames, results["oracle"][1].frames)))
    lines.append("per-frame dtSSD x1e2 (propagation | oracle): " + " ".join(
        f"{100 * a['dtssd']:.2f}|{100 * b['dtssd']:.2f}" for a, b in
        zip(results["propagation"][1].frames[1:], results["oracle"][1].frames[1:])))
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"video_{args.device.split(':')[0]}.txt"
    atomic_write_text(out, report)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

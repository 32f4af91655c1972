"""M2M forward on the CPU: PyTorch eager float32 versus the exported model in onnxruntime.

    python benchmarks/bench_onnx.py [--repeats 3] [--m2m-checkpoint mam_vitb.pth] [--out benchmarks/results/onnx_cpu.txt]

One forward at MAM's working size: image ``(1,3,1024,1024)``, features ``(1,256,64,64)``, mask
``(1,1,256,256)`` (random inputs, :func:`mam_lib.inference.m2m.m2m_example_inputs`). The
decoder is :func:`~mam_lib.inference.m2m.calibrated_random_m2m` (random weights with
activations in a trained model's range) unless ``--m2m-checkpoint`` names real weights; speed
does not depend on the weights. It is exported with
:func:`~mam_lib.inference.onnx_export.export_m2m_onnx` to a temporary folder and run with
:class:`~mam_lib.inference.onnx_export.OnnxM2M` on onnxruntime's CPU provider with as many
intra-op threads as torch uses. Each runtime gets one warm-up call, then ``--repeats`` timed calls;
the report gives the medians, the ratio onnx/torch and the largest absolute difference of the
four outputs. The report is also written to ``--out``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from mam_lib.inference.checkpoints import load_m2m
from mam_lib.inference.m2m import calibrated_random_m2m, m2m_example_inputs
from mam_lib.inference.onnx_export import OnnxM2M, export_m2m_onnx, require_onnx
from mam_lib.io.atomic import atomic_write_text

from machine import cpu_model  # noqa: E402 (benchmarks/machine.py)


def nproc() -> int:
    """What ``nproc`` prints: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def timed(fn, repeats: int) -> tuple[float, dict[str, torch.Tensor]]:
    """Median seconds of ``repeats`` calls of ``fn`` after one warm-up call, and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--m2m-checkpoint", default=None, help="real M2M weights (default: calibrated random)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "onnx_cpu.txt"))
    args = parser.parse_args(argv)

    ort = require_onnx("onnxruntime")
    threads = torch.get_num_threads()
    m2m = load_m2m(args.m2m_checkpoint) if args.m2m_checkpoint else calibrated_random_m2m()
    m2m.eval()
    features, image, mask = m2m_example_inputs(1, 1024, 1024, mask_size=(256, 256))
    lines = [
        f"machine: nproc {nproc()}, {cpu_model()}, torch {torch.__version__}, onnxruntime {ort.__version__}",
        f"M2M forward, image 1024x1024, features 64x64, mask 256x256, batch 1, float32; "
        f"{threads} threads for both; median of {args.repeats} after a warm-up; "
        f"weights: {Path(args.m2m_checkpoint).name if args.m2m_checkpoint else 'calibrated random'}",
        f"load average at start (1/5/15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = export_m2m_onnx(m2m, Path(tmp) / "m2m.onnx")
        export_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        runner = OnnxM2M(path, threads=threads)
        with torch.no_grad():
            torch_s, torch_out = timed(lambda: m2m(features, image, mask), args.repeats)
        onnx_s, onnx_out = timed(lambda: runner(features, image, mask), args.repeats)
    diff = {key: (onnx_out[key] - torch_out[key]).abs().max().item() for key in torch_out}
    lines += [
        f"export: {export_s:.1f} s, m2m.onnx {size_mb:.1f} MB",
        f"torch eager   {torch_s:8.3f} s",
        f"onnxruntime   {onnx_s:8.3f} s",
        f"ratio onnx/torch {onnx_s / torch_s:.2f}",
        f"max abs difference {max(diff.values()):.2e} ("
        + ", ".join(f"{key} {value:.1e}" for key, value in diff.items()) + ")",
    ]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    atomic_write_text(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

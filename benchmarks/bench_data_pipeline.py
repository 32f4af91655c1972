"""Data-pipeline throughput: samples per second for one worker at 512² and 1024² crops.

Sources are 2000x1500 foregrounds (uint8 colour + uint8 alpha, as read from PNG files) and
backgrounds, generated once in memory; then the transform chain (affine + crop, second
foreground, HSV jitter, background crop, composite, trimap, box) and the full
``MattingDataset.__getitem__`` (chain + tensors) are timed in this process with OpenCV and torch
limited to one thread and the allocator set up as :func:`worker_init_fn` does, as in one
``DataLoader`` worker. Optional extras: the simulated coarse
mask, degradations, procedural sources generated on demand, and a 2-worker ``DataLoader``.

Usage::

    python benchmarks/bench_data_pipeline.py                 # print the table
    python benchmarks/bench_data_pipeline.py --out benchmarks/results/data_pipeline_cpu.txt

Target: at least 10 samples/s per worker at 1024².
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

from mam_lib.data.sources import ArrayBackgrounds, ArrayForegrounds
from mam_lib.data.procedural import make_background, make_foreground
from mam_lib.data.dataset import DataConfig, MattingDataset, keep_large_allocations, make_loader
from mam_lib.data.transforms import DegradationConfig

SOURCE_SIZE = (1500, 2000)  # (H, W)


def make_sources(count: int) -> tuple[ArrayForegrounds, ArrayBackgrounds]:
    kinds = ["hair", "fur", "glass", "holes", "soft", "multi"]
    fgs, alphas, bgs = [], [], []
    for k in range(count):
        fg, alpha = make_foreground(k, SOURCE_SIZE, kinds[k % len(kinds)], supersample=2)
        fgs.append(fg)
        alphas.append(np.round(alpha * 255).astype(np.uint8))
        bgs.append(make_background(k, SOURCE_SIZE))
    return ArrayForegrounds(fgs, alphas, "2000x1500 foregrounds"), ArrayBackgrounds(bgs, "2000x1500 backgrounds")


def rate(fn, n: int, warmup: int = 3) -> tuple[float, float]:
    """Samples per second of ``fn(index)``: by wall-clock time and by this process's CPU time
    (the second is what one worker achieves when the machine is not shared)."""
    for i in range(warmup):
        fn(i)
    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(warmup + i)
    return n / (time.perf_counter() - t), n / (time.process_time() - c)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=40, help="samples timed per measurement (default 40)")
    p.add_argument("--sources", type=int, default=4, help="2000x1500 sources generated in memory (default 4)")
    p.add_argument("--no-loader", action="store_true", help="skip the 2-worker DataLoader measurement")
    p.add_argument("--out", default=None, help="also write the table to this file")
    args = p.parse_args(argv)

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    keep_large_allocations()  # as worker_init_fn does in DataLoader workers
    say("Data-pipeline benchmark (one worker: OpenCV and torch limited to 1 thread, "
        "allocator set up as in worker_init_fn)")
    say(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, python {platform.python_version()}, "
        f"torch {torch.__version__}, opencv {cv2.__version__}, numpy {np.__version__}")
    t = time.perf_counter()
    fgs, bgs = make_sources(args.sources)
    say(f"sources: {args.sources} foregrounds + {args.sources} backgrounds of {SOURCE_SIZE[1]}x{SOURCE_SIZE[0]} "
        f"(generated in {time.perf_counter() - t:.1f} s, not timed)")
    say(f"samples timed per figure: {args.n}; load average before: {os.getloadavg()[0]:.1f}")
    say("")
    say(f"{'crop':>6}  {'measurement':<56} {'samples/s':>9} {'ms/sample':>9} {'samples/s':>9}")
    say(f"{'':>6}  {'':<56} {'(wall)':>9} {'(wall)':>9} {'(CPU)':>9}")

    def row(crop: int, name: str, r: tuple[float, float] | float) -> None:
        wall, cpu = r if isinstance(r, tuple) else (r, float("nan"))
        cpu_text = f"{cpu:9.1f}" if cpu == cpu else f"{'-':>9}"
        say(f"{crop:>5}²  {name:<56} {wall:9.1f} {1000 / wall:9.1f} {cpu_text}")

    for crop in (512, 1024):
        cfg = DataConfig(crop_size=crop, length=10_000, trimap_width=(1, 30 * crop // 1024 + 1))
        ds = MattingDataset(cfg, foregrounds=[fgs], backgrounds=[bgs])
        row(crop, "transform chain (numpy sample dict)", rate(ds.sample_arrays, args.n))
        row(crop, "MattingDataset.__getitem__ (tensors)", rate(ds.__getitem__, args.n))
        masked = MattingDataset(cfg.replace(with_mask=True, num_points=1), foregrounds=[fgs], backgrounds=[bgs])
        row(crop, "  + coarse mask + 1 point", rate(masked.__getitem__, args.n))
        degraded = MattingDataset(cfg.replace(degradation=DegradationConfig(prob=1.0)), foregrounds=[fgs],
                                  backgrounds=[bgs])
        row(crop, "  + degradations on every sample", rate(degraded.__getitem__, args.n))
        real = MattingDataset(cfg, foregrounds=[], backgrounds=[],
                              images=[ArrayForegrounds(bgs.bgs, fgs.alphas, "photos", role="image")])
        row(crop, "real images (no compositing)", rate(real.__getitem__, args.n))

    say("")
    proc = MattingDataset(DataConfig.cpu(procedural_cache=0))
    row(512, "procedural sources made on demand (768x1024, no cache)", rate(proc.__getitem__, max(8, args.n // 4), 1))
    with tempfile.TemporaryDirectory() as folder:
        stored = MattingDataset(DataConfig.cpu(procedural_cache=0, procedural_count=16, procedural_dir=folder))
        for src in stored.foregrounds + stored.backgrounds:  # draw and store every item once (not timed)
            for i in range(len(src)):
                src.load(i)
        row(512, "procedural sources read back from procedural_dir (PNG)", rate(stored.__getitem__, args.n))

    if not args.no_loader:
        cv2.setNumThreads(-1)
        torch.set_num_threads(max(1, (os.cpu_count() or 1)))
        cfg = DataConfig(crop_size=1024, length=3 * args.n)
        ds = MattingDataset(cfg, foregrounds=[fgs], backgrounds=[bgs])
        loader = make_loader(ds, batch_size=10, num_workers=2, shuffle=False)
        it = iter(loader)
        next(it)  # start the workers
        t = time.perf_counter()
        n = 0
        for batch in it:
            n += int(batch["image"].shape[0])
        r = n / (time.perf_counter() - t)
        say("")
        row(1024, "DataLoader, 2 workers, batch 10 (total, not per worker)", r)

    say("")
    say(f"load average after: {os.getloadavg()[0]:.1f} (figures by wall-clock time drop when other "
        "processes share the cores; CPU-time figures do not)")
    say("target: >= 10 samples/s per worker at 1024²")
    if args.out:
        from mam_lib.io.atomic import atomic_write_text

        atomic_write_text(args.out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

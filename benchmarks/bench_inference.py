"""Per-prompt latency of the predictor: the eager (published) path against the fast one, same weights.

    python benchmarks/bench_inference.py [--sizes 640x480,1024x768,4000x3000] [--repeats 3]
        [--large 12000x9000] [--no-large-eager] [--bf16] [--device cpu] [--out FILE]

For each photo size and each of two masks it times ``MattingPredictor.predict(box=...)`` with
``backend="eager"`` and ``backend="fast"``, interleaved, ``--repeats`` times after a warm-up, and
prints the median milliseconds of each stage (SAM's prompt decoder, M2M, refinement, total), the
memory a prompt adds at its peak (resident set, sampled every 2 ms), the decoder's work (GFLOP,
torch's ``FlopCounterMode``) and the rate it ran at (GFLOP/s; the header gives a 4096² float32
matrix product's rate on the same machine, the densest work its cores do), the ratio fast / eager
of the totals, and how the two agree: the largest difference of the decoder's outputs (before the
refinement), of the alphas, and the number of alpha pixels that differ by more than 1e-4 — next to
the same count for the eager path against itself run with one thread.
A decoder difference of ~1e-6 (float rounding) moves the few pixels whose value lies within it
of a band threshold (1/255, 254/255) into or out of a band; such a pixel then takes another scale's
value. The eager path does the same between thread counts, so that column is the rounding noise.

* Models: the ``tiny`` SAM (random weights; its prompt encoder and mask decoder are SAM's own, as
  costly as ViT-B's — only the image encoder is small, and it is not part of a prompt) and a random
  M2M whose batch-norm statistics were measured on random inputs
  (:func:`mam_lib.inference.m2m.calibrated_random_m2m`), so its alphas are not saturated.
* Masks: "SAM's mask" is what the random SAM gives for the box: it covers most of the picture,
  the fast path's worst case (it evaluates the decoder only around the mask). "object mask" replaces
  SAM's prediction by the demo sample's true mask (``data_samples/demo/alpha.png`` ≥ 0.5), what a
  trained SAM gives for a box around that object.
* ``--large``: one prompt (SAM's mask, about 80% of the picture) on a photo of that size in a
  fresh process per backend (eager, exact, fast): seconds and peak resident memory (the process's
  own high-water mark, ``VmHWM``, including the ~1 GB of libraries and models; not ``ru_maxrss``,
  which Linux carries over from the parent through fork and exec, so a child started by a 3 GB
  parent reports 3 GB), and whether the alphas are identical: the exact and the fast path's to
  the eager one's, and the eager path's on one thread to its own on all (``--no-large-eager``
  skips both eager runs).
* ``--bf16``: the fast path under CPU bf16 autocast at 1024×768, its time and its difference.

The report is also written to ``--out`` (default ``benchmarks/results/inference_<device>.txt``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from mam_lib.inference.m2m import calibrated_random_m2m
from mam_lib.inference.predictor import MattingPredictor
from mam_lib.inference.sam import SamPrediction, build_sam
from mam_lib.io.atomic import atomic_write_text
from mam_lib.io.images import load_alpha, load_image

from machine import cores_and_cpu  # noqa: E402 (benchmarks/machine.py)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data_samples" / "demo"
STAGES = ("sam", "m2m", "refine", "total")


def machine() -> str:
    cap = torch.backends.cpu.get_cpu_capability()
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return (f"{cores_and_cpu()}, torch {torch.__version__} ({torch.get_num_threads()} threads, "
            f"CPU capability {cap}, oneDNN bf16 {'yes' if bf16 else 'no'})")


def demo_inputs(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The demo image and its true alpha resized to ``size = (W, H)``, and the box around the object."""
    image = cv2.resize(load_image(DEMO / "image.png"), size, interpolation=cv2.INTER_LINEAR)
    alpha = cv2.resize(load_alpha(DEMO / "alpha.png"), size, interpolation=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(alpha > 0.5)
    return image, alpha, [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def use_object_mask(predictor: MattingPredictor, alpha: np.ndarray) -> None:
    """Make the predictor's SAM stage return the object's true mask (in SAM's 256² low-res frame)."""
    sp = predictor.sam_predictor
    real = sp.predict
    enc = sp.encoding
    h, w = enc.input_size
    low = np.zeros((256, 256), np.float32)
    low[: (h + 3) // 4, : (w + 3) // 4] = cv2.resize(alpha, ((w + 3) // 4, (h + 3) // 4), interpolation=cv2.INTER_AREA)
    logits = torch.from_numpy((low - 0.5) * 20)[None].to(predictor.device)

    def predict(**kwargs) -> SamPrediction:
        p = real(**kwargs)  # SAM's prompt decoder still runs, so its time is counted
        return SamPrediction(mask_lowres=(logits > 0).float()[None], mask=sp.full_size_mask(logits),
                             logits_lowres=logits, iou=p.iou, index=p.index)

    sp.predict = predict


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every 2 ms (Linux ``/proc/self/statm``)."""

    def __enter__(self) -> "PeakMemory":
        import threading

        self._page = os.sysconf("SC_PAGE_SIZE")
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> int:
        try:
            return int(Path("/proc/self/statm").read_text().split()[1]) * self._page
        except OSError:
            return 0

    def _watch(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mb(self) -> float:
        return (self.peak - self.base) / 2 ** 20


def build(backend: str, device: str, precision: str | None = None) -> MattingPredictor:
    return MattingPredictor(build_sam("tiny", device=device), calibrated_random_m2m().to(device), device=device,
                            backend=backend, precision=precision)


def decoder_gflop(predictor: MattingPredictor, result) -> float:
    """The floating-point work (GFLOP, torch's own count) of the decoder run behind ``result``."""
    from torch.utils.flop_counter import FlopCounterMode

    window = result.lowres_window
    with FlopCounterMode(display=False) as counter:
        if window != (0, 0, 0, 0):  # an empty mask runs no decoder
            predictor._decode(result.sam.mask_lowres, window)
    return counter.get_total_flops() / 1e9


MATMUL_SIDE = 4096


def matmul_gflops(device: str, n: int = MATMUL_SIDE) -> float:
    """The float32 rate of one ``n × n`` matrix product (MKL here), best of 3 after a warm-up: what
    the machine's cores give on the densest work there is, the yardstick for the decoder's GFLOP/s."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for i in range(4):
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        if i > 0:  # the first product is the warm-up
            best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def time_size(size: tuple[int, int], repeats: int, device: str) -> list[str]:
    image, alpha, box = demo_inputs(size)
    threads = torch.get_num_threads()
    lines = []
    for mask_kind in ("SAM's mask", "object mask"):
        predictors = {b: build(b, device) for b in ("eager", "fast")}
        for p in predictors.values():
            p.set_image(image)
            if mask_kind == "object mask":
                use_object_mask(p, alpha)
            p.predict(box=box)  # warm-up (allocations, the fast decoder's preparation)
        timings: dict[str, list[dict]] = {"eager": [], "fast": []}
        results, memory = {}, {}
        for _ in range(repeats):
            for b, p in predictors.items():
                with PeakMemory() as mem:
                    results[b] = p.predict(box=box)
                memory[b] = max(memory.get(b, 0.0), mem.mb)
                timings[b].append(results[b].timings)
        med = {b: {s: statistics.median(t[s] for t in ts) for s in STAGES} for b, ts in timings.items()}
        e, f = results["eager"], results["fast"]
        full = f.full_lowres() if f.full_lowres is not None else f.lowres
        decoder = max(float((e.lowres[k] - full[k]).abs().max()) for k in full)
        torch.set_num_threads(1)  # the eager path against itself, another thread count: rounding noise
        e1 = predictors["eager"].predict(box=box)
        torch.set_num_threads(threads)
        diff = np.abs(e.alpha - f.alpha)
        noise = np.abs(e.alpha - e1.alpha)
        ratio = med["fast"]["total"] / med["eager"]["total"]
        for b in ("eager", "fast"):
            m = med[b]
            gflop = decoder_gflop(predictors[b], results[b])
            lines.append(f"{size[0]:>5}x{size[1]:<5} {mask_kind:<11} {b:<5} {m['sam']:8.0f} {m['m2m']:8.0f} "
                         f"{m['refine']:8.0f} {m['total']:8.0f} {memory[b]:7.0f} {gflop:6.1f} "
                         f"{gflop / m['m2m'] * 1000:5.0f}" +
                         (f"  {ratio:6.3f}  {decoder:8.1e} {diff.max():8.1e} {int((diff > 1e-4).sum()):6d} "
                          f"{int((noise > 1e-4).sum()):6d}  {f.mask.mean():4.0%}" if b == "fast" else ""))
        print("\n".join(lines[-2:]), flush=True)
    return lines


def peak_resident_mb() -> float:
    """This process's peak resident set in MiB: ``VmHWM`` of ``/proc/self/status``, which belongs to
    the process's own address space. ``ru_maxrss`` is no use in a child: Linux keeps the largest
    resident set across fork and exec, so it starts at the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: the best there is


def run_large(backend: str, size: tuple[int, int], out: Path) -> dict:
    """One prompt on a synthetic photo of ``size`` in this process; writes the alpha to ``out``.
    ``backend`` "eager-1thread" is the eager path on one thread (its rounding noise)."""
    if backend == "eager-1thread":
        torch.set_num_threads(1)
        backend = "eager"
    W, H = size
    image = np.empty((H, W, 3), np.uint8)
    image[..., 0] = (np.arange(W) * 255 // W).astype(np.uint8)[None]
    image[..., 1] = (np.arange(H) * 255 // H).astype(np.uint8)[:, None]
    image[..., 2] = 128
    p = build(backend, "cpu")
    p.set_image(image)
    t0 = time.perf_counter()
    r = p.predict(box=[W / 6, H / 6, W * 3 / 4, H * 7 / 9])  # SAM's own mask: ~80% of the photo
    seconds = time.perf_counter() - t0
    np.save(out, r.alpha)
    return {"seconds": seconds, "peak_mb": peak_resident_mb(),
            "timings": r.timings}


def large(size: tuple[int, int], with_eager: bool) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        stats = {}
        for backend in (("eager", "exact", "fast", "eager-1thread") if with_eager else ("exact", "fast")):
            out = Path(tmp) / f"{backend}.npy"
            proc = subprocess.run([sys.executable, __file__, "--_large-one", backend, f"{size[0]}x{size[1]}", str(out)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                lines.append(f"{backend}: failed ({proc.stderr.strip().splitlines()[-1:]})")
                continue
            stats[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
            s = stats[backend]
            lines.append(f"{size[0]}x{size[1]} {backend:<13} predict {s['seconds']:6.1f} s, peak memory "
                         f"{s['peak_mb'] / 1024:5.2f} GB (stages ms: " +
                         ", ".join(f"{k} {s['timings'][k]:.0f}" for k in STAGES) + ")")
            print(lines[-1], flush=True)

        def agreement(other: str) -> str:
            a, b = np.load(Path(tmp) / "eager.npy"), np.load(Path(tmp) / f"{other}.npy")
            d = np.abs(a - b)
            return (f"alpha identical: {np.array_equal(a, b)} (max abs difference {d.max():.1e}, "
                    f"{int((d > 1e-4).sum())} of {d.size / 1e6:.0f} M pixels over 1e-4)")

        for other in ("exact", "fast"):
            if "eager" in stats and other in stats:
                lines.append(f"{other} against eager: {agreement(other)}; time ratio "
                             f"{stats[other]['seconds'] / stats['eager']['seconds']:.3f}, memory ratio "
                             f"{stats[other]['peak_mb'] / stats['eager']['peak_mb']:.3f}")
                print(lines[-1], flush=True)
        if "eager" in stats and "eager-1thread" in stats:
            lines.append(f"eager on 1 thread against eager (its rounding noise): {agreement('eager-1thread')}")
            print(lines[-1], flush=True)
    return lines


def bf16(repeats: int) -> list[str]:
    image, _, box = demo_inputs((1024, 768))
    ps = {"fp32 fast": build("fast", "cpu"), "bf16 fast": build("fast", "cpu", "bf16")}
    res, secs = {}, {}
    for name, p in ps.items():
        p.set_image(image)
        p.predict(box=box)
        ts = []
        for _ in range(max(1, min(repeats, 2))):  # bf16 without native support is slow: two runs are enough
            res[name] = p.predict(box=box)
            ts.append(res[name].timings["total"])
        secs[name] = statistics.median(ts)
    diff = float(np.abs(res["fp32 fast"].alpha - res["bf16 fast"].alpha).max())
    line = (f"1024x768 bf16 autocast, fast path: {secs['bf16 fast']:.0f} ms vs fp32 {secs['fp32 fast']:.0f} ms "
            f"(ratio {secs['bf16 fast'] / secs['fp32 fast']:.2f}); max abs alpha difference {diff:.1e}")
    print(line, flush=True)
    return [line]


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="640x480,1024x768,4000x3000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--large", default="12000x9000", help="'' to skip")
    ap.add_argument("--no-large-eager", action="store_true")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    ap.add_argument("--_large-one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._large_one:
        backend, size, out = args._large_one
        print(json.dumps(run_large(backend, parse_size(size), Path(out))))
        return 0
    lines = [f"# bench_inference on {machine() if args.device == 'cpu' else torch.cuda.get_device_name(0)}",
             f"# {time.strftime('%Y-%m-%d %H:%M')}; median of {args.repeats} interleaved runs; milliseconds",
             f"# float32 {MATMUL_SIDE}² matrix product: {matmul_gflops(args.device):.0f} GFLOP/s; M2M: the decoder's GFLOP "
             "(torch's count) and GFLOP/s",
             "size        mask        path      SAM      M2M   refine    total  +MB    M2M   M2M   fast/   decoder    alpha  >1e-4  >1e-4  mask",
             "                                                                      GFLOP  GF/s   eager  max|Δ|    max|Δα|  fast   1-thr  area"]
    print("\n".join(lines), flush=True)
    for size in filter(None, args.sizes.split(",")):
        lines += time_size(parse_size(size), args.repeats, args.device)
    if args.large and args.device == "cpu":
        lines += ["", "# one prompt on a large photo, fresh process per path"]
        lines += large(parse_size(args.large), not args.no_large_eager)
    if args.bf16 and args.device == "cpu":
        lines += ["", "# opt-in bf16"] + bf16(args.repeats)
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"inference_{args.device}.txt")
    atomic_write_text(out, "\n".join(lines) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

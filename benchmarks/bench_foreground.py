"""Foreground colour estimation: how much it lowers the colour error of cut-outs, and what it costs.

    python benchmarks/bench_foreground.py [--kinds hair,fur,soft,glass,holes,multi] [--seeds 2]
        [--error-sizes 1024x768,2048x1536] [--sizes 1024x768,4000x3000] [--time-kinds soft,hair]
        [--repeats 3] [--cold-import] [--out FILE]

Scenes are procedural composites ``I = αF + (1−α)B`` (:func:`mam_lib.data.procedural.make_foreground`
on :func:`~mam_lib.data.procedural.make_background`, rounded to 8 bits), so the true foreground
colour ``F`` is known. The **colour error** of a foreground ``F̂`` is the mean over the transition
band (8-bit alpha neither 0 nor 255) of ``α · mean_c |F̂ − F|`` in 8-bit levels — exactly the error
of ``αF̂ + (1−α)B'`` against the true composite on any new background ``B'``. "image" is the
cut-out that keeps the image's colours (``estimate_fg=False``), "band-only" the default
(:func:`mam_lib.io.foreground.estimate_foreground`, 512-pixel tiles with 64 pixels of context),
"whole" the same method on the whole image at once (``band_only=False``); "Δ" compares the two.

Seconds: the median of ``--repeats`` warm calls of ``estimate_foreground`` (the time a cut-out or
composite adds), next to ``rgba_cutout(..., estimate_fg=False)`` for scale. Compile costs are
measured apart: importing pymatting in a fresh process (its numba kernels loaded from the on-disk
cache), compiling the three kernels of ``estimate_foreground_ml`` again in this process, and, with
``--cold-import``, importing pymatting with an empty numba cache (what the first use in a new
installation costs: every kernel of the package is compiled). Scenes up to 1 megapixel are
drawn with ``supersample=4``, up to 4 with 2, larger ones with 1 (drawing 4000×3000 at 4× takes
minutes); the strands of the larger scenes are thicker in pixels.

The report is also written to ``--out`` (default ``benchmarks/results/foreground_cpu.txt``).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mam_lib.data.procedural import make_background, make_foreground
from mam_lib.io.atomic import atomic_write_text
from mam_lib.io.cutout import rgba_cutout
from mam_lib.io.foreground import DEFAULT_MARGIN, DEFAULT_TILE, band_tiles, estimate_foreground, transition_band

from machine import cores_and_cpu  # noqa: E402 (benchmarks/machine.py)

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    from importlib.metadata import version

    import numba  # not pymatting: the first call is timed with its import

    return (f"{cores_and_cpu()}, python {platform.python_version()}, numpy {np.__version__}, "
            f"numba {numba.__version__} ({numba.get_num_threads()} threads, layer {numba.config.THREADING_LAYER}), "
            f"pymatting {version('pymatting')}")


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` → ``(H, W)``."""
    w, h = (int(v) for v in text.lower().split("x"))
    return h, w


def scene(kind: str, size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``image`` (H,W,3) uint8, ``alpha`` (H,W) float32, true ``fg`` (H,W,3) float32 in [0,1]."""
    pixels = size[0] * size[1]
    supersample = 4 if pixels <= 1_000_000 else 2 if pixels <= 4_000_000 else 1
    fg, alpha = make_foreground(seed, size, kind, supersample=supersample)
    bg = make_background(seed + 1000, size)
    a = alpha[..., None]
    image = np.clip(np.rint(a * fg + (1 - a) * bg), 0, 255).astype(np.uint8)
    return image, alpha, fg.astype(np.float32) / 255


def band_error(fg: np.ndarray, true_fg: np.ndarray, alpha: np.ndarray, band: np.ndarray) -> float:
    """Alpha-weighted mean colour error in the band, 8-bit levels."""
    return float((alpha[band][:, None] * np.abs(fg[band] - true_fg[band])).mean() * 255)


def seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def import_seconds(env: dict | None = None) -> float:
    code = "import time; t = time.perf_counter(); import pymatting; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    return float(out.strip().splitlines()[-1])


def kernel_compile_seconds() -> float:
    """Compile the three numba kernels of ``estimate_foreground_ml`` again (no cache): seconds."""
    import importlib

    import numba

    ml = importlib.import_module("pymatting.foreground.estimate_foreground_ml")  # the module, not the function

    t = time.perf_counter()
    for kernel in (ml._resize_nearest_multichannel, ml._resize_nearest, ml._estimate_fb_ml):
        options = {k: v for k, v in kernel.targetoptions.items() if k in ("nogil", "parallel", "fastmath")}
        numba.njit(kernel.signatures[0], cache=False, **options)(kernel.py_func)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--error-sizes", default="1024x768,2048x1536", help="sizes of the colour-error scenes, WxH")
    ap.add_argument("--kinds", default="hair,fur,soft,glass,holes,multi", help="procedural kinds for the error table")
    ap.add_argument("--seeds", type=int, default=2, help="scenes per kind in the error table")
    ap.add_argument("--sizes", default="1024x768,4000x3000", help="sizes of the timing table, WxH")
    ap.add_argument("--time-kinds", default="soft,hair", help="kinds of the timing table (thin and wide bands)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cold-import", action="store_true", help="also time importing pymatting with an empty numba cache")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "foreground_cpu.txt"))
    args = ap.parse_args(argv)

    command = "python benchmarks/bench_foreground.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [f"# bench_foreground on {machine()}",
             f"# {time.strftime('%Y-%m-%d %H:%M')}; command: {command.strip()}; load average at start {load()}",
             f"# band-only defaults: tile {DEFAULT_TILE}, margin {DEFAULT_MARGIN}; colour error = mean over the band of "
             "alpha * mean_c |F_hat - F|, 8-bit levels", ""]

    def emit(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    for line in lines:
        print(line)

    # --- compile costs ----------------------------------------------------------------------
    emit("# one-off costs (seconds)")
    image, alpha, _ = scene("soft", (96, 128), 1)
    t = time.perf_counter()
    estimate_foreground(image, alpha)
    first = time.perf_counter() - t
    t = time.perf_counter()
    estimate_foreground(image, alpha)
    emit(f"first call in this process (96x128; imports pymatting)       {first:7.2f}  (second call {time.perf_counter() - t:.3f})")
    emit(f"import pymatting, fresh process, numba cache on disk         {import_seconds():7.2f}")
    emit(f"compile estimate_foreground_ml's 3 kernels again (no cache)  {kernel_compile_seconds():7.2f}")
    if args.cold_import:
        with tempfile.TemporaryDirectory() as cache:
            emit(f"import pymatting, empty numba cache (compiles the package)   {import_seconds({'NUMBA_CACHE_DIR': cache}):7.2f}")
    emit("")

    # --- colour error -------------------------------------------------------------------------
    for text in args.error_sizes.split(","):
        size = parse_size(text)
        emit(f"# colour error in the band, {text}, {args.seeds} scene(s) per kind (8-bit levels; lower is better)")
        emit("kind     seed   band%  tiles  cover    image  band-only    whole   Δ band-only/whole  max|Δ|")
        totals = {"image": [], "band": [], "whole": [], "delta": []}
        for kind in args.kinds.split(","):
            for s in range(args.seeds):
                seed = 100 + 10 * s
                image, alpha, true_fg = scene(kind, size, seed)
                band = transition_band(alpha)
                tiles = band_tiles(band, DEFAULT_TILE, DEFAULT_MARGIN)
                cover = sum((o[0].stop - o[0].start) * (o[1].stop - o[1].start) for _, o in tiles) / band.size
                f_band = estimate_foreground(image, alpha)
                f_whole = estimate_foreground(image, alpha, band_only=False)
                e_img = band_error(image.astype(np.float32) / 255, true_fg, alpha, band)
                e_band, e_whole = band_error(f_band, true_fg, alpha, band), band_error(f_whole, true_fg, alpha, band)
                delta = band_error(f_band, f_whole, alpha, band)
                biggest = float(np.abs(f_band[band] - f_whole[band]).max() * 255)
                for key, value in zip(totals, (e_img, e_band, e_whole, delta)):
                    totals[key].append(value)
                emit(f"{kind:<8} {seed:4d} {100 * band.mean():7.1f} {len(tiles):6d} {cover:6.2f} {e_img:8.2f} "
                     f"{e_band:10.2f} {e_whole:8.2f} {delta:19.2f} {biggest:7.1f}")
        mean = {k: float(np.mean(v)) for k, v in totals.items()}
        emit(f"{'mean':<8} {'':4} {'':7} {'':6} {'':6} {mean['image']:8.2f} {mean['band']:10.2f} {mean['whole']:8.2f} "
             f"{mean['delta']:19.2f}")
        emit("(cover ≥ 1: the tiles would cover the image, so band-only runs the whole-image estimate)")
        emit("")

    # --- seconds ---------------------------------------------------------------------------------
    emit(f"# seconds added (median of {args.repeats} warm calls); tiles = tiles holding band pixels, "
         "cover = their area with the margin / image area")
    emit("size       kind    band%  tiles  cover  band-only    whole  whole/band  cut-out without  "
         "error: image band-only  whole")
    for text in args.sizes.split(","):
        size = parse_size(text)
        for kind in args.time_kinds.split(","):
            image, alpha, true_fg = scene(kind, size, 100)
            band = transition_band(alpha)
            tiles = band_tiles(band, DEFAULT_TILE, DEFAULT_MARGIN)
            cover = sum((o[0].stop - o[0].start) * (o[1].stop - o[1].start) for _, o in tiles) / band.size
            f_band = estimate_foreground(image, alpha)  # warm-up (allocations)
            t_band = seconds(lambda: estimate_foreground(image, alpha), args.repeats)
            t_whole = seconds(lambda: estimate_foreground(image, alpha, band_only=False), args.repeats)
            f_whole = estimate_foreground(image, alpha, band_only=False)
            t_plain = seconds(lambda: rgba_cutout(image, alpha, estimate_fg=False), args.repeats)
            e_img = band_error(image.astype(np.float32) / 255, true_fg, alpha, band)
            emit(f"{text:<10} {kind:<6} {100 * band.mean():5.1f} {len(tiles):6d} {cover:6.2f} {t_band:10.2f} "
                 f"{t_whole:8.2f} {t_whole / t_band:11.2f} {t_plain:16.2f}  {e_img:12.2f} "
                 f"{band_error(f_band, true_fg, alpha, band):9.2f} {band_error(f_whole, true_fg, alpha, band):6.2f}")
    emit("")

    # --- numba threads -----------------------------------------------------------------------
    import numba
    from pymatting import estimate_foreground_ml

    image, alpha, _ = scene("hair", (768, 1024), 100)
    img = image.astype(np.float32) / 255
    default_threads = numba.get_num_threads()
    t_default = seconds(lambda: estimate_foreground_ml(img, alpha), args.repeats)
    numba.set_num_threads(1)
    t_one = seconds(lambda: estimate_foreground_ml(img, alpha), args.repeats)
    numba.set_num_threads(default_threads)
    emit(f"# pymatting's estimate_foreground_ml on a whole 1024x768 image: {t_default:.2f} s with numba's "
         f"{default_threads} threads, {t_one:.2f} s with 1 (estimate_foreground uses 1)")
    emit(f"# load average at the end {load()}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the text-prompt path on this machine: Grounding DINO (text → boxes), then one matte per box.

    python benchmarks/bench_text.py [--repeats 3] [--device cpu] [--no-full] [--out benchmarks/results/text_cpu.txt]

Measures, on scikit-image's "chelsea" photo (451×300):

* the tiny random detector (``build_tiny_grounding_dino``, the offline default of tests and notebooks);
* a detector of grounding-dino-tiny's architecture (``GroundingDinoConfig()``'s defaults: Swin-T and
  BERT-base, 900 queries, images resized to 800 on the short side) with random weights: the same
  arithmetic as the published weights, so the same time, without a download (``--no-full`` skips it);
* ``predict_text`` with the tiny SAM and a random M2M: the detector's time and each instance's matting.

Median wall times after one warm-up run. The report is also written to ``--out``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import skimage.data
import torch

from mam_lib.inference.predictor import MattingPredictor
from mam_lib.inference.text import TextDetector, TextPromptConfig, build_tiny_grounding_dino, tiny_tokenizer
from mam_lib.io.atomic import atomic_write_text

TEXT = "a cat"


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def full_size_detector(device) -> TextDetector:
    """grounding-dino-tiny's architecture with random weights (no download)."""
    from transformers import (GroundingDinoConfig, GroundingDinoForObjectDetection, GroundingDinoImageProcessor,
                              GroundingDinoProcessor)

    torch.manual_seed(0)
    model = GroundingDinoForObjectDetection(GroundingDinoConfig())
    processor = GroundingDinoProcessor(image_processor=GroundingDinoImageProcessor(), tokenizer=tiny_tokenizer())
    return TextDetector(model, processor, device=device, description="grounding-dino-tiny architecture, random weights")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-full", action="store_true", help="skip the full-size detector")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "text_cpu.txt"))
    args = parser.parse_args(argv)

    image = skimage.data.chelsea()
    lines = [f"# text prompts: {TEXT!r} on chelsea {image.shape[1]}x{image.shape[0]}; {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} CPU(s), torch {torch.__version__} ({torch.get_num_threads()} threads), device {args.device}, "
             f"load average {os.getloadavg()[0]:.1f} at the start"]

    t0 = time.perf_counter()
    tiny = build_tiny_grounding_dino(device=args.device)
    lines.append(f"tiny random detector: built in {time.perf_counter() - t0:.2f} s (transformers import included), "
                 f"{sum(p.numel() for p in tiny.model.parameters()) / 1e6:.2f} M parameters")
    ms = median_ms(lambda: tiny.detect(image, TEXT), args.repeats)
    lines.append(f"  detect: {ms:.0f} ms (image resized to 160 on the short side)")

    if not args.no_full:
        t0 = time.perf_counter()
        full = full_size_detector(args.device)
        lines.append(f"grounding-dino-tiny architecture (random weights): built in {time.perf_counter() - t0:.1f} s, "
                     f"{sum(p.numel() for p in full.model.parameters()) / 1e6:.0f} M parameters")
        ms = median_ms(lambda: full.detect(image, TEXT), args.repeats)
        lines.append(f"  detect: {ms:.0f} ms (image resized to 800 on the short side)")
        del full

    torch.manual_seed(0)
    predictor = MattingPredictor.from_pretrained("tiny", device=args.device, text_detector=tiny)
    predictor.set_image(image)
    config = TextPromptConfig(max_detections=3)
    predictor.predict_text(TEXT, text_config=config)  # warm-up
    runs = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        detections = tiny.detect(predictor.image, TEXT, config=config)  # what predict_text runs, uncached
        results = predictor.matte_detections(detections)
        runs.append(((time.perf_counter() - t0) * 1000, results))
    wall, results = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    per = [r.timings["total"] for r in results]
    lines.append(f"text → mattes, tiny SAM + random M2M, {len(results)} instance(s): {wall:.0f} ms in all; "
                 f"detector {results[0].timings['detect']:.0f} ms, matting per instance "
                 f"{', '.join(f'{v:.0f}' for v in per)} ms (SAM prompt + M2M + refinement, after encoding)")
    report = "\n".join(lines) + "\n"
    print(report, end="")
    atomic_write_text(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the ``cpu-tiny`` preset from scratch on this machine and score it on held-out crops.

Part 1 trains ``configs/cpu-tiny.toml`` (the ``cpu-tiny`` preset) within a wall-clock budget
(default 10 minutes, building the SAM feature cache included), then scores, on procedural crops
the training never saw (the validation split of another data seed), the SAD and MSE in the
trimap's unknown region of

  (a) the simulated coarse mask used directly as the alpha,
  (b) the trained M2M after the inference refinement (the published refinement rule),

and, for reference, the untrained M2M. The target is (b) ≤ ½ (a) for both metrics.

Part 2 times training steps at 512² crops on the CPU (tiny SAM), with and without the feature
cache: seconds per optimiser step, data preparation included, after one warm-up step; in the
precision the preset's ``"auto"`` picks on this CPU and, when that is bf16, in float32 as well.

    python benchmarks/bench_train_cpu.py                      # both parts, ~12 minutes
    python benchmarks/bench_train_cpu.py --minutes 5 --skip-timing
    python benchmarks/bench_train_cpu.py --output benchmarks/results/train_cpu.txt
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


class Tee(io.TextIOBase):
    """Write to stdout and keep a copy."""

    def __init__(self) -> None:
        self.buffer_text = io.StringIO()

    def write(self, s: str) -> int:
        sys.__stdout__.write(s)
        sys.__stdout__.flush()
        self.buffer_text.write(s)
        return len(s)


def machine_line() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def score(trainer, dataset, label: str) -> dict[str, float]:
    t = time.perf_counter()
    metrics = trainer.validate(dataset)
    print(f"  scored {label} on {len(dataset)} crops in {time.perf_counter() - t:.0f} s")
    return metrics


def part_train(minutes: float, eval_items: int, out_dir: Path, config_path: Path) -> bool:
    from mam_lib.training.config import load_config
    from mam_lib.training.trainer import Trainer
    from mam_lib.data.dataset import MattingDataset

    config = load_config(config_path)
    config.run.out_dir = str(out_dir / "cpu-tiny")
    config.run.progress = False
    config.run.device = "cpu"
    o = config.optim
    shown = config_path.relative_to(REPO) if config_path.is_relative_to(REPO) else config_path
    print(f"== part 1: train {shown} from scratch, budget {minutes:.1f} min ==")
    print(f"crop {config.data.crop_size}², {config.data.length} train items × {config.cache.views} view(s) cached, "
          f"batch {o.batch_size}, {o.steps} steps, lr {o.lr}, warm-up {o.warmup_steps}, "
          f"SAM {config.model.sam_variant}, mask {config.model.mask_source}")
    started = time.perf_counter()
    trainer = Trainer(config, echo=print)
    untrained = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.train_set()
    trainer.val_set()
    cache_s = time.perf_counter() - started
    remaining = 60.0 * minutes - cache_s
    print(f"feature caches built in {cache_s:.0f} s; {remaining:.0f} s left for training")
    config.run.max_minutes = max(remaining, 0.0) / 60.0
    result = trainer.fit()
    total_s = time.perf_counter() - started
    steps_s = result.seconds
    print(f"training: {result.status} after {result.step} steps in {steps_s:.0f} s "
          f"({steps_s / max(result.step, 1):.2f} s/step); total with caching {total_s:.0f} s "
          f"({'within' if total_s <= 60.0 * minutes + 5 else 'OVER'} the {minutes:.0f}-minute budget)")

    # held-out crops: the validation split of another data seed (different procedural items)
    held_cfg = config.data.replace(seed=config.data.seed + 1, val_length=eval_items)
    held_out = MattingDataset(held_cfg, "val")
    print(f"held-out set: {len(held_out)} procedural crops (data seed {held_cfg.seed}, split 'val'); "
          "SAM features computed on the fly")
    trained = score(trainer, held_out, "trained M2M")
    # the same crops with a precise mask (alpha > 0.5, no simulated error): does the decoder leave a good mask alone?
    from mam_lib.data.coarse_mask import CoarseMaskConfig

    precise = score(trainer, MattingDataset(held_cfg.replace(mask=CoarseMaskConfig.exact()), "val"),
                    "trained M2M, precise masks")
    final_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.model.load_state_dict(untrained)
    before = score(trainer, held_out, "untrained M2M")
    trainer.model.load_state_dict(final_weights)
    trainer.close()

    a_sad, a_mse = trained["mask_sad"], trained["mask_mse"]
    b_sad, b_mse = trained["sad"], trained["mse"]
    print()
    print("Unknown region of the trimap, mean per crop (SAD ÷1000, MSE ×1e3):")
    print(f"  {'':42s}{'SAD':>10}{'MSE×1e3':>10}")
    print(f"  {'(a) coarse mask used as alpha':42s}{a_sad:>10.3f}{1e3 * a_mse:>10.2f}")
    print(f"  {'    untrained M2M + refinement':42s}{before['sad']:>10.3f}{1e3 * before['mse']:>10.2f}")
    print(f"  {'(b) trained M2M + refinement':42s}{b_sad:>10.3f}{1e3 * b_mse:>10.2f}")
    print(f"  {'ratio (b)/(a)':42s}{b_sad / a_sad:>10.2f}{b_mse / a_mse:>10.2f}")
    print(f"  whole crop SAD: coarse mask {trained['mask_sad_all']:.3f}, trained M2M {trained['sad_all']:.3f}")
    c_sad, c_mse, d_sad, d_mse = precise["mask_sad"], precise["mask_mse"], precise["sad"], precise["mse"]
    print(f"  {'(c) precise mask (alpha > 0.5) used as alpha':42s}{c_sad:>10.3f}{1e3 * c_mse:>10.2f}")
    print(f"  {'(d) trained M2M + refinement, precise mask':42s}{d_sad:>10.3f}{1e3 * d_mse:>10.2f}")
    print(f"  {'ratio (d)/(c)':42s}{d_sad / c_sad:>10.2f}{d_mse / c_mse:>10.2f}")
    ok = b_sad <= 0.5 * a_sad and b_mse <= 0.5 * a_mse
    print(f"target (b) <= 0.5 x (a) for SAD and MSE: {'MET' if ok else 'NOT MET'}")
    both = b_sad <= 0.7 * a_sad and d_sad <= 0.7 * c_sad
    print(f"target SAD <= 0.7 x the mask's for the simulated and the precise mask: {'MET' if both else 'NOT MET'}")
    return ok


def part_timing(out_dir: Path, crop: int, batch: int, steps: int, vit_b: bool = True) -> None:
    from mam_lib.training.config import apply_overrides, preset
    from mam_lib.training.batches import BatchStream
    from mam_lib.training.trainer import Trainer, resolve_precision

    precision = resolve_precision(preset("cpu-tiny").run.precision, torch.device("cpu")) or "fp32"
    print()
    print(f"== part 2: seconds per training step at {crop}² on the CPU (tiny SAM, batch {batch}, "
          f"precision {precision} as the preset's 'auto' chooses here) ==")
    common = [f"data.crop_size={crop}", f"data.length={batch * (steps + 2)}", "data.val_length=1",
              f"data.procedural_size=[{crop * 3 // 2}, {crop * 2}]", f"data.procedural_count={batch * (steps + 2)}",
              "data.trimap_width=[1, 20]", f"optim.batch_size={batch}", "optim.steps=1000", "optim.warmup_steps=10",
              "regions.warmup_steps=10", "run.progress=false", "run.num_workers=0", 'run.device="cpu"',
              "run.val_every=0", "run.save_every=0", f"cache.build_batch_size={batch}"]
    cases = [
        ("no cache, SAM mask from the box (recipe)", ["cache.enabled=false", 'model.mask_source="sam"']),
        ("no cache, simulated mask (SAM encoder only)", ["cache.enabled=false"]),
        ("feature cache", ["cache.enabled=true"]),
    ]
    if precision != "fp32":  # the same with float32, for the speed-up of bf16 on this CPU
        cases.append(("feature cache, float32", ["cache.enabled=true", 'run.precision="fp32"']))
    for label, extra in cases:
        config = apply_overrides(preset("cpu-tiny"), common + extra + [f'run.out_dir="{out_dir / "timing"}"'])
        trainer = Trainer(config, echo=lambda s: None)
        t = time.perf_counter()
        data = trainer.train_set()
        build = time.perf_counter() - t
        stream = iter(BatchStream(data, batch, seed=0))
        times, data_times = [], []
        for i in range(steps + 1):
            t0 = time.perf_counter()
            batch_items = next(stream)
            t1 = time.perf_counter()
            trainer.train_step([batch_items])
            t2 = time.perf_counter()
            if i > 0:  # the first step warms up allocators and caches
                times.append(t2 - t0)
                data_times.append(t1 - t0)
        extra_note = f"; cache built in {build:.1f} s ({build / len(data):.2f} s/crop)" if config.cache.enabled else ""
        print(f"  {label:46s} {np.mean(times):6.2f} s/step ({np.mean(times) / batch:.3f} s/sample; data "
              f"{np.mean(data_times):.2f} s of it){extra_note}")
        trainer.close()
        shutil.rmtree(out_dir / "timing", ignore_errors=True)
    if vit_b:
        from mam_lib.inference.sam import build_sam, pad_to_sam

        sam = build_sam("vit_b", None, device="cpu")  # random weights: the speed is the same
        crop_image = torch.randn(1, 3, crop, crop)
        with torch.no_grad():
            t = time.perf_counter()
            sam.image_encoder(pad_to_sam(crop_image))
            enc = time.perf_counter() - t
        print(f"  SAM ViT-B image encoder (what the cache saves with the published SAM): {enc:.1f} s per crop, "
              f"so about {batch * enc:.0f} s more per uncached step of {batch}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget, caching included")
    parser.add_argument("--eval-items", type=int, default=48, help="held-out crops to score")
    parser.add_argument("--config", default=str(REPO / "configs" / "cpu-tiny.toml"))
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-crop", type=int, default=512)
    parser.add_argument("--timing-batch", type=int, default=2)
    parser.add_argument("--timing-steps", type=int, default=3)
    parser.add_argument("--skip-vit-b", action="store_true", help="do not time SAM ViT-B's encoder")
    parser.add_argument("--output", default=None, help="also write the printed report to this file")
    args = parser.parse_args(argv)

    tee = Tee()
    with redirect_stdout(tee), tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        print(f"bench_train_cpu.py — {time.strftime('%Y-%m-%d %H:%M')}")
        print(machine_line())
        ok = True
        if not args.skip_train:
            ok = part_train(args.minutes, args.eval_items, Path(tmp), Path(args.config).resolve())
        if not args.skip_timing:
            part_timing(Path(tmp), args.timing_crop, args.timing_batch, args.timing_steps, not args.skip_vit_b)
        print(machine_line())
    if args.output:
        from mam_lib.io.atomic import atomic_write_text

        atomic_write_text(args.output, tee.buffer_text.getvalue())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Train the ``cpu-tiny`` preset from scratch on this machine and score it on held-out crops.

Part 1 trains ``configs/cpu-tiny.toml`` (the ``cpu-tiny`` preset) within a wall-clock budget
(default 10 minutes, building the SAM feature cache included), then scores procedural foregrounds
the training never saw (the validation split of another data seed, in crops of ``HELD_OUT_CROP``²
whatever the config's crop size), in four held-out sets:

  * on procedural backgrounds with a simulated coarse mask (``HELD_OUT_MASK``, whatever the config's
    ``data.mask``),
  * on procedural backgrounds with a precise mask (``alpha > 0.5``, no simulated error),
  * on photographs the training never uses (:data:`mam_lib.data.sources.sample_photos.HELD_OUT_PHOTOS`)
    with a precise mask, and with the simulated one.

For each it prints the SAD and MSE in the trimap's unknown region of the coarse mask used directly as
the alpha and of the trained M2M after the inference refinement (the published rule), their ratio,
and the SAD over the whole crop (a decoder that blurs a good mask shows there); and, for reference,
the untrained M2M. Targets: SAD ≤ 0.7 × the mask's with the precise mask on both kinds of background,
≤ 0.72 × with the simulated mask (the CPU reference), and ≤ 0.5 × (the goal of a GPU run of ``paper``).

Part 2 times training steps at 512² crops on the CPU (tiny SAM), with and without the feature
cache: seconds per optimiser step, data preparation included, after one warm-up step; in the
precision the preset's ``"auto"`` picks on this CPU and, when that is bf16, in float32 as well.

    python benchmarks/bench_train_cpu.py                      # both parts, ~12 minutes
    python benchmarks/bench_train_cpu.py --minutes 5 --skip-timing
    python benchmarks/bench_train_cpu.py --output benchmarks/results/train_cpu.txt
    python benchmarks/bench_train_cpu.py --skip-timing --figure benchmarks/results/train_cpu.png
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
#: Side of the held-out crops, whatever the trained config's ``data.crop_size``: every figure recorded in
#: ``benchmarks/results/`` and ``docs/training.md`` was scored on crops of this size, so a preset that
#: trains on other crops is still scored on the same pictures.
HELD_OUT_CROP = 128
#: The held-out sets' simulated coarse masks (``CoarseMaskConfig`` fields), whatever the trained config's
#: ``data.mask``: ``CoarseMaskConfig.sam_like()`` as every recorded figure used it, the binarisation
#: threshold anywhere in [0.2, 0.8]. A preset that trains on other masks is scored against these same
#: masks, so a change of the training masks cannot make the test easier.
HELD_OUT_MASK = dict(threshold_range=(0.2, 0.8), lowres_prob=0.7, lowres_size=256, thin_prob=0.5,
                     thin_radius=(2.0, 8.0), boundary_prob=0.5, morph_range=(-8.0, 8.0), jitter=6.0,
                     jitter_scale=0.08, hole_prob=0.0, blob_prob=0.05, max_blobs=2)


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


def save_figure(path: Path, sets: dict, results: dict, steps: int, seconds: float) -> None:
    """Bars of the unknown region's SAD and the whole crop's, mask against trained M2M, per held-out set."""
    from mam_lib.io.atomic import atomic_write_bytes
    from mam_lib.teaching.training_plots import plot_metric_bars
    from mam_lib.teaching.viz import figure_to_png, use_headless_backend

    use_headless_backend()
    for key, what in (("sad", "unknown region"), ("sad_all", "whole crop")):
        rows = {}
        for name, (_, label) in sets.items():
            r = results[name]
            short = label.replace("procedural backgrounds", "proc. bg").replace("photo backgrounds", "photo bg")
            rows[f"{short}: mask as alpha"] = {"v": r[f"mask_{key}"]}
            rows[f"{short}: M2M ({r[key] / r[f'mask_{key}']:.2f}×)"] = {"v": r[key]}
        fig = plot_metric_bars(rows, key="v", label=f"SAD ÷1000 per crop, {what} (lower is better)",
                               title=f"cpu-tiny, {steps} steps in {seconds / 60:.1f} min: held-out crops, {what}")
        target = path.with_name(f"{path.stem}_{key}.png")  # PNG bytes, whatever suffix PATH has
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, figure_to_png(fig, dpi=70))
        print(f"figure saved to {target}")


def part_train(minutes: float, eval_items: int, out_dir: Path, config_path: Path, figure: Path | None = None) -> bool:
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
          f"SAM {config.model.sam_variant}, mask {config.model.mask_source}"
          + (" (threshold {:g}-{:g})".format(*config.data.mask.threshold_range)
             if config.model.mask_source == "simulated" else ""))
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

    # held-out crops: the validation split of another data seed (procedural items the training never saw),
    # composited once on procedural backgrounds and once on the photographs training never uses
    from mam_lib.data.coarse_mask import CoarseMaskConfig
    from mam_lib.data.dataset import SourceSpec

    held_cfg = config.data.replace(seed=config.data.seed + 1, val_length=eval_items, fg_texture_prob=0.0,
                                   backgrounds=(SourceSpec("procedural"),), crop_size=HELD_OUT_CROP,
                                   mask=CoarseMaskConfig(**HELD_OUT_MASK))
    held_out = MattingDataset(held_cfg, "val")
    print(f"held-out sets: {len(held_out)} crops of {HELD_OUT_CROP}² each of procedural foregrounds (data seed "
          f"{held_cfg.seed}, split 'val') on procedural backgrounds and on held-out photographs; SAM features "
          "computed on the fly")
    photos = held_cfg.replace(backgrounds=(SourceSpec("sample_photos"),))  # the held-out photographs (val split)
    exact = CoarseMaskConfig.exact()
    sets = {  # name: (data config, label)
        "simulated": (held_cfg, "procedural backgrounds, simulated mask"),
        "precise": (held_cfg.replace(mask=exact), "procedural backgrounds, precise mask"),
        "photo": (photos.replace(mask=exact), "photo backgrounds, precise mask"),
        "photo_sim": (photos, "photo backgrounds, simulated mask"),
    }
    results = {name: score(trainer, MattingDataset(cfg, "val"), f"trained M2M, {label}")
               for name, (cfg, label) in sets.items()}
    final_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.model.load_state_dict(untrained)
    before = score(trainer, held_out, "untrained M2M, procedural backgrounds, simulated mask")
    trainer.model.load_state_dict(final_weights)
    trainer.close()

    print()
    print("Held-out crops, mean per crop: SAD ÷1000 and MSE ×1e3 in the trimap's unknown region, SAD over the whole crop;")
    print("'mask' is the coarse mask used as the alpha, 'M2M' the trained decoder after the inference refinement.")
    print(f"  {'':42s}{'mask SAD':>9}{'M2M SAD':>9}{'ratio':>7}{'mask MSE':>9}{'M2M MSE':>9}{'ratio':>7}"
          f"{'whole: mask':>12}{'M2M':>7}")
    for name, (_, label) in sets.items():
        r = results[name]
        print(f"  {label:42s}{r['mask_sad']:>9.3f}{r['sad']:>9.3f}{r['sad'] / r['mask_sad']:>7.2f}"
              f"{1e3 * r['mask_mse']:>9.2f}{1e3 * r['mse']:>9.2f}{r['mse'] / r['mask_mse']:>7.2f}"
              f"{r['mask_sad_all']:>12.3f}{r['sad_all']:>7.3f}")
    print(f"  {'untrained M2M, simulated mask':42s}{before['mask_sad']:>9.3f}{before['sad']:>9.3f}"
          f"{before['sad'] / before['mask_sad']:>7.2f}")
    ratio = {name: results[name]["sad"] / results[name]["mask_sad"] for name in sets}
    sim = results["simulated"]
    ok = sim["sad"] <= 0.5 * sim["mask_sad"] and sim["mse"] <= 0.5 * sim["mask_mse"]
    print(f"target SAD and MSE <= 0.5 x the simulated mask's (the GPU goal of the paper preset): "
          f"{'MET' if ok else 'NOT MET'} ({ratio['simulated']:.2f})")
    for name, limit in (("precise", 0.7), ("photo", 0.7), ("simulated", 0.72)):
        print(f"target SAD <= {limit} x the mask's, {sets[name][1]}: "
              f"{'MET' if ratio[name] <= limit else 'NOT MET'} ({ratio[name]:.2f})")
    ok = all(ratio[n] <= lim for n, lim in (("precise", 0.7), ("photo", 0.7), ("simulated", 0.72)))
    if figure is not None:
        save_figure(figure, sets, results, result.step, total_s)
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
    parser.add_argument("--figure", default=None, metavar="PATH.png",
                        help="save the held-out SAD as bars (PATH_sad.png: unknown region, PATH_sad_all.png: whole crop)")
    args = parser.parse_args(argv)

    tee = Tee()
    with redirect_stdout(tee), tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        print(f"bench_train_cpu.py — {time.strftime('%Y-%m-%d %H:%M')}")
        print(machine_line())
        ok = True
        if not args.skip_train:
            ok = part_train(args.minutes, args.eval_items, Path(tmp), Path(args.config).resolve(),
                            Path(args.figure) if args.figure else None)
        if not args.skip_timing:
            part_timing(Path(tmp), args.timing_crop, args.timing_batch, args.timing_steps, not args.skip_vit_b)
        print(machine_line())
    if args.output:
        from mam_lib.io.atomic import atomic_write_text

        atomic_write_text(args.output, tee.buffer_text.getvalue())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where does a CPU-trained decoder's error come from? Train ``cpu-tiny`` variants on one fixed cache.

Builds (once, kept in ``--cache-dir`` for later calls) a feature cache of ``--build`` training crops
and one of 48 held-out crops (data seed + 1), trains the ``cpu-tiny`` preset with ``--set``
changes on the first ``--use`` cached crops, and prints, in the trimap's unknown region, SAD and
MSE of every output — the refined alpha, the same refinement without its first step's clipping to
the coarse mask's box (``no-box``), ``alpha_os1``, ``alpha_os4``, ``alpha_os8`` — and of the true
alpha reduced to 1/4 size and enlarged again (``oracle/4``: what M2M's last guided stage, at output
stride 4, could at best see), each also as a ratio to the coarse mask. It scores the
held-out crops and the first 48 training crops, so memorising shows as a gap between the two.

    python benchmarks/bench_train_diagnostics.py --use 600 --tag base
    python benchmarks/bench_train_diagnostics.py --use 48 --tag memorise
    python benchmarks/bench_train_diagnostics.py --use 1800 --tag batch4 --set optim.batch_size=4 --set optim.steps=3800
    python benchmarks/bench_train_diagnostics.py --build 1000 --use 1000 --tag long --set optim.steps=6000 --set run.val_every=500

``--per-kind N`` also scores N fresh crops of each procedural foreground kind (one object, no
second foreground), which shows where the remaining error is; ``--zero-features`` trains and scores
with SAM's features replaced by zeros. With ``run.val_every`` set, the held-out crops double as the
validation set and the learning curve (their refined SAD and MSE as ratios to the coarse mask) is
printed at the end. ``--figure PATH`` (with ``--per-kind``) saves two of those crops per kind — image,
coarse mask, ``alpha_os1``, refined alpha, truth, with each one's SAD in the unknown region — so the
failure modes can be seen rather than read.

The caches are built once with the preset's data settings, so ``--set`` may change the model,
optimiser, loss, regions and run, but not ``data.*`` or ``cache.*`` (train such variants with
``bench_train_cpu.py --config``).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

OUTPUTS = ("mask", "refined", "no-box", "os1", "os4", "os8", "oracle/4")


def score(trainer, dataset) -> dict[str, tuple[float, float]]:
    """Mean SAD (÷1000) and MSE in the unknown region per output name."""
    from mam_lib.evaluation.metrics import mse, sad
    from mam_lib.inference.refinement import refine

    sums = {name: [0.0, 0.0] for name in OUTPUTS}
    count = 0
    for raw in DataLoader(dataset, batch_size=8):
        out = trainer.predict(raw)
        gt, region = out["gt_alpha"], out["unknown"]
        quarter = F.interpolate(gt, scale_factor=0.25, mode="bilinear", antialias=True)
        everywhere = torch.ones_like(out["mask"], dtype=torch.bool)  # a box covering the whole crop
        unclipped = refine(out["alpha_os8"], out["alpha_os4"], out["alpha_os1"], everywhere, trainer.refinement)
        candidates = {"mask": out["mask"], "refined": out["alpha"], "no-box": unclipped.alpha.clamp(0, 1),
                      "os1": out["alpha_os1"], "os4": out["alpha_os4"], "os8": out["alpha_os8"],
                      "oracle/4": F.interpolate(quarter, size=gt.shape[-2:], mode="bilinear")}
        for i in range(gt.shape[0]):
            g, r = gt[i, 0].numpy(), region[i, 0].numpy()
            for name, pred in candidates.items():
                sums[name][0] += sad(pred[i, 0].numpy(), g, r)
                sums[name][1] += mse(pred[i, 0].numpy(), g, r)
            count += 1
    return {name: (s / count, m / count) for name, (s, m) in sums.items()}


def kind_rows(trainer, dataset, kind: str, count: int = 2) -> list[dict]:
    """The first ``count`` crops of ``dataset`` as numpy panels with their SAD, for :func:`save_figure`."""
    from mam_lib.evaluation.metrics import sad

    raw = next(iter(DataLoader(dataset, batch_size=count)))
    out = trainer.predict(raw)
    rows = []
    for i in range(min(count, out["gt_alpha"].shape[0])):
        g, r = out["gt_alpha"][i, 0].numpy(), out["unknown"][i, 0].numpy()
        panels = {name: out[key][i, 0].numpy() for name, key in (("mask", "mask"), ("os1", "alpha_os1"),
                                                                   ("refined", "alpha"))}
        rows.append({"kind": kind, "image": raw["image"][i].permute(1, 2, 0).numpy().clip(0, 1), "gt": g,
                     "panels": panels, "sad": {name: sad(a, g, r) for name, a in panels.items()}})
    return rows


def save_figure(rows: list[dict], path: Path, title: str) -> None:
    """Image, coarse mask, alpha_os1, refined alpha and truth per row (see ``--figure``)."""
    from mam_lib.io.atomic import atomic_write_bytes
    from mam_lib.teaching.training_plots import plot_predictions
    from mam_lib.teaching.viz import figure_to_png, use_headless_backend

    use_headless_backend()
    fig = plot_predictions([r["image"] for r in rows], [r["panels"]["mask"] for r in rows], [r["gt"] for r in rows],
                           {"alpha_os1": [r["panels"]["os1"] for r in rows],
                            "refined": [r["panels"]["refined"] for r in rows]})
    cols = len(fig.axes) // len(rows)  # plot_predictions draws one row of panels per crop
    for i, r in enumerate(rows):
        ax_row = fig.axes[i * cols:(i + 1) * cols]
        ax_row[0].set_ylabel(r["kind"], fontsize=9)
        for ax, name in zip(ax_row[1:4], ("mask", "os1", "refined")):
            ax.set_xlabel(f"SAD {r['sad'][name]:.2f}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))  # half an inch for the title
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, figure_to_png(fig, dpi=60))
    print(f"figure saved to {path}")


def report(tag: str, label: str, scores: dict[str, tuple[float, float]]) -> None:
    base_sad, base_mse = scores["mask"]
    cells = [f"{name} {s:.3f} ({s / base_sad:.2f}) / {1e3 * m:.1f} ({m / base_mse:.2f})" for name, (s, m) in scores.items()]
    print(f"[{tag}: {label}] SAD (ratio) / MSE×1e3 (ratio): " + "; ".join(cells))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", default="runs/bench_diagnostics", help="where the caches and runs go")
    parser.add_argument("--build", type=int, default=1800, help="training crops cached (once)")
    parser.add_argument("--use", type=int, default=600, help="train on the first USE cached crops")
    parser.add_argument("--tag", default="run", help="name of this variant in the output")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change a setting of the cpu-tiny preset (repeatable)")
    parser.add_argument("--zero-features", action="store_true",
                        help="train and score with SAM's features replaced by zeros (what the random SAM's features are worth)")
    parser.add_argument("--per-kind", type=int, default=0, metavar="N",
                        help="also score N fresh crops of each procedural foreground kind (SAM run on the fly)")
    parser.add_argument("--figure", default=None, metavar="PATH",
                        help="with --per-kind: save two crops per kind with their predictions as an image")
    args = parser.parse_args(argv)
    fixed = [item for item in args.set if item.split("=", 1)[0].strip().startswith(("data.", "cache."))]
    if fixed:
        parser.error(f"{', '.join(fixed)}: the caches hold the preset's crops, so data.* and cache.* cannot change "
                     "here; train such a variant with bench_train_cpu.py --config FILE.toml")
    if args.figure and not args.per_kind:
        parser.error("--figure shows crops of each kind: give --per-kind N as well")

    from mam_lib.training.config import apply_overrides, preset
    from mam_lib.data.procedural import FOREGROUND_KINDS
    from mam_lib.training.log import read_log
    from mam_lib.training.trainer import Trainer
    from mam_lib.data.dataset import MattingDataset, SourceSpec

    root = Path(args.cache_dir)
    quiet = ["run.progress=false", 'run.device="cpu"', "run.val_every=0", "run.save_every=0"]
    build_cfg = apply_overrides(preset("cpu-tiny"), quiet + [
        f"data.length={args.build}", f"data.procedural_count={args.build}",
        f'cache.dir="{root / f"cache{args.build}"}"', f'run.out_dir="{root / "build"}"'])
    started = time.perf_counter()
    train_cache = Trainer(build_cfg, echo=print).train_set()
    held_cfg = apply_overrides(build_cfg, ["data.seed=1", "data.val_length=48", f'cache.dir="{root / "held"}"'])
    held = Trainer(held_cfg, echo=print).val_set()
    print(f"caches ready in {time.perf_counter() - started:.0f} s")

    config = apply_overrides(preset("cpu-tiny"), quiet + [f'run.out_dir="{root / args.tag}"'] + args.set)
    use = min(args.use, len(train_cache))
    trainer = Trainer(config, train_data=Subset(train_cache, list(range(use))), val_data=held, echo=print)
    if args.zero_features:
        prepare = trainer.prepare

        def without_features(raw):
            batch = prepare(raw)
            batch["features"] = torch.zeros_like(batch["features"])
            return batch

        trainer.prepare = without_features  # used by training, validation and scoring alike
    result = trainer.fit()
    print(f"[{args.tag}] {result.status}: {result.step} steps on {use} crops in {result.seconds:.0f} s "
          f"({result.seconds / max(1, result.step):.2f} s/step)")
    curve = [r for r in read_log(trainer.out_dir) if r.get("kind") == "val" and r.get("mask_sad")]
    if curve:  # run.val_every > 0: the held-out crops are the validation set, so this is the learning curve
        print(f"[{args.tag}] held-out refined SAD / MSE ratio to the coarse mask during training: " + "; ".join(
            f"step {r['step']} {r['sad'] / r['mask_sad']:.3f} / {r['mse'] / r['mask_mse']:.3f}" for r in curve))
    with torch.no_grad():
        report(args.tag, "held-out", score(trainer, held))
        report(args.tag, "training crops", score(trainer, Subset(train_cache, list(range(min(48, use))))))
        rows = []
        for kind in FOREGROUND_KINDS if args.per_kind else ():
            data = config.data.replace(seed=config.data.seed + 5, val_length=args.per_kind, second_fg_prob=0.0,
                                       foregrounds=(SourceSpec("procedural", options={"kinds": [kind]}),))
            fresh = MattingDataset(data, "val")
            report(args.tag, f"{args.per_kind} fresh '{kind}' crops", score(trainer, fresh))
            rows += kind_rows(trainer, fresh, kind)
        if args.figure:
            save_figure(rows, Path(args.figure), f"{args.tag}: {result.step} steps; SAD in the trimap's unknown region")
    trainer.close()


if __name__ == "__main__":
    from mam_lib.errors import MamError

    try:
        main()
    except MamError as err:  # e.g. the tag's folder holds an earlier run: say so without a traceback
        raise SystemExit(f"error: {err}") from None

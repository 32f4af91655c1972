"""``mam finetune --data DIR --init CKPT [...]`` — adapt published M2M weights to a folder of your own mattes."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import MamError
from ._common import add_overwrite


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "finetune", help="fine-tune M2M weights on your own images/ + alphas/ folder",
        description="Fine-tune the M2M decoder on a folder holding images/ and alphas/ (paired by file name, "
                    "the layout `mam synth` writes), starting from published or earlier weights. SAM's features "
                    "are computed once and cached to disk, so a CPU can do it. Settings start from the "
                    "'finetune' preset; any of them can be changed with --set SECTION.KEY=VALUE.")
    p.add_argument("--data", required=True, metavar="DIR", help="folder with images/ and alphas/")
    p.add_argument("--init", required=True, metavar="CKPT",
                   help="M2M weights to start from: a .pth path or a downloaded name such as mam_vitb")
    p.add_argument("--val-data", metavar="DIR", default=None,
                   help="a separate images/ + alphas/ folder to validate on (default: other crops of --data)")
    p.add_argument("--out", metavar="DIR", default="runs/finetune", help="run folder (default: runs/finetune)")
    p.add_argument("--sam-variant", default="vit_b", choices=("vit_b", "vit_l", "vit_h", "tiny"),
                   help="SAM variant the M2M weights belong to (default: vit_b)")
    p.add_argument("--sam-checkpoint", default=None, metavar="PTH",
                   help="SAM weights (default: the downloaded sam_<variant> file)")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (preset: 2000)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (preset: 1e-4)")
    p.add_argument("--batch-size", type=int, default=None, help="crops per step (preset: 4)")
    p.add_argument("--crop-size", type=int, default=None, help="crop side, a multiple of 32 (preset: 512)")
    p.add_argument("--views", type=int, default=None,
                   help="augmented crops cached per image (preset: 4); more = more variety, more disk and time")
    p.add_argument("--no-cache", action="store_true", help="run SAM every step instead of caching its features")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="change any other setting (repeatable)")
    p.add_argument("--write-config", metavar="FILE", default=None,
                   help="write the resulting config to FILE and exit (train it later with `mam train FILE`)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--resume-from", metavar="CKPT", default=None, help="continue from this checkpoint file")
    add_overwrite(p, "an existing --write-config file that is not a config this command wrote")
    p.set_defaults(func=run)


def _count_pairs(folder: str) -> int:
    from ..data.sources.layouts import image_alpha_folder

    return len(image_alpha_folder(folder))


def finetune_config(args):
    """The config for these arguments: the ``finetune`` preset with the user's folders and choices."""
    from ..training.config import apply_overrides, preset
    from ..data.dataset import SourceSpec
    from ..inference.weights import resolve_weights_path

    for name, folder in (("--data", args.data), ("--val-data", args.val_data)):
        if folder is not None and not Path(folder).is_dir():
            raise MamError(f"{name} {folder!r} is not a folder; it should hold images/ and alphas/")
    n = _count_pairs(args.data)  # raises DatasetError naming unpaired files
    if args.val_data is not None:
        _count_pairs(args.val_data)
    config = preset("finetune")
    data = config.data.replace(images=(SourceSpec("images_alphas", root=str(args.data)),), foregrounds=(),
                               backgrounds=(), real_ratio=1.0, length=max(n, config.optim.batch_size))
    changes = {"crop_size": args.crop_size} if args.crop_size else {}
    config.data = data.replace(**changes)
    if args.val_data is not None:
        config.val.images = (SourceSpec("images_alphas", root=str(args.val_data)),)
    m = config.model
    m.init_checkpoint = str(args.init)
    m.sam_variant = args.sam_variant
    if args.sam_variant == "tiny":
        m.sam_checkpoint = None
    elif args.sam_checkpoint is not None:
        m.sam_checkpoint = str(args.sam_checkpoint)
    else:
        m.sam_checkpoint = f"sam_{args.sam_variant}"
        try:
            resolve_weights_path(m.sam_checkpoint, "SAM checkpoint")
        except MamError:
            raise MamError(f"fine-tuning needs the SAM {args.sam_variant} weights the M2M decoder was trained "
                           f"with: pass --sam-checkpoint PATH or run `mam download sam_{args.sam_variant}`") from None
    o = config.optim
    if args.steps is not None:
        o.steps = args.steps
        o.warmup_steps = min(o.warmup_steps, max(1, args.steps // 10))
        config.regions = dataclasses.replace(config.regions, warmup_steps=o.warmup_steps)
    if args.lr is not None:
        o.lr = args.lr
    if args.batch_size is not None:
        o.batch_size = args.batch_size
    if args.views is not None:
        config.cache.views = args.views
    if args.no_cache:
        config.cache.enabled = False
    config.run.out_dir = str(args.out)
    if args.device is not None:
        config.run.device = args.device
    config = apply_overrides(config, args.overrides) if args.overrides else config.validate()
    resolve_weights_path(config.model.init_checkpoint, "--init")  # fail early on a missing file
    return config


def run(args) -> int:
    from .train import write_or_train

    return write_or_train(finetune_config(args), args)

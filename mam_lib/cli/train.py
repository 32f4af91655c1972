"""``mam train CONFIG.toml [--resume]`` — train the M2M decoder; ``--preset NAME --write-config X.toml``
writes a starting configuration."""
from __future__ import annotations

from pathlib import Path

from ..errors import MamError
from ._common import add_overwrite, at_least

PRESETS = ("paper", "finetune", "cpu-tiny")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train the M2M decoder (SAM stays frozen) from a TOML config or a preset",
        description="Train the Mask-to-Matte decoder. Start with `mam train --preset cpu-tiny --write-config "
                    "tiny.toml`, edit the file, then run `mam train tiny.toml`. Ctrl-C saves a checkpoint; "
                    "the same command with --resume continues exactly where it stopped.")
    p.add_argument("config", nargs="?", help="TOML training config")
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="start from this preset (without CONFIG: train it as is; with --write-config: write it)")
    p.add_argument("--write-config", metavar="FILE", default=None,
                   help="write the resulting config (preset or CONFIG, plus --set changes) to FILE and exit")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="change one setting, e.g. --set optim.lr=5e-4 --set run.out_dir=runs/try2 (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest checkpoint in run.out_dir (starts fresh when there is none)")
    p.add_argument("--resume-from", metavar="CKPT", default=None, help="continue from this checkpoint file")
    p.add_argument("--steps", type=int, default=None, help="run at most this many steps now (default: to the end)")
    add_overwrite(p, "an existing --write-config file that is not a config this command wrote")
    p.set_defaults(func=run)


def build_config(args):
    """The config the arguments describe (file or preset, then ``--set`` overrides)."""
    from ..training.config import apply_overrides, load_config, preset

    if args.config is not None:
        config = load_config(args.config)
        if args.preset is not None and args.preset != config.preset:
            raise MamError(f"{args.config} is based on preset {config.preset!r}; drop --preset {args.preset} "
                           "or change 'preset' in the file")
    elif args.preset is not None:
        config = preset(args.preset)
    else:
        raise MamError("give a CONFIG.toml, or --preset NAME (e.g. `mam train --preset cpu-tiny "
                       "--write-config tiny.toml` writes a config to start from)")
    if args.overrides:
        config = apply_overrides(config, args.overrides)
    return config


def train_with(config, args, **trainer_kwargs) -> int:
    """Run a :class:`~mam_lib.training.trainer.Trainer` for ``config`` as ``args`` say; returns the exit code."""
    from ..training.trainer import Trainer

    at_least(args.steps, 1, "--steps")
    check_run_folder(config, args)
    trainer = Trainer(config, **trainer_kwargs)
    try:
        with trainer.locked():  # one run per run.out_dir, from the resume to the last checkpoint
            existing = trainer.step_checkpoints()
            if args.resume_from is not None:
                trainer.resume(args.resume_from)
            elif args.resume:
                if existing:
                    trainer.resume()
                else:
                    print(f"no checkpoint in {trainer.checkpoint_dir} yet: starting from step 0")
                    trainer.discard_earlier_log()
            else:
                trainer.refuse_earlier_run()  # before anything is printed; fit() would refuse as well
            print(f"training M2M: preset {config.preset}, {config.optim.steps} steps of batch "
                  f"{config.effective_batch} ({config.data.crop_size}² crops) on {trainer.device}"
                  f"{', ' + trainer.precision if trainer.precision else ''}; outputs in {config.run.out_dir}")
            result = trainer.fit(steps=args.steps)
    finally:
        trainer.close()
    if result.status == "interrupted":
        return 130
    if result.val:
        v = result.val
        print(f"validation: SAD {v['sad']:.3f}, MSE×1e3 {1e3 * v['mse']:.2f} in the unknown region "
              f"(coarse mask: SAD {v['mask_sad']:.3f}, MSE×1e3 {1e3 * v['mask_mse']:.2f})")
    return 0


def run(args) -> int:
    return write_or_train(build_config(args), args)


def check_run_folder(config, args) -> None:
    """run.out_dir: a folder that can be written, not one of the data folders it reads."""
    from ..io.outputs import check_output_dir

    data_folders = [spec.root for spec in (*config.data.images, *config.data.foregrounds, *config.data.backgrounds,
                                           *config.val.images) if spec.root]
    check_output_dir(config.run.out_dir, inputs=data_folders, what="run.out_dir")
    if args.resume_from is not None:
        from ..inference.checkpoints import check_checkpoint_file

        check_checkpoint_file(args.resume_from, "--resume-from")


def write_or_train(config, args) -> int:
    """With ``--write-config FILE`` save ``config`` there and stop; otherwise train it."""
    from ..io.outputs import check_output, starts_with
    from ..training.config import CONFIG_HEADER, save_config

    if args.write_config:
        target = Path(args.write_config)
        if target.suffix.lower() != ".toml":
            raise MamError(f"--write-config {str(target)!r}: a training config is a TOML file; name it *.toml")
        check_output(target, inputs=[getattr(args, "config", None)], overwrite=args.overwrite,
                     ours=starts_with(CONFIG_HEADER), what="--write-config")
        path = save_config(config, target)
        print(f"wrote {path} (preset {config.preset}); train with: mam train {Path(path)}")
        return 0
    return train_with(config, args)

"""``mam synth``: write a synthetic matting data set (or the sample-data folder, or with ``--video`` a procedural clip)."""
from __future__ import annotations

import argparse

from ..errors import MamError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth",
        help="write a synthetic matting data set (images, alphas, trimaps, boxes)",
        description=(
            "Write N augmented composites of procedural foregrounds on procedural backgrounds: "
            "OUT_DIR/images/NNNN.png, alphas/NNNN.png, trimaps/NNNN.png and boxes.json "
            "({\"NNNN\": [x0, y0, x1, y1]}). With --samples, write the small sample-data folder "
            "(demo/, foregrounds/, backgrounds/) instead."
        ),
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    p.add_argument("-n", "--num", type=int, default=100, help="number of samples (default 100)")
    p.add_argument("--size", type=int, default=512, help="side of the square samples in pixels (default 512)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same files (default 0)")
    p.add_argument("--kinds", default=None,
                   help="comma-separated foreground kinds: hair, fur, soft, glass, holes, multi (default: all)")
    p.add_argument("--fg-bg", action="store_true", help="also write fg/ and bg/ (the colours that were composited)")
    p.add_argument("--masks", action="store_true", help="also write masks/ (simulated coarse SAM-like masks)")
    p.add_argument("--degrade", type=float, default=0.0, metavar="P",
                   help="probability of JPEG/blur/noise/contrast degradations per image (default 0)")
    p.add_argument("--samples", action="store_true",
                   help="write the sample-data folder (demo/, foregrounds/, backgrounds/) into OUT_DIR")
    p.add_argument("--video", action="store_true",
                   help="write a procedural clip with known alpha instead: OUT_DIR/frames/, alphas/<object>/, clip.mp4, "
                        "boxes.json (objects of --kinds, default hair, moving and deforming over a moving background)")
    p.add_argument("--frames", type=int, default=75, help="with --video: number of frames (default 75, 3 s at 25/s)")
    p.add_argument("--frame-size", default="640x480", metavar="WxH", help="with --video: frame size (default 640x480)")
    p.add_argument("--fps", type=float, default=25.0, help="with --video: frame rate (default 25)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the data set an earlier `mam synth` wrote into OUT_DIR (all of it: samples beyond "
                        "the new count are removed); files it did not write are never touched")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.synthesis import synth_config, write_data_samples, write_synthetic_dataset

    if args.video:
        return _run_video(args)
    if args.samples:
        from ..io.outputs import check_output_dir

        check_output_dir(args.out_dir, what="OUT_DIR")
        files = write_data_samples(args.out_dir)
        total = sum(f.stat().st_size for f in files)
        print(f"wrote {len(files)} files ({total / 1024:.0f} KiB) to {args.out_dir}")
        return 0
    if not 0.0 <= args.degrade <= 1.0:
        raise MamError(f"--degrade is a probability in [0, 1], got {args.degrade}")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    config = None
    if args.degrade > 0:
        from ..data.transforms.appearance import DegradationConfig

        config = synth_config(args.size, args.num, degradation=DegradationConfig(prob=args.degrade))
    summary = write_synthetic_dataset(args.out_dir, args.num, size=args.size, seed=args.seed, config=config,
                                      with_fg_bg=args.fg_bg, with_masks=args.masks, kinds=kinds,
                                      progress=not args.quiet, overwrite=args.overwrite)
    print(f"wrote {summary['count']} samples of {args.size}x{args.size} to {args.out_dir}")
    return 0


def _run_video(args: argparse.Namespace) -> int:
    """``mam synth --video``: one procedural clip (:mod:`mam_lib.data.video`)."""
    from ..data.video import ClipConfig, kinds_of, make_clip, write_clip
    from ..io.outputs import check_output_dir

    try:
        w, h = (int(v) for v in args.frame_size.lower().split("x"))
    except ValueError:
        raise MamError(f"--frame-size is WIDTHxHEIGHT, e.g. 640x480, got {args.frame_size!r}") from None
    config = ClipConfig(size=(h, w), frames=args.frames, fps=args.fps, kinds=kinds_of(args.kinds), seed=args.seed).check()
    check_output_dir(args.out_dir, what="OUT_DIR")
    clip = make_clip(config, progress=not args.quiet)
    summary = write_clip(args.out_dir, clip, overwrite=args.overwrite)
    print(f"wrote a clip of {summary['frames']} frames of {w}x{h} ({', '.join(summary['objects'])}) to {args.out_dir}")
    return 0

"""``mam matte IMAGE --box X0 Y0 X1 Y1 | --point X Y [--point ...] -o OUT.png``."""
from __future__ import annotations

from pathlib import Path

from ..errors import MamError
from ._common import add_overwrite, check_checkpoints, check_device


def register(subparsers) -> None:
    p = subparsers.add_parser("matte", help="matte one object of an image from a box or point prompt",
                              description="Write an RGBA cut-out (and optionally the alpha and a composite) of the "
                                          "object selected by a box and/or points.")
    p.add_argument("image", help="input image (PNG, JPEG, …)")
    p.add_argument("--box", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"), help="box prompt in pixels")
    p.add_argument("--point", nargs=2, type=float, action="append", metavar=("X", "Y"), default=None,
                   help="foreground point (repeatable)")
    p.add_argument("--bg-point", nargs=2, type=float, action="append", metavar=("X", "Y"), default=None,
                   help="background point (repeatable)")
    p.add_argument("-o", "--out", required=True, help="RGBA cut-out PNG to write")
    p.add_argument("--alpha-out", default=None, help="also write the alpha matte PNG here")
    p.add_argument("--composite-out", default=None, help="also write a composite PNG here")
    p.add_argument("--background", default="0,177,64", help="composite background: R,G,B or an image path")
    p.add_argument("--guidance", choices=("alpha", "mask"), default="alpha")
    p.add_argument("--sam-variant", default=None, choices=("vit_b", "vit_l", "vit_h", "tiny"),
                   help="SAM variant (default: vit_b with cached checkpoints, else tiny)")
    p.add_argument("--sam-checkpoint", default=None, help="SAM checkpoint path")
    p.add_argument("--m2m-checkpoint", default=None, help="M2M (MAM) checkpoint path")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    add_overwrite(p)
    p.set_defaults(func=run)


def _background(spec: str):
    parts = spec.split(",")
    if len(parts) == 3 and all(s.strip().lstrip("+-").replace(".", "", 1).isdigit() for s in parts):
        from ..io.cutout import check_color

        return check_color([s.strip() for s in parts], "--background colour")
    if not Path(spec).is_file():
        raise MamError(f"--background must be R,G,B (each 0..255) or an existing image file, got {spec!r}")
    return spec


def check_outputs(args) -> None:
    """Every output: a new file (or ``--overwrite``, or one this project wrote), never an input, each its own."""
    from ..io.cutout import output_format
    from ..io.outputs import check_distinct, check_output, is_own_image

    inputs = [args.image, args.sam_checkpoint, args.m2m_checkpoint]
    if args.composite_out and args.background and Path(args.background).is_file():
        inputs.append(args.background)
    outputs = {"-o/--out": args.out, "--alpha-out": args.alpha_out, "--composite-out": args.composite_out}
    check_distinct(outputs)
    for option, path in outputs.items():
        if path is None:
            continue
        check_output(path, inputs=inputs, overwrite=args.overwrite, ours=is_own_image, what=option)
        output_format(path, needs_alpha=option == "-o/--out", what=option)


def run(args) -> int:
    import sys

    import numpy as np

    from ..io.cutout import save_alpha, save_composite, save_rgba
    from ..io.images import open_image
    from ..inference.predictor import build_predictor

    if args.box is None and not args.point and not args.bg_point:
        raise MamError("give a prompt: --box X0 Y0 X1 Y1 and/or --point X Y")
    background = _background(args.background) if args.composite_out else None
    check_outputs(args)  # before any model is built: nothing is computed for an output that cannot be written
    open_image(args.image).close()  # exists, is an image, within the pixel limit
    check_device(args.device)
    check_checkpoints(sam_checkpoint=args.sam_checkpoint, m2m_checkpoint=args.m2m_checkpoint)
    predictor, real = build_predictor(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint, args.device)
    if not real:
        print(f"warning: {predictor.description}", file=sys.stderr)
    predictor.set_image(args.image)
    points = (args.point or []) + (args.bg_point or [])
    labels = [1] * len(args.point or []) + [0] * len(args.bg_point or [])
    result = predictor.predict(box=args.box, points=points or None, labels=labels or None, guidance=args.guidance)
    save_rgba(args.out, predictor.image, result.alpha)
    print(f"wrote {args.out}")
    if args.alpha_out:
        save_alpha(args.alpha_out, result.alpha)
        print(f"wrote {args.alpha_out}")
    if args.composite_out:
        save_composite(args.composite_out, predictor.image, result.alpha, background)
        print(f"wrote {args.composite_out}")
    print(f"alpha coverage {float(np.mean(result.alpha)):.3f}; {result.timings['total']:.0f} ms after encoding")
    return 0

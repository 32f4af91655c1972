"""``mam matte IMAGE --box X0 Y0 X1 Y1 | --point X Y [--point ...] -o OUT.png``."""
from __future__ import annotations

from pathlib import Path

from ..errors import MamError


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
    p.add_argument("--device", default=None)
    p.set_defaults(func=run)


def _background(spec: str):
    parts = spec.split(",")
    if len(parts) == 3 and all(s.strip().isdigit() for s in parts):
        return tuple(int(s) for s in parts)
    if not Path(spec).is_file():
        raise MamError(f"--background must be R,G,B or an existing image file, got {spec!r}")
    return spec


def run(args) -> int:
    import sys

    import numpy as np

    from ..io.cutout import save_alpha, save_composite, save_rgba
    from ..inference.predictor import build_predictor

    if args.box is None and not args.point and not args.bg_point:
        raise MamError("give a prompt: --box X0 Y0 X1 Y1 and/or --point X Y")
    background = _background(args.background) if args.composite_out else None
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

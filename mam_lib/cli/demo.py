"""``mam demo``: run the whole pipeline on the shipped demo image."""
from __future__ import annotations

from ._common import add_overwrite, check_device


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="run SAM → M2M → refinement on data_samples/demo and write outputs/",
                              description="Matte the shipped demo image with its box prompt. Uses the published "
                                          "checkpoints when they are in the cache folder. Else SAM and M2M have "
                                          "random weights, and the mask and M2M's outputs are stand-ins made from "
                                          "the sample's known alpha (the refinement is real); it says which.")
    p.add_argument("-o", "--out", default="outputs", help="output folder (default: outputs)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("--guidance", choices=("alpha", "mask"), default="alpha", help="refinement guidance mode")
    p.add_argument("--no-stand-in", dest="stand_in", action="store_false",
                   help="without published weights, show the random model's own (meaningless) matte instead of "
                        "the stand-in outputs")
    add_overwrite(p, "existing files of the same names that the demo did not write")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..teaching.demo import check_demo_outputs, run_demo

    check_demo_outputs(args.out, overwrite=args.overwrite)
    check_device(args.device)
    run_demo(args.out, device=args.device, guidance=args.guidance, overwrite=args.overwrite,
             stand_in=args.stand_in)
    return 0

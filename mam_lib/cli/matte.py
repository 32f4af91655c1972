"""``mam matte IMAGE --box X0 Y0 X1 Y1 | --point X Y [--point ...] | --text PHRASE -o OUT.png``.

With ``--text`` every box the text detector finds becomes an instance, best score first. One
instance is written to the names given; several are numbered: instance ``i`` (1 = best) of
``-o cut.png`` goes to ``cut_1.png``, ``cut_2.png``, …, and likewise for ``--alpha-out`` and
``--composite-out``. ``--max-instances 1`` always writes just the best one, under the names given.

``mam matte DIR --prompts prompts.json -o OUT/`` mattes every image of a folder: see
:mod:`mam_lib.cli.matte_folder` (the runner) and :mod:`mam_lib.cli.batch_prompts` (the prompts file).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MamError
from ._common import (add_backend, add_overwrite, add_text_options, at_least, background_option, check_checkpoints,
                      check_device, text_config)

DESCRIPTION = """\
Write an RGBA cut-out (and optionally the alpha and a composite) of the object selected by a
box and/or points, or of each object a text names (Grounding DINO turns the text into boxes;
needs the 'text' extra). Several text instances are numbered: cut.png → cut_1.png, cut_2.png,
… (1 = best score).

Folder mode: mam matte DIR --prompts prompts.json -o OUT/
  Every image of DIR with a prompt gets OUT/<stem>_cutout.png and OUT/<stem>_alpha.png (and
  OUT/<stem>_composite.png with --composite). Several objects: <stem>_<object>_cutout.png; the
  instances of a text: <stem>_1_cutout.png, <stem>_2_cutout.png, … The prompts file (JSON,
  see docs/batch.md) gives each image's prompts by file name:
    {"format": "mam-batch-prompts", "version": 1, "images": {
       "cat.jpg":   {"box": [40, 30, 300, 260]},
       "dog.png":   {"points": [[120, 90], [10, 10]], "labels": [1, 0]},
       "birds.jpg": {"text": "the bird"},
       "pair.png":  [{"name": "left", "box": [0, 0, 200, 300]},
                     {"name": "right", "points": [[300, 150]]}],
       "photo.jpg": "photo_object_1_prompts.json"}}
  a value is an object, a list of objects, or the widget's prompts export (the JSON itself, or
  its file, relative to the prompts file). --box/--point/--bg-point/--text give the prompt of
  the images the file does not list (of all images without --prompts); images with no prompt
  are counted and left alone. OUT must not be DIR, lie inside it or contain it.
  Resumable: an image already done with the same prompts and settings (its record in
  OUT/.mam_matte/) is skipped; --overwrite does every image again. An image that fails (cannot
  be read, a prompt outside it, a text that finds nothing) is reported and the others go on.
  The run ends with a summary (also written to OUT/matte_summary.json).
  Exit status: 0 no image failed; 3 some images failed (the others are written); 2 a problem
  found before the first image (then no image is matted).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("matte", help="matte objects of an image (or of every image of a folder) from box, "
                                            "point or text prompts",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="input image (PNG, JPEG, …), or a folder of images (folder mode)")
    p.add_argument("--box", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"), help="box prompt in pixels")
    p.add_argument("--point", nargs=2, type=float, action="append", metavar=("X", "Y"), default=None,
                   help="foreground point (repeatable)")
    p.add_argument("--bg-point", nargs=2, type=float, action="append", metavar=("X", "Y"), default=None,
                   help="background point (repeatable)")
    p.add_argument("--text", default=None, metavar="PHRASE",
                   help='text prompt, e.g. "the cat": one matte per box the text detector finds')
    add_text_options(p, "default 0.35", "default 0.25")
    p.add_argument("--max-instances", type=int, default=None, metavar="N",
                   help="with --text: matte at most the N best boxes (default: all; 3 for --text-model tiny)")
    p.add_argument("-o", "--out", required=True,
                   help="RGBA cut-out PNG to write; in folder mode the output folder (not inside the input folder)")
    p.add_argument("--alpha-out", default=None, help="also write the alpha matte PNG here (one image)")
    p.add_argument("--composite-out", default=None, help="also write a composite PNG here (one image)")
    p.add_argument("--prompts", default=None, metavar="FILE.json",
                   help="folder mode: the prompts of the folder's images by file name (format: docs/batch.md)")
    p.add_argument("--composite", action="store_true",
                   help="folder mode: also write OUT/<stem>_composite.png on --background")
    p.add_argument("--no-progress", action="store_true", help="folder mode: hide the progress bar")
    p.add_argument("--background", default="0,177,64", help="composite background: R,G,B or an image path")
    p.add_argument("--guidance", choices=("alpha", "mask"), default="alpha")
    p.add_argument("--no-fg-estimation", action="store_true",
                   help="cut-outs and composites keep the image's own colours where the matte is fractional, "
                        "instead of the estimated foreground colours (which hold none of the old background)")
    p.add_argument("--sam-variant", default=None, choices=("vit_b", "vit_l", "vit_h", "tiny"),
                   help="SAM variant (default: vit_b with cached checkpoints, else tiny)")
    p.add_argument("--sam-checkpoint", default=None, help="SAM checkpoint path")
    p.add_argument("--m2m-checkpoint", default=None, help="M2M (MAM) checkpoint path")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    add_backend(p)
    add_overwrite(p)
    p.set_defaults(func=run)


def check_outputs(args, outputs: dict | None = None) -> None:
    """Every output: a new file (or ``--overwrite``, or one this project wrote), never an input, each its own.

    ``outputs``: option → path (default: the paths given on the command line)."""
    from ..io.cutout import output_format
    from ..io.outputs import check_distinct, check_output, is_own_image

    inputs = [args.image, args.sam_checkpoint, args.m2m_checkpoint]
    if args.composite_out and args.background and Path(args.background).is_file():
        inputs.append(args.background)
    if getattr(args, "text_model", None) not in (None, "auto", "tiny") and Path(args.text_model).is_dir():
        inputs += [p for p in Path(args.text_model).iterdir() if p.is_file()]
    if outputs is None:
        outputs = {"-o/--out": args.out, "--alpha-out": args.alpha_out, "--composite-out": args.composite_out}
    check_distinct(outputs)
    for option, path in outputs.items():
        if path is None:
            continue
        check_output(path, inputs=inputs, overwrite=args.overwrite, ours=is_own_image, what=option)
        output_format(path, needs_alpha=option.startswith("-o/--out"), what=option)


def instance_path(path: str | None, i: int, n: int) -> str | None:
    """Where text instance ``i`` (1 = best) of ``n`` is written: ``path`` itself when ``n == 1``,
    else ``<stem>_<i><suffix>`` beside it (``cut.png`` → ``cut_2.png``)."""
    if path is None or n == 1:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}_{i}{p.suffix}"))


def instance_outputs(args, n: int) -> list[dict[str, str | None]]:
    """The output files of each of ``n`` text instances (see :func:`instance_path`), checked before any is written."""
    per = [{f"{option} (instance {i})" if n > 1 else option: instance_path(path, i, n)
            for option, path in (("-o/--out", args.out), ("--alpha-out", args.alpha_out),
                                 ("--composite-out", args.composite_out))}
           for i in range(1, n + 1)]
    check_outputs(args, {k: v for outs in per for k, v in outs.items()})
    return per


def run(args) -> int:
    import sys

    import numpy as np

    from ..io.images import open_image
    from ..inference.predictor import build_predictor

    if Path(args.image).is_dir():
        from .matte_folder import run_folder

        return run_folder(args, background_option(args.background) if args.composite else None)
    for option, given, instead in (("--prompts", args.prompts, "--box/--point/--text"),
                                   ("--composite", args.composite, "--composite-out FILE")):
        if given:
            raise MamError(f"{option} goes with a folder of images (mam matte DIR {option} … -o OUT/); for one "
                           f"image use {instead}")
    spatial = args.box is not None or bool(args.point) or bool(args.bg_point)
    if args.text is None and not spatial:
        raise MamError("give a prompt: --box X0 Y0 X1 Y1 and/or --point X Y, or --text PHRASE")
    if args.text is not None:
        from ..inference.text import caption_of

        if spatial:
            raise MamError("give either --text or --box/--point, not both: the boxes the text names are the prompts")
        caption_of(args.text)  # not empty
        at_least(args.max_instances, 1, "--max-instances")
        text_config(args)  # thresholds in [0, 1]
    background = background_option(args.background) if args.composite_out else None
    check_outputs(args)  # before any model is built: nothing is computed for an output that cannot be written
    open_image(args.image).close()  # exists, is an image, within the pixel limit
    check_device(args.device)
    check_checkpoints(sam_checkpoint=args.sam_checkpoint, m2m_checkpoint=args.m2m_checkpoint)
    found = None
    if args.text is not None:  # detect first: a missing extra, missing weights or no box fail before SAM loads
        found = _detect(args)
    predictor, real = build_predictor(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint, args.device,
                                      backend=args.backend)
    if not real:
        print(f"warning: {predictor.description}", file=sys.stderr)
    if found is not None:
        detector, image, detections, per = found
        predictor.text_detector = detector
        predictor.set_image(image)
        return _write_instances(args, predictor, detections, per, background)
    predictor.set_image(args.image)
    points = (args.point or []) + (args.bg_point or [])
    labels = [1] * len(args.point or []) + [0] * len(args.bg_point or [])
    result = predictor.predict(box=args.box, points=points or None, labels=labels or None, guidance=args.guidance)
    _write(predictor.image, result.alpha, args.out, args.alpha_out, args.composite_out, background,
           not args.no_fg_estimation)
    print(f"alpha coverage {float(np.mean(result.alpha)):.3f}; {result.timings['total']:.0f} ms after encoding")
    return 0


def _detect(args):
    """The boxes ``--text`` names on the image, and every instance's output files, checked.

    Returns ``(detector, image, detections, outputs per instance)``."""
    import sys

    from ..errors import PromptError
    from ..inference.text import load_text_detector
    from ..io.images import load_image

    detector, real_detector = load_text_detector(args.text_model, args.device)
    if not real_detector:
        print(f"warning: {detector.description}", file=sys.stderr)
    config = text_config(args, detector.config, max_detections=args.max_instances)
    image = load_image(args.image)
    detections = detector.detect(image, args.text, config=config)
    if not len(detections):
        raise PromptError(f"no object matches {args.text!r} above --box-threshold {config.box_threshold:g} "
                          f"(--text-threshold {config.text_threshold:g}); lower --box-threshold or rephrase the text")
    return detector, image, detections, instance_outputs(args, len(detections))  # checked before any matte


def _write_instances(args, predictor, detections, per, background) -> int:
    """Matte each detected box and write every instance's files."""
    import numpy as np

    results = predictor.matte_detections(detections, guidance=args.guidance)
    for i, (result, outs) in enumerate(zip(results, per), 1):
        det = result.detection
        print(f"instance {i}/{len(results)}: {det.phrase!r} score {det.score:.2f}, box "
              f"[{', '.join(f'{v:.0f}' for v in det.box)}], alpha coverage {float(np.mean(result.alpha)):.3f}")
        out, alpha_out, composite_out = outs.values()
        _write(predictor.image, result.alpha, out, alpha_out, composite_out, background, not args.no_fg_estimation)
    matting = sum(r.timings["total"] for r in results)
    print(f"{len(results)} instance(s) of {args.text!r}; detector {results[0].timings['detect']:.0f} ms, matting "
          f"{matting:.0f} ms after encoding")
    return 0


def _write(image, alpha, out: str, alpha_out: str | None, composite_out: str | None, background,
           estimate_fg: bool) -> None:
    """Write one matte's cut-out (and alpha, composite), saying so; the cut-out and the composite
    share one foreground estimate."""
    from ..io.cutout import foreground_colors, save_alpha, save_composite, save_rgba

    fg = foreground_colors(image, alpha) if estimate_fg and composite_out else None
    save_rgba(out, image, alpha, estimate_fg=estimate_fg, fg=fg)
    print(f"wrote {out}")
    if alpha_out:
        save_alpha(alpha_out, alpha)
        print(f"wrote {alpha_out}")
    if composite_out:
        save_composite(composite_out, image, alpha, background, estimate_fg=estimate_fg, fg=fg)
        print(f"wrote {composite_out}")

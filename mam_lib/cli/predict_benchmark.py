"""``mam predict-benchmark BENCHMARK|FOLDER --out DIR [--prompt box|point|text]``: predictions for ``mam eval``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import MamError, OutputError
from ._common import add_backend, add_overwrite, add_text_options, at_least, check_checkpoints, check_device, text_config


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict-benchmark", help="run the matting predictor over a benchmark with prompts from its ground truth",
        description="For every ground-truth alpha of a benchmark (one per instance for instance benchmarks), derive "
                    "a box prompt (bounding box of alpha > 0.5) or a point prompt (the centre of that box), run "
                    "SAM + M2M and write the predicted alpha as a PNG named like the ground truth, so that "
                    "`mam eval` pairs them. Each image is encoded once. --prompt text uses each image's referring "
                    "expression instead (RefMatte-RW100's refmatte_rw100_label.json, or --texts FILE), turned into a "
                    "box by Grounding DINO as in MAM's evaluation (needs the 'text' extra).")
    p.add_argument("benchmark", help="a preset name (ppm-100, am-2k, composition-1k, distinctions-646, him2k, "
                                     "him2k-comp, rwp-636, refmatte-rw100; needs --root) or a folder holding "
                                     "images/ and alphas/")
    p.add_argument("--root", default=None, help="root folder of the preset's data set")
    p.add_argument("--images", default=None, help="image folder (overrides the preset's; relative to the root)")
    p.add_argument("--alphas", default=None, help="ground-truth alpha folder (overrides the preset's)")
    p.add_argument("--out", required=True, help="folder for the predicted alpha PNGs")
    p.add_argument("--prompt", choices=("box", "point", "text"), default="box",
                   help="box or point: derived from the ground truth; text: each image's referring expression")
    p.add_argument("--texts", default=None, metavar="FILE.json",
                   help="with --prompt text: a JSON file of image stem → text (default: refmatte_rw100_label.json "
                        "in the benchmark's root)")
    add_text_options(p, "default 0.25, as MAM's RefMatte-RW100 evaluation", "default 0.5, as MAM's evaluation")
    p.add_argument("--guidance", choices=("alpha", "mask"), default="alpha", help="refinement guidance mode")
    p.add_argument("--sam-variant", default=None, choices=("vit_b", "vit_l", "vit_h", "tiny"),
                   help="SAM variant (default: vit_b with the cached published checkpoints, else tiny; tiny is a "
                        "small random SAM for trying the pipeline)")
    p.add_argument("--sam-checkpoint", default=None, help="SAM checkpoint path (random weights without it)")
    p.add_argument("--m2m-checkpoint", default=None, help="M2M (MAM) checkpoint path (random weights without it)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    add_backend(p)
    p.add_argument("--limit", type=int, default=None, help="only the first N ground-truth alphas (a quick check)")
    p.add_argument("--skip-existing", action="store_true", help="keep predictions already in --out (resume)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_overwrite(p, "existing files in --out that this command did not write")
    p.set_defaults(func=run)


MANIFEST = "predict_benchmark.json"


def check_outputs(args, layout, samples) -> Path:
    """--out: outside the input folders, never over an input file, and no foreign file replaced."""
    from ..io.outputs import check_output, check_output_dir, is_own_image, real_path, starts_with

    out = check_output_dir(args.out, inputs=[layout.image_dir, layout.alpha_dir, layout.trimap_dir],
                           what="--out")
    inputs = {real_path(p) for s in samples for p in (s.image_path, s.alpha_path, s.trimap_path) if p is not None}
    foreign = []
    for sample in samples:
        dest = out / sample.name
        if real_path(dest) in inputs:
            raise OutputError(f"--out {str(out)!r} would write {sample.name} over the input {str(dest)!r}; choose a "
                              "folder of its own for the predictions")
        if args.skip_existing and dest.is_file():
            continue
        try:
            check_output(dest, overwrite=args.overwrite, ours=is_own_image, what="prediction")
        except OutputError:
            if dest.is_dir() or not dest.exists():
                raise
            foreign.append(sample.name)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise OutputError(f"--out {str(out)!r} already holds {len(foreign)} file(s) of the same names that this command "
                          f"did not write ({shown}); pass --overwrite to replace them, --skip-existing to keep them, "
                          "or choose another folder")
    check_output(out / MANIFEST, overwrite=args.overwrite, ours=starts_with('{\n  "benchmark"'), what="manifest")
    return out


def _listing(args):
    from dataclasses import replace

    from ..evaluation.benchmarks import PRESETS, folder_preset, get_preset, list_samples, resolve_layout

    source = Path(args.benchmark)
    if args.benchmark.lower().replace("_", "-") in PRESETS or not source.exists():
        preset = get_preset(args.benchmark)
        if args.root is None:
            raise MamError(f"benchmark {preset.title} needs --root DIR, the folder holding the data set")
        root = args.root
    else:
        if args.root is not None:
            raise MamError("give either a preset name with --root, or a folder, not both")
        preset, root = folder_preset(), source
    # Predicting never reads trimaps, so a benchmark's trimap folder need not be there.
    layout = resolve_layout(replace(preset, region="all"), root, image_dir=args.images, alpha_dir=args.alphas)
    return preset, layout, list_samples(preset, layout)


def run(args) -> int:
    from ..io.outputs import run_lock

    at_least(args.limit, 1, "--limit")
    preset, layout, listing = _listing(args)
    samples = listing.samples[: args.limit] if args.limit else listing.samples
    if not samples:
        raise MamError(f"no image of {str(layout.image_dir)!r} has a ground-truth alpha in {str(layout.alpha_dir)!r} "
                       "(they are paired by file name without extension)")
    prompts = None
    if args.prompt == "text":
        from ..evaluation.text_prompts import benchmark_text_prompts
        from ..inference.text import TextPromptConfig

        text_config(args, TextPromptConfig.mam_benchmark())  # thresholds in [0, 1]
        prompts = benchmark_text_prompts(layout.root, args.texts)
    elif args.texts is not None:
        raise MamError("--texts goes with --prompt text")
    out = check_outputs(args, layout, samples)  # before any model is built
    check_device(args.device)
    check_checkpoints(sam_checkpoint=args.sam_checkpoint, m2m_checkpoint=args.m2m_checkpoint)
    with run_lock(out, "mam predict-benchmark"):
        return _predict(args, preset, layout, listing, samples, out, prompts)


def _predict(args, preset, layout, listing, samples, out: Path, prompts=None) -> int:
    from ..io.atomic import atomic_write_text
    from ..evaluation.prediction import predict_samples
    from ..inference.predictor import build_predictor

    for what, names in (("images without ground truth", listing.images_without_alpha),
                        ("ground truth without an image", listing.alphas_without_image)):
        if names:
            print(f"warning: {len(names)} {what}, skipped: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}",
                  file=sys.stderr)
    detector = config = None
    if prompts is not None:  # the detector first: a missing extra or missing weights fail before SAM loads
        from ..inference.text import TextPromptConfig, load_text_detector

        if prompts.note:
            print(f"note: {prompts.note}", file=sys.stderr)
        detector, real_detector = load_text_detector(args.text_model, args.device)
        if not real_detector:
            print(f"warning: {detector.description}", file=sys.stderr)
        config = text_config(args, TextPromptConfig.mam_benchmark())
    predictor, real = build_predictor(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint, args.device,
                                      backend=args.backend)
    if not real:
        print(f"warning: {predictor.description}: without both checkpoints the predictions are not meaningful",
              file=sys.stderr)
    if detector is not None:
        predictor.text_detector = detector
    report = predict_samples(predictor, samples, out, prompt=args.prompt, guidance=args.guidance,
                             skip_existing=args.skip_existing, progress=not args.no_progress,
                             texts=prompts.texts if prompts is not None else None, text_config=config)
    manifest = {
        "benchmark": preset.name, "images": str(layout.image_dir), "alphas": str(layout.alpha_dir),
        "prompt": args.prompt, "guidance": args.guidance, "predictor": predictor.description,
        "backend": args.backend,
        "written": len(report.written), "kept": len(report.kept), "empty_ground_truth": report.empty_gt,
        "skipped": [{"name": n, "reason": r} for n, r in report.skipped],
        "images_encoded": report.images_encoded, "seconds": round(report.seconds, 3),
    }
    if prompts is not None:
        manifest["text"] = {"source": prompts.source, "note": prompts.note, "detector": detector.description,
                            "box_threshold": config.box_threshold, "text_threshold": config.text_threshold,
                            "nms_iou": config.nms_iou, "no_detection": report.no_detection,
                            "prompts": report.text_prompts}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(report.written)} alpha(s) to {out} ({report.images_encoded} image(s) encoded, "
          f"{report.seconds:.1f} s)" + (f"; kept {len(report.kept)} existing" if report.kept else ""))
    if report.empty_gt:
        print(f"warning: {len(report.empty_gt)} ground truth(s) have no pixel above 0.5; wrote empty alphas",
              file=sys.stderr)
    if report.no_detection:
        print(f"warning: {len(report.no_detection)} text prompt(s) found no box above the thresholds; wrote empty "
              f"alphas: {', '.join(report.no_detection[:5])}{' …' if len(report.no_detection) > 5 else ''}",
              file=sys.stderr)
    for name, reason in report.skipped:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    if preset.name == "folder":
        print(f"next: mam eval --pred {out} --gt {layout.alpha_dir}")
    else:
        print(f"next: mam eval --pred {out} --benchmark {preset.name} --root {layout.root}")
    return 0 if report.written or report.kept or report.empty_gt or report.no_detection else 1

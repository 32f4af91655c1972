"""``mam eval --pred DIR --gt DIR [--trimap DIR] [--region unknown|all] [--temporal]`` or ``--benchmark NAME --root DIR``."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import MamError
from ._common import add_overwrite


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="score predicted alpha mattes against ground truth (SAD, MSE, MAD, Grad, Conn)",
        description="Pair the files of a prediction folder with the ground truth by name, print the mean of each "
                    "metric (MSE and MAD x1e3, as papers print them), write a per-image CSV and report files "
                    "missing on either side. Give the ground truth with --gt (and --trimap) or with a benchmark "
                    "preset (--benchmark NAME --root DIR), which also sets the region and instance rules.")
    p.add_argument("--pred", required=True, help="folder of predicted alpha PNGs")
    p.add_argument("--gt", default=None, help="folder of ground-truth alphas")
    p.add_argument("--trimap", default=None, help="folder of trimaps named like the ground truth")
    p.add_argument("--benchmark", default=None,
                   help="preset: ppm-100, am-2k, composition-1k, distinctions-646, him2k, him2k-comp, rwp-636, "
                        "refmatte-rw100 (needs --root)")
    p.add_argument("--root", default=None, help="root folder of the --benchmark data set")
    p.add_argument("--region", choices=("auto", "unknown", "all"), default="auto",
                   help="pixels that count: trimap unknown (=128) or the whole image; auto = unknown when trimaps "
                        "are given (default)")
    p.add_argument("--instances", choices=("none", "single", "folder"), default=None,
                   help="instance layout (default: from the preset, else none)")
    p.add_argument("--match", choices=("iou", "name"), default="iou",
                   help="how predictions meet ground-truth instances in instance folders (default iou)")
    p.add_argument("--conn-reference", choices=("python", "matlab"), default="python",
                   help="Conn's component rule: the Python evaluation code of the literature (default) or "
                        "Adobe's MATLAB code")
    p.add_argument("--csv", default=None, help="per-image CSV to write (default: PRED/metrics.csv)")
    p.add_argument("--temporal", action="store_true",
                   help="the folders are the frames of one clip (in name order): add dtSSD and MESSDdt per frame")
    p.add_argument("--flow", choices=("farneback", "none"), default="farneback",
                   help="with --temporal: MESSDdt's motion, optical flow of the ground truth (default) or none")
    p.add_argument("--strict", action="store_true", help="exit with status 3 when any file could not be evaluated")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_overwrite(p, "an existing --csv file that is not a metrics table of this command")
    p.set_defaults(func=run)


def _input_files(*folders) -> list[Path]:
    from ..evaluation.benchmarks import list_image_files

    files: list[Path] = []
    for folder in folders:
        if folder is not None and Path(folder).is_dir():
            files += list(list_image_files(folder, recursive=True).values())
    return files


def run(args) -> int:
    from ..evaluation.benchmarks import get_preset, resolve_layout
    from ..evaluation.folders import evaluate_folders, format_table, write_csv

    gt, trimap, instances, region, title = args.gt, args.trimap, args.instances, args.region, ""
    if args.benchmark is not None:
        if args.root is None:
            raise MamError("--benchmark needs --root DIR, the folder holding the data set")
        preset = get_preset(args.benchmark)
        layout = resolve_layout(preset, args.root, alpha_dir=gt, trimap_dir=trimap)
        gt = layout.alpha_dir
        trimap = layout.trimap_dir if (region == "unknown" or (region == "auto" and preset.region == "unknown")) \
            else None
        if region == "auto":
            region = preset.region
        instances = instances or preset.instances
        title = f"{preset.title} ({gt})"
    elif gt is None:
        raise MamError("give the ground truth: --gt DIR, or --benchmark NAME --root DIR")
    from ..evaluation.folders import is_metrics_csv
    from ..io.outputs import check_output

    csv_path = Path(args.csv) if args.csv else Path(args.pred) / "metrics.csv"
    check_output(csv_path, inputs=_input_files(args.pred, gt, trimap), overwrite=args.overwrite,
                 ours=is_metrics_csv, what="--csv")  # before the (long) evaluation
    if csv_path.suffix.lower() != ".csv":
        raise MamError(f"--csv {str(csv_path)!r} should end in .csv (it is a table of metrics)")
    result = evaluate_folders(args.pred, gt, trimap, region=region, instances=instances or "none", match=args.match,
                              conn_reference=args.conn_reference, progress=not args.no_progress,
                              temporal=args.temporal, flow=args.flow)
    print(format_table(result, title=title))
    if not result.rows:
        raise MamError(f"nothing could be evaluated: no file of {args.pred!r} pairs with a readable ground truth "
                       "(files are paired by name without extension)")
    write_csv(result, csv_path)
    print(f"wrote {csv_path}")
    if result.problems:
        print(f"mam eval: {result.problems} file(s) could not be evaluated (listed above)", file=sys.stderr)
        if args.strict:
            return 3
    return 0

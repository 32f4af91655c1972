"""``mam export-onnx --out DIR``: write ``m2m.onnx`` and ``sam_decoder.onnx`` for onnxruntime."""
from __future__ import annotations

from pathlib import Path

from ..errors import MamError

#: The files written into ``--out``.
M2M_FILE = "m2m.onnx"
SAM_DECODER_FILE = "sam_decoder.onnx"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-onnx", help="export the M2M decoder and SAM's prompt encoder + mask decoder to ONNX",
        description=f"Write {M2M_FILE} (the M2M decoder; dynamic batch and image size, any multiple of 16) and "
                    f"{SAM_DECODER_FILE} (SAM's prompt encoder and mask decoder, as segment-anything's "
                    "export script writes it) into a folder. Needs `pip install -e .[onnx]`.")
    p.add_argument("--out", required=True, help="folder to write the two .onnx files into (created if needed)")
    p.add_argument("--sam-variant", default=None, choices=("vit_b", "vit_l", "vit_h", "tiny"),
                   help="SAM variant (default: vit_b with cached checkpoints, else tiny)")
    p.add_argument("--sam-checkpoint", default=None, help="SAM checkpoint path")
    p.add_argument("--m2m-checkpoint", default=None, help="M2M (MAM) checkpoint path")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.set_defaults(func=run)


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def run(args) -> int:
    import sys

    from ..inference.onnx_export import export_m2m_onnx, export_sam_decoder_onnx, require_onnx
    from ..inference.predictor import build_predictor

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise MamError(f"--out {str(out)!r} is a file; give a folder")
    targets = [out / M2M_FILE, out / SAM_DECODER_FILE]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.overwrite:  # checked before anything is built or written
        verb = "exists" if len(existing) == 1 else "exist"
        raise MamError(f"{' and '.join(existing)} already {verb}; pass --overwrite to replace")
    require_onnx("onnx")
    predictor, real = build_predictor(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint, device="cpu")
    if not real:
        print(f"warning: {predictor.description}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    for path, export, model in ((targets[0], export_m2m_onnx, predictor.m2m),
                                (targets[1], export_sam_decoder_onnx, predictor.sam)):
        export(model, path, args.opset, overwrite=args.overwrite)
        print(f"wrote {path} ({_size(path)})")
    return 0

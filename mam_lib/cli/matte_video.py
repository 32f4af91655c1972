"""``mam matte-video CLIP (--box X0 Y0 X1 Y1 | --point X Y … | --mask M.png | --text PHRASE) [--frame N] -o OUT_DIR``.

One object from one prompt on frame N (default 0), propagated forward and backward through the clip
(:class:`mam_lib.inference.video.VideoMatting`); ``--prompts FILE.json`` gives several objects and
keyframes instead::

    {"person": [{"frame": 0, "box": [40, 30, 300, 260]}, {"frame": 90, "box": [60, 30, 320, 260]}],
     "dog": [{"frame": 12, "points": [[400, 300]], "labels": [1]}]}

Writes ``OUT_DIR/<object>/alpha/000000.png …``, ``rgba/``, ``composite/``, then ``alpha.mp4`` and
``composite.mp4``; running the same command again resumes an interrupted run.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import ConfigError, MamError, PromptError
from ._common import add_overwrite, background_option, check_checkpoints, check_device


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "matte-video", help="matte an object through a video clip from a prompt on one frame",
        description="Matte one object (or several, with --prompts) through a clip: the prompt on frame N is carried "
                    "forward and backward, each frame starting from its neighbour's box and SAM logits. Writes an "
                    "alpha PNG sequence, an RGBA PNG sequence and a composite sequence per object as frames are "
                    "computed, then alpha.mp4 and composite.mp4; the same command resumes an interrupted run.")
    p.add_argument("clip", help="video file (mp4, mov, mkv, avi, webm, …) or a folder of frame images")
    p.add_argument("--frame", type=int, default=0, metavar="N", help="the frame the prompt is on (default 0)")
    p.add_argument("--box", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"), help="box prompt in pixels")
    p.add_argument("--point", nargs=2, type=float, action="append", metavar=("X", "Y"), default=None,
                   help="foreground point (repeatable)")
    p.add_argument("--bg-point", nargs=2, type=float, action="append", metavar=("X", "Y"), default=None,
                   help="background point (repeatable)")
    p.add_argument("--mask", default=None, metavar="MASK.png", help="coarse mask of the object on frame N")
    p.add_argument("--text", default=None, metavar="PHRASE", help="text prompt (the 'text' extra): its best box on frame N")
    p.add_argument("--text-model", default="auto", metavar="NAME|FOLDER",
                   help="text detector for --text (see `mam matte --help`; tiny = random, for trying)")
    p.add_argument("--object", default="obj1", metavar="NAME", help="name of the object's output folder (default obj1)")
    p.add_argument("--prompts", default=None, metavar="FILE.json",
                   help="several objects and keyframes: {name: [{frame, box | points+labels | mask (a PNG path) | text}]}")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="folder to write (resumed when it holds this run)")
    p.add_argument("--outputs", default="alpha,rgba,composite",
                   help="comma-separated: alpha (always), rgba, composite (default: all three)")
    p.add_argument("--background", default="0,177,64", help="composite background: R,G,B or an image path")
    p.add_argument("--no-videos", action="store_true", help="write only the PNG sequences, not alpha.mp4/composite.mp4")
    p.add_argument("--smoothing", type=float, default=0.0, metavar="S",
                   help="temporal smoothing: blend S of the previous frame's alpha, in [0, 1) (default 0: off)")
    p.add_argument("--box-margin", type=float, default=0.1, metavar="M",
                   help="grow the carried box by M of its size on each side (default 0.1)")
    p.add_argument("--no-mask-input", action="store_true", help="carry only the box, not SAM's logits")
    p.add_argument("--guidance", choices=("alpha", "mask"), default=None)
    p.add_argument("--sam2-checkpoint", default=None, metavar="FILE.pt",
                   help="propagate masks with SAM 2's video predictor (needs the sam2 package and this checkpoint)")
    p.add_argument("--sam2-config", default=None, help="SAM 2 model config (default: from the checkpoint's name)")
    p.add_argument("--sam-variant", default=None, choices=("vit_b", "vit_l", "vit_h", "tiny"),
                   help="SAM variant (default: vit_b with cached checkpoints, else tiny)")
    p.add_argument("--sam-checkpoint", default=None, help="SAM checkpoint path")
    p.add_argument("--m2m-checkpoint", default=None, help="M2M (MAM) checkpoint path")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite(p, "a run in OUT_DIR with other settings")
    p.set_defaults(func=run)


def _read_mask(path: str, what: str):
    from ..io.images import read_matte

    if not Path(path).is_file():
        raise PromptError(f"{what} {path!r} does not exist")
    m = read_matte(path)
    return m[..., 0] if m.ndim == 3 else m


def _prompts(args) -> tuple[dict, list[str]]:
    """``{obj: [keyframe dict]}`` from the options or the --prompts file, and the files they read."""
    spatial = args.box is not None or bool(args.point) or bool(args.bg_point)
    single = spatial or args.mask is not None or args.text is not None
    if args.prompts is not None:
        if single:
            raise MamError("give either --prompts FILE or --box/--point/--mask/--text, not both")
        try:
            spec = json.loads(Path(args.prompts).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MamError(f"--prompts {args.prompts!r} does not exist") from None
        except (OSError, ValueError) as err:
            raise MamError(f"--prompts {args.prompts!r} is not a JSON file ({err})") from None
        if not isinstance(spec, dict) or not spec or not all(isinstance(v, list) and v for v in spec.values()):
            raise MamError('--prompts must hold {"object name": [{"frame": N, "box": [x0, y0, x1, y1]}, …], …}')
        files = [args.prompts]
        base = Path(args.prompts).parent
        for obj, keys in spec.items():
            for k in keys:
                if not isinstance(k, dict) or "frame" not in k:
                    raise MamError(f"--prompts: each keyframe of {obj!r} needs a \"frame\" and a prompt, got {k!r}")
                if isinstance(k.get("mask"), str):
                    path = str(base / k["mask"]) if not Path(k["mask"]).is_absolute() else k["mask"]
                    files.append(path)
                    k["mask"] = _read_mask(path, f"the mask of {obj!r}")
        return spec, files
    if not single:
        raise MamError("give a prompt: --box X0 Y0 X1 Y1, --point X Y, --mask MASK.png or --text PHRASE (with --frame N), "
                       "or --prompts FILE.json")
    key: dict = {"frame": args.frame}
    files = []
    if spatial:
        key["box"] = args.box
        points = (args.point or []) + (args.bg_point or [])
        if points:
            key["points"] = points
            key["labels"] = [1] * len(args.point or []) + [0] * len(args.bg_point or [])
    if args.mask is not None:
        key["mask"] = _read_mask(args.mask, "--mask")
        files.append(args.mask)
    if args.text is not None:
        key["text"] = args.text
    return {args.object: [key]}, files


def run(args) -> int:
    from ..inference.video import OUTPUTS, Sam2Masks, VideoConfig, VideoMatting
    from ..io.outputs import check_output_dir
    from ..io.video import open_frames

    outputs = tuple(o.strip() for o in args.outputs.split(",") if o.strip())
    bad = [o for o in outputs if o not in OUTPUTS]
    if bad:
        raise ConfigError(f"--outputs: unknown {', '.join(bad)}; choose from {', '.join(OUTPUTS)}")
    if "alpha" not in outputs:
        outputs = ("alpha",) + outputs
    background = background_option(args.background) if "composite" in outputs else (0, 177, 64)
    config = VideoConfig(box_margin=args.box_margin, use_mask_input=not args.no_mask_input,
                         smoothing=args.smoothing, guidance=args.guidance).check()
    spec, files = _prompts(args)
    check_output_dir(args.out, inputs=[args.clip] if Path(args.clip).is_dir() else [], what="-o/--out")
    clip = open_frames(args.clip)  # a bad file or codec fails here, before any model loads
    for obj, keys in spec.items():
        for k in keys:
            if not 0 <= int(k["frame"]) < len(clip):
                raise PromptError(f"object {obj!r} is prompted on frame {k['frame']}, but the clip has frames "
                                  f"0..{len(clip) - 1}")
    check_device(args.device)
    check_checkpoints(sam_checkpoint=args.sam_checkpoint, m2m_checkpoint=args.m2m_checkpoint)
    sam2 = None
    if args.sam2_checkpoint is not None:
        sam2 = Sam2Masks.from_checkpoint(args.sam2_checkpoint, args.sam2_config, args.device)
    from ..inference.predictor import build_predictor

    predictor, real = build_predictor(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint, args.device)
    if not real:
        print(f"warning: {predictor.description}", file=sys.stderr)
    if any(k.get("text") is not None for keys in spec.values() for k in keys):
        from ..inference.text import load_text_detector

        detector, real_detector = load_text_detector(args.text_model, args.device)
        if not real_detector:
            print(f"warning: {detector.description}", file=sys.stderr)
        predictor.text_detector = detector
    video = VideoMatting(predictor, config, sam2=sam2)
    if sam2 is not None:
        def text_box(image, text):
            predictor.set_image(image)
            best = predictor.detect_text(text).best()
            if best is None:
                raise PromptError(f"no object matches {text!r} on its keyframe; rephrase the text or give a box")
            return best.box

        sam2.text_boxes = text_box
    for obj, keys in spec.items():
        for k in keys:
            video.prompt(int(k["frame"]), box=k.get("box"), points=k.get("points"), labels=k.get("labels"),
                         mask=k.get("mask"), text=k.get("text"), obj=str(obj))
    info = clip.info
    print(f"{info.source}: {info.frames} frames of {info.size[1]}x{info.size[0]} at {info.fps:.3g} frames/s "
          f"({info.codec}); objects: {', '.join(video.objects)}")
    inputs = files + [args.sam_checkpoint, args.m2m_checkpoint, args.sam2_checkpoint]
    if isinstance(background, str):
        inputs.append(background)
    result = video.run(clip, args.out, outputs=outputs, background=background, videos=not args.no_videos,
                       overwrite=args.overwrite, progress=not args.quiet, inputs=[p for p in inputs if p])
    clip.close()
    n = len({f for f, _ in result.computed})
    print(f"computed {n} frame(s) ({len(result.computed)} object-frames), {result.skipped} already done; "
          f"{result.frames_per_second:.2f} frames/s")
    shares = result.stage_shares()
    print("time per stage: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items()))
    for path in result.videos:
        print(f"wrote {path}")
    print(f"wrote {args.out}")
    return 0

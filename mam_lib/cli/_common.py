"""Checks shared by the sub-commands: options, devices, checkpoint paths (run before any model is built)."""
from __future__ import annotations

from ..errors import ConfigError


def add_overwrite(parser, what: str = "existing output files") -> None:
    """Add ``--overwrite`` (replace existing outputs; inputs are never replaced)."""
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} (inputs of the command are never replaced)")


#: ``--backend`` choices: :data:`mam_lib.inference.predictor.BACKENDS` (a test keeps them equal; not
#: imported here, so that ``mam --help`` does not load torch).
BACKEND_CHOICES = ("fast", "exact", "eager")


def add_backend(parser) -> None:
    """Add ``--backend`` (how the decoder and the refinement run, see ``MattingPredictor``)."""
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="fast",
                        help="fast (default): the quickest, the same matte to float rounding; exact: the published "
                             "decoder arithmetic, an alpha identical to eager's bit for bit in the fast path's memory "
                             "(the decoder at the published speed); eager: the published way (more memory on large "
                             "photos)")


def check_device(device: str | None, option: str = "--device") -> None:
    """Raise :class:`ConfigError` for a device name torch does not know, or one that is not here."""
    if device is None:
        return
    from ..training.config import check_device_name

    check_device_name(device, option)


def check_checkpoints(**paths) -> None:
    """Cheap checks (exists, not empty, looks like a checkpoint) of checkpoint options before loading."""
    from ..inference.checkpoints import check_checkpoint_file

    for option, path in paths.items():
        if path is not None:
            check_checkpoint_file(path, f"--{option.replace('_', '-')}")


def at_least(value: int | None, low: int, option: str) -> None:
    """Raise :class:`ConfigError` when an integer option is below ``low``."""
    if value is not None and value < low:
        raise ConfigError(f"{option} must be at least {low}, got {value}")


def add_text_options(parser, box_note: str, text_note: str) -> None:
    """Add ``--text-model``, ``--box-threshold`` and ``--text-threshold`` (the text-prompt detector's settings)."""
    parser.add_argument("--text-model", default="auto", metavar="NAME|FOLDER",
                        help="text detector: auto (grounding-dino-tiny or -base from the cache folder, see `mam download`), "
                             "grounding-dino-tiny, grounding-dino-base, the folder of a Hugging Face Grounding DINO, or "
                             "tiny (a small random detector for trying the pipeline: meaningless boxes)")
    parser.add_argument("--box-threshold", type=float, default=None, metavar="T",
                        help=f"keep boxes whose score exceeds T, in [0, 1] ({box_note})")
    parser.add_argument("--text-threshold", type=float, default=None, metavar="T",
                        help=f"words of the text scoring above T name a box, in [0, 1] ({text_note})")


def text_config(args, base=None, **changes):
    """The :class:`~mam_lib.inference.text.TextPromptConfig` of the parsed options (``ConfigError``
    for a threshold outside [0, 1]); ``base`` gives the values the options leave unset."""
    from ..inference.text import TextPromptConfig

    cfg = base or TextPromptConfig()
    for option, value in (("--box-threshold", args.box_threshold), ("--text-threshold", args.text_threshold)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{option} must lie in [0, 1], got {value:g}")
    return cfg.with_(box_threshold=args.box_threshold, text_threshold=args.text_threshold, **changes)


def background_option(spec: str):
    """``--background``: an ``R,G,B`` colour (each 0..255) or the path of an existing image file."""
    from pathlib import Path

    from ..errors import MamError
    from ..io.cutout import check_color

    parts = spec.split(",")
    if len(parts) == 3 and all(s.strip().lstrip("+-").replace(".", "", 1).isdigit() for s in parts):
        return check_color([s.strip() for s in parts], "--background colour")
    if not Path(spec).is_file():
        raise MamError(f"--background must be R,G,B (each 0..255) or an existing image file, got {spec!r}")
    return spec

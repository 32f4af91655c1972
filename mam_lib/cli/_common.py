"""Checks shared by the sub-commands: options, devices, checkpoint paths (run before any model is built)."""
from __future__ import annotations

from ..errors import ConfigError


def add_overwrite(parser, what: str = "existing output files") -> None:
    """Add ``--overwrite`` (replace existing outputs; inputs are never replaced)."""
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} (inputs of the command are never replaced)")


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

"""Reading image and alpha files, and finding image files and folders (case-insensitively)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ...errors import DatasetError, ImageReadError
from ...io.images import decode_file, image_to_uint8, matte_to_unit, read_matte

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_LIST_AT_MOST = 10  # how many offending names an error message lists


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a colour image as ``(H, W, 3) uint8`` RGB by the rules of :func:`mam_lib.io.images.image_to_uint8`
    (grey is expanded, alpha dropped, 16-bit scaled to 8-bit, float files must be in [0, 1]), within
    the pixel limit. Decoded with OpenCV (fast). Raises :class:`ImageReadError` when unreadable."""
    raw = decode_file(path, "image")
    if raw.ndim == 3 and raw.shape[2] >= 3:
        raw = raw[..., 2::-1]  # BGR(A) → RGB
    return image_to_uint8(raw, repr(str(path)))


def read_alpha(path: str | os.PathLike) -> np.ndarray:
    """Read an alpha matte as ``(H, W) uint8`` (8-bit files) or ``float32 in [0, 1]`` (16-bit, float).

    An RGBA file gives its alpha channel; a colour file must be grey in all channels
    (:func:`mam_lib.io.images.read_matte`); a float file beyond [0, 1] is refused. Raises
    :class:`ImageReadError` when unreadable.
    """
    raw = read_matte(path)
    return raw if raw.dtype == np.uint8 else matte_to_unit(raw, repr(str(path)))


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(H, W)`` of an image file from its header (the pixels are not decoded)."""
    from ...io.images import open_image

    try:
        with open_image(path) as im:  # the pixel limit applies here already
            w, h = im.size
    except ImageReadError:
        raise
    except Exception as err:  # PIL raises several types for broken files
        raise ImageReadError(f"cannot read image {path}: {err}") from None
    return h, w


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files (by extension) in ``folder``, sorted; hidden files are skipped."""
    folder = Path(folder)
    it: Iterable[Path] = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not p.name.startswith("."))


def find_dir(parent: str | os.PathLike, names: Sequence[str]) -> Path | None:
    """The first child folder of ``parent`` whose name matches one of ``names`` (case-insensitive)."""
    parent = Path(parent)
    if not parent.is_dir():
        return None
    children = {p.name.lower(): p for p in parent.iterdir() if p.is_dir()}
    for n in names:
        if n.lower() in children:
            return children[n.lower()]
    return None


def _require_dir(parent: Path, names: Sequence[str], what: str) -> Path:
    found = find_dir(parent, names)
    if found is None:
        have = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
        raise DatasetError(
            f"{what}: no folder named {' or '.join(repr(n) for n in names)} in {parent} "
            f"(it has: {', '.join(have) or 'no folders'}); check the data-set root and layout"
        )
    return found


def _short_list(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LIST_AT_MOST])
    return shown + (f", ... ({len(items) - _LIST_AT_MOST} more)" if len(items) > _LIST_AT_MOST else "")

"""Reading image and alpha files, and finding image files and folders (case-insensitively)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from ...errors import DatasetError, ImageReadError
from ...io.images import read_matte

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_LIST_AT_MOST = 10  # how many offending names an error message lists


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a colour image as ``(H, W, 3) uint8`` RGB (grey is expanded, alpha dropped,
    16-bit reduced to 8-bit). Raises :class:`ImageReadError` when unreadable."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ImageReadError(f"cannot read image {path}: the file is missing, empty or not an image")
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    elif raw.dtype != np.uint8:
        raw = np.clip(raw.astype(np.float32) * (255.0 if raw.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)


def read_alpha(path: str | os.PathLike) -> np.ndarray:
    """Read an alpha matte as ``(H, W) uint8`` (8-bit files) or ``float32 in [0, 1]`` (16-bit).

    An RGBA file gives its alpha channel, another colour file its first channel
    (:func:`mam_lib.io.images.read_matte`). Raises :class:`ImageReadError` when unreadable.
    """
    raw = read_matte(path)
    if raw.dtype == np.uint16:
        return raw.astype(np.float32) * np.float32(1.0 / 65535.0)
    return raw if raw.dtype == np.uint8 else np.clip(raw, 0.0, 1.0)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(H, W)`` of an image file from its header (the pixels are not decoded)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
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

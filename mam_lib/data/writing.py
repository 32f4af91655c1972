"""Writing the images, mattes and JSON of a data set to disk, atomically.

Shared by the synthetic-data writer (:mod:`mam_lib.data.synthesis`) and the on-disk cache of
procedural sources (:mod:`mam_lib.data.sources.generated`). Each file goes to a temporary file in
the same folder and is then renamed over the target (:mod:`mam_lib.io.atomic`), so a reader never
sees half a file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import MamError
from ..io.atomic import atomic_write_bytes
from .transforms.arrays import to_uint8_image


def write_image(path: str | os.PathLike, image: np.ndarray, jpeg_quality: int = 92, png_compression: int = 9) -> None:
    """Write ``(H, W, 3)`` RGB or ``(H, W)`` grey ``uint8`` (floats in [0, 1] are converted)
    atomically; the format follows the extension (``.png``, ``.jpg``). ``png_compression`` 0-9
    trades file size (9: smallest) for speed (1: several times faster)."""
    path = Path(path)
    img = to_uint8_image(np.asarray(image))
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ext = path.suffix.lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in (".jpg", ".jpeg") else \
        [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression)]
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise MamError(f"cannot encode {path.name}: unsupported extension {ext!r}; use .png or .jpg")
    atomic_write_bytes(path, buf.tobytes())


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON (indented by ``indent``, or on one line with ``None``), atomically."""
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=indent) + "\n").encode())


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """``(H, W) float32 in [0, 1]`` to ``uint8`` 0..255 with rounding."""
    return to_uint8_image(np.asarray(alpha, np.float32))

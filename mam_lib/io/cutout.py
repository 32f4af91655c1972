"""Turning a matte into files people use: alpha PNG, RGBA cut-out, composite on a new background.

All writers are atomic (a temporary file next to the destination, then a rename), so an
interrupted run never leaves a half-written PNG over a good one. The format follows the file's
extension (:data:`FORMATS`: PNG, JPEG, TIFF, WebP); a cut-out needs transparency, so it is refused
for JPEG. PNG, JPEG and TIFF files carry the tag :data:`mam_lib.io.outputs.SOFTWARE_TAG` (PNG/TIFF
"Software", JPEG comment), by which :func:`mam_lib.io.outputs.is_own_image` recognises the
files the project wrote (WebP files are not tagged). A matte with NaN or infinite values is
refused rather than written as zeros.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image

from .atomic import atomic_path
from ..errors import ConfigError, ImageReadError, MamError, OutputError
from .images import load_image
from .outputs import SOFTWARE_TAG

#: Extension → PIL format of the files the writers produce.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
#: Formats that store an alpha channel.
_WITH_ALPHA = ("PNG", "TIFF", "WEBP")


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """``(H,W)`` float alpha in [0,1] → uint8 in [0,255], rounded."""
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim != 2:
        raise ImageReadError(f"alpha must be a 2-D (H, W) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise MamError("the matte holds NaN or infinite values, so it cannot be written: the model produced "
                       "non-finite outputs (check its weights, or the input image)")
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def rgba_cutout(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``(H,W,4)`` uint8: the image's colours with the matte as the alpha channel."""
    img = load_image(image)
    if img.shape[:2] != np.shape(alpha):
        raise ImageReadError(f"image {img.shape[:2]} and alpha {np.shape(alpha)} differ in size")
    return np.dstack([img, alpha_to_uint8(alpha)])


def check_color(color, what: str = "background colour") -> tuple[int, int, int]:
    """An RGB colour as three integers in 0..255; raises :class:`ConfigError` for anything else."""
    values = list(color)
    if len(values) != 3:
        raise ConfigError(f"a {what} is three numbers R,G,B, got {values!r}")
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"a {what} is three numbers R,G,B in 0..255, got {values!r}") from None
        if not (0 <= f <= 255) or f != int(f):
            raise ConfigError(f"a {what} is three whole numbers R,G,B in 0..255, got {values!r}")
        out.append(int(f))
    return tuple(out)


def _background(background, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if isinstance(background, (tuple, list)) and len(background) == 3 and all(np.isscalar(c) for c in background):
        return np.broadcast_to(np.asarray(check_color(background), dtype=np.float32), (h, w, 3))
    bg = load_image(background)
    if bg.shape[:2] != (h, w):
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA if bg.shape[0] > h else cv2.INTER_LINEAR)
    return bg.astype(np.float32)


def composite(image: np.ndarray, alpha: np.ndarray, background: "Sequence[int] | np.ndarray | str | os.PathLike" = (0, 177, 64)) -> np.ndarray:
    """``I = αF + (1−α)B`` with the image as F: ``(H,W,3)`` uint8.

    ``background`` is an RGB colour (default green screen), an image array or a path; an image of
    another size is resized to fit (the matte is not moved).
    """
    img = load_image(image).astype(np.float32)
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    bg = _background(background, img.shape[:2])
    return np.clip(np.rint(a * img + (1.0 - a) * bg), 0, 255).astype(np.uint8)


def checkerboard(size: tuple[int, int], square: int = 16, colors=((204, 204, 204), (255, 255, 255))) -> np.ndarray:
    """``(H,W,3)`` uint8 checkerboard, the usual backdrop that shows transparency."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    board = ((yy // square + xx // square) % 2).astype(bool)
    out = np.empty((h, w, 3), np.uint8)
    out[~board] = colors[0]
    out[board] = colors[1]
    return out


def output_format(path: "str | os.PathLike", needs_alpha: bool = False, what: str = "output") -> str:
    """The PIL format for ``path``'s extension; :class:`OutputError` for an unknown one, or for a
    format without transparency when ``needs_alpha``."""
    ext = Path(path).suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise OutputError(f"{what} {str(path)!r}: unknown image extension {ext or '(none)'!r}; use "
                          f"{', '.join(sorted(FORMATS))}")
    if needs_alpha and fmt not in _WITH_ALPHA:
        raise OutputError(f"{what} {str(path)!r}: a cut-out needs transparency, which {fmt} cannot store; "
                          "use .png (or .tif, .webp)")
    return fmt


def _save(path: "str | os.PathLike", array: np.ndarray, needs_alpha: bool = False) -> Path:
    fmt = output_format(path, needs_alpha)
    img = Image.fromarray(array)
    options: dict = {}
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Software", SOFTWARE_TAG)
        options["pnginfo"] = info
    elif fmt == "JPEG":
        options.update(quality=95, comment=SOFTWARE_TAG.encode())
    elif fmt == "TIFF":
        options.update(tiffinfo={305: SOFTWARE_TAG}, compression="tiff_deflate")
    elif fmt == "WEBP":
        options.update(lossless=True)
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **options)
    return Path(path)


def save_alpha(path: "str | os.PathLike", alpha: np.ndarray) -> Path:
    """Write the matte as an 8-bit grey image (PNG, or the format of the extension: :data:`FORMATS`)."""
    return _save(path, alpha_to_uint8(alpha))


def save_rgba(path: "str | os.PathLike", image: np.ndarray, alpha: np.ndarray) -> Path:
    """Write the RGBA cut-out (transparent where α = 0) as PNG, TIFF or WebP."""
    return _save(path, rgba_cutout(image, alpha), needs_alpha=True)


def save_composite(path: "str | os.PathLike", image: np.ndarray, alpha: np.ndarray, background=(0, 177, 64)) -> Path:
    """Write the composite on ``background`` (a colour, an image array or a path) in the format of the extension."""
    return _save(path, composite(image, alpha, background))

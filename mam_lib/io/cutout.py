"""Turning a matte into files people use: alpha PNG, RGBA cut-out, composite on a new background.

All writers are atomic (a temporary file next to the destination, then a rename), so an
interrupted run never leaves a half-written PNG over a good one. The format follows the file's
extension (:data:`FORMATS`: PNG, JPEG, TIFF, WebP); a cut-out needs transparency, so it is refused
for JPEG. PNG, JPEG and TIFF files carry the tag :data:`mam_lib.io.outputs.SOFTWARE_TAG` (PNG/TIFF
"Software", JPEG comment), by which :func:`mam_lib.io.outputs.is_own_image` recognises the
files the project wrote (WebP files are not tagged). A matte with NaN or infinite values is
refused rather than written as zeros.

**Foreground colours.** Cut-outs and composites use the object's estimated foreground colour ``F``
where the matte is fractional (:func:`mam_lib.io.foreground.estimate_foreground`), not the image's
colours, which still hold the old background there: an RGBA file stores ``F`` (straight, not
premultiplied) with ``α``, so any editor's ``αF + (1−α)B`` gives clean edges. ``estimate_fg=False``
writes the image's own colours, as before; ``fg=`` passes colours already estimated (one estimate
shared by a cut-out and a composite of the same matte). Pixels with ``α`` = 0 or 1 (8-bit) keep
the image's colours either way.
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
from .foreground import estimate_foreground, foreground_to_uint8
from .images import image_to_uint8, load_image
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


def _given_fg(fg: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A foreground passed by the caller as ``(H,W,3)`` float32 in [0,1] (float kept unrounded)."""
    u8 = image_to_uint8(fg, "fg")  # the image rules: shape, dtype, range, NaN
    if u8.shape[:2] != tuple(size):
        raise ImageReadError(f"image {tuple(size)} and fg {u8.shape[:2]} differ in size: give the foreground "
                             "estimated for this image and matte")
    f = np.asarray(fg)
    if np.issubdtype(f.dtype, np.floating) and f.ndim == 3 and f.shape[2] == 3:
        return np.clip(f.astype(np.float32, copy=False), 0.0, 1.0)
    return u8.astype(np.float32) / np.float32(255)


def foreground_colors(image: np.ndarray, alpha: np.ndarray, estimate_fg: bool = True,
                      fg: "np.ndarray | None" = None) -> np.ndarray:
    """The colours a cut-out or composite uses: ``(H,W,3)`` float32 in [0,1].

    ``fg`` when given (``(H,W,3)`` uint8, or float in [0,1]); else the estimated foreground
    (``estimate_fg``, :func:`~mam_lib.io.foreground.estimate_foreground`, band only); else the
    image's colours. ``image``: ``(H,W,3)`` uint8; ``alpha``: ``(H,W)`` float in [0,1].
    """
    img = image_to_uint8(image, "the image")
    if fg is not None:
        return _given_fg(fg, img.shape[:2])
    if estimate_fg:
        return estimate_foreground(img, alpha)
    return img.astype(np.float32) / np.float32(255)


def rgba_cutout(image: np.ndarray, alpha: np.ndarray, *, estimate_fg: bool = True,
                fg: "np.ndarray | None" = None) -> np.ndarray:
    """``(H,W,4)`` uint8: the foreground colours (straight) with the matte as the alpha channel.

    ``image``: ``(H,W,3)`` uint8 (or a path, or any array :func:`load_image` accepts);
    ``alpha``: ``(H,W)`` float in [0,1]. The colours are the estimated foreground where the
    8-bit alpha is neither 0 nor 255 (``estimate_fg=False``: the image's colours everywhere);
    ``fg`` gives them ready-made (see :func:`foreground_colors`).
    """
    img = load_image(image)
    if img.shape[:2] != np.shape(alpha):
        raise ImageReadError(f"image {img.shape[:2]} and alpha {np.shape(alpha)} differ in size")
    a8 = alpha_to_uint8(alpha)
    if fg is None and not estimate_fg:
        return np.dstack([img, a8])
    return np.dstack([foreground_to_uint8(foreground_colors(img, alpha, estimate_fg, fg)), a8])


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


def composite(image: np.ndarray, alpha: np.ndarray, background: "Sequence[int] | np.ndarray | str | os.PathLike" = (0, 177, 64),
              *, estimate_fg: bool = True, fg: "np.ndarray | None" = None) -> np.ndarray:
    """``αF + (1−α)B`` on a new background ``B``: ``(H,W,3)`` uint8.

    ``F`` is the estimated foreground colour (``estimate_fg=False``: the image's colours, which
    carry the old background into soft edges; ``fg``: colours given, see :func:`foreground_colors`).
    ``alpha``: ``(H,W)`` float in [0,1]. ``background`` is an RGB colour (default green screen),
    an image array or a path; an image of another size is resized to fit (the matte is not moved).
    """
    img_u8 = load_image(image)
    if fg is None and not estimate_fg:
        img = img_u8.astype(np.float32)
    else:
        if img_u8.shape[:2] != np.shape(alpha):
            raise ImageReadError(f"image {img_u8.shape[:2]} and alpha {np.shape(alpha)} differ in size")
        img = foreground_colors(img_u8, alpha, estimate_fg, fg) * np.float32(255)
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


def save_rgba(path: "str | os.PathLike", image: np.ndarray, alpha: np.ndarray, *, estimate_fg: bool = True,
              fg: "np.ndarray | None" = None) -> Path:
    """Write the RGBA cut-out (transparent where α = 0) as PNG, TIFF or WebP.

    Its colours are the estimated foreground (``estimate_fg=False``: the image's; ``fg``: given),
    as :func:`rgba_cutout`.
    """
    output_format(path, needs_alpha=True)  # a wrong extension is refused before the estimate
    return _save(path, rgba_cutout(image, alpha, estimate_fg=estimate_fg, fg=fg), needs_alpha=True)


def save_composite(path: "str | os.PathLike", image: np.ndarray, alpha: np.ndarray, background=(0, 177, 64), *,
                   estimate_fg: bool = True, fg: "np.ndarray | None" = None) -> Path:
    """Write the composite on ``background`` (a colour, an image array or a path) in the format of the extension.

    The object's colours are the estimated foreground (``estimate_fg=False``: the image's; ``fg``:
    given), as :func:`composite`.
    """
    output_format(path)
    return _save(path, composite(image, alpha, background, estimate_fg=estimate_fg, fg=fg))

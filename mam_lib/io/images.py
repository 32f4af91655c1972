"""Reading images into the one layout the library uses: ``(H,W,3)`` uint8 RGB.

``load_image`` accepts a path, a PIL image or a NumPy array and converts:

* grey ``(H,W)`` or ``(H,W,1)`` → the grey value copied into R, G and B;
* RGBA ``(H,W,4)`` (or a PIL image with transparency) → the alpha channel is dropped and the stored
  colours are kept as they are (nothing is composited);
* float arrays in [0,1] → ×255, rounded; other integer types → clipped to [0,255];
* 16-bit image files → scaled to 8 bits.

Paths are read with PIL (any format it knows); EXIF orientation is applied so the pixels match
what image viewers show.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageReadError


def _from_pil(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        return _from_array(arr / top)
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB") if img.mode in ("P", "LA", "PA") else img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _from_array(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ImageReadError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    a = a[..., :3]
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageReadError(f"the image is empty (shape {a.shape})")
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageReadError("the image array holds NaN or infinite values")
        a = np.clip(np.rint(a * 255.0), 0, 255)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    return np.ascontiguousarray(np.clip(a, 0, 255).astype(np.uint8))


def load_image(image: "str | os.PathLike | Image.Image | np.ndarray") -> np.ndarray:
    """Return ``image`` as ``(H,W,3)`` uint8 RGB (see the module docstring for conversions).

    Raises :class:`~mam_lib.errors.ImageReadError` for a missing or unreadable file or an array of
    an unsupported shape.
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise ImageReadError(f"image file {str(path)!r} does not exist")
        try:
            with Image.open(path) as img:
                img.load()
                return _from_pil(img)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ImageReadError(f"{str(path)!r} could not be read as an image ({err}); is it a PNG/JPEG/… file?") from None
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if isinstance(image, np.ndarray):
        return _from_array(image)
    raise ImageReadError(f"cannot read an image from a {type(image).__name__}; give a path, a PIL image or a NumPy array")


def read_matte(path: "str | os.PathLike") -> np.ndarray:
    """Read an alpha (or trimap) file with its values as stored: ``(H,W)`` uint8, uint16 or float32.

    A 4-channel file gives its alpha channel; any other colour file its first channel (alpha
    and trimap files store the same value in every channel). Decoded with OpenCV from the file's
    bytes, which is fast and also works for non-ASCII paths. Raises
    :class:`~mam_lib.errors.ImageReadError` for a missing, empty or undecodable file.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"alpha file {str(p)!r} does not exist")
    data = np.fromfile(str(p), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if arr is None:
        raise ImageReadError(f"{str(p)!r} could not be read as an image (empty, truncated or not an image file)")
    if arr.ndim == 3:
        arr = arr[..., 3] if arr.shape[2] == 4 else arr[..., 0]
    if arr.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(f"{str(p)!r} holds {arr.dtype} pixels; save alphas as 8- or 16-bit PNG")
    return np.ascontiguousarray(arr)


def load_alpha(path: "str | os.PathLike") -> np.ndarray:
    """Read an alpha matte file as ``(H,W)`` float32 in [0,1] (8-bit /255, 16-bit /65535)."""
    arr = read_matte(path)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) * np.float32(1.0 / 255.0)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) * np.float32(1.0 / 65535.0)
    return np.clip(arr, 0.0, 1.0)

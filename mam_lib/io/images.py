"""Reading images into the one layout the library uses: ``(H,W,3)`` uint8 RGB — with one set of rules.

:func:`load_image` accepts a path, a PIL image or a NumPy array; :func:`image_to_uint8` holds the
rules every colour loader of the project applies (the data sets' readers too):

===================================  ===========================================================
what is given                        what happens
===================================  ===========================================================
shape ``(H,W)`` / ``(H,W,1)``        grey: the value is copied into R, G and B
shape ``(H,W,3)``                    RGB
shape ``(H,W,4)``                    RGBA: the alpha channel is dropped, colours kept as stored
any other shape, or H or W = 0       refused
``uint8``                            used as it is (0..255)
``uint16`` (arrays and 16-bit files) scaled: ``round(v × 255 / 65535)`` (65535 → 255)
``bool``                             False → 0, True → 255
other integers (int8…int64, uint32)  accepted when every value is in 0..255; otherwise refused
float in [0, 1]                      × 255, rounded (values within 1/512 outside [0, 1] are clipped)
float beyond [0, 1] (e.g. 0..255)    refused: divide by 255, or pass uint8
float with NaN or ±inf               refused
anything else (complex, objects)     refused
===================================  ===========================================================

Image files are read with PIL (any format it knows; 8-bit modes are converted to RGB, 16-bit and
32-bit integer modes follow the ``uint16`` rule, 32-bit float images (TIFF) the float rule); EXIF
orientation is applied so the pixels match what image viewers show.

**Pixel limit.** A file whose header announces more than :func:`max_image_pixels` pixels is
refused before it is decoded (a guard against "decompression bombs": a small file that would
decode to gigabytes). The default, :data:`DEFAULT_MAX_PIXELS` (150 million, room for a
12000×9000 photo), can be raised with the environment variable ``MAM_MAX_IMAGE_PIXELS`` or the
``max_pixels`` argument of the readers; PIL's own, lower limit is not used.

Mattes (:func:`read_matte`, :func:`load_alpha`) keep their stored values: ``(H,W)`` uint8, uint16
or float32. A 4-channel file gives its alpha channel; a 3-channel file must hold the same value in
every channel (differences of up to 2 levels, as JPEG leaves them, are averaged away), else it is
refused rather than read from one channel. :func:`check_trimap` accepts only the values 0, 128
and 255.
"""
from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ConfigError, ImageReadError

#: Default of :func:`max_image_pixels`: 150 megapixels (a 12000×9000 photo has 108).
DEFAULT_MAX_PIXELS = 150_000_000
#: Environment variable that sets the pixel limit.
MAX_PIXELS_ENV = "MAM_MAX_IMAGE_PIXELS"
#: Float values this far outside [0, 1] are clipped (they round to the same 8-bit value).
FLOAT_TOLERANCE = 1.0 / 512.0
#: Largest channel difference of a 3-channel matte still read as grey (JPEG's rounding).
GREY_TOLERANCE = 2
#: The values of a trimap: background, unknown, foreground.
TRIMAP_VALUES = (0, 128, 255)

_PIL_LIMIT_LOCK = threading.Lock()


def max_image_pixels(limit: int | None = None) -> int:
    """The pixel limit in force: ``limit`` when given, else ``$MAM_MAX_IMAGE_PIXELS``, else the default."""
    if limit is not None:
        value, source = limit, "max_pixels"
    else:
        env = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not env:
            return DEFAULT_MAX_PIXELS
        value, source = env.replace("_", ""), MAX_PIXELS_ENV
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ConfigError(f"{source} must be a number of pixels such as 200000000, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{source} must be at least 1 pixel, got {value!r}")
    return number


def check_pixels(width: int, height: int, source: str, limit: int | None = None) -> None:
    """Raise :class:`ImageReadError` when a ``width × height`` image exceeds the pixel limit."""
    cap = max_image_pixels(limit)
    if int(width) * int(height) > cap:
        raise ImageReadError(
            f"{source} is {width}×{height} = {int(width) * int(height) / 1e6:.1f} megapixels, more than the limit of "
            f"{cap / 1e6:.0f} megapixels (a guard against decompression bombs). If the file is genuine, raise the "
            f"limit: set {MAX_PIXELS_ENV}={int(width) * int(height)} or pass max_pixels=…")


def image_to_uint8(arr: np.ndarray, source: str = "the image array") -> np.ndarray:
    """Apply the rules of the module docstring: any accepted array → ``(H,W,3)`` uint8 RGB."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ImageReadError(f"{source} must be (H, W), (H, W, 3) or (H, W, 4), got shape {np.shape(arr)}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageReadError(f"{source} is empty (shape {np.shape(arr)})")
    a = a[..., :3]
    if a.dtype == np.uint8:
        out = a
    elif a.dtype == np.bool_:
        out = a.astype(np.uint8) * np.uint8(255)
    elif a.dtype == np.uint16:
        out = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ImageReadError(f"{source} is {a.dtype} with values in [{lo}, {hi}]; integer images must be in 0..255 "
                                 "(or uint16 in 0..65535): convert it to uint8, or to float in [0, 1]")
        out = a.astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32, copy=False)
        if not np.isfinite(f).all():
            raise ImageReadError(f"{source} holds NaN or infinite values; replace them before loading it")
        lo, hi = float(f.min()), float(f.max())
        if lo < -FLOAT_TOLERANCE or hi > 1.0 + FLOAT_TOLERANCE:
            scale = " — it looks like 0..255: divide it by 255, or convert it to uint8" if lo >= 0 and hi <= 255 else ""
            raise ImageReadError(f"{source} is {a.dtype} with values in [{lo:g}, {hi:g}]; float images must be in "
                                 f"[0, 1]{scale}")
        out = np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8)
    else:
        raise ImageReadError(f"{source} has dtype {a.dtype}; give uint8 (0..255), uint16, bool or float in [0, 1]")
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out)


def _from_pil(img: Image.Image, source: str) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return image_to_uint8(np.asarray(img).astype(np.uint16), source)
    if img.mode == "I":  # 32-bit integers: 16-bit PNGs open so; the uint16 range is the one accepted
        arr = np.asarray(img, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageReadError(f"{source} is a 32-bit integer image with values in [{arr.min()}, {arr.max()}]; "
                                 "save it as 8- or 16-bit")
        return image_to_uint8(arr.astype(np.uint16), source)
    if img.mode == "F":  # 32-bit float (TIFF): the float rule
        return image_to_uint8(np.asarray(img, dtype=np.float32), source)
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB") if img.mode in ("P", "LA", "PA") else img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _pil_open(p: "Path | io.BytesIO", label: str | None = None) -> Image.Image:
    """``Image.open`` without PIL's own pixel limit (ours is checked by the callers)."""
    label = label or repr(str(p))
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # our own limit applies, below
        try:
            img = Image.open(p)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ImageReadError(f"{label} could not be read as an image ({err}); is it a PNG/JPEG/… file?") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    return img


def load_image_bytes(content: bytes, name: str = "upload", max_pixels: int | None = None) -> np.ndarray:
    """An encoded image file's bytes (an upload) as ``(H,W,3)`` uint8 RGB: the rules and the pixel
    limit of files, checked before decoding. Raises :class:`ImageReadError`."""
    label = repr(name)
    if not content:
        raise ImageReadError(f"{label} is empty: choose an image file (PNG, JPEG, …)")
    img = _pil_open(io.BytesIO(content), label)
    try:
        with img:
            check_pixels(img.width, img.height, label, max_pixels)
            img.load()
            return _from_pil(img, label)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageReadError(f"{label} could not be read as an image ({type(err).__name__}); "
                             "choose a PNG, JPEG, WebP, BMP or TIFF file") from None


def open_image(path: "str | os.PathLike", max_pixels: int | None = None) -> Image.Image:
    """Open an image file with PIL after checking its size against the pixel limit (decoded lazily).

    Raises :class:`ImageReadError` for a missing or unidentifiable file or one over the limit.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"image file {str(p)!r} does not exist" if not p.is_dir()
                             else f"{str(p)!r} is a folder, not an image file")
    img = _pil_open(p)
    try:
        check_pixels(img.width, img.height, repr(str(p)), max_pixels)
    except ImageReadError:
        img.close()
        raise
    return img


def load_image(image: "str | os.PathLike | Image.Image | np.ndarray", max_pixels: int | None = None) -> np.ndarray:
    """Return ``image`` as ``(H,W,3)`` uint8 RGB (see the module docstring for the rules).

    Raises :class:`~mam_lib.errors.ImageReadError` for a missing or unreadable file, a file over
    the pixel limit (``max_pixels``, see :func:`max_image_pixels`), or an array the rules refuse.
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        img = open_image(path, max_pixels)
        try:
            with img:
                img.load()
                return _from_pil(img, repr(str(path)))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise ImageReadError(f"{str(path)!r} could not be read as an image ({err}); is it a PNG/JPEG/… file?") from None
    if isinstance(image, Image.Image):
        return _from_pil(image, "the PIL image")
    if isinstance(image, np.ndarray):
        return image_to_uint8(image)
    raise ImageReadError(f"cannot read an image from a {type(image).__name__}; give a path, a PIL image or a NumPy array")


def _header_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from a file's header, or None when PIL does not know the format."""
    try:
        with _pil_open(path) as img:
            return img.width, img.height
    except ImageReadError:
        return None


def decode_file(path: "str | os.PathLike", what: str = "image", max_pixels: int | None = None) -> np.ndarray:
    """Decode a file with OpenCV as stored (``IMREAD_UNCHANGED``: BGR order, any depth), after the pixel check.

    Raises :class:`ImageReadError` for a missing, empty, undecodable or too large file.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{what} file {str(p)!r} does not exist" if not p.is_dir()
                             else f"{str(p)!r} is a folder, not an {what} file")
    size = _header_size(p)
    if size is not None:
        check_pixels(size[0], size[1], repr(str(p)), max_pixels)
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as err:
        raise ImageReadError(f"{str(p)!r} could not be read ({err.strerror or err}); check its permissions") from None
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if arr is None:
        raise ImageReadError(f"{str(p)!r} could not be read as an image (empty, truncated or not an image file)")
    return arr


def read_matte(path: "str | os.PathLike", max_pixels: int | None = None) -> np.ndarray:
    """Read an alpha (or trimap) file with its values as stored: ``(H,W)`` uint8, uint16 or float32.

    A 4-channel file gives its alpha channel; a 3-channel file must hold one grey value in all
    channels (see the module docstring). Decoded with OpenCV from the file's bytes, which is fast
    and also works for non-ASCII paths. Raises :class:`~mam_lib.errors.ImageReadError` for a
    missing, empty, undecodable or too large file, a colour file, or an unsupported depth.
    """
    p = Path(path)
    arr = decode_file(p, "alpha", max_pixels)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., 3]
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3:
        channels = arr[..., :3]
        spread = channels.max(axis=2).astype(np.float64) - channels.min(axis=2)
        worst = float(spread.max()) if spread.size else 0.0
        tolerance = GREY_TOLERANCE * (257 if arr.dtype == np.uint16 else 1) if arr.dtype != np.float32 else 1e-6
        if worst > tolerance:
            raise ImageReadError(f"{str(p)!r} is a colour image whose channels differ (by up to {worst:g}); an alpha "
                                 "or trimap file must be grey (one value per pixel): save it as a grey PNG")
        if worst == 0:
            arr = channels[..., 0]
        else:
            arr = np.rint(channels.astype(np.float32).mean(axis=2)).astype(arr.dtype) if arr.dtype != np.float32 \
                else channels.mean(axis=2).astype(np.float32)
    if arr.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(f"{str(p)!r} holds {arr.dtype} pixels; save alphas as 8- or 16-bit PNG")
    if arr.dtype == np.float32 and not np.isfinite(arr).all():
        raise ImageReadError(f"{str(p)!r} holds NaN or infinite values; an alpha must be in [0, 1]")
    return np.ascontiguousarray(arr)


def matte_to_unit(arr: np.ndarray, source: str = "the alpha") -> np.ndarray:
    """A stored matte as ``(H,W)`` float32 in [0,1]: uint8 ÷255, uint16 ÷65535, float32 in [0,1] as
    it is (within :data:`FLOAT_TOLERANCE`, clipped). A float matte beyond [0,1] is refused."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) * np.float32(1.0 / 255.0)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) * np.float32(1.0 / 65535.0)
    f = arr.astype(np.float32, copy=False)
    if not np.isfinite(f).all():
        raise ImageReadError(f"{source} holds NaN or infinite values; an alpha must be in [0, 1]")
    lo, hi = (float(f.min()), float(f.max())) if f.size else (0.0, 0.0)
    if lo < -FLOAT_TOLERANCE or hi > 1.0 + FLOAT_TOLERANCE:
        raise ImageReadError(f"{source} holds float values in [{lo:g}, {hi:g}]; a float alpha must be in [0, 1] "
                             "(divide it by 255, or save it as an 8-bit PNG)")
    return np.clip(f, 0.0, 1.0)


def load_alpha(path: "str | os.PathLike", max_pixels: int | None = None) -> np.ndarray:
    """Read an alpha matte file as ``(H,W)`` float32 in [0,1] (8-bit /255, 16-bit /65535, float as
    stored; a float file beyond [0,1] is refused)."""
    return matte_to_unit(read_matte(path, max_pixels), repr(str(path)))


def check_trimap(trimap: np.ndarray, source: str = "the trimap") -> np.ndarray:
    """Return ``trimap`` (uint8) after checking it holds only 0, 128 and 255; raise :class:`ImageReadError` otherwise.

    A uint16 trimap of 0 / 32896 / 65535 (the same classes at 16 bits) is converted to uint8.
    """
    t = np.asarray(trimap)
    if t.dtype == np.uint16:
        values16 = np.unique(t)
        if np.isin(values16, (0, 32896, 65535)).all():
            return (t // 257).astype(np.uint8)
    if t.dtype != np.uint8:
        raise ImageReadError(f"{source} holds {t.dtype} values; a trimap is an 8-bit grey image with 0 = background, "
                             "128 = unknown, 255 = foreground")
    values = np.unique(t)
    bad = values[~np.isin(values, TRIMAP_VALUES)]
    if bad.size:
        shown = ", ".join(str(int(v)) for v in bad[:6]) + (" …" if bad.size > 6 else "")
        raise ImageReadError(f"{source} holds values other than 0, 128 and 255 ({shown}); a trimap marks each pixel "
                             "as 0 = background, 128 = unknown or 255 = foreground: save it with exactly those values")
    return t

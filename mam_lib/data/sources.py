"""Readers of matting data-set folder layouts, and in-memory and procedural sources.

Three kinds of source feed :class:`mam_lib.data.dataset.MattingDataset`; each has ``len()``,
``load(index)`` and ``describe()``:

* **foreground sources** (composited on backgrounds): ``load(i) -> (fg, alpha)``;
* **image sources** (real photographs, used as they are): ``load(i) -> (image, alpha)``;
* **background sources**: ``load(i) -> bg``.

Colours are ``(H, W, 3) uint8`` RGB; alphas are ``(H, W) uint8`` (0..255) as stored, or
``float32 in [0, 1]`` for procedural and 16-bit sources.

Folder layouts (names are matched case-insensitively, files paired by file stem):

=====================  ==============================================  ===============
reader                 layout under ``root``                           role
=====================  ==============================================  ===============
:func:`aim`            ``Training_set|Test_set/**/fg/`` + ``alpha/``    foregrounds
:func:`distinctions646` ``Train|Test/FG/`` + ``GT/``                    foregrounds
:func:`am2k`           ``train|validation/fg/`` + ``mask/``            foregrounds
                       (``use="original"``: ``original/`` + ``mask/``)  (images)
:func:`human2k`        ``Train|Test/FG/`` + ``Alpha/``                 foregrounds
:func:`p3m`            ``train/blurred_image/`` + ``mask/``;            images
                       ``validation/P3M-500-P|NP/…_image/`` + ``mask/``
:func:`refmatte`       ``train|test/img|image|images/`` + ``mask/``    images
:func:`backgrounds`    any folder of images, searched recursively      backgrounds
                       (COCO ``train2017/``, BG-20K ``train/``)
:func:`image_alpha_folder` ``images/`` + ``alphas/`` (what ``mam synth``  images
                       writes); ``fg/`` + ``alpha(s)/`` via
                       :func:`foreground_folder`                        foregrounds
=====================  ==============================================  ===============

Pairing is strict by default: unpaired files or files whose sizes differ raise
:class:`mam_lib.errors.DatasetError`, which lists them (the first few) and how many there are.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import cv2
import numpy as np

from ..errors import DatasetError, ImageReadError
from ..io.images import read_matte
from .writing import alpha_to_uint8, write_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_LIST_AT_MOST = 10  # how many offending names an error message lists


# --------------------------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# pairing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A colour file and its alpha file."""

    color: Path
    alpha: Path

    @property
    def name(self) -> str:
        return self.alpha.stem


def pair_by_stem(
    color_dir: str | os.PathLike,
    alpha_dir: str | os.PathLike,
    strict: bool = True,
    check_sizes: bool = True,
    prefix_match: bool = False,
    what: str = "data set",
) -> list[Pair]:
    """Pair the images of two folders by file stem (``a/x.jpg`` with ``b/x.png``).

    Args:
        color_dir: folder of colour images (foregrounds or photographs).
        alpha_dir: folder of alpha mattes.
        strict: raise :class:`DatasetError` on unpaired or size-mismatched files; otherwise
            drop them.
        check_sizes: compare image sizes from file headers.
        prefix_match: also pair an alpha ``x_1.png`` with the colour image ``x.jpg``
            (several alphas per image, as in RefMatte); pairs are then one per alpha.
        what: name used in error messages.

    Returns:
        pairs sorted by alpha stem.
    """
    color_dir, alpha_dir = Path(color_dir), Path(alpha_dir)
    colors = {p.stem: p for p in list_images(color_dir)}
    alphas = {p.stem: p for p in list_images(alpha_dir)}
    if not colors and not alphas:
        raise DatasetError(f"{what}: no images in {color_dir} nor in {alpha_dir}")
    pairs: list[Pair] = []
    used: set[str] = set()
    unpaired_alpha: list[str] = []
    for stem in sorted(alphas):
        c = colors.get(stem)
        if c is None and prefix_match and "_" in stem:
            c = colors.get(stem.rsplit("_", 1)[0])
        if c is None:
            unpaired_alpha.append(alphas[stem].name)
            continue
        used.add(c.stem)
        pairs.append(Pair(c, alphas[stem]))
    unpaired_color = [colors[s].name for s in sorted(colors) if s not in used]
    mismatched: list[str] = []
    if check_sizes:
        kept = []
        for p in pairs:
            sc, sa = image_size(p.color), image_size(p.alpha)
            if sc != sa:
                mismatched.append(f"{p.color.name} {sc[1]}x{sc[0]} vs {p.alpha.name} {sa[1]}x{sa[0]}")
            else:
                kept.append(p)
        pairs = kept
    problems = []
    if unpaired_color:
        problems.append(f"{len(unpaired_color)} image(s) in {color_dir} without an alpha in {alpha_dir}: "
                        f"{_short_list(unpaired_color)}")
    if unpaired_alpha:
        problems.append(f"{len(unpaired_alpha)} alpha(s) in {alpha_dir} without an image in {color_dir}: "
                        f"{_short_list(unpaired_alpha)}")
    if mismatched:
        problems.append(f"{len(mismatched)} pair(s) whose sizes differ: {_short_list(mismatched)}")
    if problems and strict:
        raise DatasetError(
            f"{what}: {len(pairs)} good pair(s), but " + "; ".join(problems)
            + ". Files are paired by name without extension; rename or remove the odd ones, "
            "or pass strict=False to skip them."
        )
    if not pairs:
        raise DatasetError(f"{what}: no image/alpha pairs between {color_dir} and {alpha_dir}")
    return pairs


# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------


class ForegroundSource(Protocol):
    """Foregrounds to composite: ``load(i) -> (fg (H,W,3) uint8, alpha (H,W) uint8|float32)``."""

    name: str

    def __len__(self) -> int: ...

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...

    def describe(self) -> str: ...


class BackgroundSource(Protocol):
    """Backgrounds: ``load(i) -> bg (H,W,3) uint8``."""

    name: str

    def __len__(self) -> int: ...

    def load(self, index: int) -> np.ndarray: ...

    def describe(self) -> str: ...


class PairedFolder:
    """Colour images paired with alphas; ``role`` says whether the colours are foregrounds to
    composite (``"foreground"``) or real photographs (``"image"``).

    ``load(i)`` returns ``(color (H,W,3) uint8 RGB, alpha (H,W) uint8 or float32)``.
    """

    def __init__(self, pairs: Sequence[Pair], name: str, role: str = "foreground"):
        if role not in ("foreground", "image"):
            raise ValueError(f"role must be 'foreground' or 'image', got {role!r}")
        self.pairs = list(pairs)
        self.name = name
        self.role = role

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        p = self.pairs[index]
        color, alpha = read_image(p.color), read_alpha(p.alpha)
        if color.shape[:2] != alpha.shape[:2]:
            raise DatasetError(f"{self.name}: {p.color.name} is {color.shape[1]}x{color.shape[0]} but "
                               f"{p.alpha.name} is {alpha.shape[1]}x{alpha.shape[0]}")
        return color, alpha

    def describe(self) -> str:
        noun = "foregrounds" if self.role == "foreground" else "images"
        return f"{self.name}: {len(self)} {noun}"

    def __repr__(self) -> str:
        return f"PairedFolder({self.describe()})"


class BackgroundFolder:
    """Every image under a folder (recursively), used as backgrounds."""

    def __init__(self, root: str | os.PathLike, name: str | None = None, recursive: bool = True):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"background folder {root} does not exist")
        self.files = list_images(root, recursive=recursive)
        if not self.files:
            raise DatasetError(f"background folder {root} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        self.name = name or f"backgrounds {root}"

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> np.ndarray:
        return read_image(self.files[index])

    def describe(self) -> str:
        return f"{self.name}: {len(self)} backgrounds"

    def __repr__(self) -> str:
        return f"BackgroundFolder({self.describe()})"


class _LRU:
    """A small least-recently-used cache of generated items (per process)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.items: OrderedDict[int, object] = OrderedDict()

    def get(self, key: int, make: Callable[[], object]) -> object:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        if self.capacity > 0:
            self.items[key] = value
            if len(self.items) > self.capacity:
                self.items.popitem(last=False)
        return value


def _disk_cached(path_stem: Path | None, make: Callable[[], tuple[np.ndarray, ...]], with_alpha: bool):
    """Read ``<stem>.png`` (and ``<stem>_alpha.png``) if present, else ``make()`` and write them
    atomically (safe with several workers writing the same item)."""
    if path_stem is None:
        return make()
    color_path = path_stem.with_name(path_stem.name + ".png")
    alpha_path = path_stem.with_name(path_stem.name + "_alpha.png")
    if color_path.exists() and (not with_alpha or alpha_path.exists()):
        try:
            color = read_image(color_path)
            return (color, read_alpha(alpha_path)) if with_alpha else (color,)
        except ImageReadError:
            pass  # a damaged file: make it again
    out = make()
    if with_alpha:
        write_image(alpha_path, alpha_to_uint8(out[1]), png_compression=1)
    write_image(color_path, out[0], png_compression=1)
    return out


class ProceduralForegrounds:
    """``count`` procedural foregrounds: item ``i`` is ``make_foreground(seed + i, size, kind)``.

    Items are generated on demand and the last ``cache`` are kept in memory (per process).
    ``kinds`` restricts the kinds drawn (``None``: all, chosen by the item's seed). With
    ``cache_dir``, generated items are also stored there as PNG files (8-bit alpha, as real data
    sets store it) and read back instead of being drawn again — several times faster once every
    item has been made.
    """

    def __init__(self, count: int = 10_000, size: tuple[int, int] = (768, 1024), seed: int = 0,
                 kinds: Sequence[str] | None = None, cache: int = 8, supersample: int = 4,
                 cache_dir: str | os.PathLike | None = None):
        self.count, self.size, self.seed = int(count), tuple(size), int(seed)
        self.kinds = tuple(kinds) if kinds else None
        self.supersample = supersample
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._cache = _LRU(cache)
        self.name = "procedural foregrounds"

    def __len__(self) -> int:
        return self.count

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        from .procedural import make_foreground

        kind = self.kinds[index % len(self.kinds)] if self.kinds else None
        stem = None
        if self.cache_dir is not None:
            stem = self.cache_dir / (f"fg_{self.seed + index}_{kind or 'any'}_{self.size[0]}x{self.size[1]}"
                                     f"_ss{self.supersample}")

        def make():
            return _disk_cached(stem, lambda: make_foreground(self.seed + index, self.size, kind, self.supersample),
                                with_alpha=True)

        return self._cache.get(index, make)  # type: ignore[return-value]

    def describe(self) -> str:
        kinds = ", ".join(self.kinds) if self.kinds else "all kinds"
        where = f", stored in {self.cache_dir}" if self.cache_dir is not None else ""
        return f"{self.name}: {self.count} ({kinds}, {self.size[1]}x{self.size[0]}, seed {self.seed}{where})"


class ProceduralBackgrounds:
    """``count`` procedural backgrounds: item ``i`` is ``make_background(seed + i, size)``
    (memory and disk caching as :class:`ProceduralForegrounds`)."""

    def __init__(self, count: int = 10_000, size: tuple[int, int] = (768, 1024), seed: int = 0, cache: int = 8,
                 cache_dir: str | os.PathLike | None = None):
        self.count, self.size, self.seed = int(count), tuple(size), int(seed)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._cache = _LRU(cache)
        self.name = "procedural backgrounds"

    def __len__(self) -> int:
        return self.count

    def load(self, index: int) -> np.ndarray:
        from .procedural import make_background

        stem = None
        if self.cache_dir is not None:
            stem = self.cache_dir / f"bg_{self.seed + index}_{self.size[0]}x{self.size[1]}"

        def make():
            return _disk_cached(stem, lambda: (make_background(self.seed + index, self.size),), with_alpha=False)[0]

        return self._cache.get(index, make)  # type: ignore[return-value]

    def describe(self) -> str:
        where = f", stored in {self.cache_dir}" if self.cache_dir is not None else ""
        return f"{self.name}: {self.count} ({self.size[1]}x{self.size[0]}, seed {self.seed}{where})"


class ArrayForegrounds:
    """Foregrounds (or, with ``role="image"``, photographs) held in memory as arrays."""

    def __init__(self, colors: Sequence[np.ndarray], alphas: Sequence[np.ndarray], name: str = "in-memory",
                 role: str = "foreground"):
        if len(colors) != len(alphas) or not colors:
            raise DatasetError(f"{name}: need as many colour arrays as alphas (got {len(colors)} and {len(alphas)})")
        for i, (c, a) in enumerate(zip(colors, alphas)):
            if c.shape[:2] != a.shape[:2]:
                raise DatasetError(f"{name}: item {i} colour {c.shape[:2]} and alpha {a.shape[:2]} differ in size")
        self.colors, self.alphas, self.name, self.role = list(colors), list(alphas), name, role

    def __len__(self) -> int:
        return len(self.colors)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.colors[index], self.alphas[index]

    def describe(self) -> str:
        return f"{self.name}: {len(self)} {'foregrounds' if self.role == 'foreground' else 'images'}"


class ArrayBackgrounds:
    """Backgrounds held in memory."""

    def __init__(self, bgs: Sequence[np.ndarray], name: str = "in-memory backgrounds"):
        if not bgs:
            raise DatasetError(f"{name}: no backgrounds given")
        self.bgs, self.name = list(bgs), name

    def __len__(self) -> int:
        return len(self.bgs)

    def load(self, index: int) -> np.ndarray:
        return self.bgs[index]

    def describe(self) -> str:
        return f"{self.name}: {len(self)} backgrounds"


# --------------------------------------------------------------------------------------------
# layout readers
# --------------------------------------------------------------------------------------------

_TRAIN = ("train", "training", "training_set", "train_set")
_TEST = ("test", "testing", "test_set", "val", "valid", "validation", "eval")


def _split_dir(root: Path, split: str, train_names: Sequence[str] = _TRAIN,
               test_names: Sequence[str] = _TEST, what: str = "data set") -> Path:
    if not root.is_dir():
        raise DatasetError(f"{what}: folder {root} does not exist")
    if split not in ("train", "test", "val"):
        raise DatasetError(f"{what}: split must be 'train', 'test' or 'val', got {split!r}")
    names = train_names if split == "train" else test_names
    return _require_dir(root, names, f"{what} ({split} split)")


def aim(root: str | os.PathLike, split: str = "train", strict: bool = True) -> PairedFolder:
    """Adobe Image Matting / Composition-1k foregrounds.

    ``root`` is the ``Combined_Dataset`` folder (holding ``Training_set`` and ``Test_set``) or a
    split folder itself. Every ``fg/`` folder below the split (e.g. ``Adobe-licensed images/fg``
    and ``Other/fg``) is paired with its sibling ``alpha/`` folder.
    """
    root = Path(root)
    what = f"AIM {split}"
    base = find_dir(root, ("Training_set", "train") if split == "train" else ("Test_set", "test", "val"))
    base = base or root
    if not base.is_dir():
        raise DatasetError(f"{what}: folder {root} does not exist")
    fg_dirs = sorted(p for p in [base, *base.rglob("*")] if p.is_dir() and p.name.lower() == "fg")
    pairs: list[Pair] = []
    for fg_dir in fg_dirs:
        alpha_dir = find_dir(fg_dir.parent, ("alpha", "alphas", "alpha_copy"))
        if alpha_dir is not None:
            pairs += pair_by_stem(fg_dir, alpha_dir, strict=strict, what=what)
    if not pairs:
        raise DatasetError(f"{what}: no 'fg' folder with a sibling 'alpha' folder under {base}; "
                           "point root at Combined_Dataset or at Training_set / Test_set")
    return PairedFolder(pairs, what, "foreground")


def _two_folder_layout(root, split, color_names, alpha_names, what, role, strict, train_names=_TRAIN,
                       test_names=_TEST, prefix_match=False) -> PairedFolder:
    base = _split_dir(Path(root), split, train_names, test_names, what)
    color_dir = _require_dir(base, color_names, what)
    alpha_dir = _require_dir(base, alpha_names, what)
    pairs = pair_by_stem(color_dir, alpha_dir, strict=strict, what=what, prefix_match=prefix_match)
    return PairedFolder(pairs, what, role)


def distinctions646(root: str | os.PathLike, split: str = "train", strict: bool = True) -> PairedFolder:
    """Distinctions-646 foregrounds: ``Train|Test/FG/`` with ``GT/`` alphas."""
    return _two_folder_layout(root, split, ("FG",), ("GT", "alpha"), f"Distinctions-646 {split}",
                              "foreground", strict)


def am2k(root: str | os.PathLike, split: str = "train", use: str = "fg", strict: bool = True) -> PairedFolder:
    """AM-2K animals: ``train|validation/fg/`` with ``mask/`` alphas (foregrounds), or with
    ``use="original"`` the photographs ``original/`` with ``mask/`` (real images)."""
    if use not in ("fg", "original"):
        raise DatasetError(f"AM-2K: use must be 'fg' or 'original', got {use!r}")
    names = ("fg",) if use == "fg" else ("original",)
    return _two_folder_layout(root, split, names, ("mask", "alpha"), f"AM-2K {split}",
                              "foreground" if use == "fg" else "image", strict)


def human2k(root: str | os.PathLike, split: str = "train", strict: bool = True) -> PairedFolder:
    """Human-2K (and other ``FG/`` + ``Alpha/`` portrait sets): ``Train|Test/FG/`` with ``Alpha/``."""
    return _two_folder_layout(root, split, ("FG", "fg"), ("Alpha", "alpha", "alphas"), f"Human-2K {split}",
                              "foreground", strict)


def p3m(root: str | os.PathLike, split: str = "train", subset: str = "P3M-500-P", strict: bool = True) -> PairedFolder:
    """P3M-10k portraits (real images): ``train/blurred_image/`` + ``mask/``; for validation,
    ``validation/<subset>/blurred_image|original_image/`` + ``mask/`` (``subset`` is
    ``P3M-500-P`` or ``P3M-500-NP``)."""
    root = Path(root)
    what = f"P3M {split}"
    base = _split_dir(root, split, what=what)
    if split != "train":
        base = _require_dir(base, (subset,), what)
    color_dir = _require_dir(base, ("blurred_image", "original_image", "image", "images"), what)
    alpha_dir = _require_dir(base, ("mask", "alpha"), what)
    return PairedFolder(pair_by_stem(color_dir, alpha_dir, strict=strict, what=what), what, "image")


def refmatte(root: str | os.PathLike, split: str = "train", strict: bool = True) -> PairedFolder:
    """RefMatte (real images, one alpha per referred instance): ``train|test/img/`` + ``mask/``.

    An alpha ``<image stem>_<k>.png`` belongs to image ``<image stem>.*``; exact stems pair too.
    """
    return _two_folder_layout(root, split, ("img", "image", "images"), ("mask", "masks", "alpha"),
                              f"RefMatte {split}", "image", strict, prefix_match=True)


def backgrounds(root: str | os.PathLike, name: str | None = None) -> BackgroundFolder:
    """Any folder of images (searched recursively) as backgrounds: COCO ``train2017/``,
    BG-20K ``train/``, or a user's own photographs."""
    return BackgroundFolder(root, name)


def image_alpha_folder(
    root: str | os.PathLike, images: str = "images", alphas: str = "alphas", strict: bool = True
) -> PairedFolder:
    """A user's own photographs: ``root/images/`` paired by stem with ``root/alphas/``.

    This is the layout ``mam synth`` writes, so synthetic sets round-trip.
    """
    root = Path(root)
    what = f"images+alphas {root}"
    if not root.is_dir():
        raise DatasetError(f"{what}: folder {root} does not exist")
    color_dir = _require_dir(root, (images,), what)
    alpha_dir = _require_dir(root, (alphas, "alpha", "masks", "mask"), what)
    return PairedFolder(pair_by_stem(color_dir, alpha_dir, strict=strict, what=what), what, "image")


def foreground_folder(
    root: str | os.PathLike, fg: str = "fg", alphas: str = "alpha", strict: bool = True
) -> PairedFolder:
    """A user's own foregrounds: ``root/fg/`` paired by stem with ``root/alpha/`` (or ``alphas/``).

    ``data_samples/foregrounds`` uses this layout.
    """
    root = Path(root)
    what = f"fg+alpha {root}"
    if not root.is_dir():
        raise DatasetError(f"{what}: folder {root} does not exist")
    color_dir = _require_dir(root, (fg, "fg", "foreground", "foregrounds"), what)
    alpha_dir = _require_dir(root, (alphas, "alpha", "alphas"), what)
    return PairedFolder(pair_by_stem(color_dir, alpha_dir, strict=strict, what=what), what, "foreground")


#: Layout names accepted by :func:`open_source` and :class:`mam_lib.data.dataset.SourceSpec`.
LAYOUTS: dict[str, Callable[..., object]] = {
    "aim": aim,
    "composition1k": aim,
    "distinctions646": distinctions646,
    "am2k": am2k,
    "human2k": human2k,
    "p3m": p3m,
    "refmatte": refmatte,
    "backgrounds": backgrounds,
    "coco": backgrounds,
    "bg20k": backgrounds,
    "images_alphas": image_alpha_folder,
    "fg_alpha": foreground_folder,
}


def open_source(layout: str, root: str | os.PathLike, split: str = "train", **kwargs):
    """Open a folder with the reader named ``layout`` (a key of :data:`LAYOUTS`)."""
    key = layout.lower().replace("-", "").replace("_", "") if layout not in LAYOUTS else layout
    aliases = {k.replace("_", ""): k for k in LAYOUTS}
    if key not in LAYOUTS:
        key = aliases.get(key, key)
    if key not in LAYOUTS:
        raise DatasetError(f"unknown data-set layout {layout!r}; known layouts: {', '.join(sorted(LAYOUTS))}")
    reader = LAYOUTS[key]
    if reader in (backgrounds, image_alpha_folder, foreground_folder):
        return reader(root, **kwargs)
    return reader(root, split=split, **kwargs)

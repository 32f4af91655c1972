"""Readers of the published data-set folder layouts, and :func:`open_source`, which picks one by
name.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from ...errors import DatasetError
from .files import _require_dir, find_dir
from .folders import BackgroundFolder, PairedFolder
from .pairing import Pair, pair_by_stem

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

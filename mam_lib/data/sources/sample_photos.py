"""scikit-image's bundled sample photographs as backgrounds: real photographic clutter offline.

Procedural backgrounds (:func:`mam_lib.data.procedural.make_background`) are gradients, noise and
blobs; a decoder trained only on them has never seen the edges, textures and lighting of a
photograph behind an object. :mod:`skimage.data` ships a handful of photographs inside the package
(no download), enough to composite procedural foregrounds on real backgrounds.

The photographs are split once and for all, so held-out composites never use a background the
training saw:

* ``train`` (:data:`TRAIN_PHOTOS`): ``rocket``, ``hubble_deep_field``, ``immunohistochemistry``,
  ``retina``, ``camera``, ``coins``, ``moon``, ``brick``, ``grass``, ``gravel``, ``cell``;
* ``test`` / ``val`` (:data:`HELD_OUT_PHOTOS`): ``astronaut``, ``coffee``, ``chelsea``.

Grey photographs are repeated into three channels. The loading goes through :mod:`skimage.data`'s
own functions (which know where each file lies in the installed package); a photograph a given
scikit-image build lacks is skipped, and a source left with none raises a
:class:`~mam_lib.errors.DatasetError`.
"""
from __future__ import annotations

import numpy as np

from ...errors import DatasetError

#: Photographs of the ``train`` split (backgrounds the training composites use).
TRAIN_PHOTOS: tuple[str, ...] = ("rocket", "hubble_deep_field", "immunohistochemistry", "retina", "camera",
                                 "coins", "moon", "brick", "grass", "gravel", "cell")
#: Photographs kept for held-out composites (the ``test`` and ``val`` splits).
HELD_OUT_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea")


def _load_photo(name: str) -> np.ndarray | None:
    """``(H, W, 3) uint8`` RGB of ``skimage.data.<name>()``, or None when this build lacks it."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None:
        return None
    try:
        img = np.asarray(loader())
    except (OSError, ValueError, ModuleNotFoundError):  # a file the installed build does not carry
        return None
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        img = np.clip(img.astype(np.float64) * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


class SamplePhotos:
    """scikit-image's sample photographs of one split, as a background source.

    Args:
        split: ``"train"`` (:data:`TRAIN_PHOTOS`) or ``"test"`` / ``"val"`` (:data:`HELD_OUT_PHOTOS`).
        names: use these :mod:`skimage.data` names instead of the split's.
    """

    def __init__(self, split: str = "train", names: tuple[str, ...] | list[str] | None = None):
        if names is None:
            if split not in ("train", "test", "val"):
                raise DatasetError(f"sample photos: split must be 'train', 'test' or 'val', got {split!r}")
            names = TRAIN_PHOTOS if split == "train" else HELD_OUT_PHOTOS
        self.split = split
        self.names: list[str] = []
        self.photos: list[np.ndarray] = []
        for name in names:
            photo = _load_photo(str(name))
            if photo is not None:
                self.names.append(str(name))
                self.photos.append(photo)
        if not self.photos:
            raise DatasetError(f"sample photos: none of {', '.join(map(str, names))} could be loaded from "
                               "skimage.data; check that scikit-image is installed completely "
                               "(pip install --force-reinstall scikit-image)")

    def __len__(self) -> int:
        return len(self.photos)

    def load(self, index: int) -> np.ndarray:
        return self.photos[index]

    def describe(self) -> str:
        return f"scikit-image sample photos ({self.split}: {', '.join(self.names)}): {len(self)} backgrounds"

    def __repr__(self) -> str:
        return f"SamplePhotos({self.describe()})"


__all__ = ["SamplePhotos", "TRAIN_PHOTOS", "HELD_OUT_PHOTOS"]

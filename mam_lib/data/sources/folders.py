"""The source protocols, and sources backed by folders of files: paired colour/alpha images and
backgrounds.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ...errors import DatasetError
from .files import IMAGE_EXTENSIONS, list_images, read_alpha, read_image
from .pairing import Pair


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

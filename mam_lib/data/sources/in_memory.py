"""Sources held in memory as arrays."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...errors import DatasetError


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

"""Procedural sources drawn on demand, kept in a small memory cache and optionally stored as PNG
files.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ...errors import ImageReadError
from ..procedural import make_background, make_foreground
from ..writing import alpha_to_uint8, write_image
from .files import read_alpha, read_image


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
        stem = None
        if self.cache_dir is not None:
            stem = self.cache_dir / f"bg_{self.seed + index}_{self.size[0]}x{self.size[1]}"

        def make():
            return _disk_cached(stem, lambda: (make_background(self.seed + index, self.size),), with_alpha=False)[0]

        return self._cache.get(index, make)  # type: ignore[return-value]

    def describe(self) -> str:
        where = f", stored in {self.cache_dir}" if self.cache_dir is not None else ""
        return f"{self.name}: {self.count} ({self.size[1]}x{self.size[0]}, seed {self.seed}{where})"

"""Pairing colour files with alpha files by file stem, with strict reports of what does not pair."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import DatasetError
from .files import _short_list, image_size, list_images


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

"""Writing synthetic matting data sets and the sample-data folder to disk.

:func:`write_synthetic_dataset` (used by ``mam synth`` and notebook 01) writes::

    OUT_DIR/
      images/0000.png    composite, RGB
      alphas/0000.png    ground-truth alpha, 8-bit grey
      trimaps/0000.png   trimap, 8-bit grey in {0, 128, 255}
      boxes.json         {"0000": [x0, y0, x1, y1], ...}  (bounding box of alpha > 0.5)
      fg/, bg/           (optional) foreground and background colours
      masks/             (optional) simulated coarse masks, 0 or 255

which :func:`mam_lib.data.sources.layouts.image_alpha_folder` reads back. The folder gets the
project's marker (:func:`mam_lib.io.outputs.mark_folder`) listing the samples written; a folder
that already holds a data set is replaced only with ``overwrite=True`` (``mam synth
--overwrite``), and then completely: samples of the earlier set beyond the new count are removed
and ``boxes.json`` lists exactly what is there. Files the project did not write are never
touched: a folder whose ``images/``, ``alphas/``, … or ``boxes.json`` come from elsewhere is
refused. Two writers on one folder at once are refused too (:class:`mam_lib.io.outputs.RunLock`).
:func:`write_data_samples` writes the small ``data_samples/`` folder. Every file is written
atomically (temporary file in the same folder, then ``os.replace``; :mod:`mam_lib.io.atomic`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ..errors import MamError, OutputError
from ..io.atomic import atomic_write_bytes
from ..io.outputs import check_output_dir, read_marker, mark_folder, run_lock
from .dataset import DataConfig, MattingDataset, SourceSpec
from .procedural import FOREGROUND_KINDS, make_background, make_foreground
from .transforms.compositing import composite
from .transforms.prompts import box_from_alpha
from .writing import alpha_to_uint8, write_image, write_json


def _box_list(box: np.ndarray) -> list[float]:
    return [int(v) if float(v).is_integer() else round(float(v), 2) for v in box]


#: The kind recorded in the marker of a folder written by :func:`write_synthetic_dataset`.
SYNTH_KIND = "synthetic data set"
#: The sub-folders a synthetic data set may have.
SYNTH_FOLDERS = ("images", "alphas", "trimaps", "fg", "bg", "masks")


def _earlier_samples(out: Path, overwrite: bool) -> set[str]:
    """Names of the samples an earlier :func:`write_synthetic_dataset` wrote into ``out`` (which
    the new set replaces); refuses a folder holding a data set without ``overwrite``, and one whose
    data-set files the project did not write."""
    check_output_dir(out, what="output folder")
    marker = read_marker(out) if out.is_dir() else None
    if marker is not None and marker.get("kind") == SYNTH_KIND:
        names = set(marker.get("samples", []))
        if not overwrite:
            raise OutputError(f"{str(out)!r} already holds a synthetic data set ({len(names)} samples); pass --overwrite "
                              "(overwrite=True) to replace it, or choose another folder")
        return names
    present = [name for name in (*SYNTH_FOLDERS, "boxes.json")
               if (out / name).is_file() or ((out / name).is_dir() and any((out / name).iterdir()))]
    if present:
        raise OutputError(f"{str(out)!r} already holds {', '.join(present)} that mam synth did not write (it keeps a "
                          "record of what it writes); they are left alone: choose an empty or new folder")
    return set()


def synth_config(size: int, n: int, **overrides: Any):
    """The :class:`mam_lib.data.dataset.DataConfig` used by :func:`write_synthetic_dataset` by
    default: ``size`` crops from procedural sources of ``size x 4/3 size`` (so objects are
    mostly in view), trimap widths up to 4% of the size, the recipe's augmentations."""
    base = dict(crop_size=int(size), length=int(n), procedural_size=(int(size), int(size * 4 / 3)),
                procedural_count=max(64, 4 * int(n)), trimap_width=(1, max(2, int(size) // 25)))
    return DataConfig.cpu(**{**base, **overrides})


def write_synthetic_dataset(
    out_dir: str | os.PathLike,
    n: int,
    size: int = 512,
    seed: int = 0,
    config: Any | None = None,
    with_fg_bg: bool = False,
    with_masks: bool = False,
    kinds: Sequence[str] | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``n`` augmented procedural composites (the layout in the module docstring).

    Args:
        out_dir: folder to write; created if missing. A folder holding an earlier set is replaced
            only with ``overwrite`` (see the module docstring).
        n: number of samples.
        size: side of the square samples.
        seed: data seed (the same seed writes the same files).
        config: a :class:`mam_lib.data.dataset.DataConfig` to use instead of the default one
            (``crop_size``, ``length`` and ``seed`` are then taken from ``size``, ``n``, ``seed``).
        with_fg_bg: also write ``fg/`` and ``bg/``.
        with_masks: also write ``masks/`` (simulated coarse masks).
        kinds: restrict procedural foreground kinds (e.g. ``["hair", "fur"]``).
        progress: show a ``tqdm`` progress bar.
        overwrite: replace the data set an earlier call wrote into ``out_dir``.

    Returns:
        a summary dict: ``out_dir``, ``count``, ``size``, ``seed``.
    """
    if n < 1:
        raise MamError(f"the number of samples must be at least 1, got {n}")
    if size < 32:
        raise MamError(f"the sample size must be at least 32 pixels, got {size}")
    if kinds:
        bad = [k for k in kinds if k not in FOREGROUND_KINDS]
        if bad:
            raise MamError(f"unknown foreground kind(s) {', '.join(bad)}; choose from {', '.join(FOREGROUND_KINDS)}")
    if config is None:
        config = synth_config(size, n)
    fg_spec = SourceSpec("procedural", options={"kinds": list(kinds)} if kinds else {})
    config = config.replace(crop_size=int(size), length=int(n), seed=int(seed), with_mask=with_masks,
                            foregrounds=(fg_spec,) if kinds else config.foregrounds)
    dataset = MattingDataset(config, "train")
    out = Path(out_dir)
    width = max(4, len(str(n - 1)))
    names = [f"{i:0{width}d}" for i in range(n)]
    earlier = _earlier_samples(out, overwrite)
    with run_lock(out, "mam synth"):
        earlier = _earlier_samples(out, overwrite)  # again, now that no other writer can change it
        # Until the set is complete the marker lists every sample that may be on disk, and there is
        # no boxes.json: an interrupted run leaves a folder that reads as unfinished and is replaced whole.
        mark_folder(out, SYNTH_KIND, samples=sorted(earlier | set(names)), complete=False)
        (out / "boxes.json").unlink(missing_ok=True)
        boxes = _write_samples(dataset, out, names, seed, with_fg_bg, with_masks, progress)
        written = {"images", "alphas", "trimaps"} | ({"fg", "bg"} if with_fg_bg else set()) | \
            ({"masks"} if with_masks else set())
        new = set(names)
        for name in sorted(earlier):  # the earlier set's files that the new one did not replace
            for sub in SYNTH_FOLDERS:
                if name not in new or sub not in written:
                    (out / sub / f"{name}.png").unlink(missing_ok=True)
        for sub in SYNTH_FOLDERS:
            if sub not in written and (out / sub).is_dir() and not any((out / sub).iterdir()):
                (out / sub).rmdir()
        lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in boxes.items()]
        atomic_write_bytes(out / "boxes.json", ("{\n" + ",\n".join(lines) + "\n}\n").encode())
        mark_folder(out, SYNTH_KIND, samples=names, complete=True, size=int(size), seed=int(seed))
    return {"out_dir": str(out), "count": n, "size": size, "seed": seed}


def _write_samples(dataset, out: Path, names: list[str], seed: int, with_fg_bg: bool, with_masks: bool,
                   progress: bool) -> dict[str, list[float]]:
    from tqdm.auto import tqdm

    boxes: dict[str, list[float]] = {}
    for i in tqdm(range(len(names)), desc=f"synth {out.name}", unit="img", disable=not progress):
        s = dataset.sample_arrays(i)
        name = names[i]
        alpha8 = alpha_to_uint8(s["alpha"])
        write_image(out / "images" / f"{name}.png", s["image"])
        write_image(out / "alphas" / f"{name}.png", alpha8)
        write_image(out / "trimaps" / f"{name}.png", s["trimap"])
        if with_fg_bg:
            write_image(out / "fg" / f"{name}.png", s["fg"])
            write_image(out / "bg" / f"{name}.png", s["bg"])
        if with_masks:
            write_image(out / "masks" / f"{name}.png", s["mask"].astype(np.uint8) * 255)
        boxes[name] = _box_list(box_from_alpha(alpha8, np.random.default_rng([seed, i])))
    return boxes


def prompt_from_alpha(alpha: np.ndarray) -> dict[str, list]:
    """Prompt for an image with a known alpha: ``{"box": [x0, y0, x1, y1], "points": [[x, y]],
    "labels": [1]}``; the box is the bounding box of ``alpha > 0.5`` (pixel edges), the point
    the foreground pixel farthest from the boundary (integer pixel coordinates)."""
    fg = (np.asarray(alpha, np.float32) > 0.5).astype(np.uint8)
    if not fg.any():
        raise MamError("the alpha has no pixel above 0.5; cannot place a prompt")
    box = box_from_alpha(alpha)
    dist = cv2.distanceTransform(np.pad(fg, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return {"box": [int(v) for v in box], "points": [[int(x), int(y)]], "labels": [1]}


def write_demo(out_dir: str | os.PathLike, fg_seed: int, bg_seed: int, size: tuple[int, int] = (480, 640),
               kind: str = "hair") -> None:
    """Write ``image.png``, ``alpha.png``, ``fg.png``, ``bg.png`` and ``prompt.json`` of one
    procedural composite with known alpha into ``out_dir``."""
    fg, alpha = make_foreground(fg_seed, size, kind)
    bg = make_background(bg_seed, size)
    alpha8 = alpha_to_uint8(alpha)
    out = Path(out_dir)
    write_image(out / "fg.png", fg)
    write_image(out / "bg.png", bg)
    write_image(out / "alpha.png", alpha8)
    write_image(out / "image.png", composite(fg, bg, alpha8))
    write_json(out / "prompt.json", prompt_from_alpha(alpha8.astype(np.float32) / 255.0), indent=None)


#: What :func:`write_data_samples` writes (seeds chosen for variety; change them to refresh).
SAMPLE_DEMO = {"fg_seed": 11, "bg_seed": 7, "size": (480, 640), "kind": "hair"}
SAMPLE_FOREGROUNDS = [("hair", 21), ("fur", 5), ("soft", 3), ("glass", 8), ("holes", 2), ("multi", 13)]
SAMPLE_FOREGROUND_SIZE = (320, 320)
SAMPLE_BACKGROUNDS = [1, 6, 10]
SAMPLE_BACKGROUND_SIZE = (480, 640)


def write_data_samples(out_dir: str | os.PathLike) -> list[Path]:
    """Write the sample-data folder: ``demo/`` (:func:`write_demo`), ``foregrounds/fg|alpha/``
    (one small foreground per kind, read by :func:`mam_lib.data.sources.layouts.foreground_folder`)
    and ``backgrounds/`` (JPEG, read by :func:`mam_lib.data.sources.layouts.backgrounds`). Returns
    the files."""
    out = Path(out_dir)
    write_demo(out / "demo", **SAMPLE_DEMO)
    files = [out / "demo" / n for n in ("image.png", "alpha.png", "fg.png", "bg.png", "prompt.json")]
    for kind, seed in SAMPLE_FOREGROUNDS:
        fg, alpha = make_foreground(seed, SAMPLE_FOREGROUND_SIZE, kind)
        files += [out / "foregrounds" / "fg" / f"{kind}.png", out / "foregrounds" / "alpha" / f"{kind}.png"]
        write_image(files[-2], fg)
        write_image(files[-1], alpha_to_uint8(alpha))
    for k, seed in enumerate(SAMPLE_BACKGROUNDS):
        files.append(out / "backgrounds" / f"bg_{k}.jpg")
        write_image(files[-1], make_background(seed, SAMPLE_BACKGROUND_SIZE), 88)
    return files

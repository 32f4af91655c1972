"""Readers of matting data-set folder layouts, and in-memory and procedural sources.

Every name below is importable from this package (``from mam_lib.data import sources as D``);
the modules hold one idea each:

=====================  ======================================================================
module                 holds
=====================  ======================================================================
:mod:`.files`          :data:`IMAGE_EXTENSIONS`, :func:`read_image`, :func:`read_alpha`,
                       :func:`image_size`, :func:`list_images`, :func:`find_dir`
:mod:`.pairing`        :class:`Pair`, :func:`pair_by_stem`
:mod:`.folders`        the :class:`ForegroundSource` / :class:`BackgroundSource` protocols,
                       :class:`PairedFolder`, :class:`BackgroundFolder`
:mod:`.generated`      :class:`ProceduralForegrounds`, :class:`ProceduralBackgrounds`
:mod:`.in_memory`      :class:`ArrayForegrounds`, :class:`ArrayBackgrounds`
:mod:`.sample_photos`  :class:`SamplePhotos`: scikit-image's bundled photographs as backgrounds
:mod:`.layouts`        the layout readers below, :data:`LAYOUTS`, :func:`open_source`
=====================  ======================================================================

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

from .files import IMAGE_EXTENSIONS, find_dir, image_size, list_images, read_alpha, read_image
from .folders import BackgroundFolder, BackgroundSource, ForegroundSource, PairedFolder
from .generated import ProceduralBackgrounds, ProceduralForegrounds
from .in_memory import ArrayBackgrounds, ArrayForegrounds
from .layouts import (
    LAYOUTS,
    aim,
    am2k,
    backgrounds,
    distinctions646,
    foreground_folder,
    human2k,
    image_alpha_folder,
    open_source,
    p3m,
    refmatte,
)
from .pairing import Pair, pair_by_stem
from .sample_photos import HELD_OUT_PHOTOS, TRAIN_PHOTOS, SamplePhotos

__all__ = [
    # files
    "IMAGE_EXTENSIONS",
    "find_dir",
    "image_size",
    "list_images",
    "read_alpha",
    "read_image",
    # pairing
    "Pair",
    "pair_by_stem",
    # folders
    "BackgroundFolder",
    "BackgroundSource",
    "ForegroundSource",
    "PairedFolder",
    # generated
    "ProceduralBackgrounds",
    "ProceduralForegrounds",
    # in_memory
    "ArrayBackgrounds",
    "ArrayForegrounds",
    # sample_photos
    "HELD_OUT_PHOTOS",
    "SamplePhotos",
    "TRAIN_PHOTOS",
    # layouts
    "LAYOUTS",
    "aim",
    "am2k",
    "backgrounds",
    "distinctions646",
    "foreground_folder",
    "human2k",
    "image_alpha_folder",
    "open_source",
    "p3m",
    "refmatte",
]

"""The training data set: composites and real images, augmented, as tensors.

:class:`MattingDataset` mixes two kinds of sample, as in the published recipe:

* **composites** (probability ``1 - real_ratio``): a foreground with alpha (procedural, or read
  from AIM, Distinctions-646, AM-2K, Human-2K or a ``fg/ + alpha/`` folder) goes through a random
  affine and a crop that keeps it in view, is sometimes merged with a second foreground, gets
  an HSV jitter, with probability ``fg_texture_prob`` the texture of another background crop
  painted onto its colour, and is composited on a random crop of a background (procedural,
  scikit-image's sample photographs, or a folder such as COCO or BG-20K);
* **real images** (probability ``real_ratio``, only when image sources are given): a photograph
  with its alpha (RefMatte, P3M, AM-2K originals, or a user's ``images/ + alphas/`` folder) gets
  the same affine, crop and jitter; its ``fg`` and ``bg`` are the photograph itself.

Then optional degradations (JPEG, blur, noise, contrast) touch the image, and the trimap (from
randomly eroded alpha), the box prompt (bounding box of ``alpha > 0.5``), optional point prompts
and an optional simulated coarse mask are derived.

Randomness: sample ``i`` of epoch ``e`` uses ``np.random.SeedSequence([seed, split, e, i])``, so a
sample depends only on ``(config, split, epoch, index)`` — never on the worker that makes it or
on the order of requests. Workers of a ``DataLoader(num_workers > 0)`` therefore produce
distinct samples (they get distinct indices) and the same ones on every run. Points and the
coarse mask use their own child streams, so switching them on or off leaves every other output
unchanged. ``split="val"`` gives a fixed held-out set: its own seed stream, its own procedural
items, ``epoch`` ignored.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .coarse_mask import CoarseMaskConfig, simulate_coarse_mask
from ..errors import ConfigError, DatasetError
from .sources.folders import BackgroundFolder
from .sources.generated import ProceduralBackgrounds, ProceduralForegrounds
from .sources.layouts import open_source
from .sources.sample_photos import SamplePhotos
from .transforms.appearance import DegradationConfig, JitterConfig, degrade, hsv_jitter, texture_foreground
from .transforms.arrays import Sample, to_float_alpha, to_float_image
from .transforms.compositing import composite, merge_foregrounds
from .transforms.geometry import AffineConfig, random_affine_crop, random_background_crop
from .transforms.prompts import box_from_alpha, jitter_box, sample_points
from .transforms.tensors import hwc_to_chw, to_sam_tensor
from .transforms.trimap import trimap_from_alpha

_SPLITS = {"train": 0, "val": 1}
_TRIMAP_LUT = np.zeros((1, 256), np.float32)  # trimap byte -> {0, 0.5, 1}
_TRIMAP_LUT[0, 128] = 0.5
_TRIMAP_LUT[0, 255] = 1.0
_VAL_SEED_OFFSET = 500_000_000  # procedural items of the val split start here (disjoint from train)
SAMPLE_PHOTOS = "sample_photos"  # the layout of scikit-image's bundled photographs (backgrounds, no root)


@dataclass
class SourceSpec:
    """One data source: ``layout`` is ``"procedural"``, ``"sample_photos"`` (scikit-image's bundled
    photographs as backgrounds, :mod:`mam_lib.data.sources.sample_photos`) or a key of
    :data:`mam_lib.data.sources.layouts.LAYOUTS`."""

    layout: str = "procedural"  # "procedural", "sample_photos", "aim", "distinctions646", "am2k", "refmatte", ...
    root: str | None = None  # data-set folder (not used by "procedural" and "sample_photos")
    weight: float = 1.0  # relative probability among the sources of the same role
    split: str | None = None  # reader split; None: "train" for the train set, "test" for val
    options: dict = field(default_factory=dict)  # extra keyword arguments of the reader


@dataclass
class DataConfig:
    """Everything :class:`MattingDataset` does; defaults follow the published recipe."""

    crop_size: int = 1024  # side S of the square samples (paper: 1024)
    seed: int = 0  # base seed of all randomness
    length: int = 10_000  # samples per epoch of the train split
    val_length: int = 200  # samples of the fixed val split
    foregrounds: tuple[SourceSpec, ...] = (SourceSpec("procedural"),)  # sources to composite
    backgrounds: tuple[SourceSpec, ...] = (SourceSpec("procedural"),)  # backgrounds to composite on
    images: tuple[SourceSpec, ...] = ()  # real images with alphas (no compositing)
    real_ratio: float = 0.5  # fraction of real-image samples when `images` is not empty (paper: half)
    second_fg_prob: float = 0.5  # probability of merging a second foreground into a composite
    fg_texture_prob: float = 0.0  # probability of painting a background image's texture onto the foreground
    affine: AffineConfig = field(default_factory=AffineConfig)  # ±30°, scale 0.8-1.5, shear 10, flip 0.5
    jitter: JitterConfig = field(default_factory=JitterConfig)  # HSV jitter of the foreground
    degradation: DegradationConfig = field(default_factory=DegradationConfig)  # off unless prob > 0
    focus_prob: float = 0.8  # probability of centring the crop on the unknown band
    bg_min_fraction: float = 0.5  # background crop side, fraction of its shorter side (lower bound)
    trimap_width: tuple[int, int] = (1, 30)  # erosion widths of the trimap's definite regions, px
    box_jitter: float = 0.0  # max box-edge displacement as a fraction of the box side
    num_points: int = 0  # point prompts per sample (0: no `points`/`labels` keys)
    with_mask: bool = False  # add the simulated coarse mask as `mask`
    mask: CoarseMaskConfig = field(default_factory=CoarseMaskConfig)  # coarse-mask perturbations
    procedural_size: tuple[int, int] = (1536, 2048)  # (H, W) of procedural foregrounds/backgrounds
    procedural_count: int = 10_000  # distinct procedural items per split
    procedural_cache: int = 8  # procedural items kept in memory per worker
    procedural_dir: str | None = None  # folder storing generated procedural items as PNG; None: redraw

    @classmethod
    def tiny(cls, **overrides: Any) -> "DataConfig":
        """128-pixel crops from small procedural sources: tests and quick CPU demos."""
        base = dict(crop_size=128, length=64, val_length=8, procedural_size=(192, 256), procedural_count=64,
                    procedural_cache=16, trimap_width=(1, 6))
        return cls(**{**base, **overrides})

    @classmethod
    def cpu(cls, **overrides: Any) -> "DataConfig":
        """512-pixel crops: CPU training and notebooks."""
        base = dict(crop_size=512, length=2000, procedural_size=(768, 1024), trimap_width=(1, 20))
        return cls(**{**base, **overrides})

    @classmethod
    def paper(cls, **overrides: Any) -> "DataConfig":
        """The published recipe: 1024 crops; half of the samples are real images once image
        sources (e.g. RefMatte) are configured."""
        return cls(**overrides)

    def replace(self, **changes: Any) -> "DataConfig":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def validate(self, where: str = "data") -> "DataConfig":
        """Raise :class:`~mam_lib.errors.ConfigError` naming the first setting out of range; returns self."""
        check_finite_fields(self, where)
        if int(self.crop_size) < 1:
            raise ConfigError(f"{where}.crop_size must be a positive number of pixels, got {self.crop_size}")
        for name in ("length", "val_length", "procedural_count"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{where}.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("procedural_cache", "num_points"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{where}.{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("real_ratio", "second_fg_prob", "fg_texture_prob", "focus_prob", "box_jitter"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ConfigError(f"{where}.{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 < float(self.bg_min_fraction) <= 1.0:
            raise ConfigError(f"{where}.bg_min_fraction must be in (0, 1], got {self.bg_min_fraction}")
        lo, hi = self.trimap_width
        if not 0 <= lo <= hi:
            raise ConfigError(f"{where}.trimap_width must be two widths 0 ≤ low ≤ high, got {list(self.trimap_width)}")
        if min(self.procedural_size) < 1:
            raise ConfigError(f"{where}.procedural_size must be two positive sizes (H, W), got {list(self.procedural_size)}")
        for prob in ("flip_prob",):
            if not 0.0 <= float(getattr(self.affine, prob)) <= 1.0:
                raise ConfigError(f"{where}.affine.{prob} must be in [0, 1], got {getattr(self.affine, prob)}")
        if not 0.0 < self.affine.scale[0] <= self.affine.scale[1]:
            raise ConfigError(f"{where}.affine.scale must be a range 0 < low ≤ high, got {list(self.affine.scale)}")
        for section, names in (("jitter", ("prob",)),
                               ("degradation", ("prob", "jpeg_prob", "blur_prob", "noise_prob", "contrast_prob"))):
            for name in names:
                value = float(getattr(getattr(self, section), name))
                if not 0.0 <= value <= 1.0:
                    raise ConfigError(f"{where}.{section}.{name} is a probability in [0, 1], got {value}")
        return self


def check_finite_fields(obj: Any, where: str) -> None:
    """Raise :class:`~mam_lib.errors.ConfigError` for a NaN or infinite number anywhere in a dataclass tree."""
    import math

    def walk(value: Any, path: str) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite number, got {value}")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")

    walk(obj, where)


def _open_sources(specs: Sequence[SourceSpec], role: str, cfg: DataConfig, split: str) -> list:
    out = []
    base_seed = cfg.seed * 1_000_003 + (_VAL_SEED_OFFSET if split == "val" else 0)
    for k, spec in enumerate(specs):
        if spec.layout == "procedural":
            opts = dict(spec.options)
            if role == "background":
                out.append(ProceduralBackgrounds(opts.pop("count", cfg.procedural_count),
                                                 opts.pop("size", cfg.procedural_size),
                                                 base_seed + 7919 * (k + 1), opts.pop("cache", cfg.procedural_cache),
                                                 opts.pop("cache_dir", cfg.procedural_dir)))
            elif role == "foreground":
                out.append(ProceduralForegrounds(opts.pop("count", cfg.procedural_count),
                                                 opts.pop("size", cfg.procedural_size),
                                                 base_seed + 104_729 * (k + 1), opts.pop("kinds", None),
                                                 opts.pop("cache", cfg.procedural_cache),
                                                 cache_dir=opts.pop("cache_dir", cfg.procedural_dir)))
            else:
                raise DatasetError("procedural sources are foregrounds or backgrounds, not real images; "
                                   "write a synthetic set with `mam synth` and read it as 'images_alphas'")
            continue
        if spec.layout == SAMPLE_PHOTOS:
            if role != "background":
                raise DatasetError(f"{SAMPLE_PHOTOS!r} (scikit-image's sample photographs) holds backgrounds only; "
                                   f"it cannot be a {role} source")
            out.append(SamplePhotos(spec.split or ("train" if split == "train" else "test"), **spec.options))
            continue
        if spec.root is None:
            raise DatasetError(f"source {spec.layout!r} needs a root folder")
        reader_split = spec.split or ("train" if split == "train" else "test")
        src = open_source(spec.layout, spec.root, reader_split, **spec.options)
        if role == "background" and not isinstance(src, BackgroundFolder):
            raise DatasetError(f"{spec.layout!r} is not a background layout; use 'backgrounds' (any image folder)")
        if role != "background" and isinstance(src, BackgroundFolder):
            raise DatasetError(f"{spec.layout!r} holds backgrounds only; it cannot be a {role} source")
        out.append(src)
    return out


def _weights(specs: Sequence[SourceSpec], n: int) -> np.ndarray | None:
    if n == 0:
        return None
    w = np.array([s.weight for s in specs][:n] or [1.0] * n, np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise DatasetError("source weights must be non-negative and not all zero")
    return w / w.sum()


class MattingDataset(Dataset):
    """Augmented matting samples as tensors (see the module docstring).

    Args:
        config: what to sample and how.
        split: ``"train"`` (``config.length`` samples per epoch, augmentations change with
            :meth:`set_epoch`) or ``"val"`` (``config.val_length`` fixed samples).
        foregrounds, backgrounds, images: source objects (see :mod:`mam_lib.data.sources`) that
            replace the ones the config describes, e.g. in-memory arrays.

    Each item is a dict of tensors:

    =========  ===================================================================
    ``image``  ``(3, S, S) float32``, SAM-normalised (:func:`mam_lib.data.transforms.tensors.to_sam_tensor`)
    ``alpha``  ``(1, S, S) float32 in [0, 1]``
    ``trimap`` ``(1, S, S) float32`` in {0, 0.5, 1} (background, unknown, foreground)
    ``fg``     ``(3, S, S) float32 in [0, 1]`` (the photograph itself for real images)
    ``bg``     ``(3, S, S) float32 in [0, 1]`` (the photograph itself for real images)
    ``box``    ``(4,) float32`` ``x0, y0, x1, y1`` in the crop's pixels
    ``points`` ``(K, 2) float32`` ``x, y`` and ``labels`` ``(K,) int64`` (if ``num_points > 0``)
    ``mask``   ``(1, S, S) float32`` in {0, 1}, simulated coarse mask (if ``with_mask``)
    ``real``   ``bool`` scalar tensor: real image (True) or composite (False)
    ``index``  ``int64`` scalar tensor: the item index
    =========  ===================================================================

    Without degradations, ``image`` un-normalised equals ``alpha*fg + (1-alpha)*bg``.
    """

    def __init__(
        self,
        config: DataConfig | None = None,
        split: str = "train",
        foregrounds: Sequence | None = None,
        backgrounds: Sequence | None = None,
        images: Sequence | None = None,
    ):
        if split not in _SPLITS:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.config = cfg = (config or DataConfig()).validate()
        self.split = split
        self.epoch = 0
        def sources(given, specs, role):
            return list(given) if given is not None else _open_sources(specs, role, cfg, split)

        self.foregrounds = sources(foregrounds, cfg.foregrounds, "foreground")
        self.backgrounds = sources(backgrounds, cfg.backgrounds, "background")
        self.images = sources(images, cfg.images, "image")
        if self.images and any(getattr(s, "role", "image") != "image" for s in self.images):
            raise DatasetError("an image source holds foregrounds to composite; pass it as a foreground source")
        if not self.images and not self.foregrounds:
            raise DatasetError("no data: give at least one foreground source or one real-image source")
        if self.foregrounds and not self.backgrounds:
            raise DatasetError("foregrounds need backgrounds to be composited on; add a background source")
        for group in (self.foregrounds, self.backgrounds, self.images):
            for s in group:
                if len(s) == 0:
                    raise DatasetError(f"{s.describe()}: the source is empty")
        # sampling probabilities of the sources of each role (uniform for given source objects)
        self._fg_p = _weights(cfg.foregrounds if foregrounds is None else [], len(self.foregrounds))
        self._bg_p = _weights(cfg.backgrounds if backgrounds is None else [], len(self.backgrounds))
        self._im_p = _weights(cfg.images if images is None else [], len(self.images))
        if self.images and self.foregrounds:
            self.real_ratio = float(cfg.real_ratio)
        else:
            self.real_ratio = 1.0 if self.images else 0.0

    # ----------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.config.length if self.split == "train" else self.config.val_length

    def set_epoch(self, epoch: int) -> None:
        """Change the train augmentations (call before each epoch; no effect on ``val``).

        ``DataLoader`` workers copy the data set when an epoch starts, so this reaches them
        unless ``persistent_workers=True``.
        """
        self.epoch = int(epoch)

    def describe(self) -> str:
        """Sources, their sizes and the mixing ratios, one per line."""
        s = self.config.crop_size
        lines = [f"MattingDataset {self.split}: {len(self)} samples of {s}x{s}, "
                 f"{100 * (1 - self.real_ratio):.0f}% composites, {100 * self.real_ratio:.0f}% real images"]
        groups = (("foregrounds", self.foregrounds, self._fg_p), ("backgrounds", self.backgrounds, self._bg_p),
                  ("real images", self.images, self._im_p))
        for title, group, p in groups:
            for s, w in zip(group, p if p is not None else []):
                lines.append(f"  {title} ({100 * w:.0f}%): {s.describe()}")
        return "\n".join(lines)

    def _streams(self, index: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
        epoch = self.epoch if self.split == "train" else 0
        seq = np.random.SeedSequence([int(self.config.seed) & 0xFFFFFFFF, _SPLITS[self.split], epoch, int(index)])
        main, points, mask = (np.random.default_rng(s) for s in seq.spawn(3))
        return main, points, mask

    @staticmethod
    def _pick(rng: np.random.Generator, sources: list, p: np.ndarray):
        src = sources[int(rng.choice(len(sources), p=p))] if len(sources) > 1 else sources[0]
        return src, int(rng.integers(len(src)))

    def sample_arrays(self, index: int) -> Sample:
        """Sample ``index`` as numpy arrays (the sample-dict conventions of
        :mod:`mam_lib.data.transforms`): ``image``, ``fg``, ``bg`` ``(S,S,3) float32 in [0,1]``,
        ``alpha`` ``(S,S) float32``, ``trimap`` ``(S,S) uint8`` {0,128,255}, ``box`` ``(4,)``,
        optional ``points``/``labels``/``mask`` ``(S,S) bool``, ``real`` bool, ``index`` int."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        cfg = self.config
        s = cfg.crop_size
        rng, rng_points, rng_mask = self._streams(index)
        real = bool(rng.random() < self.real_ratio)
        if real:
            src, i = self._pick(rng, self.images, self._im_p)
            image, alpha = src.load(i)
            fg_u, alpha_u = random_affine_crop(image, alpha, s, rng, cfg.affine, cfg.focus_prob, fg_border="reflect",
                                               alpha_border="reflect")
            fg = hsv_jitter(fg_u, rng, cfg.jitter)
            alpha = to_float_alpha(alpha_u)
            bg = fg
        else:
            src, i = self._pick(rng, self.foregrounds, self._fg_p)
            fg_src, alpha_src = src.load(i)
            fg_u, alpha_u = random_affine_crop(fg_src, alpha_src, s, rng, cfg.affine, cfg.focus_prob)
            fg, alpha = to_float_image(fg_u), to_float_alpha(alpha_u)
            if rng.random() < cfg.second_fg_prob:
                src2, j = self._pick(rng, self.foregrounds, self._fg_p)
                fg2, a2 = src2.load(j)
                fg2, a2 = random_affine_crop(fg2, a2, s, rng, cfg.affine, focus_prob=0.3)
                fg, alpha = merge_foregrounds(fg, alpha, fg2, a2)
            fg = hsv_jitter(fg, rng, cfg.jitter)
            if cfg.fg_texture_prob > 0 and rng.random() < cfg.fg_texture_prob:  # no draw at 0: streams kept
                tsrc, t = self._pick(rng, self.backgrounds, self._bg_p)
                texture = to_float_image(random_background_crop(tsrc.load(t), s, rng, cfg.bg_min_fraction))
                fg = texture_foreground(fg, texture, rng)
            bsrc, b = self._pick(rng, self.backgrounds, self._bg_p)
            bg = to_float_image(random_background_crop(bsrc.load(b), s, rng, cfg.bg_min_fraction))
        image = composite(fg, bg, alpha)
        image = degrade(image, rng, cfg.degradation)
        trimap = trimap_from_alpha(alpha, rng, cfg.trimap_width)
        box = box_from_alpha(alpha, rng)
        if cfg.box_jitter > 0:
            box = jitter_box(box, (s, s), rng, cfg.box_jitter)
        out: Sample = {"image": image, "alpha": alpha, "trimap": trimap, "fg": fg, "bg": bg, "box": box,
                       "real": real, "index": int(index)}
        if cfg.num_points > 0:
            out["points"], out["labels"] = sample_points(alpha, rng_points, cfg.num_points)
        if cfg.with_mask:
            out["mask"] = simulate_coarse_mask(alpha, rng_mask, cfg.mask)
        return out

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return sample_to_tensors(self.sample_arrays(index))


def sample_to_tensors(sample: Sample) -> dict[str, torch.Tensor]:
    """Convert a numpy sample dict (see :meth:`MattingDataset.sample_arrays`) to tensors."""

    def chw(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(hwc_to_chw(x.astype(np.float32, copy=False)))

    out = {
        "image": to_sam_tensor(sample["image"]),
        "alpha": torch.from_numpy(np.ascontiguousarray(sample["alpha"], dtype=np.float32))[None],
        "trimap": torch.from_numpy(trimap_to_float(sample["trimap"]))[None],
        "fg": chw(sample["fg"]),
        "bg": chw(sample["bg"]),
        "box": torch.from_numpy(np.asarray(sample["box"], np.float32)),
    }
    if "points" in sample:
        out["points"] = torch.from_numpy(np.asarray(sample["points"], np.float32))
        out["labels"] = torch.from_numpy(np.asarray(sample["labels"], np.int64))
    if "mask" in sample:
        out["mask"] = torch.from_numpy(sample["mask"].astype(np.float32))[None]
    if "real" in sample:
        out["real"] = torch.tensor(bool(sample["real"]))
    if "index" in sample:
        out["index"] = torch.tensor(int(sample["index"]), dtype=torch.int64)
    return out


def trimap_to_float(trimap: np.ndarray) -> np.ndarray:
    """``(H, W) uint8`` trimap {0, 128, 255} to ``float32`` {0, 0.5, 1}."""
    return cv2.LUT(trimap, _TRIMAP_LUT).reshape(trimap.shape)


def keep_large_allocations(limit_bytes: int = 32 * 1024 * 1024) -> bool:
    """Let glibc serve and keep image-sized buffers (up to ``limit_bytes``) from its heap.

    By default glibc maps every allocation above 128 KiB afresh and unmaps it when freed, so each
    temporary 1024x1024 image costs thousands of page faults; with this setting the pipeline
    runs about 1.4x faster. It only changes the process it runs in: :func:`worker_init_fn`
    calls it in ``DataLoader`` workers. Returns False where it is not available (not glibc).
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, int(limit_bytes)) == 1
        ok = libc.mallopt(m_trim_threshold, int(4 * limit_bytes)) == 1 and ok
        return ok
    except (OSError, AttributeError):
        return False


def worker_init_fn(worker_id: int) -> None:
    """``DataLoader`` worker setup: one torch thread per worker (the workers are the
    parallelism), and the global numpy/random seeds derived from the worker's torch seed for
    any third-party code that uses them. The samples themselves never use global state.

    OpenCV's thread count is deliberately left alone: changing it in a forked worker can
    deadlock on the thread pool inherited from the parent process.
    """
    import random

    torch.set_num_threads(1)
    keep_large_allocations()
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)
    random.seed(seed)


def make_loader(
    dataset: MattingDataset,
    batch_size: int,
    num_workers: int = 0,
    shuffle: bool | None = None,
    seed: int | None = None,
    drop_last: bool | None = None,
    **kwargs: Any,
) -> DataLoader:
    """A ``DataLoader`` set up for :class:`MattingDataset`: shuffling (train) with a generator
    seeded from ``seed`` (default: the data seed), :func:`worker_init_fn`, and dropping the
    last incomplete batch in training."""
    train = dataset.split == "train"
    g = torch.Generator()
    g.manual_seed(int(dataset.config.seed if seed is None else seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train if shuffle is None else shuffle,
        num_workers=num_workers,
        worker_init_fn=worker_init_fn if num_workers > 0 else None,
        generator=g,
        drop_last=train if drop_last is None else drop_last,
        **kwargs,
    )

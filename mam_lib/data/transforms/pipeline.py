"""Sample-dict transforms: small callables that take a :data:`~.arrays.Sample` and a generator
and return a new sample, each running one array function; :class:`Compose` chains them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .appearance import DegradationConfig, JitterConfig, degrade, hsv_jitter
from .arrays import RngLike, Sample, as_rng, to_float_alpha, to_float_image
from .compositing import composite, merge_foregrounds
from .geometry import AffineConfig, random_affine_crop, random_background_crop
from .prompts import box_from_alpha, jitter_box, sample_points
from .trimap import trimap_from_alpha


class Compose:
    """Apply sample-dict transforms in order: ``Compose([t1, t2])(sample, rng)``."""

    def __init__(self, transforms: Sequence[Callable[[Sample, np.random.Generator], Sample]]):
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, rng: RngLike = None) -> Sample:
        g = as_rng(rng)
        for t in self.transforms:
            sample = t(sample, g)
        return sample

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(t) for t in self.transforms)
        return f"Compose([\n  {inner}\n])"


@dataclass
class RandomAffineCrop:
    """Random affine then a crop keeping foreground in view (one warp); sets ``fg``, ``alpha``.

    Reads ``fg`` (uint8 or float) and ``alpha`` of any size; writes ``fg (S,S,3) float32`` and
    ``alpha (S,S) float32``. ``fg_border="reflect"`` suits real photographs.
    """

    crop_size: int
    affine: AffineConfig = field(default_factory=AffineConfig)
    focus_prob: float = 0.8  # probability of centring the crop on the unknown band
    fg_border: str = "replicate"  # how colour extends past the source edge
    alpha_border: str = "constant"  # how alpha extends past the source edge

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        fg, alpha = random_affine_crop(sample["fg"], sample["alpha"], self.crop_size, rng,
                                       self.affine, self.focus_prob, self.fg_border, self.alpha_border)
        return {**sample, "fg": to_float_image(fg), "alpha": to_float_alpha(alpha)}


@dataclass
class MergeForeground:
    """With probability ``prob``, put the sample's foreground in front of a second one.

    ``draw(rng)`` returns another ``(fg, alpha)`` source pair; it is placed with its own random
    affine and crop into the sample's frame and merged with :func:`merge_foregrounds`.
    """

    draw: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    prob: float = 0.5  # probability of merging a second foreground
    affine: AffineConfig = field(default_factory=AffineConfig)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.prob:
            return sample
        size = sample["alpha"].shape[0]
        fg2, a2 = self.draw(rng)
        fg2, a2 = random_affine_crop(fg2, a2, size, rng, self.affine, focus_prob=0.3)
        fg, alpha = merge_foregrounds(sample["fg"], sample["alpha"], fg2, a2)
        return {**sample, "fg": fg, "alpha": alpha}


@dataclass
class HSVJitter:
    """:func:`hsv_jitter` on ``key`` (``"fg"`` for composites, ``"image"`` for photographs)."""

    config: JitterConfig = field(default_factory=JitterConfig)
    key: str = "fg"

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return {**sample, self.key: hsv_jitter(sample[self.key], rng, self.config)}


@dataclass
class BackgroundCrop:
    """Replace ``bg`` (any size) by a random ``crop_size`` square of it, as float32 in [0, 1]."""

    crop_size: int
    min_fraction: float = 0.5  # smallest crop side as a fraction of the background's shorter side

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        bg = random_background_crop(sample["bg"], self.crop_size, rng, self.min_fraction)
        return {**sample, "bg": to_float_image(bg)}


class Composite:
    """Set ``image = alpha*fg + (1-alpha)*bg`` (float32)."""

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image = composite(to_float_image(sample["fg"]), to_float_image(sample["bg"]), sample["alpha"])
        return {**sample, "image": image}

    def __repr__(self) -> str:
        return "Composite()"


@dataclass
class Degrade:
    """:func:`degrade` on ``image``."""

    config: DegradationConfig = field(default_factory=DegradationConfig)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return {**sample, "image": degrade(sample["image"], rng, self.config)}


@dataclass
class MakeTrimap:
    """Set ``trimap`` with :func:`trimap_from_alpha`."""

    width_range: tuple[int, int] = (1, 30)  # erosion widths of the definite regions, pixels

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return {**sample, "trimap": trimap_from_alpha(sample["alpha"], rng, self.width_range)}


@dataclass
class MakeBox:
    """Set ``box`` with :func:`box_from_alpha`, optionally moved by :func:`jitter_box`."""

    jitter: float = 0.0  # max edge displacement as a fraction of the box side

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        box = box_from_alpha(sample["alpha"], rng)
        if self.jitter > 0:
            box = jitter_box(box, sample["alpha"].shape[:2], rng, self.jitter)
        return {**sample, "box": box}


@dataclass
class SamplePoints:
    """Set ``points``/``labels`` with :func:`sample_points`."""

    num_points: int = 1  # points per sample

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        pts, labels = sample_points(sample["alpha"], rng, self.num_points)
        return {**sample, "points": pts, "labels": labels}

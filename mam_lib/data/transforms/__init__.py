"""Augmentations and conversions that turn foregrounds, alphas and backgrounds into samples.

Every name below is importable from this package (``from mam_lib.data import transforms as T``);
the modules hold one idea each:

=====================  ======================================================================
module                 holds
=====================  ======================================================================
:mod:`.arrays`         :data:`Sample`, :data:`RngLike`, :func:`as_rng`, :data:`ALPHA_OPAQUE`,
                       :func:`to_float_image`, :func:`to_uint8_image`, :func:`to_float_alpha`
:mod:`.compositing`    :func:`composite`, :func:`merge_foregrounds`
:mod:`.geometry`       :class:`AffineConfig`, :func:`affine_matrix`, :func:`random_affine_matrix`,
                       :func:`warp`, :func:`random_affine`, :func:`random_crop_origin`,
                       :func:`crop`, :func:`random_crop`, :func:`random_affine_crop`,
                       :func:`random_background_crop`
:mod:`.trimap`         :func:`trimap_from_alpha`
:mod:`.appearance`     :class:`JitterConfig`, :func:`hsv_jitter`, :func:`texture_foreground`, :class:`DegradationConfig`,
                       :func:`degrade`
:mod:`.prompts`        :func:`box_from_alpha`, :func:`jitter_box`, :func:`sample_points`
:mod:`.tensors`        :func:`to_sam_tensor`, :func:`normalize_chw`, :func:`hwc_to_chw`,
                       :func:`from_sam_tensor`
:mod:`.pipeline`       :class:`Compose` and the sample-dict transforms
=====================  ======================================================================

Every transform exists twice:

* as a plain function on arrays (:func:`random_affine`, :func:`merge_foregrounds`,
  :func:`trimap_from_alpha`, :func:`random_crop`, :func:`hsv_jitter`, :func:`composite`,
  :func:`degrade`, :func:`box_from_alpha`, :func:`sample_points`, :func:`to_sam_tensor`), usable
  alone;
* as a small callable class taking and returning a *sample dict* (:class:`RandomAffineCrop`,
  :class:`MergeForeground`, :class:`HSVJitter`, :class:`BackgroundCrop`, :class:`Composite`,
  :class:`Degrade`, :class:`MakeTrimap`, :class:`MakeBox`, :class:`SamplePoints`), chained with
  :class:`Compose`. :class:`mam_lib.data.dataset.MattingDataset` runs the same steps.

Sample-dict conventions (numpy stage, before tensors):

====================  ===========================================================
key                   value
====================  ===========================================================
``fg``                ``(H, W, 3) float32 in [0, 1]`` RGB foreground colour
``alpha``             ``(H, W) float32 in [0, 1]``
``bg``                ``(H, W, 3) float32 in [0, 1]`` RGB background
``image``             ``(H, W, 3) float32 in [0, 1]``, ``= alpha*fg + (1-alpha)*bg``
``trimap``            ``(H, W) uint8`` in {0, 128, 255}
``box``               ``(4,) float32`` ``x0, y0, x1, y1`` in pixels
``points``/``labels`` ``(K, 2) float32`` ``x, y`` / ``(K,) int64`` (1 = foreground)
``mask``              ``(H, W) bool`` coarse mask
====================  ===========================================================

The identity ``image = alpha*fg + (1-alpha)*bg`` holds after every transform except
:func:`degrade`, which models camera and compression artefacts on the final image only.

Everything runs in float32 (or uint8) with OpenCV (``warpAffine``, ``distanceTransform``,
``cvtColor``, ``imencode``); nothing loops over pixels in Python.
"""
from __future__ import annotations

from .appearance import DegradationConfig, JitterConfig, degrade, hsv_jitter, texture_foreground
from .arrays import ALPHA_OPAQUE, RngLike, Sample, as_rng, to_float_alpha, to_float_image, to_uint8_image
from .compositing import composite, merge_foregrounds
from .geometry import (
    AffineConfig,
    affine_matrix,
    crop,
    random_affine,
    random_affine_crop,
    random_affine_matrix,
    random_background_crop,
    random_crop,
    random_crop_origin,
    warp,
)
from .pipeline import (
    BackgroundCrop,
    Compose,
    Composite,
    Degrade,
    HSVJitter,
    MakeBox,
    MakeTrimap,
    MergeForeground,
    RandomAffineCrop,
    SamplePoints,
)
from .prompts import box_from_alpha, jitter_box, sample_points
from .tensors import from_sam_tensor, hwc_to_chw, normalize_chw, to_sam_tensor
from .trimap import trimap_from_alpha

__all__ = [
    # arrays
    "ALPHA_OPAQUE",
    "RngLike",
    "Sample",
    "as_rng",
    "to_float_alpha",
    "to_float_image",
    "to_uint8_image",
    # compositing
    "composite",
    "merge_foregrounds",
    # geometry
    "AffineConfig",
    "affine_matrix",
    "crop",
    "random_affine",
    "random_affine_crop",
    "random_affine_matrix",
    "random_background_crop",
    "random_crop",
    "random_crop_origin",
    "warp",
    # trimap
    "trimap_from_alpha",
    # appearance
    "DegradationConfig",
    "JitterConfig",
    "degrade",
    "hsv_jitter",
    "texture_foreground",
    # prompts
    "box_from_alpha",
    "jitter_box",
    "sample_points",
    # tensors
    "from_sam_tensor",
    "hwc_to_chw",
    "normalize_chw",
    "to_sam_tensor",
    # pipeline
    "BackgroundCrop",
    "Compose",
    "Composite",
    "Degrade",
    "HSVJitter",
    "MakeBox",
    "MakeTrimap",
    "MergeForeground",
    "RandomAffineCrop",
    "SamplePoints",
]

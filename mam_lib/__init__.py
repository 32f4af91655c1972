"""Matting Anything workbench.

A frozen Segment Anything Model turns a box or point prompt into a coarse mask and image
features; the Mask-to-Matte decoder refines them into an alpha matte, scale by scale.

Main entry points::

    from mam_lib import MattingPredictor, default_predictor
    predictor, real = default_predictor()          # published weights if cached, else tiny random ones
    predictor.set_image("photo.jpg")               # SAM's encoder runs once
    result = predictor.predict(box=[x0, y0, x1, y1])
    result.alpha                                   # (H, W) float32 in [0, 1]
    results = predictor.predict_text("the cat")    # text prompts (the `text` extra): one matte per box found

Subpackages, lowest layer first (each imports only itself and the layers below it):
:mod:`~mam_lib.io` (files), :mod:`~mam_lib.inference` (SAM, M2M, refinement, weights),
:mod:`~mam_lib.data` and :mod:`~mam_lib.evaluation`, :mod:`~mam_lib.training`,
:mod:`~mam_lib.teaching` (figures the notebooks show) and :mod:`~mam_lib.widget`, :mod:`~mam_lib.cli`.
This module re-exports the public names of the inference path and of :mod:`~mam_lib.io`; importing
it loads nothing else.
"""
from .errors import (CheckpointError, ConfigError, DatasetError, DownloadError, ImageReadError, MamError,
                     MissingExtraError, OutputError, PromptError)
from .inference.checkpoints import load_m2m, load_m2m_weights, save_m2m_checkpoint
from .inference.m2m import M2MConfig, M2MDecoder
from .inference.predictor import MattingPredictor, MattingResult, default_predictor
from .inference.refinement import RefinementConfig, refine
from .inference.sam import SamMaskPredictor, build_sam, sam_features_and_masks
from .inference.text import Detections, TextDetector, TextPromptConfig, build_tiny_grounding_dino
from .io.cutout import composite, save_alpha, save_composite, save_rgba
from .io.images import load_alpha, load_image

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "ConfigError", "DatasetError", "Detections", "DownloadError", "ImageReadError", "M2MConfig",
    "M2MDecoder", "MamError", "MattingPredictor", "MattingResult", "MissingExtraError", "OutputError", "PromptError",
    "RefinementConfig", "SamMaskPredictor", "TextDetector", "TextPromptConfig", "build_sam", "build_tiny_grounding_dino",
    "composite", "default_predictor", "load_alpha", "load_image", "load_m2m", "load_m2m_weights", "refine",
    "sam_features_and_masks", "save_alpha", "save_composite", "save_m2m_checkpoint", "save_rgba",
]

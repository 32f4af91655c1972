"""The small generated samples shipped in ``data_samples/`` (the demo image and its known alpha).

The folder sits at the repository's top level; ``$MAM_DATA_SAMPLES`` points elsewhere.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .images import load_alpha, load_image


def data_samples_dir() -> Path:
    """Folder of the shipped samples (``$MAM_DATA_SAMPLES`` or ``<repo>/data_samples``)."""
    env = os.environ.get("MAM_DATA_SAMPLES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data_samples"


@dataclass
class DemoSample:
    """An image with a known alpha and a prompt. ``image`` ``(H,W,3)`` uint8 RGB; ``alpha`` ``(H,W)``
    float32 in [0,1]; ``box`` ``(4,)`` pixels; ``points`` ``(N,2)``; ``labels`` ``(N,)``."""

    image: np.ndarray
    alpha: np.ndarray
    box: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    folder: Path


def load_demo_sample(name: str = "demo") -> DemoSample:
    """Read ``data_samples/<name>/`` (``image.png``, ``alpha.png``, ``prompt.json``)."""
    folder = data_samples_dir() / name
    if not (folder / "image.png").is_file():
        raise DatasetError(f"sample folder {str(folder)!r} has no image.png; regenerate the samples "
                           "(see data_samples/README.md) or set MAM_DATA_SAMPLES")
    prompt = json.loads((folder / "prompt.json").read_text())
    return DemoSample(
        image=load_image(folder / "image.png"),
        alpha=load_alpha(folder / "alpha.png"),
        box=np.asarray(prompt["box"], np.float32),
        points=np.asarray(prompt.get("points", []), np.float32).reshape(-1, 2),
        labels=np.asarray(prompt.get("labels", []), np.int64).reshape(-1),
        folder=folder,
    )

"""Fixtures of the evaluation tests."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


@pytest.fixture
def write_file():
    """``write_file(path, array)``: write an image with OpenCV, making its folders; returns the path."""

    def write(path: Path, array: np.ndarray) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), array)
        return path

    return write

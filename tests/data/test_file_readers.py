"""The data sets' fast readers follow the same image rules as everything else."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from mam_lib.data.sources.files import read_alpha, read_image
from mam_lib.errors import ImageReadError


def test_data_readers_share_the_image_rules(tmp_path):
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((3, 4, 3), 257 * 40, np.uint16))
    assert (read_image(tmp_path / "deep.png") == 40).all()
    Image.fromarray(np.full((3, 4), 0.5, np.float32), mode="F").save(tmp_path / "half.tif")
    assert (read_image(tmp_path / "half.tif") == 128).all()
    Image.fromarray(np.full((3, 4), 180.0, np.float32), mode="F").save(tmp_path / "f255.tif")
    with pytest.raises(ImageReadError, match="looks like 0..255"):  # was: taken as 0..255 silently
        read_image(tmp_path / "f255.tif")
    with pytest.raises(ImageReadError, match=r"must be in \[0, 1\]"):  # was: clipped to an all-1 alpha
        read_alpha(tmp_path / "f255.tif")
    colour = np.zeros((3, 4, 3), np.uint8)
    colour[..., 2] = 255
    cv2.imwrite(str(tmp_path / "colour.png"), colour)
    with pytest.raises(ImageReadError, match="channels differ"):
        read_alpha(tmp_path / "colour.png")
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0] = 200  # red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    assert read_image(tmp_path / "red.png")[0, 0].tolist() == [200, 0, 0]

"""Uploaded pictures go through the project's image rules and pixel limit."""
import io

import pytest
from PIL import Image

from mam_lib.errors import ImageReadError
from mam_lib.io.images import MAX_PIXELS_ENV
from mam_lib.widget.sources import image_from_bytes


def test_an_upload_over_the_pixel_limit_is_refused_before_decoding(monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buf, format="PNG")
    assert image_from_bytes(buf.getvalue(), "small.png").shape == (30, 40, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(ImageReadError, match="megapixels, more than the limit"):
        image_from_bytes(buf.getvalue(), "small.png")
    with pytest.raises(ImageReadError, match="is empty"):
        image_from_bytes(b"", "nothing.png")

"""The image input rules: every dtype and range, files of every depth, mattes, trimaps, the pixel limit,
and the writers' formats."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from mam_lib.errors import ConfigError, ImageReadError, MamError, OutputError
from mam_lib.io.cutout import composite, save_alpha, save_composite, save_rgba
from mam_lib.io.images import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    check_trimap,
    image_to_uint8,
    load_alpha,
    load_image,
    max_image_pixels,
    read_matte,
)
from mam_lib.io.outputs import is_own_image


@pytest.mark.parametrize("array, expected", [
    (np.full((2, 3, 3), 77, np.uint8), 77),
    (np.full((2, 3), 65535, np.uint16), 255),
    (np.full((2, 3, 3), 32896, np.uint16), 128),  # scaled, not clipped to 255
    (np.full((2, 3), True), 255),
    (np.full((2, 3, 3), 200, np.int64), 200),  # plain Python-int arrays in 0..255
    (np.full((2, 3, 1), 0.5, np.float32), 128),
    (np.full((2, 3, 3), 1.0 + 1e-4, np.float64), 255),  # rounding noise just above 1 is clipped
    (np.full((2, 3, 4), 0.25, np.float16), 64),  # RGBA: alpha dropped
])
def test_accepted_arrays(array, expected):
    out = image_to_uint8(array)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3) and (out == expected).all()
    assert np.array_equal(load_image(array), out)


@pytest.mark.parametrize("array, message", [
    (np.full((2, 3, 3), 200.0, np.float32), "looks like 0..255"),  # was: silently white
    (np.full((2, 3, 3), -0.5, np.float32), r"must be in \[0, 1\]"),
    (np.array([[np.nan, 0.5]], np.float32), "NaN"),
    (np.full((2, 3), 300, np.int32), "0..255"),
    (np.full((2, 3, 2), 1, np.uint8), "shape"),
    (np.zeros((0, 3, 3), np.uint8), "empty"),
    (np.full((2, 3), 1 + 1j), "dtype"),
])
def test_refused_arrays(array, message):
    with pytest.raises(ImageReadError, match=message):
        load_image(array)


def test_files_of_every_depth(tmp_path):
    Image.fromarray(np.full((4, 5), 0.5, np.float32), mode="F").save(tmp_path / "f.tif")
    assert (load_image(tmp_path / "f.tif") == 128).all()  # was: black
    Image.fromarray(np.full((4, 5), 200.0, np.float32), mode="F").save(tmp_path / "f255.tif")
    with pytest.raises(ImageReadError, match="looks like 0..255"):
        load_image(tmp_path / "f255.tif")
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((4, 5), 257 * 30, np.uint16))
    assert (load_image(tmp_path / "deep.png") == 30).all()  # a dark 16-bit image stays dark
    Image.fromarray(np.full((4, 5, 4), 9, np.uint8)).save(tmp_path / "rgba.png")
    assert (load_image(tmp_path / "rgba.png") == 9).all()
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="could not be read"):
        load_image(tmp_path / "junk.png")
    with pytest.raises(ImageReadError, match="is a folder"):
        load_image(tmp_path)


def _png_header_only(path, width, height):
    """A tiny PNG whose header announces ``width × height`` grey pixels (a decompression bomb's shape)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_pixel_limit_refuses_bombs_and_can_be_raised(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 40_000, 40_000)
    for read in (load_image, read_matte, load_alpha):
        with pytest.raises(ImageReadError, match=f"1600.0 megapixels.*{MAX_PIXELS_ENV}"):
            read(bomb)
    assert DEFAULT_MAX_PIXELS >= 12000 * 9000
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(small)
    monkeypatch.setenv(MAX_PIXELS_ENV, "500")
    assert max_image_pixels() == 500
    with pytest.raises(ImageReadError, match="limit of"):
        load_image(small)
    assert load_image(small, max_pixels=600).shape == (20, 30, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ConfigError, match=MAX_PIXELS_ENV):
        load_image(small)


def test_mattes_keep_their_values_and_colour_mattes_must_be_grey(tmp_path):
    grey3 = np.repeat(np.arange(12, dtype=np.uint8).reshape(3, 4, 1) * 20, 3, axis=2)
    cv2.imwrite(str(tmp_path / "grey3.png"), grey3)
    assert np.array_equal(read_matte(tmp_path / "grey3.png"), grey3[..., 0])
    colour = grey3.copy()
    colour[0, 0] = (0, 100, 255)
    cv2.imwrite(str(tmp_path / "colour.png"), colour)
    with pytest.raises(ImageReadError, match="channels differ"):  # was: the first channel, silently
        read_matte(tmp_path / "colour.png")
    jpeg_like = grey3.copy()
    jpeg_like[..., 1] += 1
    cv2.imwrite(str(tmp_path / "near.png"), jpeg_like)
    assert np.abs(read_matte(tmp_path / "near.png").astype(int) - grey3[..., 0]).max() <= 1
    Image.fromarray(np.full((3, 4), 200.0, np.float32), mode="F").save(tmp_path / "a255.tif")
    with pytest.raises(ImageReadError, match=r"must be in \[0, 1\]"):  # was: clipped to 1 everywhere
        load_alpha(tmp_path / "a255.tif")


def test_trimaps_hold_only_three_values():
    good = np.array([[0, 128, 255]], np.uint8)
    assert check_trimap(good) is good
    assert np.array_equal(check_trimap(good.astype(np.uint16) * 257), good)
    with pytest.raises(ImageReadError, match="other than 0, 128 and 255 .*37"):
        check_trimap(np.array([[0, 37, 255]], np.uint8))
    with pytest.raises(ImageReadError, match="float32"):
        check_trimap(np.array([[0, 0.5, 1]], np.float32))


def test_writers_follow_the_extension_and_tag_their_files(tmp_path):
    image = np.full((6, 7, 3), 90, np.uint8)
    alpha = np.full((6, 7), 0.5, np.float32)
    with pytest.raises(OutputError, match="transparency"):
        save_rgba(tmp_path / "cut.jpg", image, alpha)  # was: PNG bytes under a .jpg name
    assert not (tmp_path / "cut.jpg").exists()
    save_composite(tmp_path / "comp.jpg", image, alpha)
    assert (tmp_path / "comp.jpg").read_bytes()[:2] == b"\xff\xd8"  # a real JPEG
    with pytest.raises(OutputError, match="unknown image extension"):
        save_alpha(tmp_path / "alpha.gif", alpha)
    for name in ("a.png", "a.jpg", "a.tif"):
        assert is_own_image(save_alpha(tmp_path / name, alpha))
    Image.fromarray(image).save(tmp_path / "photo.png")
    assert not is_own_image(tmp_path / "photo.png")


def test_colours_and_mattes_out_of_range_are_refused():
    image = np.zeros((2, 2, 3), np.uint8)
    with pytest.raises(ConfigError, match="0..255"):
        composite(image, np.ones((2, 2), np.float32), (300, 0, 0))  # was: clipped to 255
    with pytest.raises(MamError, match="NaN"):
        save_alpha("never.png", np.full((2, 2), np.nan, np.float32))  # was: an all-zero matte


def test_uploaded_bytes_follow_the_rules_and_the_pixel_limit(monkeypatch):
    import io as _io

    from PIL import Image

    from mam_lib.io.images import MAX_PIXELS_ENV, load_image_bytes

    buf = _io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buf, format="PNG")
    arr = load_image_bytes(buf.getvalue(), "small.png")
    assert arr.shape == (30, 40, 3) and tuple(arr[0, 0]) == (10, 20, 30)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")  # a 40×30 upload is now "too big": refused before decoding
    with pytest.raises(ImageReadError, match="megapixels, more than the limit"):
        load_image_bytes(buf.getvalue(), "small.png")
    with pytest.raises(ImageReadError, match="is empty"):
        load_image_bytes(b"", "nothing.png")
    with pytest.raises(ImageReadError, match="could not be read as an image"):
        load_image_bytes(b"not an image at all", "text.png")

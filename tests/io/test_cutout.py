"""Writing mattes: alpha PNG, RGBA cut-out and composites, atomically."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mam_lib.io.cutout import checkerboard, composite, save_alpha, save_composite, save_rgba
from mam_lib.errors import ImageReadError
from mam_lib.io.images import load_alpha


def test_files_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    alpha = rng.random((20, 30)).astype(np.float32)
    save_alpha(tmp_path / "a.png", alpha)
    np.testing.assert_allclose(load_alpha(tmp_path / "a.png"), alpha, atol=0.5 / 255 + 1e-6)
    save_rgba(tmp_path / "c.png", image, alpha, estimate_fg=False)  # the image's own colours
    rgba = np.asarray(Image.open(tmp_path / "c.png"))
    assert rgba.shape == (20, 30, 4)
    np.testing.assert_array_equal(rgba[..., :3], image)
    np.testing.assert_array_equal(rgba[..., 3], np.rint(alpha * 255).astype(np.uint8))
    save_composite(tmp_path / "g.png", image, alpha, (0, 255, 0), estimate_fg=False)
    comp = np.asarray(Image.open(tmp_path / "g.png")).astype(np.float32)
    expect = alpha[..., None] * image + (1 - alpha[..., None]) * np.array([0, 255, 0])
    assert np.abs(comp - expect).max() <= 0.5 + 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "c.png", "g.png"]
    save_rgba(tmp_path / "f.png", image, alpha)  # by default: the estimated foreground, same alpha
    estimated = np.asarray(Image.open(tmp_path / "f.png"))
    np.testing.assert_array_equal(estimated[..., 3], rgba[..., 3])
    assert (estimated[..., :3] != image).any()


def test_composite_on_an_image_background_of_another_size():
    image = np.full((10, 10, 3), 200, np.uint8)
    bg = np.zeros((5, 7, 3), np.uint8)
    out = composite(image, np.zeros((10, 10), np.float32), bg)
    assert out.shape == (10, 10, 3) and out.max() == 0


def test_failed_write_keeps_the_old_file(tmp_path):
    save_alpha(tmp_path / "a.png", np.ones((4, 4), np.float32))
    with pytest.raises(ImageReadError):
        save_alpha(tmp_path / "a.png", np.ones((4, 4, 2), np.float32))
    assert load_alpha(tmp_path / "a.png").min() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_checkerboard_alternates():
    board = checkerboard((4, 4), square=2)
    assert (board[0, 0] != board[0, 2]).any() and (board[0, 0] == board[2, 2]).all()


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    save_alpha(tmp_path / "a.png", np.ones((4, 4), np.float32))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o666 & ~mask


def test_matte_files_keep_their_values(tmp_path):
    from mam_lib.io.images import read_matte

    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 3] = 128
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    assert (read_matte(tmp_path / "cut.png") == 128).all()  # an RGBA cut-out gives its alpha channel
    Image.fromarray(np.full((3, 4), 65535, np.uint16)).save(tmp_path / "deep.png")
    assert read_matte(tmp_path / "deep.png").dtype == np.uint16
    assert load_alpha(tmp_path / "deep.png").max() == 1.0
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="could not be read"):
        read_matte(tmp_path / "empty.png")

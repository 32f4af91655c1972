"""Foreground colour estimation, and the cut-outs and composites that use it.

The scenes are composites ``I = αF + (1−α)B`` whose true ``F`` is known. The colour error of a
foreground ``F̂`` is the mean, over the transition band (8-bit alpha neither 0 nor 255), of
``α · mean_c |F̂ − F|`` in 8-bit levels: exactly the error of ``F̂`` composited on any new
background. The baseline is the image itself (a cut-out that keeps the image's colours).
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mam_lib.data.procedural import make_background, make_foreground
from mam_lib.errors import ConfigError, ImageReadError, MamError
from mam_lib.io import foreground as fgmod
from mam_lib.io.cutout import composite, rgba_cutout, save_composite, save_rgba
from mam_lib.io.foreground import (alpha_as_float, band_tiles, estimate_foreground, foreground_to_uint8,
                                   transition_band)


def ring_scene(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A coloured, textured disc with a 24-pixel soft edge on a blue checkered background.

    Returns ``image`` (H,W,3) uint8, ``alpha`` (H,W) float32, true ``fg`` (H,W,3) float32 in [0,1].
    """
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fg = np.stack([200 + 40 * np.sin(xx / 9), 70 + 50 * np.cos(yy / 7), 40 + 30 * np.sin((xx + yy) / 11)], -1)
    d = np.hypot(yy - h / 2, xx - w / 2)
    alpha = np.clip((40 - d) / 24, 0, 1).astype(np.float32)
    bg = np.stack([30 + 20 * ((xx // 8 + yy // 8) % 2), 90 + 40 * np.sin(yy / 5), 220 - 30 * np.cos(xx / 6)], -1)
    image = np.clip(np.rint(alpha[..., None] * fg + (1 - alpha[..., None]) * bg), 0, 255).astype(np.uint8)
    return image, alpha, fg.astype(np.float32) / 255


def procedural_scene(kind: str, size=(96, 128)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The project's procedural foreground of ``kind`` composited on a procedural background."""
    fg, alpha = make_foreground(1, size, kind)
    bg = make_background(2, size)
    image = np.clip(np.rint(alpha[..., None] * fg + (1 - alpha[..., None]) * bg), 0, 255).astype(np.uint8)
    return image, alpha, fg.astype(np.float32) / 255


def band_error(fg: np.ndarray, true_fg: np.ndarray, alpha: np.ndarray) -> float:
    """Alpha-weighted mean colour error in the band, in 8-bit levels."""
    band = transition_band(alpha)
    return float((alpha[..., None] * np.abs(fg - true_fg)).mean(-1)[band].mean() * 255)


SCENES = {"ring": ring_scene, "hair": lambda: procedural_scene("hair"), "glass": lambda: procedural_scene("glass"),
          "soft": lambda: procedural_scene("soft")}


@pytest.mark.parametrize("name", sorted(SCENES))
def test_estimation_lowers_the_colour_error_in_the_band(name):
    image, alpha, true_fg = SCENES[name]()
    baseline = band_error(image / np.float32(255), true_fg, alpha)
    estimated = estimate_foreground(image, alpha)
    assert estimated.shape == image.shape and estimated.dtype == np.float32
    assert 0 <= estimated.min() and estimated.max() <= 1
    assert baseline > 8  # the old background really shows in these edges
    assert band_error(estimated, true_fg, alpha) < 0.5 * baseline


def test_outside_the_band_the_colours_are_the_image():
    image, alpha, _ = ring_scene()
    band = transition_band(alpha)
    assert 0.2 < band.mean() < 0.5 and (alpha == 1).any() and (alpha == 0).any()
    estimated = estimate_foreground(image, alpha)
    np.testing.assert_array_equal(estimated[~band], image[~band].astype(np.float32) / np.float32(255))
    assert np.abs(estimated[band] * 255 - image[band]).max() > 30  # changed where it matters


def test_band_only_runs_on_tiles_and_agrees_with_the_whole_image(monkeypatch):
    """On a picture whose band is a small part, the estimate runs on crops only; it agrees with the
    whole-image estimate within 3 levels (alpha-weighted mean in the band; measured 1.8) and is
    as much better than the image's colours."""
    image, alpha, true_fg = ring_scene(256, 384)
    shapes: list[tuple[int, ...]] = []
    real = fgmod._solve

    def spy(img, a, *args):
        shapes.append(a.shape)
        return real(img, a, *args)

    monkeypatch.setattr(fgmod, "_solve", spy)
    whole = estimate_foreground(image, alpha, band_only=False)
    assert shapes == [alpha.shape]
    shapes.clear()
    tiled = estimate_foreground(image, alpha, tile=32, margin=16)
    assert len(shapes) > 1 and all(s[0] <= 64 and s[1] <= 64 for s in shapes)
    assert sum(s[0] * s[1] for s in shapes) < 0.6 * alpha.size
    assert band_error(tiled, whole, alpha) < 3.0
    baseline = band_error(image / np.float32(255), true_fg, alpha)
    assert band_error(tiled, true_fg, alpha) < 0.3 * baseline
    assert band_error(whole, true_fg, alpha) < 0.3 * baseline


def test_band_tiles_cover_every_band_pixel_once():
    band = np.zeros((70, 90), bool)
    band[3, 5] = band[69, 89] = band[40, 10:60] = True
    tiles = band_tiles(band, tile=32, margin=8)
    hits = np.zeros(band.shape, int)
    for (ys, xs), (oy, ox) in tiles:
        hits[ys, xs] += 1
        assert oy.start <= ys.start and ys.stop <= oy.stop and ox.start <= xs.start and xs.stop <= ox.stop
        assert ys.start - oy.start <= 8 and oy.stop - ys.stop <= 8
    assert (hits[band] == 1).all() and hits.max() == 1
    assert len(tiles) == 4  # (0,0), (1,0), (1,1), (2,2) of the 32-pixel grid


def test_no_band_returns_the_image_without_estimating(monkeypatch):
    def fail(*args):
        raise AssertionError("estimated although no pixel is fractional")

    monkeypatch.setattr(fgmod, "_solve", fail)
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = np.zeros((20, 30), np.float32)
    alpha[5:15, 5:25] = 1.0
    alpha[0, 0] = 0.1 / 255  # rounds to 0 in the file: not part of the band
    out = estimate_foreground(image, alpha)
    np.testing.assert_array_equal(out, image.astype(np.float32) / 255)
    np.testing.assert_array_equal(rgba_cutout(image, alpha)[..., :3], image)


def test_input_types_give_the_same_result():
    image, alpha, _ = ring_scene(48, 64)
    a8 = np.rint(alpha * 255).astype(np.uint8)
    reference = estimate_foreground(image, a8.astype(np.float32) / 255)
    np.testing.assert_array_equal(estimate_foreground(image.astype(np.float64) / 255, a8), reference)
    np.testing.assert_array_equal(estimate_foreground(np.dstack([image, a8]), a8), reference)  # RGBA: colours kept
    np.testing.assert_array_equal(alpha_as_float(a8 > 127), (a8 > 127).astype(np.float32))


def test_tiny_images():
    out = estimate_foreground(np.full((1, 1, 3), 100, np.uint8), np.full((1, 1), 0.5, np.float32))
    assert out.shape == (1, 1, 3) and np.isfinite(out).all()
    assert estimate_foreground(np.full((1, 5, 3), 9, np.uint8), np.full((1, 5), 0.5, np.float32)).shape == (1, 5, 3)


def test_errors_name_the_problem():
    image, alpha, _ = ring_scene(16, 20)
    with pytest.raises(ImageReadError, match="differ in size"):
        estimate_foreground(image, alpha[:10])
    with pytest.raises(ImageReadError, match="2-D"):
        estimate_foreground(image, alpha[..., None])
    with pytest.raises(ImageReadError, match=r"\[0, 1\]"):
        estimate_foreground(image, alpha * 255)
    with pytest.raises(ImageReadError, match="dtype"):
        estimate_foreground(image, alpha.astype(np.complex64))
    nan = alpha.copy()
    nan[3, 3] = np.nan
    with pytest.raises(MamError, match="NaN"):
        estimate_foreground(image, nan)
    with pytest.raises(ImageReadError, match="float images must be in"):
        estimate_foreground(image.astype(np.float32), alpha)  # 0..255 floats
    for bad in ({"tile": 8}, {"tile": 32.5}, {"margin": -1}, {"regularization": -1.0},
                {"regularization": 0.0, "gradient_weight": 0.0}):
        with pytest.raises(ConfigError):
            estimate_foreground(image, alpha, **bad)
    with pytest.raises(ImageReadError, match="differ in size"):
        rgba_cutout(image, alpha, fg=np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(ImageReadError, match="differ in size"):
        composite(image, alpha[:10])


def old_composite(image: np.ndarray, alpha: np.ndarray, color) -> np.ndarray:
    a = alpha[..., None]
    return np.clip(np.rint(a * image.astype(np.float32) + (1 - a) * np.float32(color)), 0, 255).astype(np.uint8)


def test_the_off_switch_gives_the_image_colours_exactly(tmp_path):
    image, alpha, _ = ring_scene()
    a8 = np.rint(alpha * 255).astype(np.uint8)
    np.testing.assert_array_equal(rgba_cutout(image, alpha, estimate_fg=False), np.dstack([image, a8]))
    np.testing.assert_array_equal(composite(image, alpha, (0, 177, 64), estimate_fg=False),
                                  old_composite(image, alpha, (0, 177, 64)))
    save_rgba(tmp_path / "c.png", image, alpha, estimate_fg=False)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c.png")), np.dstack([image, a8]))
    save_composite(tmp_path / "g.png", image, alpha, (255, 0, 0), estimate_fg=False)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "g.png")), old_composite(image, alpha, (255, 0, 0)))


def test_cutouts_and_composites_use_the_estimate_by_default(tmp_path):
    image, alpha, true_fg = ring_scene()
    fg = estimate_foreground(image, alpha)
    a8 = np.rint(alpha * 255).astype(np.uint8)
    expected = np.dstack([foreground_to_uint8(fg), a8])
    np.testing.assert_array_equal(rgba_cutout(image, alpha), expected)
    save_rgba(tmp_path / "c.png", image, alpha)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c.png")), expected)
    np.testing.assert_array_equal(rgba_cutout(image, alpha, fg=fg), expected)  # a shared estimate
    np.testing.assert_array_equal(rgba_cutout(image, alpha, estimate_fg=False, fg=foreground_to_uint8(fg)), expected)

    # on a new background the composite is closer to the truth αF + (1−α)B' than the old one
    new_bg = (255, 255, 255)
    truth = alpha[..., None] * true_fg * 255 + (1 - alpha[..., None]) * np.float32(new_bg)
    band = transition_band(alpha)
    default = composite(image, alpha, new_bg)
    off = composite(image, alpha, new_bg, estimate_fg=False)
    err_default = np.abs(default - truth).mean(-1)[band].mean()
    err_off = np.abs(off - truth).mean(-1)[band].mean()
    assert err_off > 8 and err_default < 0.5 * err_off
    np.testing.assert_array_equal(composite(image, alpha, new_bg, fg=fg), default)
    save_composite(tmp_path / "g.png", image, alpha, new_bg)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "g.png")), default)
    np.testing.assert_array_equal(default[~band & (alpha == 1)], image[~band & (alpha == 1)])


def test_a_wrong_extension_is_refused_before_estimating(tmp_path, monkeypatch):
    from mam_lib.errors import OutputError

    def fail(*args):
        raise AssertionError("estimated before checking the file name")

    monkeypatch.setattr(fgmod, "_solve", fail)
    image, alpha, _ = ring_scene(16, 20)
    with pytest.raises(OutputError, match="transparency"):
        save_rgba(tmp_path / "c.jpg", image, alpha)
    with pytest.raises(OutputError, match="unknown image extension"):
        save_composite(tmp_path / "c.xyz", image, alpha)
    assert not list(tmp_path.iterdir())

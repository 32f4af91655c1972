"""Procedural foregrounds and backgrounds: shapes, ranges, determinism, sub-pixel strands."""
from __future__ import annotations

import numpy as np
import pytest

from mam_lib.data.procedural import FOREGROUND_KINDS, make_background, make_foreground, value_noise

SIZE = (96, 128)


@pytest.mark.parametrize("kind", FOREGROUND_KINDS)
def test_foreground_shapes_and_ranges(kind):
    fg, alpha = make_foreground(3, SIZE, kind)
    assert fg.shape == SIZE + (3,) and fg.dtype == np.uint8
    assert alpha.shape == SIZE and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    # there is an object, but it does not fill the whole picture
    assert 0.01 < float((alpha > 0).mean()) < 0.99
    # the colour is defined where alpha is 0 too (not left black)
    assert fg[alpha == 0].mean() > 5


def test_kinds_have_their_character():
    size = (160, 160)
    _, hair = make_foreground(1, size, "hair")
    _, glass = make_foreground(1, size, "glass")
    _, holes = make_foreground(2, size, "holes")
    # hair: many fractional pixels; glass: large semi-transparent area
    assert ((hair > 0.02) & (hair < 0.98)).mean() > 0.05
    inside = glass > 0.02
    assert np.median(glass[inside]) < 0.8
    # holes: background pixels enclosed by the object (not connected to the image border)
    import cv2

    bg = (holes < 0.5).astype(np.uint8)
    n, labels = cv2.connectedComponents(bg, connectivity=4)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    assert n - 1 > len(border - {0}) or any(lbl not in border for lbl in range(1, n))


def test_foreground_is_deterministic_and_seed_dependent():
    a = make_foreground(11, SIZE)
    b = make_foreground(11, SIZE)
    c = make_foreground(12, SIZE)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_strands_are_thinner_than_a_pixel():
    # the same geometry drawn without and with supersampling: with it, a strand covers only
    # part of a pixel, so fractional pixels are fainter on average and more of them are faint
    _, coarse = make_foreground(6, (256, 256), "hair", supersample=1)
    _, fine = make_foreground(6, (256, 256), "hair", supersample=4)

    def fractional(alpha):
        return alpha[(alpha > 0.01) & (alpha < 0.99)]

    assert fractional(fine).mean() < fractional(coarse).mean() - 0.07
    assert (fractional(fine) < 0.5).mean() > (fractional(coarse) < 0.5).mean() + 0.1


def test_unknown_kind_and_tiny_size_raise():
    with pytest.raises(ValueError, match="kind"):
        make_foreground(0, SIZE, "feathers")
    with pytest.raises(ValueError):
        make_foreground(0, (4, 4))


def test_background():
    bg = make_background(4, SIZE)
    assert bg.shape == SIZE + (3,) and bg.dtype == np.uint8
    assert np.array_equal(bg, make_background(4, SIZE))
    assert not np.array_equal(bg, make_background(5, SIZE))
    assert bg.std() > 2.0  # not a flat colour
    stds = [make_background(s, SIZE).reshape(-1, 3).mean(0) for s in range(6)]
    assert np.ptp(np.array(stds), axis=0).max() > 20  # backgrounds vary in colour


def test_value_noise_range():
    rng = np.random.default_rng(0)
    n = value_noise(rng, (50, 70), 10.0)
    assert n.shape == (50, 70) and n.dtype == np.float32
    assert n.min() == 0.0 and n.max() == 1.0

"""Transforms: compositing identities, ranges, boxes, trimaps, prompts and tensors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mam_lib.data import transforms as T
from mam_lib.data.procedural import make_background, make_foreground


@pytest.fixture(scope="module")
def pair():
    fg, alpha = make_foreground(4, (150, 200), "fur")
    return fg, alpha


@pytest.fixture(scope="module")
def second():
    return make_foreground(9, (120, 160), "soft")


def _disc(size=100, r=30, soft=6.0):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.sqrt((xx - size / 2) ** 2 + (yy - size / 2) ** 2)
    return np.clip((r - d) / soft + 0.5, 0, 1).astype(np.float32)


def test_composite_formula_uint8_and_float():
    rng = np.random.default_rng(0)
    fg = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = rng.random((20, 30), dtype=np.float32)
    out = T.composite(fg, bg, alpha)
    assert out.dtype == np.uint8
    expect = alpha[..., None] * fg + (1 - alpha[..., None]) * bg.astype(np.float32)
    assert np.abs(out - expect).max() <= 0.51  # rounding to 8 bits
    outf = T.composite(fg / np.float32(255), bg / np.float32(255), alpha)
    assert outf.dtype == np.float32
    assert np.allclose(outf, expect / 255, atol=1e-5)
    # alpha 1 gives the foreground, alpha 0 the background
    assert np.array_equal(T.composite(fg, bg, np.ones((20, 30), np.float32)), fg)
    assert np.array_equal(T.composite(fg, bg, np.zeros((20, 30), np.uint8)), bg)
    with pytest.raises(ValueError):
        T.composite(fg, bg[:10], alpha)


def test_merge_equals_layered_compositing(pair, second):
    fg1, a1 = T.random_crop(*pair, 96, 0)
    fg2, a2 = T.random_crop(*second, 96, 1)
    fg, alpha = T.merge_foregrounds(fg1, a1, fg2, a2)
    assert alpha.dtype == np.float32 and fg.dtype == np.float32
    assert np.allclose(alpha, 1 - (1 - a1) * (1 - a2), atol=1e-6)
    bg = T.to_float_image(make_background(2, (96, 96)))
    layered = T.composite(T.to_float_image(fg1), T.composite(T.to_float_image(fg2), bg, a2), a1)
    assert np.allclose(T.composite(fg, bg, alpha), layered, atol=2e-4)


def test_random_affine_identity_and_flip(pair):
    fg, alpha = pair
    same = T.AffineConfig(degrees=0, scale=(1, 1), shear=0, flip_prob=0)
    f2, a2 = T.random_affine(fg, alpha, 0, same)
    assert np.abs(a2 - alpha).max() < 1e-3 and np.abs(f2.astype(int) - fg).max() <= 1
    flip = T.AffineConfig(degrees=0, scale=(1, 1), shear=0, flip_prob=1)
    f3, a3 = T.random_affine(fg, alpha, 0, flip)
    assert np.abs(a3 - alpha[:, ::-1]).max() < 1e-3
    f4, a4 = T.random_affine(fg, alpha, 3)
    assert f4.shape == fg.shape and a4.dtype == np.float32
    assert a4.min() >= 0 and a4.max() <= 1 and not np.allclose(a4, alpha)


def test_affine_matrix_rotation_about_center():
    m = T.affine_matrix((10.0, 10.0), degrees=90)
    # the centre is fixed, a point right of it goes below it (y points down)
    assert np.allclose(m @ [10, 10, 1], [10, 10])
    assert np.allclose(m @ [15, 10, 1], [10, 15])


def test_affine_crop_is_a_translated_window_without_affine():
    h, w = 300, 400
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    fg = np.stack([xx, yy, np.zeros_like(xx)], -1)  # colour encodes coordinates
    alpha = np.pad(_disc(300, 80), ((0, 0), (50, 50)))
    same = T.AffineConfig(degrees=0, scale=(1, 1), shear=0, flip_prob=0)
    for seed in range(5):
        f, a = T.random_affine_crop(fg, alpha, 128, seed, same)
        x0, y0 = f[0, 0, 0], f[0, 0, 1]
        assert np.allclose(f[..., 0], x0 + np.arange(128)[None, :], atol=1e-3)
        assert np.allclose(f[..., 1], y0 + np.arange(128)[:, None], atol=1e-3)
        assert 0 <= x0 <= w - 128 and 0 <= y0 <= h - 128
        # the crop keeps the foreground in view
        assert (a > 0.5).any()


def test_affine_crop_enlarges_small_sources(pair):
    fg, alpha = pair  # 150x200 source, 256 crop
    f, a = T.random_affine_crop(fg, alpha, 256, 1)
    assert f.shape == (256, 256, 3) and a.shape == (256, 256)
    assert (a > 0.5).any()


def _check_sample(s):
    alpha, fg, bg, image = s["alpha"], s["fg"], s["bg"], s["image"]
    for x in (alpha, fg, bg, image):
        assert x.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert np.allclose(image, alpha[..., None] * fg + (1 - alpha[..., None]) * bg, atol=1e-5)
    _check_box(s["box"], alpha)
    _check_trimap(s["trimap"], alpha)


def _check_box(box, alpha):
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs):
        assert box.dtype == np.float32 and box.shape == (4,)
        assert box[0] <= xs.min() and xs.max() < box[2] and box[1] <= ys.min() and ys.max() < box[3]
        # tight: every edge touches the foreground
        assert box[0] == xs.min() and box[2] == xs.max() + 1 and box[1] == ys.min() and box[3] == ys.max() + 1


def _check_trimap(trimap, alpha):
    assert trimap.dtype == np.uint8
    assert set(np.unique(trimap)) <= {0, 128, 255}
    assert (alpha[trimap == 255] >= 254.5 / 255).all()
    assert (alpha[trimap == 0] <= 0.5 / 255).all()
    frac = (alpha > 0.5 / 255) & (alpha < 254.5 / 255)
    assert (trimap[frac] == 128).all()


def test_every_transform_chain_keeps_the_compositing_identity(pair, second):
    draws = [pair, second]
    chain = T.Compose([
        T.RandomAffineCrop(96),
        T.MergeForeground(lambda rng: draws[int(rng.integers(2))], prob=0.7),
        T.HSVJitter(),
        T.BackgroundCrop(96),
        T.Composite(),
        T.MakeTrimap((1, 8)),
        T.MakeBox(),
        T.SamplePoints(3),
    ])
    bg = make_background(1, (180, 240))
    for seed in range(8):
        s = chain({"fg": pair[0], "alpha": pair[1], "bg": bg}, seed)
        _check_sample(s)
        assert s["points"].shape == (3, 2) and (s["labels"] == 1).all()
    # a partial chain (no affine, no merge) also holds
    partial = T.Compose([T.HSVJitter(), T.BackgroundCrop(150), T.Composite()])
    fg150, a150 = T.random_crop(*pair, 150, 0)
    s = partial({"fg": fg150, "alpha": a150, "bg": bg}, 0)
    assert np.allclose(s["image"], a150[..., None] * s["fg"] + (1 - a150[..., None]) * s["bg"], atol=1e-5)


def test_random_crop_keeps_foreground_and_pads():
    alpha = np.zeros((400, 400), np.float32)
    alpha[300:340, 20:60] = 1.0
    fg = np.zeros((400, 400, 3), np.uint8)
    for seed in range(6):
        f, a = T.random_crop(fg, alpha, 100, seed)
        assert a.shape == (100, 100) and f.shape == (100, 100, 3)
        assert a.sum() > 0
    small = T.random_crop(fg[:50, :60], alpha[:50, :60], 80, 0)
    assert small[1].shape == (80, 80)


def test_trimap_from_alpha_widths():
    alpha = _disc(120, 40, soft=4.0)
    tri = T.trimap_from_alpha(alpha, None, (5, 5))
    _check_trimap(tri, alpha)
    # the definite foreground is the opaque disc shrunk by 5 px (radius ~ 40 - 2 - 5)
    opaque_r = np.sqrt((alpha >= 254.5 / 255).sum() / np.pi)
    fg_r = np.sqrt((tri == 255).sum() / np.pi)
    assert abs((opaque_r - fg_r) - 5) < 1.5
    wide = T.trimap_from_alpha(alpha, None, (15, 15))
    assert (wide == 128).sum() > (tri == 128).sum()
    rand = [T.trimap_from_alpha(alpha, s, (1, 20)) for s in range(4)]
    assert len({int((t == 128).sum()) for t in rand}) > 1
    for t in rand:
        _check_trimap(t, alpha)


def test_hsv_jitter():
    rng = np.random.default_rng(0)
    img = rng.random((32, 32, 3), dtype=np.float32)
    none = T.JitterConfig(hue=0, saturation=0, value=0)
    assert np.allclose(T.hsv_jitter(img, 0, none), img, atol=1e-4)
    out = T.hsv_jitter(img, 1)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, img, atol=1e-3)
    grey = np.full((8, 8, 3), 0.4, np.float32)  # no saturation: hue shifts leave grey grey
    g = T.hsv_jitter(grey, 2, T.JitterConfig(hue=90, saturation=0, value=0))
    assert np.allclose(g, 0.4, atol=1e-4)


def test_degrade():
    img = T.to_float_image(make_background(3, (64, 64)))
    assert np.array_equal(T.degrade(img, 0, T.DegradationConfig(prob=0.0)), img)
    always = T.DegradationConfig(prob=1.0, jpeg_prob=1.0, blur_prob=1.0, noise_prob=1.0, contrast_prob=1.0)
    out = T.degrade(img, 0, always)
    assert out.dtype == np.float32 and out.shape == img.shape
    assert out.min() >= 0 and out.max() <= 1
    assert np.abs(out - img).mean() > 1e-3
    jpeg_only = T.DegradationConfig(prob=1.0, jpeg_prob=1.0, jpeg_quality=(10, 10), blur_prob=0, noise_prob=0,
                                    contrast_prob=0)
    j = T.degrade(img, 0, jpeg_only)
    bgr = cv2.cvtColor(T.to_uint8_image(img), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 10])
    ref = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.array_equal(T.to_uint8_image(j), ref)


def test_box_from_alpha_and_empty_alpha():
    rng = np.random.default_rng(0)
    for seed in range(5):
        _, alpha = make_foreground(seed, (64, 80))
        _check_box(T.box_from_alpha(alpha), alpha)
    empty = np.zeros((50, 60), np.float32)
    b1, b2 = T.box_from_alpha(empty, 1), T.box_from_alpha(empty, 1)
    assert np.array_equal(b1, b2)
    assert 0 <= b1[0] < b1[2] <= 60 and 0 <= b1[1] < b1[3] <= 50
    assert not np.array_equal(b1, T.box_from_alpha(empty, 2))
    j = T.jitter_box(np.array([10, 10, 40, 30], np.float32), (50, 60), rng, 0.2)
    assert j.dtype == np.float32 and 0 <= j[0] < j[2] <= 60 and 0 <= j[1] < j[3] <= 50


def test_sample_points_inside_foreground():
    alpha = _disc(100, 30)
    pts, labels = T.sample_points(alpha, 0, 16)
    assert pts.shape == (16, 2) and pts.dtype == np.float32 and labels.dtype == np.int64
    cols, rows = pts[:, 0].astype(int), pts[:, 1].astype(int)
    assert (alpha[rows, cols] > 0.5).all()
    # well inside: at least half the largest inscribed distance from the boundary (~15 px)
    assert (np.hypot(pts[:, 0] - 50, pts[:, 1] - 50) < 20).all()
    empty_pts, _ = T.sample_points(np.zeros((20, 30), np.float32), 0, 2)
    assert empty_pts.shape == (2, 2) and (empty_pts[:, 0] < 30).all()


def test_to_sam_tensor_normalisation_and_inverse():
    from mam_lib.inference.sam import PIXEL_MEAN, PIXEL_STD

    img = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    t = T.to_sam_tensor(img)
    assert isinstance(t, torch.Tensor) and t.shape == (3, 10, 12) and t.dtype == torch.float32
    ref = (torch.from_numpy(img).permute(2, 0, 1).float() - torch.tensor(PIXEL_MEAN).view(3, 1, 1)) \
        / torch.tensor(PIXEL_STD).view(3, 1, 1)
    assert torch.allclose(t, ref, atol=1e-5)
    assert torch.allclose(T.to_sam_tensor(img.astype(np.float32) / 255), ref, atol=1e-4)
    assert np.array_equal(T.from_sam_tensor(t), img)


def test_texture_foreground_blends_towards_the_texture_at_the_foreground_tone():
    fg = np.full((32, 32, 3), 0.6, np.float32)
    texture = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32) * 0.4  # dark, detailed
    out = T.texture_foreground(fg, texture, 0, strength=(1.0, 1.0))
    assert out.dtype == np.float32 and out.shape == fg.shape
    assert np.allclose(out.mean(axis=(0, 1)), 0.6, atol=0.02)  # the object's tone is kept
    assert np.allclose(out - out.mean(axis=(0, 1)), texture - texture.mean(axis=(0, 1)), atol=1e-5)
    assert np.allclose(T.texture_foreground(fg, texture, 0, strength=(0.0, 0.0)), fg)
    half = T.texture_foreground(fg, texture, 0, strength=(0.5, 0.5))
    assert np.allclose(half, 0.5 * fg + 0.5 * out, atol=1e-5)

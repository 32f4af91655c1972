"""Training losses on small hand-made tensors."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mam_lib.training.losses import (
    LossConfig,
    binomial_kernel,
    composition_loss,
    gradient_loss,
    laplacian_l1,
    laplacian_pyramid,
    multiscale_loss,
    weight_pyramid,
    weighted_l1,
)


def _alpha(seed: int, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 1, size, size, generator=g)


def test_weighted_l1_zero_at_equality_and_hand_value():
    a = _alpha(0)
    assert float(weighted_l1(a, a)) == 0.0
    pred = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]]])
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.5]]]])
    assert float(weighted_l1(pred, target)) == pytest.approx((1.0 + 0.0 + 0.5 + 0.0) / 4)
    weight = torch.tensor([[[[True, False], [True, True]]]])
    assert float(weighted_l1(pred, target, weight)) == pytest.approx((1.0 + 0.5 + 0.0) / 3, rel=1e-5)


def test_weighted_l1_counts_only_the_region():
    target = _alpha(1)
    region = torch.zeros_like(target, dtype=torch.bool)
    region[..., 10:30, 10:30] = True
    pred = target.clone()
    pred[..., :5, :] = 1 - pred[..., :5, :]  # errors outside the region
    assert float(weighted_l1(pred, target, region)) == pytest.approx(0.0, abs=1e-7)
    pred[..., 12, 12] += 0.5  # one error inside, in each of the 2 samples
    assert float(weighted_l1(pred, target, region)) == pytest.approx(2 * 0.5 / (2 * 20 * 20), rel=1e-4)
    empty = torch.zeros_like(region)
    assert float(weighted_l1(pred, target, empty)) == 0.0


def test_binomial_kernel_is_normalised_and_separable():
    k = binomial_kernel()
    assert k.shape == (1, 1, 5, 5)
    assert float(k.sum()) == pytest.approx(1.0)
    assert float(k[0, 0, 2, 2]) == pytest.approx(36 / 256)
    assert float(k[0, 0, 0, 0]) == pytest.approx(1 / 256)


@pytest.mark.parametrize("size,expected", [(64, [64, 32, 16, 8, 4]), (50, [50, 25, 13, 7, 4])])
def test_pyramid_shapes(size, expected):
    x = torch.rand(1, 1, size, size + 6)
    bands = laplacian_pyramid(x, levels=5)
    assert [b.shape[-2] for b in bands] == expected
    assert [b.shape[-1] for b in bands] == [-(-(size + 6) // 2 ** i) for i in range(5)]
    weights = weight_pyramid(torch.ones(1, 1, size, size + 6), levels=5)
    assert [w.shape[-2:] for w in weights] == [b.shape[-2:] for b in bands]


def test_pyramid_of_constant_is_zero_and_of_edge_is_not():
    flat = torch.full((1, 1, 64, 64), 0.7)
    for band in laplacian_pyramid(flat):
        assert float(band.abs().max()) < 1e-5
    edge = torch.zeros(1, 1, 64, 64)
    edge[..., :, 32:] = 1.0
    bands = laplacian_pyramid(edge)
    assert float(bands[0].abs().max()) > 0.1
    # band-pass: each level has (almost) no mean
    assert abs(float(bands[0].mean())) < 0.02


def _reference_pyramid(x, levels):
    """The pyramid with ``conv2d`` and the 5×5 kernel, as the docstring defines it."""
    k = binomial_kernel(dtype=x.dtype)

    def blur(t, kernel):
        return F.conv2d(F.pad(t, (2, 2, 2, 2), mode="reflect"), kernel.expand(t.shape[1], 1, 5, 5), groups=t.shape[1])

    bands, current = [], x
    for _ in range(levels):
        down = blur(current, k)[..., ::2, ::2]
        up = torch.zeros(*down.shape[:2], 2 * down.shape[-2], 2 * down.shape[-1], dtype=x.dtype)
        up[..., ::2, ::2] = down
        bands.append(current - blur(up, 4 * k)[..., : current.shape[-2], : current.shape[-1]])
        current = down
    return bands


def test_pyramid_equals_the_5x5_convolution_definition():
    x = torch.rand(2, 3, 50, 57, dtype=torch.float64)
    for band, ref in zip(laplacian_pyramid(x, levels=5), _reference_pyramid(x, levels=5)):
        assert band.shape == ref.shape
        assert torch.allclose(band, ref, atol=1e-12)


def test_pyramid_too_small_raises():
    with pytest.raises(ValueError):
        laplacian_pyramid(torch.rand(1, 1, 20, 20), levels=5)


def test_laplacian_l1_weights_levels_by_powers_of_two():
    pred, target = _alpha(2), _alpha(3)
    bands = laplacian_pyramid(pred - target, levels=3)
    by_hand = sum((2.0 ** i) * b.abs().mean() for i, b in enumerate(bands))
    assert float(laplacian_l1(pred, target, levels=3)) == pytest.approx(float(by_hand), rel=1e-5)
    assert float(laplacian_l1(target, target)) == pytest.approx(0.0, abs=1e-7)


def test_laplacian_l1_downsamples_the_region_per_level():
    pred, target = _alpha(4), _alpha(5)
    region = torch.zeros_like(pred, dtype=torch.bool)
    region[..., 8:40, 16:48] = True
    bands = laplacian_pyramid(pred - target, levels=2)
    w0 = region.float()
    w1 = w0[..., ::2, ::2]
    by_hand = (bands[0].abs() * w0).sum() / w0.sum() + 2 * (bands[1].abs() * w1).sum() / w1.sum()
    assert float(laplacian_l1(pred, target, region, levels=2)) == pytest.approx(float(by_hand), rel=1e-4)


def test_composition_loss_with_black_and_white():
    pred, target = _alpha(6), _alpha(7)
    fg = torch.ones(2, 3, 64, 64)
    bg = torch.zeros(2, 3, 64, 64)
    assert float(composition_loss(pred, target, fg, bg)) == pytest.approx(float(weighted_l1(pred, target)), rel=1e-5)
    assert float(composition_loss(target, target, fg, bg)) == 0.0
    # where fg equals bg the alpha cannot be seen: no loss
    assert float(composition_loss(pred, target, fg, fg)) == pytest.approx(0.0, abs=1e-7)


def test_gradient_loss_ignores_offsets():
    target = _alpha(8)
    assert float(gradient_loss(target, target)) == 0.0
    shifted = (target + 0.1)
    assert float(gradient_loss(shifted, target)) == pytest.approx(0.0, abs=1e-6)
    assert float(weighted_l1(shifted, target)) == pytest.approx(0.1, rel=1e-4)
    assert float(gradient_loss(_alpha(9), target)) > 0.01


def test_multiscale_total_uses_scale_weights():
    target = _alpha(10)
    other = _alpha(11)
    regions = {"alpha_os8": None, "alpha_os4": None, "alpha_os1": None}
    outputs = {"alpha_os8": target, "alpha_os4": target, "alpha_os1": other}
    total, parts = multiscale_loss(outputs, target, regions)
    one = float(weighted_l1(other, target) + laplacian_l1(other, target))
    assert float(total) == pytest.approx(2 / 5 * one, rel=1e-5)
    assert parts["loss_os8"] == 0.0 and parts["loss_os4"] == 0.0
    assert parts["loss_os1"] == pytest.approx(one, rel=1e-5)
    outputs = {"alpha_os8": other, "alpha_os4": target, "alpha_os1": target}
    total8, _ = multiscale_loss(outputs, target, regions)
    assert float(total8) == pytest.approx(1 / 5 * one, rel=1e-5)
    zero, _ = multiscale_loss({k: target for k in regions}, target, regions)
    assert float(zero) == 0.0


def test_multiscale_respects_regions_and_optional_terms():
    target = _alpha(12)
    pred = target.clone()
    pred[..., :16, :] = 1.0 - pred[..., :16, :]
    outputs = {"alpha_os8": target, "alpha_os4": target, "alpha_os1": pred}
    far = torch.zeros_like(target, dtype=torch.bool)
    far[..., 48:, :] = True  # far from the error rows: the pyramid's reach is a few pixels per level
    total, parts = multiscale_loss(outputs, target, {"alpha_os8": None, "alpha_os4": None, "alpha_os1": far},
                                   LossConfig(laplacian=0.0))
    assert float(total) == 0.0
    cfg = LossConfig(composition=1.0, gradient=1.0)
    fg, bg = torch.ones(2, 3, 64, 64), torch.zeros(2, 3, 64, 64)
    total, parts = multiscale_loss(outputs, target, {"alpha_os8": None, "alpha_os4": None, "alpha_os1": None}, cfg,
                                   fg, bg)
    assert parts["composition_os1"] > 0 and parts["gradient_os1"] > 0
    with pytest.raises(ValueError):
        multiscale_loss(outputs, target, {"alpha_os8": None, "alpha_os4": None, "alpha_os1": None}, cfg)


def test_losses_backpropagate():
    target = _alpha(13)
    pred = _alpha(14).requires_grad_(True)
    total, _ = multiscale_loss({"alpha_os8": pred, "alpha_os4": pred, "alpha_os1": pred}, target,
                               {"alpha_os8": None, "alpha_os4": None, "alpha_os1": None})
    total.backward()
    assert pred.grad is not None and float(pred.grad.abs().sum()) > 0

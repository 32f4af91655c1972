"""The learning-rate schedule and the gradient clipper."""
from __future__ import annotations

import pytest
import torch

from mam_lib.training.optim import GradClipper, lr_factor


def test_lr_factor_warms_up_then_decays():
    assert lr_factor(0, 4, 20) == pytest.approx(0.25)
    assert lr_factor(3, 4, 20) == pytest.approx(1.0)
    assert lr_factor(4, 4, 20) == pytest.approx(1.0)
    assert lr_factor(12, 4, 20) == pytest.approx(0.5)
    assert lr_factor(20, 4, 20, min_ratio=0.1) == pytest.approx(0.1)


def test_grad_clipper_follows_a_moving_maximum():
    p = torch.nn.Parameter(torch.zeros(4))
    clip = GradClipper(decay=0.9, start=2)
    for value in (1.0, 1.0):  # recording only
        p.grad = torch.full((4,), value)
        norm, clipped = clip([p])
        assert norm == pytest.approx(2.0) and not clipped
    p.grad = torch.full((4,), 50.0)  # a spike
    norm, clipped = clip([p])
    assert clipped and norm == pytest.approx(100.0)
    assert float(p.grad.norm()) == pytest.approx(2.0, rel=1e-4)
    assert clip.moving_max == pytest.approx(4.0)  # a spike at most doubles the threshold
    state = clip.state_dict()
    other = GradClipper(decay=0.9, start=2)
    other.load_state_dict(state)
    assert other.moving_max == clip.moving_max and other.seen == 3

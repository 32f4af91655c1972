"""The M2M decoder: checkpoint-compatible layout, shapes, ranges, spectral norm, determinism."""
from __future__ import annotations

import torch

from mam_lib.inference.m2m import M2MDecoder, SpectralNorm, count_parameters

from pathlib import Path

# Keys and shapes of the published M2M checkpoints (mam_vitb.pth and siblings), one per line.
REFERENCE_STATE_DICT = Path(__file__).resolve().parent / "m2m_state_dict.txt"


def _reference() -> dict[str, tuple[int, ...]]:
    ref = {}
    for line in REFERENCE_STATE_DICT.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape = line.split(" ", 1)
        ref[key] = tuple(int(x) for x in shape.strip().strip("()").split(",") if x.strip())
    return ref


def test_state_dict_matches_published_keys_and_shapes():
    ref = _reference()
    state = M2MDecoder().state_dict()
    assert set(state) == set(ref)
    assert {k: tuple(v.shape) for k, v in state.items()} == ref
    assert len(state) == 184


def test_parameter_counts_match_the_release():
    model = M2MDecoder()
    assert count_parameters(model) == 2_714_619
    total = sum(v.numel() for k, v in model.state_dict().items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert total == 2_736_351  # trainable + spectral-norm u/v vectors


def test_output_shapes_and_ranges():
    torch.manual_seed(0)
    model = M2MDecoder().eval()
    feats = torch.randn(2, 256, 8, 8)
    image = torch.randn(2, 3, 128, 128)
    mask = (torch.rand(2, 1, 32, 32) > 0.5).float()
    with torch.no_grad():
        out = model(feats, image, mask)
    assert set(out) == {"alpha_os1", "alpha_os4", "alpha_os8", "mask"}
    for key in ("alpha_os1", "alpha_os4", "alpha_os8", "mask"):
        assert out[key].shape == (2, 1, 128, 128)
    for key in ("alpha_os1", "alpha_os4", "alpha_os8"):
        assert out[key].min() >= 0 and out[key].max() <= 1
    # the mask output is the bilinear up-sampling of the input mask
    ref = torch.nn.functional.interpolate(mask, (128, 128), mode="bilinear", align_corners=False)
    assert torch.allclose(out["mask"], ref)


def test_eval_mode_is_deterministic_and_leaves_spectral_vectors_alone():
    torch.manual_seed(1)
    model = M2MDecoder().eval()
    before = {k: v.clone() for k, v in model.state_dict().items() if k.endswith(("weight_u", "weight_v"))}
    args = (torch.randn(1, 256, 4, 4), torch.randn(1, 3, 64, 64), torch.ones(1, 1, 16, 16))
    with torch.no_grad():
        a = model(*args)["alpha_os1"]
        b = model(*args)["alpha_os1"]
    assert torch.equal(a, b)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_training_mode_does_one_power_iteration_per_forward():
    torch.manual_seed(2)
    conv = torch.nn.Conv2d(4, 6, 3, padding=1, bias=False)
    sn = SpectralNorm(conv).train()
    w = conv.weight_bar.detach().reshape(6, -1)
    u0 = conv.weight_u.clone()
    sn(torch.randn(1, 4, 5, 5))
    v1 = torch.nn.functional.normalize(w.t() @ u0, dim=0)
    u1 = torch.nn.functional.normalize(w @ v1, dim=0)
    assert torch.allclose(conv.weight_v, v1, atol=1e-6)
    assert torch.allclose(conv.weight_u, u1, atol=1e-6)
    # after many iterations sigma converges to the largest singular value
    for _ in range(200):
        sn(torch.randn(1, 4, 5, 5))
    sigma = torch.dot(conv.weight_u, w @ conv.weight_v)
    assert torch.isclose(sigma, torch.linalg.matrix_norm(w, ord=2), rtol=1e-4)
    # in eval mode the normalised weight has spectral norm ~1
    sn.eval()
    assert torch.isclose(torch.linalg.matrix_norm(sn.normalised_weight().reshape(6, -1), ord=2),
                         torch.tensor(1.0), rtol=1e-3)


def test_gradients_reach_weight_bar_only():
    model = M2MDecoder().train()
    out = model(torch.randn(1, 256, 4, 4), torch.randn(1, 3, 64, 64), torch.ones(1, 1, 16, 16))
    out["alpha_os1"].mean().backward()
    assert model.layer2[0].conv1.module.weight_bar.grad is not None
    assert "weight_u" not in dict(model.named_parameters())


def test_last_bn_of_each_block_starts_at_zero():
    model = M2MDecoder()
    for stage in (model.layer2, model.layer3, model.layer4):
        for block in stage:
            assert torch.count_nonzero(block.bn2.weight) == 0
            assert torch.all(block.bn1.weight == 1)

"""The region schedule picks the documented regions per step."""
from __future__ import annotations

import pytest
import torch

from mam_lib.training.regions import (
    RegionSchedule,
    RegionScheduleConfig,
    mask_band,
    prediction_band,
    schedule_phase,
    trimap_unknown,
)
from mam_lib.inference.refinement import dilate

W = 10  # warm-up steps of these tests


def _scene(b: int = 3, size: int = 64):
    """A disc mask, a trimap with an unknown ring, and outputs with a soft ring in alpha_os8."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    r = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2).sqrt()
    mask = (r < 20).float().expand(b, 1, size, size).clone()
    trimap = torch.where(r < 16, 1.0, torch.where(r > 24, 0.0, 0.5)).expand(b, 1, size, size).clone()
    a8 = torch.clamp((22 - r) / 4, 0, 1).expand(b, 1, size, size).clone()  # soft between r=18 and r=22
    g = torch.Generator().manual_seed(0)
    a4 = torch.rand(b, 1, size, size, generator=g)
    a1 = torch.rand(b, 1, size, size, generator=g)
    return {"alpha_os8": a8, "alpha_os4": a4, "alpha_os1": a1}, trimap, mask, r


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_phases_follow_the_warmup():
    cfg = RegionScheduleConfig(warmup_steps=W)
    assert [schedule_phase(s, cfg) for s in (0, W - 1)] == ["warmup", "warmup"]
    assert [schedule_phase(s, cfg) for s in (W, 3 * W - 1)] == ["mask_or_trimap"] * 2
    assert [schedule_phase(s, cfg) for s in (3 * W, 100 * W)] == ["trimap_or_prediction"] * 2


def test_warmup_counts_everywhere():
    outputs, trimap, mask, _ = _scene()
    reg = RegionSchedule(RegionScheduleConfig(warmup_steps=W)).regions(0, outputs, trimap=trimap, mask=mask,
                                                                      generator=_gen())
    assert reg.phase == "warmup"
    assert all(w is None for w in reg.weights.values())
    assert set(reg.kinds.values()) == {"everywhere"}
    assert all(reg.outputs[k] is outputs[k] for k in outputs)


def test_os8_counts_everywhere_in_every_phase():
    outputs, trimap, mask, _ = _scene()
    sched = RegionSchedule(RegionScheduleConfig(warmup_steps=W))
    for step in (W, 2 * W, 3 * W, 5 * W):
        for seed in range(4):
            reg = sched.regions(step, outputs, trimap=trimap, mask=mask, generator=_gen(seed))
            assert reg.weights["alpha_os8"] is None and reg.kinds["alpha_os8"] == "everywhere"


def test_middle_phase_trimap_band():
    outputs, trimap, mask, _ = _scene()
    sched = RegionSchedule(RegionScheduleConfig(warmup_steps=W, p_trimap=1.0))
    reg = sched.regions(W, outputs, trimap=trimap, mask=mask, generator=_gen())
    assert reg.kinds["alpha_os4"] == reg.kinds["alpha_os1"] == "trimap_band"
    assert torch.equal(reg.weights["alpha_os4"], trimap == 0.5)
    assert torch.equal(reg.weights["alpha_os1"], trimap == 0.5)


def test_middle_phase_mask_band_with_random_widths_per_sample():
    outputs, trimap, mask, r = _scene(b=6)
    cfg = RegionScheduleConfig(warmup_steps=W, p_trimap=0.0)
    reg = RegionSchedule(cfg).regions(2 * W, outputs, trimap=trimap, mask=mask, generator=_gen(3))
    assert reg.kinds["alpha_os4"] == reg.kinds["alpha_os1"] == "mask_band"
    w4, w1 = reg.widths["alpha_os4"], reg.widths["alpha_os1"]
    assert len(w4) == len(w1) == 6
    assert all(1 <= w < cfg.max_width_os4 for w in w4) and all(1 <= w < cfg.max_width_os1 for w in w1)
    assert len(set(w4)) > 1  # drawn per sample
    m = mask > 0.5
    for i, w in enumerate(w4):
        expected = dilate(m[i:i + 1], w) & dilate(~m[i:i + 1], w)
        assert torch.equal(reg.weights["alpha_os4"][i:i + 1], expected)
        band = reg.weights["alpha_os4"][i, 0]
        if w > 2:
            assert band[(r - 20).abs() < 0.8].all()  # the edge itself is in the band
        assert not band[(r - 20).abs() > w].any()  # nothing farther than the width


def test_mask_band_resizes_low_resolution_masks():
    m = torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    band = mask_band(m, (64, 64), [5])
    assert band.shape == (1, 1, 64, 64)
    assert band[0, 0, 16, 32] and not band[0, 0, 32, 32] and not band[0, 0, 2, 2]


def test_late_phase_prediction_band_and_fusion():
    outputs, trimap, mask, r = _scene()
    cfg = RegionScheduleConfig(warmup_steps=W, p_trimap=0.0)
    reg = RegionSchedule(cfg).regions(3 * W, outputs, trimap=trimap, mask=mask, generator=_gen(1))
    assert reg.phase == "trimap_or_prediction"
    assert reg.kinds["alpha_os4"] == reg.kinds["alpha_os1"] == "prediction_band"
    band4 = reg.weights["alpha_os4"]
    assert torch.equal(band4, prediction_band(outputs["alpha_os8"], reg.widths["alpha_os4"]))
    soft = (outputs["alpha_os8"] > 0) & (outputs["alpha_os8"] < 1)
    assert band4[soft].all()  # the uncertain pixels of os8 are always in the band
    assert not band4[(r < 10).expand_as(band4)].any()  # confident interior far from the ring is not
    fused4 = reg.outputs["alpha_os4"]
    assert torch.equal(fused4[band4], outputs["alpha_os4"][band4])
    assert torch.equal(fused4[~band4], outputs["alpha_os8"][~band4])
    band1 = reg.weights["alpha_os1"]
    assert torch.equal(band1, prediction_band(fused4, reg.widths["alpha_os1"]))
    fused1 = reg.outputs["alpha_os1"]
    assert torch.equal(fused1[band1], outputs["alpha_os1"][band1])
    assert torch.equal(fused1[~band1], fused4[~band1])


def test_binary_prediction_has_empty_band():
    a = torch.zeros(1, 1, 32, 32)
    a[..., 8:24, 8:24] = 1
    assert not prediction_band(a, [9]).any()


def test_choices_are_random_reproducible_and_both_occur():
    outputs, trimap, mask, _ = _scene(b=2)
    sched = RegionSchedule(RegionScheduleConfig(warmup_steps=W))
    for step, other in ((W, "mask_band"), (4 * W, "prediction_band")):
        kinds = [sched.regions(step, outputs, trimap=trimap, mask=mask, generator=_gen(s)).kinds["alpha_os4"]
                 for s in range(40)]
        assert set(kinds) == {"trimap_band", other}
    a = sched.regions(W, outputs, trimap=trimap, mask=mask, generator=_gen(7))
    b = sched.regions(W, outputs, trimap=trimap, mask=mask, generator=_gen(7))
    assert a.kinds == b.kinds and a.widths == b.widths
    for k in a.weights:
        assert (a.weights[k] is None and b.weights[k] is None) or torch.equal(a.weights[k], b.weights[k])


@pytest.mark.parametrize("values,unknown", [((0.0, 0.5, 1.0), (False, True, False)),
                                            ((0, 128, 255), (False, True, False))])
def test_trimap_unknown_accepts_float_and_uint8(values, unknown):
    dtype = torch.uint8 if isinstance(values[0], int) else torch.float32
    t = torch.tensor(values, dtype=dtype).view(1, 1, 1, 3)
    assert trimap_unknown(t).view(-1).tolist() == list(unknown)


def test_missing_inputs_are_reported():
    outputs, trimap, mask, _ = _scene()
    with pytest.raises(ValueError, match="trimap"):
        RegionSchedule(RegionScheduleConfig(warmup_steps=W, p_trimap=1.0)).regions(W, outputs, trimap=None,
                                                                                  mask=mask, generator=_gen())
    with pytest.raises(ValueError, match="mask"):
        RegionSchedule(RegionScheduleConfig(warmup_steps=W, p_trimap=0.0)).regions(W, outputs, trimap=trimap,
                                                                                  mask=None, generator=_gen())

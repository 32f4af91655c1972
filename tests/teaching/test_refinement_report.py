"""Per-step metrics, refinement variants and stand-in decoder outputs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mam_lib.evaluation import metrics
from mam_lib.inference.refinement import HIGH, RefinementConfig, refine
from mam_lib.teaching.refinement_report import (MetricsTable, StandInConfig, config_grid, final_metrics, overwritten_foreground,
                                       refine_variants, rewritten_foreground_mask, stand_in_outputs, stand_in_result,
                                       step_metrics)

H, W = 120, 160


@pytest.fixture(scope="module")
def alpha():
    """A solid ellipse with thin soft strands around it."""
    a = np.zeros((H, W), np.float32)
    cv2.ellipse(a, (80, 70), (35, 28), 0, 0, 360, 1.0, -1)
    rng = np.random.default_rng(0)
    for _ in range(40):
        angle = rng.uniform(0, 2 * np.pi)
        r0, r1 = 25, rng.uniform(40, 55)
        p0 = (int(80 + r0 * np.cos(angle)), int(70 + r0 * np.sin(angle)))
        p1 = (int(80 + r1 * np.cos(angle)), int(70 + r1 * np.sin(angle)))
        cv2.line(a, p0, p1, float(rng.uniform(0.3, 0.9)), 1)
    return np.maximum(a, cv2.GaussianBlur(a, (0, 0), 0.8))


@pytest.fixture(scope="module")
def stand_in(alpha):
    return stand_in_result(alpha, seed=0)


def test_stand_in_outputs_shapes_and_traits(alpha):
    out = stand_in_outputs(alpha, seed=0)
    for key in ("alpha_os8", "alpha_os4", "alpha_os1"):
        assert out[key].shape == (H, W) and out[key].dtype == np.float32
        assert out[key].min() >= 0 and out[key].max() <= 1
    assert out["mask"].dtype == bool and out["mask"].shape == (H, W)
    # coarse to fine: each output is closer to the known alpha near the strands
    soft = (alpha > 0.01) & (alpha < 0.99)
    err = {k: np.abs(out[k] - alpha)[soft].mean() for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
    assert err["alpha_os8"] > err["alpha_os4"] > err["alpha_os1"]
    # os1 is only ever lowered inside solid foreground (speckles, mottling), and is lowered somewhere
    solid = alpha > HIGH
    assert (out["alpha_os1"][solid] <= alpha[solid] + 1e-6).all()
    assert (out["alpha_os1"][solid] < 0.9).any()
    # the mask is SAM-like: close to alpha > 0.5
    ref = alpha > 0.5
    iou = (out["mask"] & ref).sum() / (out["mask"] | ref).sum()
    assert iou > 0.85
    # the same seed gives the same outputs, another seed other noise
    again = stand_in_outputs(alpha, seed=0)
    np.testing.assert_array_equal(again["alpha_os1"], out["alpha_os1"])
    assert not np.array_equal(stand_in_outputs(alpha, seed=1)["alpha_os1"], out["alpha_os1"])


def test_stand_in_config_switches_traits_off(alpha):
    clean = StandInConfig(os8_factor=1, os4_factor=1, os1_noise=0, solid_noise=0, speckle_fraction=0)
    out = stand_in_outputs(alpha, clean)
    for key in ("alpha_os8", "alpha_os4", "alpha_os1"):
        np.testing.assert_allclose(out[key], alpha, atol=1e-6)
    with pytest.raises(ValueError):
        stand_in_outputs(alpha[None])


def test_stand_in_result_is_the_refinement_of_its_outputs(alpha, stand_in):
    out = stand_in_outputs(alpha, seed=0)
    t = {k: torch.from_numpy(out[k])[None, None] for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
    steps = refine(t["alpha_os8"], t["alpha_os4"], t["alpha_os1"], torch.from_numpy(out["mask"])[None, None])
    np.testing.assert_array_equal(stand_in.alpha, steps.alpha[0, 0].numpy())
    np.testing.assert_array_equal(stand_in.bands["os4"], steps.band_os4[0, 0].numpy())
    np.testing.assert_array_equal(stand_in.mask, out["mask"])
    assert stand_in.sam.mask_lowres.shape == (1, 1, 256, 256)
    ys, xs = np.nonzero(alpha > 0.5)
    np.testing.assert_array_equal(stand_in.box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_stand_in_refines_through_the_predictor(tiny_predictor, stand_in, alpha):
    cfg = RefinementConfig(width_os4=40, two_sided=True)
    via_predictor = tiny_predictor.refine(stand_in, cfg)
    direct = stand_in_result(alpha, seed=0, refinement=cfg)
    np.testing.assert_allclose(via_predictor.alpha, direct.alpha, atol=1e-6)
    np.testing.assert_array_equal(via_predictor.bands["os1"], direct.bands["os1"])


def test_step_metrics_match_the_metrics_module(stand_in, alpha):
    table = step_metrics(stand_in, alpha)
    rows = table.as_dicts()
    assert [r["step"] for r in rows[:3]] == ["start", "after os4", "after os1 (final)"]
    for row, attr, band in zip(rows, ("start", "after_os4", "alpha"), ("os8", "os4", "os1")):
        est = getattr(stand_in, attr)
        assert row["px set"] == int(stand_in.bands[band].sum())
        assert row["SAD"] == pytest.approx(metrics.sad(est, alpha))
        assert row["MSE×1e3"] == pytest.approx(metrics.mse(est, alpha) * 1e3)
        assert row["Grad"] == pytest.approx(metrics.grad(est, alpha))
    assert rows[5]["step"] == "alpha_os1 alone"
    assert rows[5]["SAD"] == pytest.approx(metrics.sad(stand_in.alpha_os1, alpha))
    # on stand-ins each step lowers the error, and the final matte beats every output alone
    sads = table.column("SAD")
    assert sads[0] > sads[1] > sads[2] and sads[2] < min(sads[3:])
    region = alpha > 0.5
    assert step_metrics(stand_in, alpha, region=region, with_outputs=False).rows[2][2] == pytest.approx(
        metrics.sad(stand_in.alpha, alpha, region))


def test_one_sided_bands_never_rewrite_confident_foreground(tiny_predictor, stand_in, alpha):
    configs = config_grid(two_sided=[False, True], widths=[(20, 10), (60, 40)])
    assert list(configs) == ["one-sided, widths 20/10", "one-sided, widths 60/40",
                             "two-sided, widths 20/10", "two-sided, widths 60/40"]
    assert configs["two-sided, widths 60/40"] == RefinementConfig(width_os4=60, width_os1=40, two_sided=True)
    results = refine_variants(tiny_predictor, stand_in, configs)
    for name, res in results.items():
        mask = rewritten_foreground_mask(res)
        if name.startswith("one-sided"):
            assert overwritten_foreground(res) == 0 and not mask.any()
        else:
            assert overwritten_foreground(res) >= mask.sum() > 0
    table = final_metrics(results, alpha, title="t")
    assert table.column("setting") == list(configs)
    assert table.column("fg px rewritten") == [overwritten_foreground(r) for r in results.values()]
    assert table.column("SAD") == pytest.approx([metrics.sad(r.alpha, alpha) for r in results.values()])


def test_config_grid_defaults_and_names():
    assert config_grid() == {"default": RefinementConfig()}
    grid = config_grid(RefinementConfig(width_os1=30), guidance=["alpha", "mask"])
    assert list(grid) == ["alpha guidance", "mask guidance"]
    assert grid["mask guidance"] == RefinementConfig(guidance="mask", width_os1=30)
    assert list(config_grid(width_os4=[10, 30])) == ["width_os4=10", "width_os4=30"]


def test_metrics_table_renders():
    table = MetricsTable(("step", "SAD"), [("a<b", 1.23456), ("c", 2.0)], title="T")
    text = str(table)
    assert text.splitlines()[0] == "T" and "1.235" in text and repr(table) == text
    md = table.to_markdown()
    assert "| step | SAD |" in md and "| a<b | 1.235 |" in md
    html = table._repr_html_()
    assert "a&lt;b" in html and "<th>SAD</th>" in html and "2.000" in html


def test_compare_mattes_gives_every_metric_per_matte(stand_in, alpha):
    from mam_lib.teaching.refinement_report import compare_mattes

    table = compare_mattes({"final": stand_in.alpha, "mask": stand_in.mask}, alpha, title="t")
    assert table.columns == ("matte", "SAD", "MSE×1e3", "MAD×1e3", "Grad", "Conn")
    final, mask = table.as_dicts()
    assert final["SAD"] == pytest.approx(metrics.sad(stand_in.alpha, alpha))
    assert final["MSE×1e3"] == pytest.approx(metrics.mse(stand_in.alpha, alpha) * 1e3)
    assert mask["SAD"] > final["SAD"] > 0
    assert "final" in str(table) and "<table>" in table._repr_html_()

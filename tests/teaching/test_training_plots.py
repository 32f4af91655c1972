"""Training figures added for notebook 02: bars from zero, the saturation measure, titled predictions."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from mam_lib.teaching.training_plots import plot_metric_bars, plot_predictions, saturation  # noqa: E402


def test_metric_bars_start_at_zero_and_carry_their_values():
    fig = plot_metric_bars({"mask as alpha": {"sad": 1.133}, "M2M": {"sad": 1.053}}, title="SAD", label="SAD")
    ax = fig.axes[0]
    assert ax.get_xlim()[0] == 0  # a 7 % change shown at its true size
    assert [round(p.get_width(), 3) for p in ax.patches] == [1.133, 1.053]
    assert {t.get_text().strip() for t in ax.texts} == {"1.133", "1.053"}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mask as alpha", "M2M"]


def test_saturation_measures_a_black_prediction():
    black = torch.zeros(2, 1, 8, 8)
    black[0, 0, 0, 0] = 1.0
    s = saturation(black)
    assert s["at_0"] + s["at_1"] == pytest.approx(1.0) and s["at_1"] == pytest.approx(1 / 128)
    soft = saturation(np.full((4, 4), 0.5, np.float32))
    assert soft["at_0"] == soft["at_1"] == 0 and soft["mean"] == pytest.approx(0.5)


def test_predictions_figure_takes_a_title():
    img = np.zeros((16, 16, 3), np.uint8)
    a = np.zeros((16, 16), np.float32)
    fig = plot_predictions([img], [a], [a], {"before": [a]}, title="held-out crops")
    assert fig._suptitle.get_text() == "held-out crops"
    assert [ax.get_title() for ax in fig.axes] == ["image", "coarse mask", "before", "ground truth"]

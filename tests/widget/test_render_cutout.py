"""The widget's cut-out view shows the estimated foreground colour, as the exported files do."""
import numpy as np

from mam_lib.widget import render


def test_the_cutout_view_does_not_carry_the_old_background_into_soft_edges():
    h, w = 60, 80
    alpha = np.tile(np.clip((np.arange(w, dtype=np.float32) - 20) / 40, 0, 1), (h, 1))  # a wide soft ramp
    fg, old_bg = np.array([220, 30, 30], np.float32), np.array([30, 200, 30], np.float32)
    image = np.rint(alpha[..., None] * fg + (1 - alpha[..., None]) * old_bg).astype(np.uint8)
    blue = (0, 0, 255)
    estimated = render.cutout_view(image, alpha, 1.0, blue).astype(float)
    raw = render.cutout_view(image, alpha, 1.0, blue, estimate_fg=False).astype(float)
    truth = alpha[..., None] * fg + (1 - alpha[..., None]) * np.float32(blue)
    band = (alpha > 0.05) & (alpha < 0.95)
    raw_error = np.abs(raw - truth)[band].mean()
    assert raw_error > 10  # the old green shows through with the image's colours
    assert np.abs(estimated - truth)[band].mean() < 0.3 * raw_error  # and hardly with the estimate
    np.testing.assert_array_equal(estimated[alpha == 0], raw[alpha == 0])  # outside the band: the same

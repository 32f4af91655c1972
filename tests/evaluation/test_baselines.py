"""Classical baselines: the trimap made from a mask, closed-form and KNN matting."""
from __future__ import annotations

import numpy as np


def test_trimap_from_mask_erodes_foreground_and_dilates_background():
    from mam_lib.evaluation.baselines import TrimapFromMaskConfig, trimap_from_mask

    mask = np.zeros((21, 21), bool)
    mask[5:16, 5:16] = True  # an 11x11 square
    trimap = trimap_from_mask(mask, TrimapFromMaskConfig(erode_px=2, dilate_px=3))
    assert set(np.unique(trimap)) == {0, 128, 255}
    rows_fg = np.flatnonzero((trimap == 255).any(axis=1))
    assert (rows_fg[0], rows_fg[-1]) == (7, 13)  # shrunk by 2 on each side
    rows_known_or_unknown = np.flatnonzero((trimap > 0).any(axis=1))
    assert (rows_known_or_unknown[0], rows_known_or_unknown[-1]) == (2, 18)  # grown by 3
    assert (trimap[mask] > 0).all() and (trimap[~mask] < 255).all()


def test_closed_form_recovers_the_alpha_of_white_over_black():
    from mam_lib.evaluation.baselines import closed_form_alpha, knn_alpha

    # alpha ramps from 0 to 1 across the unknown columns; the image is alpha * white + (1-alpha) * black
    h, w = 12, 30
    alpha = np.clip((np.arange(w) - 10) / 10.0, 0, 1)[None, :].repeat(h, 0)
    image = np.rint(alpha[..., None].repeat(3, 2) * 255).astype(np.uint8)
    trimap = np.where(alpha == 0, 0, np.where(alpha == 1, 255, 128)).astype(np.uint8)
    estimate = closed_form_alpha(image, trimap)
    assert estimate.shape == (h, w) and estimate.dtype == np.float32
    assert np.abs(estimate - alpha).max() < 0.02
    # nothing to propagate: no definite foreground gives zeros, no definite background ones
    assert not knn_alpha(image, np.where(trimap == 255, 128, trimap).astype(np.uint8)).any()
    assert closed_form_alpha(image, np.where(trimap == 0, 128, trimap).astype(np.uint8)).min() == 1.0

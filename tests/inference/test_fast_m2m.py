import dataclasses

import pytest
import torch

from mam_lib.inference.fast_m2m import FastM2M, StageMargins
from mam_lib.inference.m2m import calibrated_random_m2m, m2m_example_inputs

KEYS = ("alpha_os8", "alpha_os4", "alpha_os1")
TOL = 1e-5


@pytest.fixture(scope="module")
def decoder():
    return calibrated_random_m2m(seed=1)


@pytest.fixture(scope="module")
def inputs():
    features, image, mask = m2m_example_inputs(2, 192, 256, seed=5)
    return features, image, (mask > 0.5).float()


@pytest.fixture(scope="module")
def reference(decoder, inputs):
    with torch.no_grad():
        return decoder(*inputs)


def _close(a, b):
    return float((a - b).abs().max())


def test_prepared_decoder_gives_the_decoders_outputs(decoder, inputs, reference):
    fast = FastM2M.from_decoder(decoder)
    out = fast(*inputs)
    for k in KEYS:
        assert out[k].shape == reference[k].shape
        assert _close(out[k], reference[k]) < TOL
        assert 0.05 < float(out[k].std()) * 20  # not saturated: the comparison means something
    assert decoder.training is False and not any(p.requires_grad for p in fast.parameters())


@pytest.mark.parametrize("window", [(0, 40, 0, 256), (37, 101, 53, 190), (150, 160, 230, 240), (0, 144, 200, 240)])
def test_windows_and_the_valid_region_equal_the_full_forward_there(decoder, inputs, reference, window):
    fast = FastM2M.from_decoder(decoder)
    valid = (160, 240)  # as SAM's padding: rows and columns beyond it are never computed
    y0, y1, x0, x1 = window
    y1, x1 = min(y1, valid[0]), min(x1, valid[1])
    out = fast(*inputs, valid=valid, window=(y0, y1, x0, x1))
    for k in KEYS:
        assert out[k].shape[-2:] == (y1 - y0, x1 - x0)
        assert _close(out[k], reference[k][..., y0:y1, x0:x1]) < TOL
    only8 = fast(*inputs, valid=valid, window=(y0, y1, x0, x1), outputs=("alpha_os8",))
    assert set(only8) == {"alpha_os8"} and torch.equal(only8["alpha_os8"], out["alpha_os8"])


@pytest.mark.parametrize("strip_rows", [16, 50, 1000])
def test_the_os1_stage_in_row_strips_equals_the_full_forward(decoder, inputs, reference, monkeypatch, strip_rows):
    """The os1 stage runs in strips of output rows (small tensors the allocator reuses); any strip
    height gives the decoder's alpha, including strips that end inside a window."""
    from mam_lib.inference import fast_m2m
    monkeypatch.setattr(fast_m2m, "STRIP_ROWS", strip_rows)
    fast = FastM2M.from_decoder(decoder)
    for window in [None, (13, 181, 7, 250)]:
        out = fast(*inputs, window=window)["alpha_os1"]
        y0, y1, x0, x1 = window or (0, 192, 0, 256)
        assert out.shape[-2:] == (y1 - y0, x1 - x0)
        assert _close(out, reference["alpha_os1"][..., y0:y1, x0:x1]) < TOL


def test_the_margins_are_needed(decoder, inputs, reference):
    """Without the receptive-field margins a window's edges see zero padding instead of the image."""
    fast = FastM2M.from_decoder(decoder)
    fast.margins = dataclasses.replace(fast.margins, **{f.name: 0 for f in dataclasses.fields(StageMargins)})
    out = fast(*inputs, window=(48, 112, 64, 160))
    assert _close(out["alpha_os1"], reference["alpha_os1"][..., 48:112, 64:160]) > 1e-3


def test_bad_shapes_are_explained(decoder):
    fast = FastM2M.from_decoder(decoder)
    features, image, mask = m2m_example_inputs(1, 64, 64)
    with pytest.raises(ValueError, match="multiples of 16"):
        fast(features, image[..., :60, :60], mask)
    with pytest.raises(ValueError, match="inside the valid region"):
        fast(features, image, mask, valid=(32, 32), window=(0, 40, 0, 10))

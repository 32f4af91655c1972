"""ONNX export: M2M and SAM's decoder in onnxruntime match PyTorch; files are written safely; clear errors."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from segment_anything.utils.onnx import SamOnnxModel
from segment_anything.utils.transforms import ResizeLongestSide

from mam_lib.errors import CheckpointError, MamError
from mam_lib.inference.onnx_export import (
    M2M_INPUTS,
    SAM_DECODER_INPUTS,
    OnnxM2M,
    export_m2m_onnx,
    export_sam_decoder_onnx,
    onnx_session,
)
from mam_lib.inference.m2m import calibrated_random_m2m, m2m_example_inputs

TOL = 1e-4


@pytest.fixture(scope="module")
def m2m():
    return calibrated_random_m2m(seed=3)


@pytest.fixture(scope="module")
def m2m_file(m2m, tmp_path_factory):
    return export_m2m_onnx(m2m, tmp_path_factory.mktemp("onnx") / "m2m.onnx")


@pytest.fixture(scope="module")
def sam_decoder_file(tiny_sam, tmp_path_factory):
    return export_sam_decoder_onnx(tiny_sam, tmp_path_factory.mktemp("onnx") / "sam_decoder.onnx")


def test_the_test_decoder_is_not_saturated(m2m):
    """A fresh decoder's alphas are all 0 or 1, which would make the comparisons below vacuous."""
    with torch.no_grad():
        out = m2m(*m2m_example_inputs(1, 128, 128))
    for key in ("alpha_os8", "alpha_os4", "alpha_os1"):
        inside = ((out[key] > 0.05) & (out[key] < 0.95)).float().mean()
        assert inside > 0.5, key


@pytest.mark.parametrize("batch, height, width, mask_size", [
    (1, 128, 128, (32, 32)),  # features 8×8, SAM's low-res mask at H/4
    (2, 96, 160, (40, 24)),  # another batch, aspect ratio and mask size: the axes are dynamic
])
def test_m2m_in_onnxruntime_matches_pytorch(m2m, m2m_file, batch, height, width, mask_size):
    features, image, mask = m2m_example_inputs(batch, height, width, mask_size=mask_size, seed=11)
    with torch.no_grad():
        expected = m2m(features, image, mask)
    got = OnnxM2M(m2m_file, threads=1)(features, image, mask)
    assert set(got) == set(expected) == {"alpha_os8", "alpha_os4", "alpha_os1", "mask"}
    for key, want in expected.items():
        assert got[key].shape == want.shape == (batch, 1, height, width)
        assert got[key].dtype == torch.float32
        assert (got[key] - want).abs().max().item() < TOL, key


def test_export_leaves_the_callers_module_unchanged(m2m, m2m_file):
    assert not m2m.training and next(m2m.parameters()).dtype == torch.float32
    assert any(name.endswith("weight_bar") for name in m2m.state_dict())  # spectral norm still in place
    session = onnx_session(m2m_file)
    assert tuple(i.name for i in session.get_inputs()) == M2M_INPUTS
    assert [o.shape for o in session.get_outputs()] == [["batch", 1, "height", "width"]] * 4


def test_onnx_m2m_rejects_inputs_of_the_wrong_shape(m2m_file):
    features, image, mask = m2m_example_inputs(1, 128, 128)
    with pytest.raises(ValueError, match="16×"):
        OnnxM2M(m2m_file)(features, image[..., :96], mask)


def _box_prompt(box, size):
    """SamOnnxModel's inputs for one box on an image of ``size = (H, W)`` (segment-anything's ONNX recipe)."""
    corners = ResizeLongestSide(1024).apply_boxes(np.asarray([box], np.float32), size).reshape(1, 2, 2)
    coords = np.concatenate([corners, np.zeros((1, 1, 2))], axis=1).astype(np.float32)  # + padding point
    return {
        "point_coords": torch.from_numpy(coords),
        "point_labels": torch.tensor([[2.0, 3.0, -1.0]]),
        "mask_input": torch.zeros(1, 1, 256, 256),
        "has_mask_input": torch.zeros(1),
        "orig_im_size": torch.tensor(size, dtype=torch.float32),
    }


@pytest.mark.parametrize("size, box", [((300, 400), (40, 30, 200, 260)),  # landscape
                                       ((640, 480), (100, 50, 400, 600))])  # portrait
def test_sam_decoder_in_onnxruntime_matches_samonnxmodel(tiny_sam, sam_decoder_file, size, box):
    embeddings = torch.randn(1, 256, 64, 64, generator=torch.Generator().manual_seed(5))
    inputs = {"image_embeddings": embeddings, **_box_prompt(box, size)}
    expected = SamOnnxModel(tiny_sam, return_single_mask=False)(**inputs)
    session = onnx_session(sam_decoder_file)
    assert tuple(i.name for i in session.get_inputs()) == SAM_DECODER_INPUTS
    got = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    assert got[0].shape == (1, 4, *size) and got[2].shape == (1, 4, 256, 256)
    for want, have in zip(expected, got):
        assert want.shape == have.shape
        assert np.abs(want.numpy() - have).max() < TOL


def test_export_refuses_to_overwrite_unless_asked(m2m, tmp_path):
    path = tmp_path / "m2m.onnx"
    path.write_bytes(b"keep me")
    with pytest.raises(MamError, match="already exists"):
        export_m2m_onnx(m2m, path)
    assert path.read_bytes() == b"keep me"
    export_m2m_onnx(m2m, path, overwrite=True)
    OnnxM2M(path)  # a valid model replaced the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m2m.onnx"]  # no temporary file left behind


def test_missing_or_corrupt_files_give_one_line_errors(tmp_path, m2m_file):
    missing = tmp_path / "nothing.onnx"
    with pytest.raises(CheckpointError, match="nothing.onnx") as err:
        OnnxM2M(missing)
    assert "\n" not in str(err.value)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(m2m_file.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="broken.onnx") as err:
        OnnxM2M(broken)
    assert "\n" not in str(err.value)


def test_a_missing_onnxruntime_names_the_extra(m2m_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(MamError, match=r"pip install -e \.\[onnx\]"):
        OnnxM2M(m2m_file)


@pytest.mark.slow
def test_onnx_m2m_takes_the_torch_modules_place_in_the_predictor(tiny_sam, m2m, m2m_file):
    from mam_lib.inference.predictor import MattingPredictor

    image = np.zeros((96, 128, 3), np.uint8)
    image[20:70, 30:100] = 200
    results = []
    for decoder in (m2m, OnnxM2M(m2m_file)):
        predictor = MattingPredictor(tiny_sam, decoder, device="cpu")
        predictor.set_image(image)
        results.append(predictor.predict(box=[25, 15, 105, 75]))
    torch_result, onnx_result = results
    for key in ("alpha_os8", "alpha_os4", "alpha_os1", "alpha"):
        diff = np.abs(getattr(torch_result, key) - getattr(onnx_result, key)).max()
        assert diff < TOL, key

"""Loading M2M weights in every published layout, and clear errors for wrong files."""
from __future__ import annotations

import pytest
import torch

from mam_lib.inference.checkpoints import load_m2m, load_m2m_weights, save_m2m_checkpoint
from mam_lib.errors import CheckpointError
from mam_lib.inference.m2m import M2MDecoder


@pytest.fixture(scope="module")
def trained_state():
    torch.manual_seed(11)
    model = M2MDecoder()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return model.state_dict()


def _same(model: M2MDecoder, state) -> bool:
    return all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


@pytest.mark.parametrize("layout", ["bare", "state_dict", "module_prefix", "state_dict_module_prefix", "whole_mam"])
def test_published_layouts_load_strictly(tmp_path, trained_state, layout):
    if layout == "bare":
        obj = trained_state
    elif layout == "state_dict":
        obj = {"state_dict": trained_state}
    elif layout == "module_prefix":
        obj = {f"module.{k}": v for k, v in trained_state.items()}
    elif layout == "state_dict_module_prefix":
        obj = {"state_dict": {f"module.{k}": v for k, v in trained_state.items()}}
    else:  # a whole MAM model: the decoder under m2m., SAM under seg_model.
        obj = {"state_dict": {**{f"m2m.{k}": v for k, v in trained_state.items()},
                              "seg_model.image_encoder.pos_embed": torch.zeros(1, 2)}}
    path = tmp_path / f"{layout}.pth"
    torch.save(obj, path)
    model = load_m2m(path)
    assert _same(model, trained_state) and not model.training


def test_save_then_load_round_trip_in_published_layout(tmp_path, trained_state):
    model = M2MDecoder()
    model.load_state_dict(trained_state)
    path = save_m2m_checkpoint(model, tmp_path / "out" / "m2m.pth", extra={"step": 7})
    raw = torch.load(path, weights_only=True)
    assert set(raw["state_dict"]) == set(trained_state) and raw["step"] == 7
    fresh = M2MDecoder()
    fresh.load_state_dict(raw["state_dict"], strict=True)  # what the original code does
    assert _same(fresh, trained_state)
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind


def test_missing_file_is_explained(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_m2m(tmp_path / "nope.pth")


def test_empty_and_truncated_files_are_explained(tmp_path, trained_state):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_m2m(tmp_path / "empty.pth")
    torch.save({"state_dict": trained_state}, tmp_path / "full.pth")
    data = (tmp_path / "full.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_m2m(tmp_path / "cut.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_m2m(tmp_path / "text.pth")


def test_wrong_model_names_keys_and_shapes(tmp_path, trained_state):
    state = dict(trained_state)
    del state["refine_OS1.3.bias"]
    state["extra.weight"] = torch.zeros(1)
    state["bn1.weight"] = torch.zeros(64)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as err:
        load_m2m(tmp_path / "bad.pth")
    text = str(err.value)
    assert "refine_OS1.3.bias" in text and "extra.weight" in text and "bn1.weight: file (64,) vs model (32,)" in text


def test_sam_checkpoint_given_as_m2m_is_recognised(tmp_path, tiny_sam):
    torch.save(tiny_sam.state_dict(), tmp_path / "sam.pth")
    with pytest.raises(CheckpointError, match="SAM checkpoint"):
        load_m2m(tmp_path / "sam.pth")


def test_non_strict_loading_keeps_what_fits(trained_state):
    state = {k: v for k, v in trained_state.items() if k.startswith("layer2.")}
    model = load_m2m_weights(M2MDecoder(), state, strict=False)
    assert _same(model, state)

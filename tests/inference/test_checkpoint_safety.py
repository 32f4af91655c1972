"""Weights that must not load: pickled code, non-finite tensors, empty and foreign files."""
from __future__ import annotations

import os

import pytest
import torch

from mam_lib.errors import CheckpointError
from mam_lib.inference.checkpoints import (
    check_checkpoint_file,
    load_m2m,
    read_checkpoint,
    read_state_dict,
    save_m2m_checkpoint,
)
from mam_lib.inference.m2m import M2MDecoder


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def test_pickled_code_is_named_and_never_run(tmp_path, capfd):
    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": _RunsCode()}, tmp_path / "evil.pth")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")  # a whole pickled model
    for name in ("evil.pth", "module.pth"):
        with pytest.raises(CheckpointError, match="not a plain state dict; refusing to run code from it"):
            read_checkpoint(tmp_path / name)
        with pytest.raises(CheckpointError, match="not a plain state dict"):
            read_state_dict(tmp_path / name, "SAM checkpoint")
    assert "must never run" not in capfd.readouterr().out


def test_non_finite_weights_are_refused(tmp_path):
    model = M2MDecoder()
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    save_m2m_checkpoint(model, tmp_path / "nan.pth")
    with pytest.raises(CheckpointError, match="NaN or infinite"):  # was: an all-zero matte, exit 0
        load_m2m(tmp_path / "nan.pth")
    torch.save({"image_encoder.w": torch.tensor([1.0, float("inf")])}, tmp_path / "sam_inf.pth")
    with pytest.raises(CheckpointError, match="NaN or infinite .*image_encoder.w"):
        read_state_dict(tmp_path / "sam_inf.pth")


def test_cheap_file_checks(tmp_path):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):  # was: IndexError from the SAM reader
        check_checkpoint_file(tmp_path / "empty.pth", "--sam-checkpoint")
    with pytest.raises(CheckpointError, match="empty"):
        read_state_dict(tmp_path / "empty.pth")
    (tmp_path / "notes.pth").write_text("hello")
    with pytest.raises(CheckpointError, match="does not start like a PyTorch checkpoint"):
        check_checkpoint_file(tmp_path / "notes.pth")
    with pytest.raises(CheckpointError, match="is a folder"):
        check_checkpoint_file(tmp_path)
    torch.save({"a": torch.ones(2)}, tmp_path / "ok.pth")
    assert check_checkpoint_file(tmp_path / "ok.pth") == tmp_path / "ok.pth"
    assert set(read_state_dict(tmp_path / "ok.pth")) == {"a"}

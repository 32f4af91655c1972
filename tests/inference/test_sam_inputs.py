"""SAM's inputs: point labels other than 0/1 and unusable SAM checkpoints give the project's errors.

These checks live in ``mam_lib/inference/sam.py`` (``_as_points`` and ``_read_state_dict``, which is to
call :func:`mam_lib.inference.checkpoints.read_state_dict`); until that file makes them, the tests are
expected to fail (strict: drop the mark once they pass)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from mam_lib.errors import CheckpointError, PromptError
from mam_lib.inference.sam import build_tiny_sam, check_points, load_sam_weights



def test_fractional_labels_are_refused_not_read_as_background():
    with pytest.raises(PromptError, match="1 \\(foreground\\) or 0 \\(background\\)"):
        check_points(np.array([[3.0, 4.0]]), [0.5], (10, 10))  # was: label 0, a background click


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


@pytest.mark.parametrize("content, message", [
    ("empty", "empty"),  # was: IndexError
    ("code", "not a plain state dict; refusing to run code from it"),
    ("nan", "NaN or infinite"),  # was: loaded, an all-zero matte
])
def test_unusable_sam_checkpoints(tmp_path, content, message):
    sam = build_tiny_sam()
    path = tmp_path / "sam.pth"
    if content == "empty":
        path.write_bytes(b"")
    elif content == "code":
        torch.save({"x": _RunsCode()}, path)
    else:
        state = sam.state_dict()
        state["image_encoder.patch_embed.proj.weight"] = torch.full_like(state["image_encoder.patch_embed.proj.weight"],
                                                                         float("nan"))
        torch.save(state, path)
    with pytest.raises(CheckpointError, match=message):
        load_sam_weights(sam, path)

"""Shared fixtures: small random models (no weights are ever loaded) and the repository root."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# No test reaches the network: huggingface_hub and transformers read local files only (set before
# either is imported; notebooks run by the tests inherit it).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Point the checkpoint cache at an empty folder so no test sees a user's downloaded weights."""
    monkeypatch.setenv("MAM_CACHE_DIR", str(tmp_path_factory.mktemp("mam_cache")))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_sam():
    from mam_lib.inference.sam import build_sam

    return build_sam("tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_predictor(tiny_sam):
    from mam_lib.inference.checkpoints import load_m2m
    from mam_lib.inference.predictor import MattingPredictor

    import torch

    torch.manual_seed(0)
    return MattingPredictor(tiny_sam, load_m2m(None), device="cpu")


@pytest.fixture(scope="session")
def tiny_text_detector():
    """The small random Grounding DINO (needs the ``text`` extra; its boxes are meaningless)."""
    from mam_lib.inference.text import build_tiny_grounding_dino

    return build_tiny_grounding_dino(seed=0, device="cpu")

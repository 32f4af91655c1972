"""Grounding DINO in the weights registry: Hugging Face repositories fetched into the cache folder
only on request (``snapshot_download`` is replaced here; nothing is downloaded)."""
from __future__ import annotations

import huggingface_hub
import pytest

from mam_lib.cli import main
from mam_lib.errors import DownloadError
from mam_lib.inference import weights

REPO_FILES = ("config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json", "vocab.txt")


def _fake_snapshot(calls, files=REPO_FILES):
    def snapshot_download(repo_id, *, revision=None, local_dir=None, allow_patterns=None, **kwargs):
        calls.append({"repo_id": repo_id, "revision": revision, "local_dir": local_dir,
                      "allow_patterns": allow_patterns, **kwargs})
        for name in files:
            (weights.Path(local_dir) / name).write_text("{}")
        return local_dir

    return snapshot_download


def test_the_registry_names_the_grounding_dino_repositories():
    tiny, base = weights.REGISTRY["grounding-dino-tiny"], weights.REGISTRY["grounding-dino-base"]
    assert tiny.repo_id == "IDEA-Research/grounding-dino-tiny" and base.repo_id == "IDEA-Research/grounding-dino-base"
    assert tiny.is_folder and not weights.REGISTRY["sam_vit_b"].is_folder
    assert weights.TEXT_DETECTORS == ("grounding-dino-tiny", "grounding-dino-base")
    assert weights.find_checkpoint("grounding-dino-tiny") is None  # nothing is fetched unless asked


def test_download_fetches_the_repository_into_the_cache_folder_once(monkeypatch):
    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", _fake_snapshot(calls))
    folder = weights.download("grounding-dino-tiny")
    assert folder == weights.cache_dir() / "grounding-dino-tiny" and folder.is_dir()
    assert len(calls) == 1 and calls[0]["repo_id"] == "IDEA-Research/grounding-dino-tiny"
    assert calls[0]["local_dir"] == str(folder)
    assert "*.safetensors" in calls[0]["allow_patterns"] and not any("bin" in p for p in calls[0]["allow_patterns"])
    assert weights.find_checkpoint("grounding-dino-tiny") == folder
    assert weights.download("grounding-dino-tiny") == folder and len(calls) == 1  # complete: not fetched again


def test_a_failed_or_incomplete_download_says_what_to_do(monkeypatch):
    def offline(repo_id, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(DownloadError, match="Run the same command again to resume"):
        weights.download("grounding-dino-base")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", _fake_snapshot([], files=("config.json",)))
    with pytest.raises(DownloadError, match="lacks config.json, the weights or the tokenizer"):
        weights.download("grounding-dino-base")
    assert weights.find_checkpoint("grounding-dino-base") is None


def test_mam_download_grounding_dino_tiny(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", _fake_snapshot(calls))
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out
    assert "grounding-dino-tiny" in out and "grounding-dino-base" in out and not calls
    assert main(["download", "grounding-dino-tiny"]) == 0
    assert f"ok: {weights.cache_dir() / 'grounding-dino-tiny'}" in capsys.readouterr().out
    assert main(["download", "--list"]) == 0
    assert f"present at {weights.cache_dir() / 'grounding-dino-tiny'}" in capsys.readouterr().out

"""The SAM feature cache: float16 memory-mapped arrays with a JSON index."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mam_lib.errors import DatasetError
from mam_lib.training.feature_cache import (
    FeatureCache,
    build_feature_cache,
    cache_key,
    item_sources,
    open_or_build_cache,
    read_index,
)
from mam_lib.data.dataset import DataConfig, MattingDataset


@pytest.fixture(scope="module")
def dataset():
    return MattingDataset(DataConfig.tiny(crop_size=64, length=5, val_length=2, procedural_size=(96, 128),
                                          procedural_count=6, with_mask=True), "train")


def fake_sam(batch):
    """A cheap deterministic stand-in for SAM: pooled image as features, the simulated mask."""
    image = batch["image"]
    pooled = F.avg_pool2d(image, 16)
    features = pooled.repeat(1, 86, 1, 1)[:, :256]
    return features, batch["mask"]


def test_build_and_read_back(tmp_path, dataset):
    cache = build_feature_cache(tmp_path / "c", dataset, fake_sam, key="k1", description={"what": "test"},
                                batch_size=2, progress=False)
    assert len(cache) == len(dataset) == 5
    index = read_index(tmp_path / "c")
    assert index["key"] == "k1" and index["count"] == 5 and index["description"] == {"what": "test"}
    feats = np.load(tmp_path / "c" / "features.npy", mmap_mode="r")
    assert isinstance(feats, np.memmap) and feats.dtype == np.float16 and feats.shape == (5, 256, 4, 4)
    assert np.load(tmp_path / "c" / "image.npy", mmap_mode="r").dtype == np.float16
    for k in (0, 3):
        item, original = cache[k], dataset[k]
        f, m = fake_sam({key: v[None] for key, v in original.items()})
        assert item["features"].dtype == torch.float32
        assert torch.allclose(item["features"], f[0], atol=2e-3, rtol=1e-3)
        assert torch.equal(item["mask"], m[0])
        assert torch.allclose(item["image"], original["image"], atol=5e-3, rtol=1e-3)
        assert torch.allclose(item["alpha"], original["alpha"], atol=1e-3)
        assert torch.equal(item["trimap"], original["trimap"])
        assert torch.allclose(item["box"], original["box"])
        assert int(item["index"]) == k
    assert cache.crop_size == 64 and cache.nbytes() > 0


def test_views_cache_several_augmentations(tmp_path, dataset):
    items = item_sources(len(dataset), 2)
    assert [(it.epoch, it.index) for it in items[:2]] == [(0, 0), (0, 1)] and items[5].epoch == 1
    cache = build_feature_cache(tmp_path / "v", dataset, fake_sam, items=items, batch_size=3, progress=False)
    assert len(cache) == 10
    # item 0 of view 0 and of view 1 are different augmentations of the same data item
    assert not torch.equal(cache[0]["image"], cache[5]["image"])
    dataset.set_epoch(1)
    try:
        assert torch.allclose(cache[5]["alpha"], dataset[0]["alpha"], atol=1e-3)
    finally:
        dataset.set_epoch(0)


def test_open_or_build_reuses_and_rebuilds(tmp_path, dataset):
    calls = []

    def build(key):
        def _b():
            calls.append(key)
            return build_feature_cache(tmp_path / "r", dataset, fake_sam, key=key, progress=False)
        return _b

    key_a = cache_key({"a": 1})
    assert key_a == cache_key({"a": 1}) and key_a != cache_key({"a": 2})
    open_or_build_cache(tmp_path / "r", key_a, build(key_a), log=None)
    open_or_build_cache(tmp_path / "r", key_a, build(key_a), log=None)
    assert calls == [key_a]  # the second call reused the cache
    key_b = cache_key({"a": 2})
    cache = open_or_build_cache(tmp_path / "r", key_b, build(key_b), log=None)
    assert calls == [key_a, key_b] and cache.key == key_b


def test_interrupted_build_leaves_no_cache(tmp_path, dataset):
    seen = []

    def failing(batch):
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return fake_sam(batch)

    with pytest.raises(KeyboardInterrupt):
        build_feature_cache(tmp_path / "x", dataset, failing, batch_size=2, progress=False)
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone too
    with pytest.raises(DatasetError, match="no complete feature cache"):
        FeatureCache(tmp_path / "x")


def test_damaged_cache_is_reported(tmp_path, dataset):
    build_feature_cache(tmp_path / "d", dataset, fake_sam, progress=False)
    (tmp_path / "d" / "alpha.npy").unlink()
    with pytest.raises(DatasetError, match="alpha.npy"):
        FeatureCache(tmp_path / "d")
    index = json.loads((tmp_path / "d" / "index.json").read_text())
    index["version"] = 999
    (tmp_path / "d" / "index.json").write_text(json.dumps(index))
    with pytest.raises(DatasetError, match="version"):
        FeatureCache(tmp_path / "d")


def test_cache_pickles_without_its_arrays(tmp_path, dataset):
    cache = build_feature_cache(tmp_path / "p", dataset, fake_sam, progress=False)
    cache[0]  # maps the files
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._arrays is None
    assert torch.equal(clone[1]["mask"], cache[1]["mask"])

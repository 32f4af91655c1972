"""scikit-image's sample photographs as backgrounds: split, format, use in the data set."""
from __future__ import annotations

import numpy as np
import pytest

from mam_lib.data.dataset import DataConfig, MattingDataset, SourceSpec
from mam_lib.data.sources.sample_photos import HELD_OUT_PHOTOS, TRAIN_PHOTOS, SamplePhotos
from mam_lib.errors import DatasetError


def test_train_and_held_out_photos_are_disjoint_and_load_as_rgb():
    train, held = SamplePhotos("train"), SamplePhotos("test")
    assert not set(train.names) & set(held.names)
    assert set(train.names) <= set(TRAIN_PHOTOS) and set(held.names) <= set(HELD_OUT_PHOTOS)
    assert len(train) >= 5 and len(held) >= 2  # the photographs every scikit-image wheel carries
    assert SamplePhotos("val").names == held.names
    for src in (train, held):
        for i in range(len(src)):
            img = src.load(i)
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
            assert img.std() > 10  # a photograph, not a flat fill
    grey = SamplePhotos(names=["camera"]).load(0)
    assert (grey[..., 0] == grey[..., 2]).all()  # a grey photograph repeated into three channels


def test_unknown_split_and_no_loadable_photo_are_clear_errors():
    with pytest.raises(DatasetError, match="split must be"):
        SamplePhotos("training")
    with pytest.raises(DatasetError, match="none of no_such_photo could be loaded"):
        SamplePhotos(names=["no_such_photo"])


def test_composites_use_the_photos_of_their_split():
    cfg = DataConfig.tiny(backgrounds=(SourceSpec("sample_photos"),), length=2, val_length=2)
    train, val = MattingDataset(cfg, "train"), MattingDataset(cfg, "val")
    assert train.backgrounds[0].names != val.backgrounds[0].names
    assert val.backgrounds[0].names == SamplePhotos("test").names
    sample = train[0]
    assert tuple(sample["image"].shape[-2:]) == (cfg.crop_size, cfg.crop_size)
    pinned = MattingDataset(cfg.replace(backgrounds=(SourceSpec("sample_photos", split="train"),)), "val")
    assert pinned.backgrounds[0].names == train.backgrounds[0].names


def test_sample_photos_are_backgrounds_only():
    cfg = DataConfig.tiny(foregrounds=(SourceSpec("sample_photos"),))
    with pytest.raises(DatasetError, match="backgrounds only"):
        MattingDataset(cfg, "train")

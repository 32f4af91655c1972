"""MattingDataset: sample contents, reproducibility, workers, mixing of sources."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mam_lib.data import sources as D
from mam_lib.errors import DatasetError
from mam_lib.data.procedural import make_background, make_foreground
from mam_lib.inference.sam import PIXEL_MEAN, PIXEL_STD
from mam_lib.data.dataset import DataConfig, MattingDataset, SourceSpec, make_loader

REPO = Path(__file__).resolve().parents[2]
S = 96


def tiny(**kw) -> DataConfig:
    base = dict(crop_size=S, procedural_size=(120, 160), procedural_count=16, length=12, val_length=4)
    return DataConfig.tiny(**{**base, **kw})


def _unnormalise(image: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(3, 1, 1)
    return (image * std + mean) / 255.0


def _check_item(x: dict, s: int = S, identity: bool = True):
    assert x["image"].shape == (3, s, s) and x["image"].dtype == torch.float32
    for k in ("alpha", "trimap"):
        assert x[k].shape == (1, s, s) and x[k].dtype == torch.float32
    for k in ("fg", "bg"):
        assert x[k].shape == (3, s, s) and x[k].dtype == torch.float32
        assert x[k].min() >= 0 and x[k].max() <= 1
    alpha = x["alpha"]
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert set(torch.unique(x["trimap"]).tolist()) <= {0.0, 0.5, 1.0}
    assert (alpha[x["trimap"] == 1.0] >= 254.5 / 255).all()
    assert (alpha[x["trimap"] == 0.0] <= 0.5 / 255).all()
    if identity:
        comp = alpha * x["fg"] + (1 - alpha) * x["bg"]
        assert torch.allclose(_unnormalise(x["image"]), comp, atol=1e-4)
    box = x["box"]
    assert box.shape == (4,) and box.dtype == torch.float32
    ys, xs = torch.nonzero(alpha[0] > 0.5, as_tuple=True)
    if len(xs):
        assert box[0] <= xs.min() and xs.max() < box[2] and box[1] <= ys.min() and ys.max() < box[3]


def test_items_hold_consistent_tensors():
    ds = MattingDataset(tiny(num_points=2, with_mask=True))
    assert len(ds) == 12
    for i in range(4):
        x = ds[i]
        _check_item(x)
        assert x["points"].shape == (2, 2) and x["labels"].tolist() == [1, 1]
        assert x["mask"].shape == (1, S, S) and set(torch.unique(x["mask"]).tolist()) <= {0.0, 1.0}
        assert not bool(x["real"]) and int(x["index"]) == i
        pts = x["points"].long()
        assert (x["alpha"][0, pts[:, 1], pts[:, 0]] > 0.5).all()
    assert "procedural foregrounds" in ds.describe()


def test_reproducible_per_seed_and_index():
    a, b = MattingDataset(tiny()), MattingDataset(tiny())
    for i in (0, 5):
        xa, xb = a[i], b[i]
        assert all(torch.equal(xa[k], xb[k]) for k in xa)
    # order of requests does not matter
    assert torch.equal(a[3]["image"], MattingDataset(tiny())[3]["image"])
    assert not torch.equal(a[0]["image"], a[1]["image"])
    other = MattingDataset(tiny(seed=1))
    assert not torch.equal(a[0]["alpha"], other[0]["alpha"])


def test_epochs_change_train_but_not_val():
    train = MattingDataset(tiny())
    first = train[2]["image"]
    train.set_epoch(1)
    assert not torch.equal(first, train[2]["image"])
    val = MattingDataset(tiny(), split="val")
    assert len(val) == 4
    v0 = val[0]["image"]
    val.set_epoch(3)
    assert torch.equal(v0, val[0]["image"])
    assert torch.equal(v0, MattingDataset(tiny(), split="val")[0]["image"])
    assert not torch.equal(v0, MattingDataset(tiny())[0]["image"])


def test_points_and_mask_do_not_change_other_outputs():
    plain = MattingDataset(tiny())[1]
    extra = MattingDataset(tiny(num_points=3, with_mask=True))[1]
    for k in plain:
        assert torch.equal(plain[k], extra[k]), k


def test_dataloader_workers_are_reproducible_and_distinct():
    ds = MattingDataset(tiny(length=4))
    loader = make_loader(ds, batch_size=1, num_workers=2, shuffle=False)
    batches = list(loader)
    assert [int(b["index"]) for b in batches] == [0, 1, 2, 3]
    for i, b in enumerate(batches):  # same as in the main process, whichever worker made it
        assert torch.equal(b["image"][0], ds[i]["image"])
    # consecutive items come from different workers and differ
    images = [b["image"][0] for b in batches]
    assert all(not torch.equal(images[i], images[i + 1]) for i in range(3))
    again = [b["alpha"] for b in make_loader(ds, batch_size=2, num_workers=2, shuffle=False)]
    assert torch.equal(again[0][1], batches[1]["alpha"][0])


def test_shuffled_loader_batches():
    ds = MattingDataset(tiny(length=6))
    loader = make_loader(ds, batch_size=3, num_workers=0)
    batch = next(iter(loader))
    assert batch["image"].shape == (3, 3, S, S) and batch["box"].shape == (3, 4)
    order1 = [b["index"].tolist() for b in make_loader(ds, batch_size=3)]
    order2 = [b["index"].tolist() for b in make_loader(ds, batch_size=3)]
    assert order1 == order2  # the shuffle is seeded


def test_real_images_use_the_photograph_as_fg_and_bg():
    photos = [make_background(k, (110, 140)) for k in range(2)]
    alphas = [make_foreground(k, (110, 140))[1] for k in range(2)]
    images = D.ArrayForegrounds(photos, alphas, "photos", role="image")
    ds = MattingDataset(tiny(), foregrounds=[], backgrounds=[], images=[images])
    for i in range(3):
        x = ds[i]
        assert bool(x["real"])
        _check_item(x)
        assert torch.equal(x["fg"], x["bg"])


def test_mixing_real_and_composites_from_folders(tmp_path):
    from mam_lib.data.synthesis import write_synthetic_dataset

    write_synthetic_dataset(tmp_path / "mine", 3, size=64, seed=0, progress=False)
    cfg = tiny(
        length=24,
        foregrounds=(SourceSpec("fg_alpha", str(REPO / "data_samples" / "foregrounds"), weight=2.0),
                     SourceSpec("procedural")),
        backgrounds=(SourceSpec("backgrounds", str(REPO / "data_samples" / "backgrounds")),),
        images=(SourceSpec("images_alphas", str(tmp_path / "mine")),),
        real_ratio=0.5,
    )
    ds = MattingDataset(cfg)
    text = ds.describe()
    assert "50% composites" in text and "3 images" in text and "6 foregrounds" in text
    real = [bool(ds[i]["real"]) for i in range(len(ds))]
    assert 3 <= sum(real) <= 21
    for i in range(4):
        _check_item(ds[i])


def test_degradations_keep_ranges_but_break_the_identity():
    from mam_lib.data.transforms import DegradationConfig

    deg = DegradationConfig(prob=1.0, noise_prob=1.0, noise_std=(0.05, 0.05))
    x = MattingDataset(tiny(degradation=deg))[0]
    _check_item(x, identity=False)
    comp = x["alpha"] * x["fg"] + (1 - x["alpha"]) * x["bg"]
    assert (_unnormalise(x["image"]) - comp).abs().mean() > 0.01


def test_configuration_errors(tmp_path):
    with pytest.raises(DatasetError, match="backgrounds"):
        MattingDataset(tiny(backgrounds=()))
    with pytest.raises(DatasetError, match="unknown data-set layout"):
        MattingDataset(tiny(foregrounds=(SourceSpec("laion", str(tmp_path)),)))
    with pytest.raises(DatasetError, match="root"):
        MattingDataset(tiny(foregrounds=(SourceSpec("aim"),)))
    with pytest.raises(DatasetError, match="real images"):
        MattingDataset(tiny(images=(SourceSpec("procedural"),)))
    with pytest.raises(ValueError):
        MattingDataset(tiny(), split="test")
    with pytest.raises(IndexError):
        MattingDataset(tiny()).sample_arrays(99)


def test_presets():
    assert DataConfig().crop_size == 1024 and DataConfig.paper().real_ratio == 0.5
    assert DataConfig.cpu().crop_size == 512 and DataConfig.tiny().crop_size == 128
    assert DataConfig.tiny(seed=3).seed == 3
    assert DataConfig.tiny().replace(crop_size=64).crop_size == 64


def test_foreground_texture_paints_the_object_and_keeps_the_composite_exact():
    import numpy as np

    yy, xx = np.mgrid[0:256, 0:256]
    checker = [np.repeat((((yy // 8 + xx // 8) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)]
    plain = MattingDataset(tiny(), backgrounds=[D.ArrayBackgrounds(checker)])
    textured = MattingDataset(tiny(fg_texture_prob=1.0), backgrounds=[D.ArrayBackgrounds(checker)])
    assert MattingDataset(tiny(fg_texture_prob=0.0))[0]["fg"].equal(MattingDataset(tiny())[0]["fg"])
    for i in range(4):
        a, b = plain[i], textured[i]
        _check_item(b)  # image = alpha fg + (1 - alpha) bg still holds
        assert a["alpha"].equal(b["alpha"])  # the geometry is the same: only the colour changes
        inside = b["alpha"][0] > 0.5

        def detail(fg):  # mean vertical step between neighbouring pixels inside the object
            return (fg[:, 1:, :] - fg[:, :-1, :]).abs()[:, inside[1:, :] & inside[:-1, :]].mean()

        assert detail(b["fg"]) > detail(a["fg"]) + 0.02  # the checkerboard's edges are painted on
    with pytest.raises(Exception, match="fg_texture_prob"):
        MattingDataset(tiny(fg_texture_prob=1.5))

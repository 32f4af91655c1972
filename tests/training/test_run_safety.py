"""A training run keeps the user's files: settings out of range are refused, one run per folder, resume
survives a damaged newest checkpoint, the feature cache never deletes a folder it did not make."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mam_lib.cli import main
from mam_lib.errors import ConfigError, OutputError
from mam_lib.data.dataset import DataConfig, MattingDataset
from mam_lib.io.outputs import MARKER_NAME
from mam_lib.training.config import apply_overrides, preset
from mam_lib.training.feature_cache import build_feature_cache
from mam_lib.training.trainer import Trainer

TINY = ["data.crop_size=64", "data.length=8", "data.val_length=4", "data.procedural_size=[96,128]",
        "data.procedural_count=8", "optim.batch_size=4", "optim.steps=6", "optim.warmup_steps=2",
        "run.val_every=0", "run.save_every=0", "run.progress=false", "run.num_workers=0", 'run.precision="fp32"']


def tiny_config(out_dir, *extra):
    return apply_overrides(preset("cpu-tiny"), TINY + [f'run.out_dir="{out_dir}"', *extra])


@pytest.mark.parametrize("override, message", [
    ("optim.lr=inf", "optim.lr must be a finite number"),
    ("optim.lr=nan", "optim.lr must be a finite number"),
    ("data.crop_size=0", "crop_size must be a positive multiple of 32"),
    ("data.length=-5", "data.length must be at least 1"),
    ("run.num_workers=-1", "num_workers"),
    ("optim.betas=[0.5, 1.5]", "optim.betas"),
    ("optim.weight_decay=-0.1", "weight_decay"),
    ("run.save_every=-1", "run.save_every"),  # was: never saves
    ("run.device=banana", "not a device"),  # was: a RuntimeError from torch
    ("data.real_ratio=1.5", r"real_ratio must be in \[0, 1\]"),
    ("loss.laplacian=-1", "loss.laplacian"),
])
def test_settings_out_of_range_are_refused(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        tiny_config(tmp_path, override)


def test_zero_steps_are_refused_before_anything_is_written(tmp_path, capsys):
    trainer = Trainer(tiny_config(tmp_path / "run"), echo=lambda s: None)
    with pytest.raises(ConfigError, match="steps must be at least 1"):
        trainer.fit(steps=0)  # was: exit 0 after writing a checkpoint
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert main(["train", "--preset", "cpu-tiny", "--steps", "0", "--set", f'run.out_dir="{tmp_path / "cli"}"']) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err
    assert main(["train", "--preset", "cpu-tiny", "--set", "optim.lr=inf"]) == 2
    assert capsys.readouterr().err.count("\n") == 1  # one line


def test_a_second_run_on_the_same_folder_is_refused(tmp_path):
    first = Trainer(tiny_config(tmp_path), echo=lambda s: None)
    second = Trainer(tiny_config(tmp_path), echo=lambda s: None)
    with first.locked():
        with pytest.raises(OutputError, match="another training run .* is using"):
            second.fit()  # was: both ran and interleaved their logs and checkpoints
        with pytest.raises(OutputError, match="another training run"):
            second.resume()
    assert not (tmp_path / "log.jsonl").exists() and not (tmp_path / "checkpoints").exists()


def test_resume_falls_back_past_a_damaged_newest_checkpoint_and_cleans_temporaries(tmp_path):
    messages = []
    first = Trainer(tiny_config(tmp_path), echo=messages.append)
    for step in (1, 2):
        first.step = step
        newest = first.save_checkpoint()
    newest.write_bytes(newest.read_bytes()[:1000])  # a kill -9 on a file system without atomic renames
    ckpts = tmp_path / "checkpoints"
    (ckpts / ".step_0000003.pth.tmp-abcd1234.pth").write_bytes(b"half")  # left by a killed write
    (ckpts / ".step_0000003.pth.abcd1234.pth").write_bytes(b"half")  # the same, older naming
    again = Trainer(tiny_config(tmp_path), echo=messages.append)
    path = again.resume()  # was: CheckpointError on the truncated file
    assert path.name == "step_0000001.pth" and again.step == 1
    assert (ckpts / "step_0000002.pth.unreadable").is_file()
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_0000001.pth", "step_0000002.pth.unreadable"]
    assert any("step_0000002.pth cannot be used" in m for m in messages)


def _fake_sam(batch):
    return F.avg_pool2d(batch["image"], 16).repeat(1, 86, 1, 1)[:, :256], batch["mask"]


def test_the_feature_cache_never_deletes_a_folder_it_did_not_make(tmp_path):
    data = MattingDataset(DataConfig.tiny(crop_size=32, length=2, procedural_size=(48, 64), procedural_count=2,
                                          with_mask=True), "train")
    users = tmp_path / "my_data" / "train"  # cache.dir = my_data: the cache would go to my_data/train
    users.mkdir(parents=True)
    (users / "0001.png").write_bytes(b"a user's file")
    with pytest.raises(OutputError, match="holds other files .*0001.png.*left alone"):
        build_feature_cache(users, data, _fake_sam, progress=False)  # was: rmtree of my_data/train
    assert (users / "0001.png").read_bytes() == b"a user's file"
    assert sorted(p.name for p in users.parent.iterdir()) == ["train"]
    cache = build_feature_cache(tmp_path / "cache" / "train", data, _fake_sam, key="a", progress=False)
    assert (cache.directory / MARKER_NAME).is_file()
    again = build_feature_cache(tmp_path / "cache" / "train", data, _fake_sam, key="b", progress=False)
    assert again.key == "b" and len(again) == 2 and torch.is_tensor(again[0]["features"])


def test_an_unreadable_cache_folder_is_named(tmp_path, monkeypatch):
    import pathlib

    from mam_lib.errors import DatasetError
    from mam_lib.training.feature_cache import open_or_build_cache

    locked = tmp_path / "cache" / "train"
    locked.mkdir(parents=True)
    real_is_file = pathlib.Path.is_file

    def is_file(self):  # what a folder without read permission gives a user who is not root
        if locked in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    with pytest.raises(DatasetError, match="cannot read the feature cache .*permissions"):  # was: a traceback
        open_or_build_cache(locked, "key", build=lambda: None, log=None)

"""The trainer: configs and presets, learning, exact resume, checkpoints, accumulation, CLI."""
from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from mam_lib.inference.checkpoints import load_m2m_weights, read_checkpoint, save_m2m_checkpoint
from mam_lib.errors import CheckpointError, MamError
from mam_lib.training.feature_cache import FeatureCache
from mam_lib.inference.m2m import M2MDecoder
from mam_lib.training.config import (
    PRESET_NAMES,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    load_config,
    preset,
    save_config,
)
import mam_lib.training.trainer as trainer_module
from mam_lib.training.trainer import Trainer, resolve_precision

REPO = Path(__file__).resolve().parents[2]

TINY = [
    "data.crop_size=64", "data.length=8", "data.val_length=4", "data.procedural_size=[96,128]",
    "data.procedural_count=8", "data.trimap_width=[1,6]", "optim.batch_size=4", "optim.steps=6",
    "optim.warmup_steps=2", "optim.clip_start=2", "regions.warmup_steps=2", "run.val_every=0",
    "run.save_every=0", "run.log_every=1", "run.progress=false", "run.num_workers=0", "cache.build_batch_size=4",
    'run.precision="fp32"',
]


def tiny_config(out_dir, *extra: str) -> TrainConfig:
    return apply_overrides(preset("cpu-tiny"), TINY + [f"run.out_dir={str(out_dir)!r}".replace("'", '"'), *extra])


@pytest.fixture(scope="module")
def caches(tmp_path_factory, tiny_sam):
    """Train and val feature caches of the tiny config, built once with the tiny SAM."""
    root = tmp_path_factory.mktemp("cache_run")
    trainer = Trainer(tiny_config(root), sam=tiny_sam, echo=lambda s: None)
    return trainer.train_set(), trainer.val_set()


def make_trainer(tmp_path, caches, *extra: str, **kwargs) -> Trainer:
    train, val = caches
    return Trainer(tiny_config(tmp_path, *extra), train_data=train, val_data=val, echo=lambda s: None, **kwargs)


# ------------------------------------------------------------------------------ config


def test_presets_roundtrip_through_toml(tmp_path):
    for name in PRESET_NAMES:
        cfg = preset(name)
        save_config(cfg, tmp_path / f"{name}.toml")
        assert load_config(tmp_path / f"{name}.toml") == cfg


def test_paper_preset_is_the_published_recipe():
    cfg = preset("paper")
    assert cfg.data.crop_size == 1024 and cfg.optim.batch_size == 10
    assert cfg.optim.steps == 20_000 and cfg.optim.warmup_steps == 4000 and cfg.regions.warmup_steps == 4000
    assert cfg.optim.lr == 1e-3 and tuple(cfg.optim.betas) == (0.5, 0.999) and cfg.optim.clip
    assert cfg.model.mask_source == "sam" and cfg.model.sam_variant == "vit_b"
    assert (cfg.loss.weight_os8, cfg.loss.weight_os4, cfg.loss.weight_os1) == (0.2, 0.2, 0.4)
    assert apply_overrides(cfg, ["optim.accumulation=8"]).effective_batch == 80


def test_shipped_config_files_equal_the_presets():
    for name in PRESET_NAMES:
        path = REPO / "configs" / f"{name}.toml"
        assert path.is_file(), path
        assert load_config(path) == preset(name)


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(MamError, match="unknown key.*lrr"):
        config_from_dict({"optim": {"lrr": 1.0}})
    with pytest.raises(MamError, match="crop_size"):
        config_from_dict({"preset": "cpu-tiny", "data": {"crop_size": 100}})
    with pytest.raises(MamError, match="unknown training preset"):
        preset("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim\nlr = 1")
    with pytest.raises(MamError, match="not valid TOML"):
        load_config(bad)
    partial = tmp_path / "partial.toml"
    partial.write_text('preset = "cpu-tiny"\n[optim]\nlr = 0.0005\n')
    cfg = load_config(partial)
    assert cfg.optim.lr == 0.0005 and cfg.data == preset("cpu-tiny").data


def test_precision_helper(monkeypatch):
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) is None and resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", cpu) is None  # emulated bf16 would be slower than float32
    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
    with pytest.raises(MamError, match="CUDA"):
        resolve_precision("fp16", cpu)
    with pytest.raises(MamError, match="mps"):
        resolve_precision("bf16", torch.device("mps"))


# ------------------------------------------------------------------------------ training


def test_cache_items_have_sam_features(caches):
    train, val = caches
    assert isinstance(train, FeatureCache) and len(train) == 8 and len(val) == 4
    item = train[0]
    assert item["features"].shape == (256, 4, 4) and item["mask"].shape == (1, 64, 64)
    assert float(item["features"].abs().sum()) > 0


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_few_steps_lower_the_loss(tmp_path, caches, precision):
    one_batch = torch.utils.data.Subset(caches[0], range(4))  # one fixed batch: the loss must fall
    trainer = Trainer(tiny_config(tmp_path, "optim.steps=12", "optim.warmup_steps=1", "regions.warmup_steps=100",
                                  "optim.lr=0.003", f'run.precision="{precision}"'),
                      train_data=one_batch, val_data=caches[1], echo=lambda s: None)
    assert trainer.precision == (None if precision == "fp32" else "bf16")
    result = trainer.fit()
    assert result.status == "completed" and len(result.losses) == 12
    assert np.mean(result.losses[-3:]) < 0.8 * np.mean(result.losses[:3])
    assert not trainer.scaler.is_enabled()  # no loss scaling on the CPU


def test_resume_gives_the_same_losses(tmp_path, caches):
    full = make_trainer(tmp_path / "a", caches, "run.save_every=2", "run.seed=3")
    reference = full.fit().losses
    assert len(reference) == 6 and len(set(reference)) == 6

    first = make_trainer(tmp_path / "b", caches, "run.save_every=2", "run.seed=3")

    def interrupt(trainer, result):
        if trainer.step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would

    head = first.fit(callback=interrupt)
    assert head.status == "interrupted" and head.step == 3
    assert head.checkpoint.name == "step_0000003.pth"
    np.testing.assert_allclose(head.losses, reference[:3], rtol=1e-6)

    second = make_trainer(tmp_path / "b", caches, "run.save_every=2", "run.seed=3")
    second.resume()
    assert second.step == 3 and second.position == 3 * 4
    tail = second.fit()
    assert tail.status == "completed" and len(tail.losses) == 3
    np.testing.assert_allclose(tail.losses, reference[3:], rtol=1e-5, atol=1e-7)
    final_a = read_checkpoint(tmp_path / "a" / "checkpoints" / "final.pth")["state_dict"]
    final_b = read_checkpoint(tmp_path / "b" / "checkpoints" / "final.pth")["state_dict"]
    for k in final_a:
        torch.testing.assert_close(final_a[k], final_b[k], rtol=1e-5, atol=1e-6)
    rows = [r for r in (tmp_path / "b" / "train_log.csv").read_text().splitlines()[1:]]
    assert len(rows) == 6  # the log continues without duplicated steps


def test_a_new_run_does_not_mix_into_an_earlier_runs_folder(tmp_path, caches):
    make_trainer(tmp_path, caches, "optim.steps=2").fit()
    log = tmp_path / "log.jsonl"
    before = log.read_text()
    again = make_trainer(tmp_path, caches, "optim.steps=2")
    with pytest.raises(MamError, match="already holds a training run .*step_0000002.pth.*--resume"):
        again.fit()
    assert log.read_text() == before and again.step == 0  # nothing appended, nothing trained
    with pytest.raises(MamError, match="resume it instead"):
        again.discard_earlier_log()
    # a run killed before its first checkpoint leaves only a log: that one may be started over
    for p in (tmp_path / "checkpoints").glob("*.pth"):
        p.unlink()
    again.discard_earlier_log()
    assert again.fit().status == "completed"
    steps = [r["step"] for r in map(json.loads, log.read_text().splitlines()) if r["kind"] == "train"]
    assert steps == sorted(set(steps)) and len(steps) == 2  # only the new run's rows


def test_time_budget_stops_with_a_resumable_checkpoint(tmp_path, caches):
    trainer = make_trainer(tmp_path, caches, "run.max_minutes=0.0")
    result = trainer.fit()
    assert result.status == "time_limit" and result.step == 0 and result.checkpoint.is_file()
    assert make_trainer(tmp_path, caches).resume() == result.checkpoint


def test_checkpoints_load_strictly_and_are_kept_as_configured(tmp_path, caches):
    trainer = make_trainer(tmp_path, caches, "optim.steps=4", "run.save_every=1", "run.keep_last=2",
                           "run.val_every=2")
    result = trainer.fit()
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("step_*.pth")) == ["step_0000003.pth", "step_0000004.pth"]
    assert (ckpts / "best.pth").is_file() and (ckpts / "final.pth").is_file()
    assert result.val and {"sad", "mse", "mask_sad", "mask_mse"} <= set(result.val)
    for name in ("step_0000004.pth", "final.pth", "best.pth"):
        obj = torch.load(ckpts / name, map_location="cpu", weights_only=True)
        model = load_m2m_weights(M2MDecoder(), obj, strict=True)
        assert set(obj["state_dict"]) == set(M2MDecoder().state_dict())
        if name != "best.pth":
            for k, v in model.state_dict().items():
                assert torch.equal(v, trainer.model.state_dict()[k])
    state = read_checkpoint(ckpts / "step_0000004.pth")["trainer"]
    assert state["step"] == 4 and isinstance(state["rng"]["torch"], torch.Tensor)
    val_rows = (tmp_path / "val_log.csv").read_text().splitlines()
    assert val_rows[0].startswith("step,") and len(val_rows) == 3


def test_broken_checkpoints_give_clear_errors(tmp_path, caches):
    trainer = make_trainer(tmp_path, caches, "optim.steps=1")
    trainer.fit()
    good = tmp_path / "checkpoints" / "step_0000001.pth"
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint at all" * 10)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    fresh = make_trainer(tmp_path / "other", caches)
    for path in (truncated, garbage, empty):
        with pytest.raises(CheckpointError, match="truncated|corrupted|empty"):
            fresh.resume(path)
        with pytest.raises(CheckpointError):
            load_m2m_weights(M2MDecoder(), path)
    with pytest.raises(CheckpointError, match="no training state"):
        fresh.resume(tmp_path / "checkpoints" / "final.pth")
    with pytest.raises(CheckpointError, match="no checkpoint to resume"):
        fresh.resume()
    weights_only = tmp_path / "weights.pth"
    save_m2m_checkpoint(M2MDecoder(), weights_only)
    with pytest.raises(CheckpointError, match="no training state"):
        fresh.resume(weights_only)


def test_accumulation_sums_micro_batch_gradients(tmp_path, caches):
    trainer = make_trainer(tmp_path, caches, "optim.accumulation=2")
    loader = torch.utils.data.DataLoader(caches[0], batch_size=2)
    b1, b2 = next(iter(loader)), list(loader)[1]
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    params = [p for p in trainer.model.parameters()]

    trainer.optimizer.zero_grad(set_to_none=True)
    loss, _, _ = trainer.accumulate([b1, b2], step=0)
    together = [p.grad.clone() for p in params]

    trainer.model.load_state_dict(start)
    separate = []
    losses = []
    for b in (b1, b2):  # one after the other, as accumulation runs them
        trainer.optimizer.zero_grad(set_to_none=True)
        single, _, _ = trainer.accumulate([b], step=0)
        losses.append(single)
        separate.append([p.grad.clone() for p in params])
    assert loss == pytest.approx(np.mean(losses), rel=1e-5)
    for g, g1, g2 in zip(together, *separate):
        torch.testing.assert_close(g, (g1 + g2) / 2, rtol=1e-4, atol=1e-6)


def test_sam_on_the_fly_and_channels_last(tmp_path, tiny_sam):
    """Without the cache SAM runs per batch (its own mask here); channels_last runs on the CPU too."""
    cfg = tiny_config(tmp_path, "cache.enabled=false", "model.mask_source=\"sam\"", "data.length=2",
                      "optim.batch_size=2", "optim.steps=1", "model.channels_last=true")
    trainer = Trainer(cfg, sam=tiny_sam, echo=lambda s: None)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set(), batch_size=2)))
    prepared = trainer.prepare(batch)
    assert prepared["features"].shape == (2, 256, 4, 4) and prepared["mask"].shape == (2, 1, 16, 16)
    result = trainer.train_step([batch])
    assert math.isfinite(result.loss) and trainer.step == 1
    assert all(not p.requires_grad for p in tiny_sam.parameters())


# ------------------------------------------------------------------------------ command line


def test_cli_writes_a_config_and_trains_from_it(tmp_path, caches):
    from mam_lib.cli import main

    path = tmp_path / "tiny.toml"
    assert main(["train", "--preset", "cpu-tiny", "--write-config", str(path)]) == 0
    assert load_config(path) == preset("cpu-tiny")
    assert main(["train", str(tmp_path / "missing.toml")]) == 2


def test_cli_finetune_from_a_folder(tmp_path):
    import cv2

    from mam_lib.cli import main
    from mam_lib.data.procedural import make_background, make_foreground
    from mam_lib.data.transforms import composite

    data = tmp_path / "mine"
    (data / "images").mkdir(parents=True)
    (data / "alphas").mkdir()
    for i in range(3):
        fg, alpha = make_foreground(i, (96, 96))
        image = composite(fg, make_background(i, (96, 96)), alpha)
        cv2.imwrite(str(data / "images" / f"{i:02d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(data / "alphas" / f"{i:02d}.png"), np.round(alpha * 255).astype(np.uint8))
    init = save_m2m_checkpoint(M2MDecoder(), tmp_path / "init.pth")
    out = tmp_path / "run"
    args = ["finetune", "--data", str(data), "--init", str(init), "--sam-variant", "tiny", "--out", str(out),
            "--steps", "2", "--crop-size", "64", "--batch-size", "2", "--views", "1",
            "--set", "run.progress=false", "--set", "run.num_workers=0", "--set", "data.val_length=2"]
    written = tmp_path / "ft.toml"
    assert main(args + ["--write-config", str(written)]) == 0
    cfg = load_config(written)
    assert cfg.preset == "finetune" and cfg.model.init_checkpoint == str(init)
    assert cfg.data.images[0].root == str(data) and cfg.optim.lr == preset("finetune").optim.lr
    assert main(args) == 0
    final = read_checkpoint(out / "checkpoints" / "final.pth")
    load_m2m_weights(M2MDecoder(), final, strict=True)
    assert final["training"]["step"] == 2
    assert main(args) == 2  # the folder holds a run now: --resume is needed
    with pytest.raises(SystemExit):
        main(["finetune", "--init", str(init)])  # --data is required
    assert main(["finetune", "--data", str(tmp_path / "nope"), "--init", str(init)]) == 2


def test_cli_preset_names_match_the_library():
    from mam_lib.cli.train import PRESETS

    assert tuple(PRESETS) == PRESET_NAMES

"""Training configuration: one dataclass tree, named presets, TOML files.

A :class:`TrainConfig` gathers everything a training run needs, one dataclass per component:

================  ==========================================================================
section           what it configures
================  ==========================================================================
``data``          :class:`mam_lib.data.dataset.DataConfig`: sources, crop size, augmentations
``model``         SAM variant and weights, where the coarse mask comes from, M2M initial weights,
                  ``channels_last`` and ``torch.compile``
``optim``         batch, gradient accumulation, steps, Adam, warm-up + cosine decay, clipping
``loss``          :class:`mam_lib.training.losses.LossConfig`: terms and scale weights
``regions``       :class:`mam_lib.training.regions.RegionScheduleConfig`: where the losses count
``cache``         the SAM feature cache (:mod:`mam_lib.training.feature_cache`)
``val``           the held-out data (default: the data set's own ``val`` split)
``run``           output folder, device, mixed precision, logging, validation, checkpoints
================  ==========================================================================

Presets (:func:`preset`):

* ``paper`` — the published recipe on one GPU: batch 10 of 1024² crops, 20 k steps, 4 k linear
  warm-up then cosine decay, Adam (lr 1e-3, betas 0.5/0.999), clipping against a moving maximum of
  the gradient norm, bf16 autocast. Set ``optim.accumulation = 8`` to reach the published
  effective batch of 80 (8 GPUs × 10).
* ``finetune`` — start from published M2M weights on a folder of ``images/ + alphas/``: lr 1e-4,
  2 k steps, 512² crops, the SAM stage cached to disk so a CPU can do it.
* ``cpu-tiny`` — learn the mechanics on a laptop in minutes: tiny random SAM, simulated coarse
  masks, small procedural crops, feature cache.

TOML: :func:`save_config` writes every field (``None`` values are left out, meaning "default");
:func:`load_config` reads a file, starting from the preset named by its top-level ``preset`` key
(``paper`` when absent) and overriding what the file sets. Unknown keys are errors that list the
valid ones. :func:`apply_overrides` applies ``section.field=value`` strings (the CLI's ``--set``).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..io.atomic import atomic_write_text
from ..errors import ConfigError, MamError
from .regions import RegionScheduleConfig
from .losses import LossConfig
from ..data.coarse_mask import CoarseMaskConfig
from ..data.dataset import DataConfig, SourceSpec, check_finite_fields

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MASK_SOURCES = ("sam", "simulated")
SAM_VARIANTS = ("vit_b", "vit_l", "vit_h", "tiny")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class ModelConfig:
    """The frozen SAM, the coarse-mask source and the trained M2M decoder."""

    sam_variant: str = "vit_b"  # "vit_b" / "vit_l" / "vit_h" (published models) or "tiny" (random, offline)
    sam_checkpoint: str | None = None  # sam_vit_*.pth; None: random weights (speed tests, offline learning)
    sam_seed: int = 0  # seed of SAM's random initialisation when there is no checkpoint
    mask_source: str = "sam"  # "sam": SAM's mask from the box prompt (the recipe); "simulated": the data's coarse mask
    multimask_output: bool = True  # keep SAM's best-IoU mask of three (the recipe)
    init_checkpoint: str | None = None  # M2M weights to start from (fine-tuning); None: random init
    channels_last: bool = False  # run M2M in channels_last memory format (faster convolutions on recent GPUs and CPUs)
    compile: bool = False  # wrap M2M in torch.compile (first steps slower, later ones faster)


@dataclass
class OptimConfig:
    """Batches, optimiser, learning-rate schedule and gradient clipping."""

    batch_size: int = 10  # samples per forward pass (the recipe: 10 per GPU)
    accumulation: int = 1  # forward passes per optimiser step; 8 × 10 = the published effective batch of 80
    steps: int = 20_000  # optimiser steps
    lr: float = 1e-3  # peak learning rate (Adam)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas of the recipe
    weight_decay: float = 0.0  # L2 weight decay (none in the recipe)
    warmup_steps: int = 4000  # linear warm-up from lr/warmup_steps to lr
    min_lr_ratio: float = 0.0  # cosine decay ends at lr × min_lr_ratio
    clip: bool = True  # clip gradients against a moving maximum of their norm
    clip_decay: float = 0.99  # the moving maximum decays by this factor per step
    clip_start: int = 100  # steps that only record the norm before clipping starts


@dataclass
class CacheConfig:
    """The SAM feature cache (see :mod:`mam_lib.training.feature_cache`)."""

    enabled: bool = False  # train from precomputed SAM features + masks instead of running SAM per step
    dir: str | None = None  # cache folder; None: <run.out_dir>/cache
    views: int = 1  # augmented views cached per data item (epochs 0..views-1 of the data set)
    build_batch_size: int = 4  # images per SAM forward while building
    store_fg_bg: bool = False  # also cache fg and bg (needed only by the composition loss)


@dataclass
class RunConfig:
    """Where outputs go, the device, and how often to log, validate and save."""

    out_dir: str = "runs/mam"  # checkpoints, logs, the config copy and (by default) the cache go here
    device: str | None = None  # None: CUDA, else MPS, else CPU
    precision: str = "auto"  # "auto": bf16 on CUDA if supported (else fp16 + scaler) or on CPUs with native bf16 (AMX, AVX512-BF16); else fp32
    seed: int = 0  # seed of data order, region choices and the M2M initialisation
    num_workers: int = 2  # DataLoader worker processes
    log_every: int = 10  # steps between log rows
    val_every: int = 1000  # steps between validations (0: only at the end)
    val_batch_size: int = 4  # samples per validation forward pass
    save_every: int = 1000  # steps between checkpoints (0: only at the end and on interruption)
    keep_last: int = 3  # step checkpoints kept (best.pth and final.pth are kept apart)
    max_minutes: float | None = None  # stop (with a checkpoint) after this much wall time
    tensorboard: bool = True  # also log to TensorBoard when it is installed
    progress: bool = True  # show a tqdm progress bar


@dataclass
class ValConfig:
    """The held-out data of validation."""

    images: tuple[SourceSpec, ...] = ()  # real images + alphas to validate on; empty: the data's own "val" split
    max_items: int | None = None  # validate on at most this many items (None: all of data.val_length)


@dataclass
class TrainConfig:
    """Everything a training run needs (see the module docstring)."""

    preset: str = "paper"  # the preset this config started from (informative; used when loading TOML)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    regions: RegionScheduleConfig = field(default_factory=RegionScheduleConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    val: ValConfig = field(default_factory=ValConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @property
    def effective_batch(self) -> int:
        """Samples per optimiser step: ``batch_size × accumulation``."""
        return self.optim.batch_size * self.optim.accumulation

    def validate(self) -> "TrainConfig":
        """Raise :class:`~mam_lib.errors.ConfigError` naming the first inconsistent or out-of-range
        setting (every number must be finite; counts, rates and probabilities in their ranges); returns self."""
        m, o, r, c = self.model, self.optim, self.run, self.cache
        check_finite_fields(self, "")
        if m.mask_source not in MASK_SOURCES:
            raise ConfigError(f"model.mask_source must be one of {MASK_SOURCES}, got {m.mask_source!r}")
        if m.sam_variant not in SAM_VARIANTS:
            raise ConfigError(f"model.sam_variant must be one of {SAM_VARIANTS}, got {m.sam_variant!r}")
        if r.precision not in PRECISIONS:
            raise ConfigError(f"run.precision must be one of {PRECISIONS}, got {r.precision!r}")
        for name in ("batch_size", "accumulation", "steps"):
            if int(getattr(o, name)) < 1:
                raise ConfigError(f"optim.{name} must be at least 1, got {getattr(o, name)}")
        if not o.lr > 0:
            raise ConfigError(f"optim.lr must be a number > 0, got {o.lr}")
        if o.warmup_steps < 0:
            raise ConfigError(f"optim.warmup_steps must be 0 or more, got {o.warmup_steps}")
        if len(o.betas) != 2 or not all(0.0 <= b < 1.0 for b in o.betas):
            raise ConfigError(f"optim.betas must be two numbers in [0, 1) (Adam's), got {list(o.betas)}")
        if o.weight_decay < 0:
            raise ConfigError(f"optim.weight_decay must be 0 or more, got {o.weight_decay}")
        if not 0.0 <= o.min_lr_ratio <= 1.0:
            raise ConfigError(f"optim.min_lr_ratio must be in [0, 1], got {o.min_lr_ratio}")
        if not 0.0 < o.clip_decay <= 1.0:
            raise ConfigError(f"optim.clip_decay must be in (0, 1], got {o.clip_decay}")
        if o.clip_start < 0:
            raise ConfigError(f"optim.clip_start must be 0 or more, got {o.clip_start}")
        if self.data.crop_size < 32 or self.data.crop_size % 32:
            raise ConfigError(f"data.crop_size must be a positive multiple of 32 (SAM's 16-pixel patches and the "
                              f"decoder's strides), got {self.data.crop_size}")
        if self.data.crop_size > 1024:
            raise ConfigError(f"data.crop_size must be at most 1024 (SAM's input size), got {self.data.crop_size}")
        self.data.validate("data")
        if m.mask_source == "simulated" and not self.data.with_mask:
            raise ConfigError("model.mask_source = 'simulated' needs data.with_mask = true (the data set makes the mask)")
        for name in ("laplacian", "composition", "gradient"):
            if getattr(self.loss, name) < 0:
                raise ConfigError(f"loss.{name} is a weight and must be 0 or more, got {getattr(self.loss, name)}")
        if self.loss.laplacian_levels < 1:
            raise ConfigError(f"loss.laplacian_levels must be at least 1, got {self.loss.laplacian_levels}")
        if self.regions.warmup_steps < 0 or self.regions.late_phase_factor < 1:
            raise ConfigError("regions.warmup_steps must be 0 or more and regions.late_phase_factor at least 1, got "
                              f"{self.regions.warmup_steps} and {self.regions.late_phase_factor}")
        if not 0.0 <= self.regions.p_trimap <= 1.0:
            raise ConfigError(f"regions.p_trimap is a probability in [0, 1], got {self.regions.p_trimap}")
        if c.views < 1:
            raise ConfigError(f"cache.views must be at least 1, got {c.views}")
        if c.build_batch_size < 1:
            raise ConfigError(f"cache.build_batch_size must be at least 1, got {c.build_batch_size}")
        if self.loss.composition and c.enabled and not c.store_fg_bg:
            raise ConfigError("the composition loss needs fg and bg: set cache.store_fg_bg = true")
        if not str(r.out_dir).strip():
            raise ConfigError("run.out_dir is empty; give the run folder")
        if r.num_workers < 0:
            raise ConfigError(f"run.num_workers must be 0 (load in the main process) or more, got {r.num_workers}")
        for name in ("log_every", "val_batch_size", "keep_last"):
            if getattr(r, name) < 1:
                raise ConfigError(f"run.{name} must be at least 1, got {getattr(r, name)}")
        for name in ("val_every", "save_every"):
            if getattr(r, name) < 0:
                raise ConfigError(f"run.{name} must be 0 (only at the end) or a positive number of steps, "
                                  f"got {getattr(r, name)}")
        if r.max_minutes is not None and r.max_minutes < 0:
            raise ConfigError(f"run.max_minutes must be 0 or more minutes (or left out), got {r.max_minutes}")
        if self.val.max_items is not None and self.val.max_items < 1:
            raise ConfigError(f"val.max_items must be at least 1 (or left out), got {self.val.max_items}")
        if r.device is not None:
            check_device_name(r.device, "run.device", available=False)
        return self


def check_device_name(device: str, option: str = "device", available: bool = True) -> None:
    """Raise :class:`~mam_lib.errors.ConfigError` when ``device`` is not a device name torch knows
    (``cpu``, ``cuda``, ``cuda:1``, ``mps``, …), or (with ``available``) names CUDA or MPS where
    there is none. A config file may name a device of another machine, so its check passes
    ``available=False``; the trainer checks availability when it starts."""
    import torch

    from ..inference.device import resolve_device

    text = str(device).strip()
    try:
        torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(f"{option} {device!r} is not a device; use cpu, cuda, cuda:N (a GPU number) or mps") from None
    if not available:
        return
    try:
        resolve_device(text)
    except MamError as err:
        raise ConfigError(f"{option}: {err}") from None


# --------------------------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------------------------


def _paper() -> TrainConfig:
    return TrainConfig(
        preset="paper",
        data=DataConfig.paper(),
        model=ModelConfig(sam_variant="vit_b", mask_source="sam", channels_last=True),
        optim=OptimConfig(),
        loss=LossConfig(),
        regions=RegionScheduleConfig(warmup_steps=4000),
        cache=CacheConfig(enabled=False),
        run=RunConfig(out_dir="runs/paper", num_workers=8, val_every=1000, save_every=1000, precision="auto"),
    )


def _finetune() -> TrainConfig:
    return TrainConfig(
        preset="finetune",
        data=DataConfig(crop_size=512, length=400, val_length=32, foregrounds=(), backgrounds=(),
                        images=(SourceSpec("images_alphas", root="data/my_mattes"),), real_ratio=1.0,
                        trimap_width=(1, 20), procedural_size=(768, 1024)),
        model=ModelConfig(sam_variant="vit_b", mask_source="sam", init_checkpoint="mam_vitb.pth"),
        optim=OptimConfig(batch_size=4, accumulation=1, steps=2000, lr=1e-4, warmup_steps=100, clip_start=20),
        loss=LossConfig(),
        # the decoder is trained already: skip straight to the band phases after a short warm-up
        regions=RegionScheduleConfig(warmup_steps=100, late_phase_factor=3),
        cache=CacheConfig(enabled=True, views=4, build_batch_size=2),
        run=RunConfig(out_dir="runs/finetune", num_workers=2, val_every=250, save_every=250, log_every=10),
    )


def _cpu_tiny() -> TrainConfig:
    # Sized for 10 minutes on two CPU cores, feature caching included (benchmarks/bench_train_cpu.py):
    # caching 1500 crops takes about a minute (the tiny SAM's encoder runs on the crop's own windows,
    # mam_lib.inference.sam.crop_features) and bf16 is about 2.4x as fast as float32 on a CPU that
    # computes it natively (AVX512-BF16 or AMX; "auto" picks it): 494-569 s in all on the first
    # (3000 steps do about as well, for less). Crops of 96² rather than 128²: per crop a step
    # costs 0.85 of the larger crops', and per crop seen they taught as much or more
    # (docs/training.md, "Measured on a CPU"); 64² crops were worse again. Counting the fine scales'
    # losses on the whole crop throughout (regions.warmup_steps = steps) keeps the decoder from
    # hazing a good mask away from the edge. The data come closer to photographs: half the
    # backgrounds are scikit-image's sample photos, a third of the objects carry a photo's texture,
    # and the simulated masks have SAM's kind of errors (no holes), binarised at alpha 0.5 rather
    # than anywhere in [0.2, 0.8]: with a random threshold a mask's edge may lie anywhere in the
    # soft band, and the decoder improved a precise mask less (held-out precise masks 0.70 -> 0.66
    # of the mask's SAD, photographs 0.71 -> 0.68, simulated masks as before).
    return TrainConfig(
        preset="cpu-tiny",
        data=DataConfig(crop_size=96, length=1500, val_length=32, procedural_size=(192, 256), procedural_count=1000,
                        procedural_cache=32, trimap_width=(1, 10), with_mask=True, second_fg_prob=0.3,
                        backgrounds=(SourceSpec("sample_photos"), SourceSpec("procedural")), fg_texture_prob=0.3,
                        mask=dataclasses.replace(CoarseMaskConfig.sam_like(), threshold_range=(0.5, 0.5))),
        model=ModelConfig(sam_variant="tiny", mask_source="simulated", channels_last=True),
        optim=OptimConfig(batch_size=6, accumulation=1, steps=3500, lr=3e-3, warmup_steps=100, clip_start=20),
        loss=LossConfig(),
        regions=RegionScheduleConfig(warmup_steps=3500),
        cache=CacheConfig(enabled=True, views=1, build_batch_size=8),
        run=RunConfig(out_dir="runs/cpu-tiny", device="cpu", precision="auto", num_workers=0, log_every=10,
                      val_every=875, val_batch_size=8, save_every=875, keep_last=2, tensorboard=False),
    )


_PRESETS = {"paper": _paper, "finetune": _finetune, "cpu-tiny": _cpu_tiny}
PRESET_NAMES = tuple(_PRESETS)


def preset(name: str) -> TrainConfig:
    """A fresh copy of a named preset: ``"paper"``, ``"finetune"`` or ``"cpu-tiny"``."""
    key = name.lower().replace("_", "-")
    if key not in _PRESETS:
        raise MamError(f"unknown training preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    return _PRESETS[key]()


# --------------------------------------------------------------------------------------------
# dict / TOML conversion
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, Path):
        return str(value)
    return value


def config_to_dict(config: Any) -> dict:
    """A dataclass (tree) as plain dicts/lists/numbers/strings; ``None`` fields are left out."""
    return _plain(config)


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _convert(tp: Any, value: Any, where: str) -> Any:
    tp = _strip_optional(tp)
    if value is None:
        return None
    if dataclasses.is_dataclass(tp):
        if dataclasses.is_dataclass(value):
            return value
        if not isinstance(value, Mapping):
            raise MamError(f"{where} must be a table (section), got {value!r}")
        return _from_dict(tp, value, where)
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise MamError(f"{where} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise MamError(f"{where} must have {len(args)} items, got {len(value)}")
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise MamError(f"{where} must be a table, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise MamError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise MamError(f"{where} must be an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MamError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise MamError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _from_dict(cls: type, data: Mapping[str, Any], where: str, base: Any = None) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise MamError(f"unknown key(s) {', '.join(unknown)} in [{where or 'top level'}]; "
                       f"valid keys: {', '.join(sorted(names))}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        sub = f"{where}.{f.name}" if where else f.name
        current = getattr(base, f.name) if base is not None else None
        if f.name in data:
            value = data[f.name]
            tp = _strip_optional(hints[f.name])
            if dataclasses.is_dataclass(tp) and isinstance(value, Mapping) and current is not None:
                kwargs[f.name] = _from_dict(tp, value, sub, current)
            else:
                kwargs[f.name] = _convert(hints[f.name], value, sub)
        elif base is not None:
            kwargs[f.name] = current
    return cls(**kwargs)


def config_from_dict(data: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """Build a :class:`TrainConfig` from nested dicts, over ``base`` (default: the preset named by
    ``data["preset"]``, else ``paper``). Sections and keys that ``data`` leaves out keep the base's values."""
    if base is None:
        base = preset(str(data.get("preset", "paper")))
    return _from_dict(TrainConfig, data, "", base).validate()


_PRESET_NOTES = {
    "paper": "the published recipe on one GPU (batch 10, 1024² crops, 20k steps); optim.accumulation = 8 gives "
             "the published effective batch of 80",
    "finetune": "start from published M2M weights (model.init_checkpoint) on your images/ + alphas/ folder",
    "cpu-tiny": "learn the mechanics on a CPU in minutes: tiny random SAM, simulated masks, small procedural crops",
}


@functools.lru_cache(maxsize=None)
def field_comments(cls: type) -> dict[str, str]:
    """The ``# comment`` written after each field of a dataclass in its source (empty if unavailable)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out = {}
    for line in source.splitlines():
        m = re.match(r"^\s+(\w+)\s*:[^#]*=[^#]*#\s*(.+)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    if dataclasses.is_dataclass(value):
        return _toml_value(config_to_dict(value))
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _emit(obj: Any, path: str, lines: list[str]) -> None:
    comments = field_comments(type(obj))
    later: list[tuple[str, Any, bool]] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        note = comments.get(f.name, "")
        sub = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value):
            later.append((sub, value, False))
        elif isinstance(value, tuple) and value and all(dataclasses.is_dataclass(v) for v in value):
            later.append((sub, value, True))
        elif value is None:
            lines.append(f"# {f.name} = (unset){'  # ' + note if note else ''}")
        else:
            lines.append(f"{_toml_key(f.name)} = {_toml_value(value)}{'  # ' + note if note else ''}")
    for sub, value, is_array in later:
        if is_array:
            for item in value:
                lines += ["", f"[[{sub}]]"]
                _emit(item, sub, lines)
        else:
            lines += ["", f"[{sub}]"]
            _emit(value, sub, lines)


#: How every config file written by :func:`save_config` starts.
CONFIG_HEADER = "# Matting Anything (M2M) training configuration"


def config_to_toml(config: TrainConfig) -> str:
    """``config`` as commented TOML text: every field, with the comment of its dataclass field."""
    lines = [f"{CONFIG_HEADER}, preset '{config.preset}':",
             f"# {_PRESET_NOTES.get(config.preset, 'a custom configuration')}.",
             "# Train with: mam train THIS_FILE.toml   (add --resume to continue an interrupted run)",
             "# Keys left out take the preset's value; docs/training.md explains every section.", ""]
    _emit(config, "", lines)
    return "\n".join(lines) + "\n"


def _toml_text(config: TrainConfig) -> str:
    return config_to_toml(config)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    """Write ``config`` as TOML, atomically. Returns the path."""
    return atomic_write_text(path, _toml_text(config))


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML training config (see the module docstring for how presets and keys combine)."""
    p = Path(path)
    if not p.is_file():
        raise MamError(f"training config {str(p)!r} does not exist; write a starting one with "
                       "`mam train --preset cpu-tiny --write-config FILE.toml`")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise MamError(f"training config {str(p)!r} is not valid TOML: {err}") from None
    return config_from_dict(data)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string


def apply_overrides(config: TrainConfig, overrides: list[str] | tuple[str, ...]) -> TrainConfig:
    """Apply ``section.key=value`` strings (TOML values; bare words are strings), e.g.
    ``["optim.lr=1e-4", "run.out_dir=runs/x", "data.crop_size=256"]``."""
    data: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise MamError(f"an override is SECTION.KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise MamError(f"an override is SECTION.KEY=VALUE, got {item!r}")
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = _parse_value(text.strip())
    return _from_dict(TrainConfig, data, "", config).validate()


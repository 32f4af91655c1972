"""Training the M2M decoder on one GPU or a CPU, with a frozen SAM in front of it.

:class:`Trainer` runs the recipe of :mod:`mam_lib.training.config`:

* **SAM is frozen** (eval mode, no gradients); only M2M's parameters reach the optimiser. Its
  features and mask come, per batch, from SAM on the crop and its box prompt (``mask_source =
  "sam"``, the recipe), or SAM's features with the data set's simulated coarse mask (``"simulated"``:
  offline training with a random SAM, whose masks mean nothing) — or from a disk cache of either
  (:mod:`mam_lib.training.feature_cache`), which removes SAM from the step altogether.
* **Loss**: :func:`mam_lib.training.losses.multiscale_loss` over the regions of
  :class:`mam_lib.training.regions.RegionSchedule`.
* **Optimiser**: Adam, linear warm-up then cosine decay (:func:`lr_factor`), gradient accumulation
  over ``optim.accumulation`` forward passes, clipping against a moving maximum of the gradient
  norm (:class:`GradClipper`).
* **CUDA speed options**: autocast in bf16 (or fp16 with a ``GradScaler``), ``channels_last``,
  ``torch.compile``. On the CPU everything runs in float32 and the scaler is disabled.
* **Checkpoints** (``<out_dir>/checkpoints``): ``step_NNNNNNN.pth`` every ``save_every`` steps
  (the last ``keep_last`` kept), ``best.pth`` (lowest validation SAD), ``final.pth`` on
  completion, and one on SIGINT/SIGTERM or when ``max_minutes`` runs out. Each is written
  atomically by :func:`mam_lib.inference.checkpoints.save_m2m_checkpoint`: the decoder's weights in the
  published layout under ``state_dict`` (so the file loads into :class:`~mam_lib.inference.m2m.M2MDecoder`
  strictly, here and in the original code) and the training state under ``trainer`` —
  optimiser, scheduler, scaler, clipper, step, data position and RNG states, all tensors,
  numbers, strings, lists and dicts, so ``torch.load(weights_only=True)`` reads it.
* **Resume** (:meth:`Trainer.resume`) restores all of it. Data order and every random choice of
  a step are functions of ``(seed, step)`` or of the stored data position, so a resumed run
  continues the loss sequence of an uninterrupted one.
* **Validation** every ``val_every`` steps on a fixed held-out set: the decoder's outputs go
  through the inference refinement (:func:`mam_lib.inference.refinement.refine`) and are scored with
  :mod:`mam_lib.evaluation.metrics` (SAD, MSE) in the trimap's unknown region; the coarse mask used as an
  alpha is scored alongside as the baseline.
* **Log**: a tqdm bar (loss, lr, it/s, ETA) and :class:`mam_lib.training.log.TrainLog`.
"""
from __future__ import annotations

import math
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..inference.checkpoints import load_m2m_weights, read_checkpoint, save_m2m_checkpoint
from ..inference.device import autocast_context, cpu_has_native_bf16, resolve_device
from ..errors import CheckpointError, MamError
from .feature_cache import FeatureCache, build_feature_cache, cache_key, item_sources, open_or_build_cache
from .regions import RegionSchedule
from .losses import multiscale_loss
from ..inference.m2m import M2MDecoder
from ..inference.refinement import RefinementConfig, refine
from ..inference.sam import build_sam, pad_to_sam, sam_features_and_masks
from .config import TrainConfig, config_to_dict, save_config
from .log import TrainLog

CHECKPOINT_FORMAT = 1
_STEP_PREFIX = "step_"


# --------------------------------------------------------------------------------------------
# schedule and clipping
# --------------------------------------------------------------------------------------------


def lr_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based).

    Linear warm-up ``(step + 1) / warmup_steps`` for ``step < warmup_steps``, then a cosine from 1
    down to ``min_ratio`` at ``total_steps``.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(max((step - warmup_steps) / span, 0.0), 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class GradClipper:
    """Clip the gradient norm against a moving maximum of past norms.

    The threshold is ``m``, the running maximum of recent norms, which decays by ``decay`` per step
    so that an old spike is forgotten: ``m ← max(decay·m, min(n, growth·m))`` with ``n`` this
    step's norm. A norm above ``m`` is scaled down to ``m``; a sudden spike can raise ``m`` by at
    most ``growth`` per step, while a slow drift of the norm is followed. The first ``start``
    steps only record norms. Non-finite norms (an fp16 overflow, skipped by the scaler) are
    ignored.
    """

    def __init__(self, decay: float = 0.99, start: int = 100, growth: float = 2.0, enabled: bool = True) -> None:
        self.decay = float(decay)
        self.start = int(start)
        self.growth = float(growth)
        self.enabled = bool(enabled)
        self.moving_max = 0.0
        self.seen = 0

    def __call__(self, parameters: Sequence[torch.nn.Parameter]) -> tuple[float, bool]:
        """Clip the gradients of ``parameters`` in place; returns ``(norm before clipping, clipped)``."""
        params = [p for p in parameters if p.grad is not None]
        if not params:
            return 0.0, False
        norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm=float("inf")))
        if not math.isfinite(norm):
            return norm, False
        clipped = False
        if self.enabled and self.seen >= self.start and self.moving_max > 0 and norm > self.moving_max:
            factor = self.moving_max / (norm + 1e-12)
            for p in params:
                p.grad.mul_(factor)
            clipped = True
        if self.seen == 0 or self.moving_max <= 0:
            self.moving_max = norm
        else:
            self.moving_max = max(self.decay * self.moving_max, min(norm, self.growth * self.moving_max))
        self.seen += 1
        return norm, clipped

    def state_dict(self) -> dict[str, Any]:
        return {"moving_max": self.moving_max, "seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.moving_max = float(state["moving_max"])
        self.seen = int(state["seen"])


# --------------------------------------------------------------------------------------------
# RNG states as tensors (checkpoints must load with weights_only=True)
# --------------------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) global RNG states as tensors and numbers."""
    version, mt, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": torch.tensor(mt, dtype=torch.int64),
                   "gauss_next": None if gauss is None else float(gauss)},
        "numpy": {"name": str(np_name), "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
                  "pos": int(np_pos), "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


class BatchStream:
    """Endless batches in a reproducible order, resumable from a sample position.

    Epoch ``e`` visits the items in the order ``randperm(len(dataset))`` drawn from a generator
    seeded with ``(seed, e)``, in batches of ``batch_size`` (the incomplete last batch is
    dropped); ``set_epoch(e)`` is called on data sets that have it, so augmentations change per
    epoch. ``position`` counts the samples handed out; a new stream built with a saved position
    continues exactly where the old one stopped.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, position: int = 0, num_workers: int = 0,
                 pin_memory: bool = False, shuffle: bool = True) -> None:
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.position = int(position)
        self.num_workers = int(num_workers)
        self.pin_memory = pin_memory
        self.shuffle = shuffle
        n = len(dataset)
        if n < self.batch_size:
            raise MamError(f"the training data has {n} items, fewer than one batch of {self.batch_size}; "
                           "lower optim.batch_size or add data")
        self.per_epoch = (n // self.batch_size) * self.batch_size

    def order(self, epoch: int) -> list[int]:
        """Item order of ``epoch``."""
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        g = torch.Generator()
        g.manual_seed((self.seed * 1_000_003 + epoch * 7_919 + 17) % (2**63))
        return torch.randperm(n, generator=g).tolist()

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        from ..data.dataset import worker_init_fn

        while True:
            epoch, offset = divmod(self.position, self.per_epoch)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            order = self.order(epoch)
            batches = [order[i:i + self.batch_size] for i in range(offset, self.per_epoch, self.batch_size)]
            loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=self.num_workers,
                                worker_init_fn=worker_init_fn if self.num_workers > 0 else None,
                                pin_memory=self.pin_memory)
            for batch in loader:
                self.position += self.batch_size
                yield batch


# --------------------------------------------------------------------------------------------
# the trainer
# --------------------------------------------------------------------------------------------


@dataclass
class StepResult:
    """One optimiser step: ``loss`` (mean over the micro-batches), its parts, the lr used, the
    gradient norm before clipping and whether it was clipped."""

    step: int
    loss: float
    parts: dict[str, float]
    lr: float
    grad_norm: float
    clipped: bool
    phase: str


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` did.

    Attributes:
        status: ``"completed"``, ``"interrupted"`` (SIGINT/SIGTERM or :meth:`Trainer.request_stop`)
            or ``"time_limit"`` (``run.max_minutes``).
        step: optimiser steps done in total (including before a resume).
        losses: the loss of every step run by this call.
        checkpoint: the last checkpoint written.
        best_checkpoint: ``best.pth`` when a validation ran.
        val: the metrics of the last validation (empty if none ran).
        seconds: wall time of the call.
    """

    status: str
    step: int
    losses: list[float]
    checkpoint: Path | None
    best_checkpoint: Path | None
    val: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _is_cached(dataset: Dataset) -> bool:
    """True for a :class:`FeatureCache` (or a subset of one): its items already carry SAM's features."""
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return isinstance(dataset, FeatureCache)


def source_fingerprint(dataset: Dataset) -> list[Any]:
    """What a data set reads, for cache keys: each source's description and, for folders of
    files, every file's name, size and modification time (so edited folders invalidate a cache)."""
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    out: list[Any] = [type(base).__name__, len(dataset)]
    for group in ("foregrounds", "backgrounds", "images"):
        for src in getattr(base, group, []) or []:
            entry: list[Any] = [group, src.describe() if hasattr(src, "describe") else type(src).__name__]
            files = [f for pair in getattr(src, "pairs", []) for f in (pair.color, pair.alpha)]
            files += list(getattr(src, "files", []) or [])
            stats = []
            for f in files:
                try:
                    st = Path(f).stat()
                    stats.append([Path(f).name, st.st_size, int(st.st_mtime)])
                except OSError:
                    stats.append([str(f), None, None])
            if stats:
                entry.append(cache_key({"files": stats}))
            out.append(entry)
    return out


def resolve_weights_path(value: str | os.PathLike | None, what: str) -> Path | None:
    """A checkpoint given as a path, a registry name (``mam_vitb``) or a file name in the weights cache."""
    if value is None or str(value) == "":
        return None
    p = Path(value).expanduser()
    if p.is_file():
        return p
    from ..inference.weights import REGISTRY, cache_dir

    name = str(value)
    for key, entry in REGISTRY.items():
        if name in (key, entry.filename):
            cached = cache_dir() / entry.filename
            if cached.is_file():
                return cached
    raise CheckpointError(f"{what} {name!r} is neither a file nor a downloaded registry entry "
                          f"(looked in {cache_dir()}); see the README section 'Weights'")


def resolve_precision(precision: str | None, device: torch.device) -> str | None:
    """Map ``run.precision`` to what runs: ``"auto"`` → bf16 on CUDA when supported, else fp16 on
    CUDA; bf16 on a CPU that does bf16 natively (:func:`~mam_lib.inference.device.cpu_has_native_bf16`);
    None (float32) elsewhere. An explicit ``"bf16"`` is accepted on any CPU, ``"fp16"`` only on CUDA."""
    if precision in (None, "fp32", "float32"):
        return None
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu" and cpu_has_native_bf16():
            return "bf16"
        return None
    if device.type == "cpu" and precision == "bf16":
        return precision
    if device.type != "cuda":
        raise MamError(f"run.precision = {precision!r} is not offered on {device.type} (CUDA: bf16 or fp16; "
                       "CPU: bf16). Use 'auto' or 'fp32'.")
    return precision


class Trainer:
    """Train M2M as ``config`` says (see the module docstring).

    Args:
        config: the run's configuration (validated here).
        train_data: a data set to train on instead of the one ``config.data`` describes; its items
            are sample dicts (:class:`mam_lib.data.dataset.MattingDataset`) or cached items
            (:class:`mam_lib.training.feature_cache.FeatureCache`, which carry ``features``).
        val_data: likewise for validation.
        sam: an already built frozen SAM to use.
        model: an M2M decoder to train (default: a new one, from ``model.init_checkpoint`` if set).
        echo: where messages go (default: ``tqdm.write``).
    """

    def __init__(self, config: TrainConfig, *, train_data: Dataset | None = None, val_data: Dataset | None = None,
                 sam: torch.nn.Module | None = None, model: M2MDecoder | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        from tqdm.auto import tqdm

        self.config = config.validate()
        cfg = self.config
        self.echo = echo or tqdm.write
        self.device = resolve_device(cfg.run.device)
        self.precision = resolve_precision(cfg.run.precision, self.device)
        self.out_dir = Path(cfg.run.out_dir)
        self.checkpoint_dir = self.out_dir / "checkpoints"
        self._sam = sam
        if self._sam is not None:
            self._sam = self._sam.to(self.device)
            self._freeze(self._sam)
        self._train_data = train_data
        self._val_data = val_data
        if model is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.run.seed)
                model = M2MDecoder()
            init = resolve_weights_path(cfg.model.init_checkpoint, "model.init_checkpoint")
            if init is not None:
                load_m2m_weights(model, init, strict=True)
        self.model = model.to(self.device).train()
        if cfg.model.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.forward_model: Callable = self.model
        if cfg.model.compile:
            self.forward_model = torch.compile(self.model)
        o = cfg.optim
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=o.lr, betas=tuple(o.betas),
                                          weight_decay=o.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, o.warmup_steps, o.steps, o.min_lr_ratio))
        self.scaler = torch.amp.GradScaler("cuda", enabled=(self.precision == "fp16" and self.device.type == "cuda"))
        self.clipper = GradClipper(o.clip_decay, o.clip_start, enabled=o.clip)
        self.regions = RegionSchedule(cfg.regions)
        self.refinement = RefinementConfig()
        self.step = 0
        self.position = 0
        self.best_sad = math.inf
        self.history: list[StepResult] = []
        self.val_history: list[dict[str, float]] = []
        self._stop_requested: str | None = None
        self._continuing = False  # set by resume() and by the first fit(): out_dir is this run's own
        self._log: TrainLog | None = None
        self._train_set: Dataset | None = None
        self._val_set: Dataset | None = None

    # ---------------------------------------------------------------------------------- parts

    @staticmethod
    def _freeze(sam: torch.nn.Module) -> None:
        sam.eval()
        sam.requires_grad_(False)

    @property
    def sam(self) -> torch.nn.Module:
        """The frozen SAM (built on first use: a complete feature cache never needs it)."""
        if self._sam is None:
            m = self.config.model
            ckpt = resolve_weights_path(m.sam_checkpoint, "model.sam_checkpoint")
            self._sam = build_sam(m.sam_variant, ckpt, seed=m.sam_seed, device=self.device)
            self._freeze(self._sam)
        return self._sam

    @property
    def log(self) -> TrainLog:
        if self._log is None:
            self._log = TrainLog(self.out_dir, tensorboard=self.config.run.tensorboard)
        return self._log

    def sam_stage(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's features ``(B,256,S/16,S/16)`` and the coarse mask of a batch of sample dicts.

        The mask is SAM's best mask for the box, ``(B,1,S/4,S/4)``, or with ``mask_source =
        "simulated"`` the batch's own ``mask`` ``(B,1,S,S)``.
        """
        m = self.config.model
        image = batch["image"].to(self.device, non_blocking=True)
        if m.mask_source == "simulated":
            if "mask" not in batch:
                raise MamError("model.mask_source = 'simulated' but the samples carry no 'mask'; "
                               "set data.with_mask = true")
            # only the image encoder is needed: SAM's own mask would be thrown away
            h, w = image.shape[-2:]
            with torch.no_grad(), autocast_context(self.device, self.precision):
                features = self.sam.image_encoder(pad_to_sam(image))
            features = features.float()[..., : h // 16, : w // 16].contiguous()
            return features, batch["mask"].to(self.device, non_blocking=True).float()
        box = batch["box"].to(self.device, non_blocking=True).float()
        with torch.no_grad():
            features, sam_mask = sam_features_and_masks(self.sam, image, box, multimask_output=m.multimask_output,
                                                        precision=self.precision)
        return features, sam_mask

    def _cache_description(self, split: str, dataset: Dataset) -> dict[str, Any]:
        m, c = self.config.model, self.config.cache
        sam_ckpt = resolve_weights_path(m.sam_checkpoint, "model.sam_checkpoint")
        sam_id = None
        if sam_ckpt is not None:
            st = sam_ckpt.stat()
            sam_id = [str(sam_ckpt.resolve()), st.st_size, int(st.st_mtime)]
        return {
            "split": split,
            "data": config_to_dict(self.config.data),
            "val": config_to_dict(self.config.val) if split == "val" else None,
            "sources": source_fingerprint(dataset),
            "sam_variant": m.sam_variant, "sam_checkpoint": sam_id, "sam_seed": m.sam_seed,
            "mask_source": m.mask_source, "multimask_output": m.multimask_output,
            "views": c.views if split == "train" else 1, "store_fg_bg": c.store_fg_bg,
            "items": len(dataset),
        }

    def _cached(self, split: str, dataset: Dataset) -> FeatureCache:
        c = self.config.cache
        root = Path(c.dir) if c.dir else self.out_dir / "cache"
        directory = root / split
        description = self._cache_description(split, dataset)
        key = cache_key(description)
        views = c.views if split == "train" else 1

        def build() -> FeatureCache:
            self.echo(f"building the {split} feature cache in {directory} ({len(dataset) * views} crops)")
            return build_feature_cache(directory, dataset, self.sam_stage, items=item_sources(len(dataset), views),
                                       key=key, description=description, batch_size=c.build_batch_size,
                                       store_fg_bg=c.store_fg_bg, progress=self.config.run.progress,
                                       num_workers=self.config.run.num_workers)

        return open_or_build_cache(directory, key, build, log=self.echo)

    def train_set(self) -> Dataset:
        """The training data (built, and cached to disk when ``cache.enabled``, on first use)."""
        if self._train_set is None:
            from ..data.dataset import MattingDataset

            data = self._train_data if self._train_data is not None else MattingDataset(self.config.data, "train")
            if self.config.cache.enabled and not _is_cached(data):
                data = self._cached("train", data)
            self._train_set = data
        return self._train_set

    def val_set(self) -> Dataset:
        """The held-out data (``MattingDataset(config.data, "val")`` unless given; cached likewise)."""
        if self._val_set is None:
            from ..data.dataset import MattingDataset

            data = self._val_data
            if data is None:
                v = self.config.val
                data_cfg = self.config.data
                if v.images:
                    data_cfg = data_cfg.replace(images=tuple(v.images), foregrounds=(), backgrounds=(), real_ratio=1.0)
                data = MattingDataset(data_cfg, "val")
            if self.config.val.max_items is not None and self.config.val.max_items < len(data):
                data = torch.utils.data.Subset(data, list(range(self.config.val.max_items)))
            if self.config.cache.enabled and not _is_cached(data):
                data = self._cached("val", data)
            self._val_set = data
        return self._val_set

    # ---------------------------------------------------------------------------------- steps

    def prepare(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Move a batch to the device and add ``features`` and ``mask`` (from the cache or SAM)."""
        if "features" in batch:
            features = batch["features"].to(self.device, non_blocking=True).float()
            mask = batch["mask"].to(self.device, non_blocking=True).float()
        else:
            features, mask = self.sam_stage(batch)
        out = {"features": features, "mask": mask}
        for key in ("image", "alpha", "trimap", "fg", "bg"):
            if key in batch:
                out[key] = batch[key].to(self.device, non_blocking=True).float()
        if self.config.model.channels_last:
            out["features"] = out["features"].contiguous(memory_format=torch.channels_last)
            out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
        return out

    def _region_generator(self, step: int, micro: int) -> torch.Generator:
        g = torch.Generator()
        g.manual_seed((self.config.run.seed * 1_000_003 + step * 1_009 + micro * 7 + 1) % (2**63))
        return g

    def forward_loss(self, batch: dict[str, torch.Tensor], step: int, micro: int = 0
                     ) -> tuple[torch.Tensor, dict[str, float], str]:
        """Loss of one prepared micro-batch at ``step``: ``(loss, parts, phase)``."""
        with autocast_context(self.device, self.precision):
            outputs = self.forward_model(batch["features"], batch["image"], batch["mask"])
        outputs = {k: v.float() for k, v in outputs.items()}
        regions = self.regions.regions(step, outputs, trimap=batch.get("trimap"), mask=batch["mask"],
                                       generator=self._region_generator(step, micro))
        loss, parts = multiscale_loss(regions.outputs, batch["alpha"], regions.weights, self.config.loss,
                                      batch.get("fg"), batch.get("bg"))
        return loss, parts, regions.phase

    def accumulate(self, batches: Sequence[dict[str, torch.Tensor]], step: int | None = None
                   ) -> tuple[float, dict[str, float], str]:
        """Forward and backward over micro-batches, summing ``loss / len(batches)`` into the gradients.

        Returns the mean loss, the mean parts and the schedule phase. Gradients are not zeroed here.
        """
        step = self.step if step is None else step
        n = len(batches)
        total = 0.0
        parts_sum: dict[str, float] = {}
        phase = ""
        for micro, raw in enumerate(batches):
            batch = self.prepare(raw)
            loss, parts, phase = self.forward_loss(batch, step, micro)
            self.scaler.scale(loss / n).backward()
            total += float(loss.detach()) / n
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v / n
        return total, parts_sum, phase

    def train_step(self, batches: Sequence[dict[str, torch.Tensor]]) -> StepResult:
        """One optimiser step over ``optim.accumulation`` micro-batches (sample dicts or cached items)."""
        self.model.train()
        lr = float(self.optimizer.param_groups[0]["lr"])
        loss, parts, phase = self.accumulate(batches)
        self.scaler.unscale_(self.optimizer)
        grad_norm, clipped = self.clipper(list(self.model.parameters()))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        result = StepResult(self.step, loss, parts, lr, grad_norm, clipped, phase)
        self.step += 1
        self.history.append(result)
        return result

    # ---------------------------------------------------------------------------------- validation

    @torch.no_grad()
    def predict(self, raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the decoder and the inference refinement on a batch (sample dicts or cached items).

        Returns ``(B,1,S,S)`` float tensors in [0,1]: ``alpha`` (refined), ``alpha_os8``,
        ``alpha_os4``, ``alpha_os1``, ``mask`` (the coarse mask at full size, {0,1}), ``gt_alpha``
        (when the batch has one), and ``unknown`` (bool, the trimap's unknown region). The model's
        train/eval mode is left as it was; the prediction itself runs in eval mode.
        """
        was_training = self.model.training
        self.model.eval()
        try:
            batch = self.prepare(raw)
            with autocast_context(self.device, self.precision):
                outputs = self.forward_model(batch["features"], batch["image"], batch["mask"])
        finally:
            self.model.train(was_training)
        outputs = {k: v.float() for k, v in outputs.items()}
        size = batch["image"].shape[-2:]
        coarse = (F.interpolate(batch["mask"], size=size, mode="nearest") > 0.5).float()
        steps = refine(outputs["alpha_os8"], outputs["alpha_os4"], outputs["alpha_os1"], coarse > 0.5,
                       self.refinement)
        out = {"alpha": steps.alpha.clamp(0, 1), "mask": coarse,
               **{k: outputs[k] for k in ("alpha_os8", "alpha_os4", "alpha_os1")}}
        if "alpha" in batch:
            out["gt_alpha"] = batch["alpha"].clamp(0, 1)
        if "trimap" in batch:
            out["unknown"] = (batch["trimap"] > 0.25) & (batch["trimap"] < 0.75)
        return out

    @torch.no_grad()
    def validate(self, dataset: Dataset | None = None, max_items: int | None = None) -> dict[str, float]:
        """Score the refined prediction on held-out data; returns mean metrics.

        Keys: ``sad``, ``mse`` (unknown region of the trimap), ``sad_all`` (whole crop), and the
        same for the coarse mask used as an alpha (``mask_sad``, ``mask_mse``, ``mask_sad_all``).
        """
        from ..evaluation.metrics import mse, sad

        data = dataset if dataset is not None else self.val_set()
        n = len(data) if max_items is None else min(len(data), max_items)
        loader = DataLoader(torch.utils.data.Subset(data, list(range(n))), batch_size=self.config.run.val_batch_size,
                            shuffle=False, num_workers=0)
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        count = 0
        try:
            for raw in loader:
                out = self.predict(raw)
                pred = out["alpha"].cpu().numpy()
                gt = out["gt_alpha"].cpu().numpy()
                base = out["mask"].cpu().numpy()
                unknown = out["unknown"].cpu().numpy()
                for i in range(pred.shape[0]):
                    g, region = gt[i, 0], unknown[i, 0]
                    scores = {"sad": sad(pred[i, 0], g, region), "mse": mse(pred[i, 0], g, region),
                              "sad_all": sad(pred[i, 0], g), "mask_sad": sad(base[i, 0], g, region),
                              "mask_mse": mse(base[i, 0], g, region), "mask_sad_all": sad(base[i, 0], g)}
                    for k, v in scores.items():
                        sums[k] = sums.get(k, 0.0) + v
                    count += 1
        finally:
            self.model.train(was_training)
        return {k: v / max(1, count) for k, v in sums.items()}

    # ---------------------------------------------------------------------------------- checkpoints

    def training_state(self) -> dict[str, Any]:
        """The resumable state (all tensors / plain data)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "data_position": self.position,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "clipper": self.clipper.state_dict(),
            "rng": rng_state(),
            "best_sad": self.best_sad if math.isfinite(self.best_sad) else None,
            "config": config_to_dict(self.config),
        }

    def save_checkpoint(self, path: str | os.PathLike | None = None, extra: dict[str, Any] | None = None) -> Path:
        """Write a resumable checkpoint (default: ``checkpoints/step_NNNNNNN.pth``; old step files
        beyond ``keep_last`` are removed). ``extra`` adds top-level keys (plain data)."""
        target = Path(path) if path is not None else self.checkpoint_dir / f"{_STEP_PREFIX}{self.step:07d}.pth"
        payload = {"trainer": self.training_state()}
        if extra:
            payload.update(extra)
        save_m2m_checkpoint(self.model, target, payload)
        if path is None:
            self._prune()
        return target

    def save_weights(self, path: str | os.PathLike, metrics: dict[str, float] | None = None) -> Path:
        """Write the decoder's weights (published layout) with a small ``training`` summary — step,
        validation metrics, config — but no optimiser state: a third of a resumable checkpoint's size."""
        info = {"step": self.step, "val": dict(metrics or {}), "config": config_to_dict(self.config)}
        return save_m2m_checkpoint(self.model, path, {"training": info})

    def step_checkpoints(self) -> list[Path]:
        """The run's ``step_*.pth`` files, oldest first."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = []
        for p in self.checkpoint_dir.glob(f"{_STEP_PREFIX}*.pth"):
            try:
                found.append((int(p.stem[len(_STEP_PREFIX):]), p))
            except ValueError:
                continue
        return [p for _, p in sorted(found)]

    def refuse_earlier_run(self) -> None:
        """Raise :class:`MamError` when ``run.out_dir`` holds another run's checkpoints or log.

        A new run there would append its rows to the earlier run's log (mixing two runs in one
        curve) and prune its checkpoints, so :meth:`fit` refuses unless this trainer resumed."""
        found = [p.name for p in self.step_checkpoints()[-1:]]
        log = self.out_dir / "log.jsonl"
        if log.is_file() and log.stat().st_size > 0:
            found.append(log.name)
        if found:
            raise MamError(f"{self.out_dir} already holds a training run ({', '.join(found)}); continue it with "
                           "--resume (Trainer.resume()), or train into another folder (run.out_dir)")

    def discard_earlier_log(self) -> None:
        """Start this run's log afresh when ``run.out_dir`` holds the log of a run that never wrote a
        step checkpoint (it was killed before its first one), so there is nothing to resume."""
        if self.step_checkpoints():
            raise MamError(f"{self.out_dir} holds checkpoints of a run: resume it instead of discarding its log")
        self.log.truncate_after(-1)  # no log yet: nothing to do
        self._continuing = True

    def _prune(self) -> None:
        files = self.step_checkpoints()
        for p in files[: max(0, len(files) - self.config.run.keep_last)]:
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def resume(self, path: str | os.PathLike | None = None) -> Path:
        """Restore a checkpoint written by :meth:`save_checkpoint` (default: the newest step file).

        Raises :class:`CheckpointError` when there is none, or the file is unreadable, or it
        holds only weights (use those as ``model.init_checkpoint`` instead).
        """
        if path is None:
            files = self.step_checkpoints()
            if not files:
                raise CheckpointError(f"no checkpoint to resume from in {self.checkpoint_dir}; "
                                      "start without --resume")
            path = files[-1]
        obj = read_checkpoint(path)
        state = obj.get("trainer") if isinstance(obj, dict) else None
        if not isinstance(state, dict) or "optimizer" not in state:
            raise CheckpointError(f"checkpoint {str(path)!r} holds M2M weights but no training state; "
                                  "to start a new run from it set model.init_checkpoint instead of resuming")
        load_m2m_weights(self.model, obj, strict=True)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            self.clipper.load_state_dict(state["clipper"])
            self.step = int(state["step"])
            self.position = int(state["data_position"])
            self.best_sad = math.inf if state.get("best_sad") is None else float(state["best_sad"])
            set_rng_state(state["rng"])
        except (KeyError, ValueError, TypeError, RuntimeError) as err:
            raise CheckpointError(f"checkpoint {str(path)!r} has an incomplete or incompatible training state "
                                  f"({type(err).__name__}: {err}); resume from an older checkpoint or start again") from None
        saved = state.get("config") or {}
        current = config_to_dict(self.config)
        changed = sorted(f"{sec}.{k}" for sec in ("optim", "loss", "regions") for k in current.get(sec, {})
                         if saved.get(sec, {}).get(k) != current[sec][k])
        if changed:
            self.echo(f"note: resuming with settings that differ from the checkpoint's: {', '.join(changed)}")
        if self._log is not None or (self.out_dir / "log.jsonl").is_file():
            self.log.truncate_after(self.step)
        self._continuing = True
        self.echo(f"resumed from {path} at step {self.step}")
        return Path(path)

    # ---------------------------------------------------------------------------------- the loop

    def request_stop(self, reason: str = "requested") -> None:
        """Ask :meth:`fit` to stop after the current step (with a checkpoint)."""
        self._stop_requested = reason

    def _install_signal_handlers(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}

        def handler(signum, frame):
            if self._stop_requested is not None:  # second signal: stop now
                raise KeyboardInterrupt
            self._stop_requested = signal.Signals(signum).name

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        return previous

    @staticmethod
    def _restore_signal_handlers(previous: dict) -> None:
        for sig, h in previous.items():
            try:
                signal.signal(sig, h)
            except (ValueError, OSError):
                pass

    def _validate_and_keep_best(self) -> dict[str, float]:
        metrics = self.validate()
        self.val_history.append({"step": self.step, **metrics})
        self.log.log("val", self.step, metrics)
        if metrics.get("sad", math.inf) < self.best_sad:
            self.best_sad = metrics["sad"]
            self.save_weights(self.checkpoint_dir / "best.pth", metrics)
        return metrics

    def fit(self, steps: int | None = None, callback: Callable[["Trainer", StepResult], None] | None = None
            ) -> FitResult:
        """Train until ``optim.steps`` (or ``steps`` more steps), a signal, or the time budget.

        Args:
            steps: run at most this many steps in this call (None: up to ``optim.steps``).
            callback: called after every step with ``(trainer, result)``.
        """
        from tqdm.auto import tqdm

        cfg = self.config
        run = cfg.run
        total = cfg.optim.steps
        end = total if steps is None else min(total, self.step + int(steps))
        started = time.perf_counter()
        if not self._continuing:
            self.refuse_earlier_run()
            self._continuing = True
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, self.out_dir / "config.toml")
        train_set = self.train_set()
        if run.val_every or end >= total:
            self.val_set()
        stream = BatchStream(train_set, cfg.optim.batch_size, run.seed, self.position, num_workers=run.num_workers,
                             pin_memory=self.device.type == "cuda")
        batches = iter(stream)
        self._stop_requested = None
        previous = self._install_signal_handlers()
        status = "completed"
        losses: list[float] = []
        checkpoint: Path | None = None
        last_val: dict[str, float] = {}
        window: list[StepResult] = []
        window_start = time.perf_counter()
        bar = tqdm(total=total, initial=self.step, desc="training M2M", unit="step", dynamic_ncols=True,
                   disable=not run.progress)
        try:
            while self.step < end:
                if self._stop_requested is not None:
                    status = "interrupted"
                    break
                if run.max_minutes is not None and time.perf_counter() - started > 60.0 * run.max_minutes:
                    status = "time_limit"
                    break
                try:
                    micro = [next(batches) for _ in range(cfg.optim.accumulation)]
                except Exception:
                    if self._stop_requested is not None:  # a signal took the loader's workers down
                        status = "interrupted"
                        break
                    raise
                result = self.train_step(micro)
                self.position = stream.position
                losses.append(result.loss)
                window.append(result)
                bar.update(1)
                bar.set_postfix(loss=f"{result.loss:.4f}", lr=f"{result.lr:.2e}", refresh=False)
                if self.step % max(1, run.log_every) == 0 or self.step == end:
                    now = time.perf_counter()
                    elapsed = now - window_start
                    row = {k: float(np.mean([r.parts.get(k, 0.0) for r in window])) for k in window[-1].parts}
                    row.update(lr=result.lr, grad_norm=float(np.mean([r.grad_norm for r in window])),
                               clip_threshold=self.clipper.moving_max,
                               clipped=float(np.mean([r.clipped for r in window])), phase=result.phase,
                               sec_per_step=elapsed / len(window),
                               samples_per_sec=len(window) * cfg.effective_batch / max(elapsed, 1e-9))
                    self.log.log("train", self.step, row)
                    window, window_start = [], now
                if run.val_every and self.step % run.val_every == 0 and self.step < total:
                    last_val = self._validate_and_keep_best()
                    bar.set_postfix(loss=f"{result.loss:.4f}", val_sad=f"{last_val['sad']:.3f}", refresh=False)
                if run.save_every and self.step % run.save_every == 0 and self.step < total:
                    checkpoint = self.save_checkpoint()
                if callback is not None:
                    callback(self, result)
            if self.step >= total and status == "completed":
                last_val = self._validate_and_keep_best()
                checkpoint = self.save_checkpoint()
                self.save_weights(self.checkpoint_dir / "final.pth", last_val)
                self.echo(f"finished {self.step} steps: validation SAD {last_val.get('sad', float('nan')):.3f} "
                          f"(coarse mask {last_val.get('mask_sad', float('nan')):.3f}); weights in "
                          f"{self.checkpoint_dir / 'final.pth'}")
            elif status == "completed":  # a partial fit(steps=...)
                checkpoint = self.save_checkpoint()
            else:
                checkpoint = self.save_checkpoint()
                if status == "time_limit":
                    why = f"stopped after run.max_minutes = {run.max_minutes:.4g}"
                else:
                    why = f"stopped ({self._stop_requested})"
                self.echo(f"{why} at step {self.step}; checkpoint {checkpoint}. Continue with --resume "
                          "(or Trainer.resume()).")
        finally:
            bar.close()
            self._restore_signal_handlers(previous)
            self.log.flush()
            batches.close()
        best = self.checkpoint_dir / "best.pth"
        return FitResult(status, self.step, losses, checkpoint, best if best.is_file() else None, last_val,
                         time.perf_counter() - started)

    def close(self) -> None:
        """Close the log (TensorBoard writer)."""
        if self._log is not None:
            self._log.close()

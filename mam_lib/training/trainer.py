"""Training the M2M decoder on one GPU or a CPU, with a frozen SAM in front of it.

:class:`Trainer` runs the recipe of :mod:`mam_lib.training.config`:

* **SAM is frozen** (eval mode, no gradients); only M2M's parameters reach the optimiser. Its
  features and mask come, per batch, from SAM on the crop and its box prompt (``mask_source =
  "sam"``, the recipe), or SAM's features with the data set's simulated coarse mask (``"simulated"``:
  offline training with a random SAM, whose masks mean nothing) — or from a disk cache of either
  (:mod:`mam_lib.training.feature_cache`), which removes SAM from the step altogether
  (:mod:`mam_lib.training.inputs`).
* **Loss**: :func:`mam_lib.training.losses.multiscale_loss` over the regions of
  :class:`mam_lib.training.regions.RegionSchedule`.
* **Optimiser**: Adam, linear warm-up then cosine decay (:func:`mam_lib.training.optim.lr_factor`),
  gradient accumulation over ``optim.accumulation`` forward passes, clipping against a moving
  maximum of the gradient norm (:class:`mam_lib.training.optim.GradClipper`).
* **CUDA speed options**: autocast in bf16 (or fp16 with a ``GradScaler``), ``channels_last``,
  ``torch.compile``. On the CPU everything runs in float32 and the scaler is disabled.
* **Checkpoints** (``<out_dir>/checkpoints``, :mod:`mam_lib.training.checkpointing`):
  ``step_NNNNNNN.pth`` every ``save_every`` steps (the last ``keep_last`` kept), ``best.pth``
  (lowest validation SAD), ``final.pth`` on completion, and one on SIGINT/SIGTERM or when
  ``max_minutes`` runs out. Each is written atomically by
  :func:`mam_lib.inference.checkpoints.save_m2m_checkpoint`: the decoder's weights in the
  published layout under ``state_dict`` (so the file loads into :class:`~mam_lib.inference.m2m.M2MDecoder`
  strictly, here and in the original code) and the training state under ``trainer`` —
  optimiser, scheduler, scaler, clipper, step, data position and RNG states, all tensors,
  numbers, strings, lists and dicts, so ``torch.load(weights_only=True)`` reads it.
* **Resume** (:meth:`Trainer.resume`) restores all of it. Data order
  (:class:`mam_lib.training.batches.BatchStream`) and every random choice of a step are functions
  of ``(seed, step)`` or of the stored data position, so a resumed run continues the loss
  sequence of an uninterrupted one.
* **Validation** every ``val_every`` steps on a fixed held-out set (:mod:`mam_lib.training.validation`):
  the decoder's outputs go through the inference refinement (:func:`mam_lib.inference.refinement.refine`)
  and are scored with :mod:`mam_lib.evaluation.metrics` (SAD, MSE) in the trimap's unknown region;
  the coarse mask used as an alpha is scored alongside as the baseline.
* **Log**: a tqdm bar (loss, lr, it/s, ETA) and :class:`mam_lib.training.log.TrainLog`.

This module holds the step and the loop; the trainer's other parts are mixins from those modules.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import ConfigError, MamError
from ..inference.checkpoints import load_m2m_weights
from ..inference.device import autocast_context, cpu_has_native_bf16, resolve_device
from ..inference.m2m import M2MDecoder
from ..inference.refinement import RefinementConfig
from ..inference.weights import resolve_weights_path
from ..io.outputs import RunLock
from .batches import BatchStream
from .checkpointing import CheckpointingMixin
from .config import TrainConfig, save_config
from .inputs import InputsMixin
from .log import TrainLog
from .losses import multiscale_loss
from .optim import GradClipper, lr_factor
from .regions import RegionSchedule
from .validation import ValidationMixin


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


class Trainer(InputsMixin, ValidationMixin, CheckpointingMixin):
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
        self.device = resolve_device(cfg.run.device)  # the name is checked by validate(); availability here
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
        self._lock = RunLock(self.out_dir, "training run")
        self._lock_depth = 0

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run folder's lock (:class:`~mam_lib.io.outputs.RunLock`): a second run on the same
        ``run.out_dir`` is refused meanwhile. Re-entrant; :meth:`fit` and :meth:`resume` take it
        themselves, and a command line holds it around both."""
        if self._lock_depth == 0:
            self._lock.acquire()
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self._lock.release()

    @property
    def log(self) -> TrainLog:
        if self._log is None:
            self._log = TrainLog(self.out_dir, tensorboard=self.config.run.tensorboard)
        return self._log

    # ---------------------------------------------------------------------------------- steps

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
        if steps is not None and int(steps) < 1:
            raise ConfigError(f"steps must be at least 1, got {steps} (leave it out to train to optim.steps)")
        with self.locked():
            return self._fit(steps, callback)

    def _fit(self, steps: int | None, callback: Callable[["Trainer", StepResult], None] | None) -> FitResult:
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
        self.remove_interrupted_writes()
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

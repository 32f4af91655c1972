"""Checkpoints of a training run, and resuming from them.

A resumable checkpoint holds the decoder's weights in the published layout under ``state_dict``
(written by :func:`mam_lib.inference.checkpoints.save_m2m_checkpoint`) and the training state
under ``trainer``: optimiser, scheduler, scaler, clipper, step, data position, best validation
SAD, config and the global RNG states (:func:`rng_state`), all tensors, numbers, strings, lists
and dicts, so ``torch.load(weights_only=True)`` reads it. :class:`CheckpointingMixin` gives the
:class:`~mam_lib.training.trainer.Trainer` its methods that write, find, prune and restore these
files in ``<run.out_dir>/checkpoints``, and that keep a new run out of an earlier run's folder.
"""
from __future__ import annotations

import math
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, MamError
from ..inference.checkpoints import load_m2m_weights, read_checkpoint, save_m2m_checkpoint
from ..io.atomic import remove_temporaries
from .config import config_to_dict

CHECKPOINT_FORMAT = 1
_STEP_PREFIX = "step_"
#: Files of a run folder whose interrupted writes are cleaned: checkpoints, the config copy, the logs.
_RUN_FILES = r"(step_\d+|best|final)\.pth|config\.toml|log\.jsonl|(train|val)_log\.csv"
#: Temporary files of earlier versions of the atomic writer (``.<name>.XXXXXXXX.pth``).
_LEGACY_TEMP = re.compile(r"^\.(step_\d+|best|final)\.pth\.[a-z0-9_]{8}\.pth$")
#: Suffix given to a step checkpoint that could not be read when resuming (kept for inspection).
UNREADABLE_SUFFIX = ".unreadable"


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


class CheckpointingMixin:
    """Writing, finding and restoring a run's checkpoints; part of :class:`~mam_lib.training.trainer.Trainer`.

    Relies on the trainer's attributes ``config``, ``model``, ``optimizer``, ``scheduler``,
    ``scaler``, ``clipper``, ``step``, ``position``, ``best_sad``, ``out_dir``, ``checkpoint_dir``,
    ``echo``, ``log`` (and ``_log``, the log when already opened), ``_continuing`` (set once
    ``out_dir`` is known to be this run's own) and ``locked()`` (the run folder's lock).
    """

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
        curve) and prune its checkpoints, so :meth:`~mam_lib.training.trainer.Trainer.fit` refuses
        unless this trainer resumed."""
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

    def remove_interrupted_writes(self) -> list[Path]:
        """Delete temporary files that a killed run left in ``run.out_dir`` and its ``checkpoints``
        folder (half-written checkpoints, configs and logs); called under the run's lock."""
        removed = remove_temporaries(self.out_dir, _RUN_FILES) + remove_temporaries(self.checkpoint_dir, _RUN_FILES)
        if self.checkpoint_dir.is_dir():
            for p in self.checkpoint_dir.iterdir():
                if _LEGACY_TEMP.match(p.name) and p.is_file():
                    p.unlink(missing_ok=True)
                    removed.append(p)
        if removed:
            self.echo(f"removed {len(removed)} temporary file(s) left by an interrupted run: "
                      f"{', '.join(p.name for p in removed[:4])}{' …' if len(removed) > 4 else ''}")
        return removed

    def _prune(self) -> None:
        files = self.step_checkpoints()
        for p in files[: max(0, len(files) - self.config.run.keep_last)]:
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def resume(self, path: str | os.PathLike | None = None) -> Path:
        """Restore a checkpoint written by :meth:`save_checkpoint` (default: the newest step file).

        Without ``path``, a newest step file that cannot be read (a truncated or damaged file) is
        set aside as ``<name>.unreadable`` with a message, and the one before it is used.

        Raises :class:`CheckpointError` when there is none, or the file is unreadable, or it
        holds only weights (use those as ``model.init_checkpoint`` instead).
        """
        with self.locked():
            return self._resume(path)

    def _resume(self, path: str | os.PathLike | None) -> Path:
        if path is None:
            self.remove_interrupted_writes()
            files = self.step_checkpoints()
            if not files:
                raise CheckpointError(f"no checkpoint to resume from in {self.checkpoint_dir}; "
                                      "start without --resume")
            while True:
                path = files.pop()
                try:
                    obj = read_checkpoint(path)
                    self._check_resumable(obj, path)
                    break
                except CheckpointError as err:
                    if not files:
                        raise CheckpointError(f"no readable checkpoint to resume from in {self.checkpoint_dir}: "
                                              f"{err}") from None
                    aside = path.with_name(path.name + UNREADABLE_SUFFIX)
                    os.replace(path, aside)
                    self.echo(f"warning: {path.name} cannot be used ({err}); set it aside as {aside.name} and "
                              f"resuming from {files[-1].name} instead")
        else:
            obj = read_checkpoint(path)
            self._check_resumable(obj, path)
        return self._restore(obj, path)

    @staticmethod
    def _check_resumable(obj: Any, path) -> None:
        state = obj.get("trainer") if isinstance(obj, dict) else None
        if not isinstance(state, dict) or "optimizer" not in state:
            raise CheckpointError(f"checkpoint {str(path)!r} holds M2M weights but no training state; "
                                  "to start a new run from it set model.init_checkpoint instead of resuming")
        from ..inference.checkpoints import check_finite, extract_m2m_state_dict

        check_finite(extract_m2m_state_dict(obj, f"checkpoint {str(path)!r}"), f"checkpoint {str(path)!r}")

    def _restore(self, obj: Any, path) -> Path:
        state = obj["trainer"]
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

"""The training log: CSV files for spreadsheets, JSON lines for programs, TensorBoard when installed.

A run folder gets ``train_log.csv`` (one row every ``log_every`` steps: loss terms, learning
rate, gradient norm, speed), ``val_log.csv`` (one row per validation: SAD, MSE, …) and ``log.jsonl``
(every row of both, with a ``kind`` field). When a run resumes from a checkpoint, rows logged
after that checkpoint's step are dropped, so the curves continue without a fold.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..io.atomic import atomic_write_text

KINDS = ("train", "val")


class TrainLog:
    """Append-only log of a training run (see the module docstring).

    Args:
        out_dir: the run folder.
        tensorboard: also write TensorBoard events under ``out_dir/tensorboard`` when the
            ``tensorboard`` package is installed (silently skipped otherwise).
    """

    def __init__(self, out_dir: str | os.PathLike, tensorboard: bool = False) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.out_dir / "log.jsonl"
        self.csv = {kind: self.out_dir / f"{kind}_log.csv" for kind in KINDS}
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(self.out_dir / "tensorboard"))
            except Exception:  # tensorboard not installed: CSV and JSON only
                self._writer = None

    @property
    def tensorboard_enabled(self) -> bool:
        return self._writer is not None

    def log(self, kind: str, step: int, values: dict[str, Any]) -> None:
        """Append one row: ``kind`` is ``"train"`` or ``"val"``, ``values`` maps names to numbers."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        row = {"step": int(step), **{k: _plain(v) for k, v in values.items()}}
        with open(self.jsonl, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"kind": kind, **row}) + "\n")
        path = self.csv[kind]
        new = not path.is_file() or path.stat().st_size == 0
        fieldnames = list(row) if new else _csv_header(path)
        with open(path, "a", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fieldnames, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self._writer is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self._writer.add_scalar(f"{kind}/{k}", v, int(step))

    def truncate_after(self, step: int) -> None:
        """Drop every row logged after ``step`` (used when a run resumes from that step)."""
        rows = read_log(self.out_dir)
        kept = [r for r in rows if int(r.get("step", 0)) <= step]
        if len(kept) == len(rows):
            return
        atomic_write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in kept))
        for kind, path in self.csv.items():
            if not path.is_file():
                continue
            header = _csv_header(path)
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            for r in kept:
                if r.get("kind") == kind:
                    writer.writerow({k: v for k, v in r.items() if k != "kind"})
            atomic_write_text(path, buf.getvalue())

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            pass
    return value


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def read_log(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every row of a run's ``log.jsonl`` (dicts with ``kind``, ``step`` and the values)."""
    path = Path(run_dir) / "log.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash
                continue
    return rows


def log_series(rows: Iterable[dict[str, Any]], kind: str, key: str) -> tuple[list[int], list[float]]:
    """``(steps, values)`` of one logged quantity, e.g. ``log_series(rows, "train", "loss")``."""
    steps, values = [], []
    for r in rows:
        if r.get("kind") == kind and key in r and isinstance(r[key], (int, float)):
            steps.append(int(r["step"]))
            values.append(float(r[key]))
    return steps, values

"""Evaluating a folder of predicted alphas against a folder of ground truth.

:func:`evaluate_folders` pairs files by name, computes the metrics of :mod:`mam_lib.evaluation.metrics` for
every pair, and returns an :class:`EvaluationResult` holding one row per image (or per
ground-truth instance), the means, and everything that could not be evaluated: ground truth
without a prediction, predictions without ground truth, missing trimaps, unreadable files and
size mismatches. Nothing of that stops the run; it is reported.

Pairing: files are paired by their path relative to the folder without extension, so
``pred/0001.png`` pairs with ``gt/0001.jpg`` and ``pred/img/2.png`` with ``gt/img/2.png``.
Alpha files are read at their stored bit depth (8-bit values are ÷255, 16-bit ÷65535), as the
reference evaluation code reads them; files with an alpha channel use that channel, and a colour
file must hold the same value in every channel (:func:`mam_lib.io.images.read_matte`). A file
that breaks the rules — a colour matte, a float matte beyond [0,1] (e.g. saved in 0..255), a
trimap with values other than 0, 128 and 255 — is listed as not evaluated, with the reason, and
the run goes on.

Instance benchmarks (``instances="folder"``: ``gt/<image>/<instance>.png``): within each image
folder, predictions are matched to ground-truth instances by name (``match="name"``) or by mask
IoU with the Hungarian rule of :func:`mam_lib.evaluation.instances.match_instances` (``match="iou"``).
There is one row per ground-truth instance; a missed instance (no prediction, or IoU < 0.5) is
scored against an all-zero prediction, so misses cost what they should; predictions matched to
no instance are listed in ``unmatched_pred``. ``instances="single"`` (one instance per image,
RWP-636) pairs by name and records the IoU and whether it reaches 0.5.

Means are taken over the evaluated rows. Tables print MSE and MAD ×1e3, as papers do; the CSV
holds the unscaled values.

Frame folders (``temporal=True``, ``mam eval --temporal``): the files are the frames of one clip, in
the order of their names (numbers compared as numbers: ``2.png`` before ``10.png``). Each row also
gets dtSSD and MESSDdt (:mod:`mam_lib.evaluation.temporal`) against the previous frame, NaN for the
first frame and for a frame whose previous frame was not evaluated; their means skip those NaNs.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..io.atomic import atomic_write_text
from .benchmarks import list_image_files
from .instances import instance_iou, match_instances
from ..errors import DatasetError, MamError
from ..io.images import check_trimap, read_matte
from .metrics import METRIC_NAMES, PAPER_SCALE, all_metrics, region_mask, to_unit_alpha
from .temporal import TEMPORAL_NAMES, TEMPORAL_SCALE, dtssd, messddt

__all__ = [
    "read_alpha",
    "FilePairing",
    "pair_files",
    "EvaluationResult",
    "evaluate_folders",
    "write_csv",
    "format_table",
]

_LABELS = {"sad": "SAD", "mse": "MSE(x1e3)", "mad": "MAD(x1e3)", "grad": "Grad", "conn": "Conn",
           "dtssd": "dtSSD(x1e2)", "messddt": "MESSDdt(x1e3)"}
_SCALE = {**PAPER_SCALE, **TEMPORAL_SCALE}


def read_alpha(path: str | os.PathLike) -> np.ndarray:
    """Read an alpha or trimap file as ``(H,W)`` uint8 (uint16 or float32 when stored so), values
    unchanged (see :func:`mam_lib.io.images.read_matte`)."""
    return read_matte(path)


@dataclass
class FilePairing:
    """Files of a prediction and a ground-truth folder, paired by name (keys have no extension)."""

    pairs: list[tuple[str, Path, Path]]  # (key, prediction, ground truth)
    missing_pred: list[str] = field(default_factory=list)  # ground truth without a prediction
    extra_pred: list[str] = field(default_factory=list)  # predictions without ground truth
    trimaps: dict[str, Path] = field(default_factory=dict)  # key -> trimap, when a trimap folder is given
    missing_trimap: list[str] = field(default_factory=list)  # paired keys without a trimap


def pair_files(pred_dir: str | Path, gt_dir: str | Path, trimap_dir: str | Path | None = None,
               recursive: bool = False) -> FilePairing:
    """Pair prediction and ground-truth files by relative path without extension.

    Raises :class:`DatasetError` when a folder does not exist.
    """
    for what, d in (("prediction", pred_dir), ("ground-truth", gt_dir), ("trimap", trimap_dir)):
        if d is not None and not Path(d).is_dir():
            raise DatasetError(f"{what} folder {str(d)!r} does not exist")
    preds = list_image_files(pred_dir, recursive=recursive)
    gts = list_image_files(gt_dir, recursive=recursive)
    keys = sorted(set(preds) & set(gts))
    pairing = FilePairing([(k, preds[k], gts[k]) for k in keys], sorted(set(gts) - set(preds)),
                          sorted(set(preds) - set(gts)))
    if trimap_dir is not None:
        trimaps = list_image_files(trimap_dir, recursive=recursive)
        pairing.trimaps = {k: trimaps[k] for k in keys if k in trimaps}
        pairing.missing_trimap = [k for k in keys if k not in trimaps]
    return pairing


@dataclass
class EvaluationResult:
    """Per-row metrics, means and the report of what could not be evaluated.

    ``rows``: one dict per evaluated image or instance with ``name``, the unscaled metrics,
    ``pixels`` (size of the region) and, for instance benchmarks, ``pred`` (the matched prediction
    or empty), ``iou`` and ``matched``.
    """

    metrics: tuple[str, ...]
    region: str
    rows: list[dict] = field(default_factory=list)
    missing_pred: list[str] = field(default_factory=list)
    extra_pred: list[str] = field(default_factory=list)
    missing_trimap: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason): unreadable, size mismatch
    unmatched_pred: list[str] = field(default_factory=list)  # instance predictions matched to no instance
    instances: str = "none"

    @property
    def means(self) -> dict[str, float]:
        """Mean of each metric over the rows (NaN when there are none), unscaled."""
        if not self.rows:
            return {m: math.nan for m in self.metrics}
        out = {}
        for m in self.metrics:
            values = [r[m] for r in self.rows if not (m in TEMPORAL_NAMES and math.isnan(r[m]))]
            out[m] = float(np.mean(values)) if values else math.nan
        return out

    @property
    def problems(self) -> int:
        """How many files could not be evaluated (missing, extra, unreadable, mismatched).

        Unmatched instance predictions are results (false positives), not problems."""
        return len(self.missing_pred) + len(self.extra_pred) + len(self.missing_trimap) + len(self.skipped)


def _read_checked(path: Path, name: str, skipped: list, trimap: bool = False) -> np.ndarray | None:
    try:
        arr = read_alpha(path)
        if trimap:
            return check_trimap(arr, repr(str(path)))
        to_unit_alpha(arr, repr(str(path)))  # refuses e.g. a float matte stored in 0..255
        return arr
    except MamError as err:
        skipped.append((name, str(err)))
    except ValueError as err:
        skipped.append((name, str(err)))
    return None


def _metrics_checked(pred, gt, trimap, metrics, conn_reference, name: str, pred_path: Path, gt_path: Path,
                     skipped: list) -> dict | None:
    """The metrics of one pair, or None with the reason in ``skipped`` (e.g. a float matte in 0..255)."""
    try:
        return all_metrics(pred, gt, trimap, metrics, conn_reference)
    except ValueError as err:
        which = {"pred": f"prediction {str(pred_path)!r}", "gt": f"ground truth {str(gt_path)!r}"}
        text = str(err)
        for key, label in which.items():
            if text.startswith(key + " "):
                text = label + text[len(key):]
        skipped.append((name, text))
        return None


def evaluate_folders(pred_dir: str | Path, gt_dir: str | Path, trimap_dir: str | Path | None = None,
                     region: str = "auto", instances: str = "none", match: str = "iou",
                     iou_threshold: float = 0.5, metrics: Sequence[str] = METRIC_NAMES,
                     conn_reference: str = "python", progress: bool = True, temporal: bool = False,
                     flow: str = "farneback") -> EvaluationResult:
    """Evaluate every prediction in ``pred_dir`` against ``gt_dir``.

    Args:
        pred_dir, gt_dir: folders of alpha files (see the module docstring for pairing).
        trimap_dir: trimaps named like the ground truth; needed for ``region="unknown"``.
        region: ``"unknown"`` (trimap pixels = 128), ``"all"`` (whole image) or ``"auto"``
            (unknown when a trimap folder is given, else all).
        instances: ``"none"``, ``"single"`` or ``"folder"`` (see the module docstring).
        match: for ``instances="folder"``: ``"iou"`` (Hungarian on mask IoU) or ``"name"``.
        metrics: names from :data:`mam_lib.evaluation.metrics.METRIC_NAMES`.
        conn_reference: ``"python"`` or ``"matlab"`` (see :func:`mam_lib.evaluation.metrics.conn`).
        progress: show a tqdm progress bar.
        temporal: the folders are the frames of one clip: add dtSSD and MESSDdt (see the module docstring).
        flow: MESSDdt's motion, ``"farneback"`` (on the ground truth) or ``"none"``.

    Raises :class:`MamError` for unusable arguments (unknown region, missing folders, a trimap
    region without trimaps); problems with single files are reported in the result.
    """
    metrics = tuple(metrics)
    unknown_metrics = [m for m in metrics if m not in METRIC_NAMES]
    if unknown_metrics:
        raise MamError(f"unknown metric(s) {', '.join(unknown_metrics)}; choose from {', '.join(METRIC_NAMES)}")
    if region == "auto":
        region = "unknown" if trimap_dir is not None else "all"
    if region not in ("unknown", "all"):
        raise MamError(f"region must be 'unknown', 'all' or 'auto', got {region!r}")
    if region == "unknown" and trimap_dir is None:
        raise MamError("region 'unknown' needs a trimap folder (--trimap DIR); or use --region all")
    if instances not in ("none", "single", "folder"):
        raise MamError(f"instances must be 'none', 'single' or 'folder', got {instances!r}")
    if match not in ("iou", "name"):
        raise MamError(f"match must be 'iou' or 'name', got {match!r}")
    if temporal and instances != "none":
        raise MamError("temporal metrics score the frames of one clip; they do not go with instance layouts")
    if instances == "folder":
        if trimap_dir is not None:
            raise MamError("instance folders are scored on the whole image; drop the trimap folder")
        return _evaluate_instance_folders(Path(pred_dir), Path(gt_dir), match, iou_threshold, metrics,
                                          conn_reference, progress)

    pairing = pair_files(pred_dir, gt_dir, trimap_dir if region == "unknown" else None)
    result = EvaluationResult(metrics, region, missing_pred=pairing.missing_pred, extra_pred=pairing.extra_pred,
                              missing_trimap=pairing.missing_trimap, instances=instances)
    for key, pred_path, gt_path in tqdm(pairing.pairs, desc="evaluating", unit="image", disable=not progress):
        if region == "unknown" and key not in pairing.trimaps:
            continue
        pred = _read_checked(pred_path, key, result.skipped)
        gt = _read_checked(gt_path, key, result.skipped)
        if pred is None or gt is None:
            continue
        if pred.shape != gt.shape:
            result.skipped.append((key, f"prediction is {pred.shape[1]}x{pred.shape[0]} but the ground truth is "
                                        f"{gt.shape[1]}x{gt.shape[0]} (width x height)"))
            continue
        trimap = None
        if region == "unknown":
            trimap = _read_checked(pairing.trimaps[key], key, result.skipped, trimap=True)
            if trimap is None:
                continue
            if trimap.shape != gt.shape:
                result.skipped.append((key, f"trimap is {trimap.shape[1]}x{trimap.shape[0]} but the ground truth "
                                            f"is {gt.shape[1]}x{gt.shape[0]}"))
                continue
        row: dict = {"name": key}
        scores = _metrics_checked(pred, gt, trimap, metrics, conn_reference, key, pred_path, gt_path, result.skipped)
        if scores is None:
            continue
        row.update(scores)
        row["pixels"] = int(region_mask(trimap, gt.shape).sum())
        if instances == "single":
            iou = instance_iou(pred, gt)
            row.update(pred=key, iou=round(iou, 6), matched=iou >= iou_threshold)
        result.rows.append(row)
    if temporal:
        _add_temporal(result, pairing, region, flow, progress)
    return result


def _frame_key(name: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _add_temporal(result: EvaluationResult, pairing: FilePairing, region: str, flow: str, progress: bool) -> None:
    """Add dtSSD and MESSDdt to the rows of frame folders (the frames in the order of their names)."""
    result.metrics = tuple(result.metrics) + TEMPORAL_NAMES
    order = sorted({k for k, _, _ in pairing.pairs} | set(pairing.missing_pred), key=_frame_key)
    files = {k: (p, g) for k, p, g in pairing.pairs}
    rows = {r["name"]: r for r in result.rows}
    result.rows.sort(key=lambda r: _frame_key(r["name"]))
    prev = None  # (name, pred, gt) of the previous frame, when it was evaluated
    for key in tqdm(order, desc="temporal", unit="frame", disable=not progress):
        row = rows.get(key)
        if row is None:
            prev = None
            continue
        pred_path, gt_path = files[key]
        pred, gt = read_alpha(pred_path), read_alpha(gt_path)
        trimap = read_alpha(pairing.trimaps[key]) if region == "unknown" else None
        if prev is None:
            row.update(dtssd=math.nan, messddt=math.nan)
        else:
            row["dtssd"] = dtssd(pred, prev[1], gt, prev[2], trimap)
            row["messddt"] = messddt(pred, prev[1], gt, prev[2], trimap, flow=flow)
        prev = (key, pred, gt)


def _evaluate_instance_folders(pred_dir: Path, gt_dir: Path, match: str, iou_threshold: float,
                               metrics: tuple[str, ...], conn_reference: str, progress: bool) -> EvaluationResult:
    for what, d in (("prediction", pred_dir), ("ground-truth", gt_dir)):
        if not d.is_dir():
            raise DatasetError(f"{what} folder {str(d)!r} does not exist")
    result = EvaluationResult(metrics, "all", instances="folder")
    gt_images = sorted(p.name for p in gt_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    pred_images = {p.name for p in pred_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
    result.extra_pred = sorted(f"{name}/" for name in pred_images - set(gt_images))
    for image in tqdm(gt_images, desc="evaluating", unit="image", disable=not progress):
        gt_files = list_image_files(gt_dir / image)
        if image not in pred_images:
            result.missing_pred.extend(f"{image}/{k}" for k in gt_files)
            continue
        pred_files = list_image_files(pred_dir / image)
        gts = {k: _read_checked(p, f"{image}/{k}", result.skipped) for k, p in gt_files.items()}
        preds = {k: _read_checked(p, f"{image}/{k}", result.skipped) for k, p in pred_files.items()}
        gts = {k: v for k, v in gts.items() if v is not None}
        preds = {k: v for k, v in preds.items() if v is not None}
        shapes = {v.shape for v in list(gts.values()) + list(preds.values())}
        if len(shapes) > 1:
            result.skipped.extend((f"{image}/{k}", f"instances of {image!r} differ in size: {sorted(shapes)}")
                                  for k in gts)
            continue
        gt_keys, pred_keys = list(gts), list(preds)
        if match == "name":
            by_name = []
            for j, k in enumerate(gt_keys):
                i = pred_keys.index(k) if k in preds else None
                by_name.append((i, j, instance_iou(preds[k], gts[k]) if i is not None else 0.0))
            used = {i for i, _, _ in by_name if i is not None}
            result.unmatched_pred.extend(f"{image}/{k}" for i, k in enumerate(pred_keys) if i not in used)
            assignments = [(i, j, iou, i is not None) for i, j, iou in by_name]
        else:
            matches = match_instances([preds[k] for k in pred_keys], [gts[k] for k in gt_keys], iou_threshold)
            assignments = [(m.pred_index, m.gt_index, m.iou, m.matched) for m in matches if m.gt_index is not None]
            matched_preds = {m.pred_index for m in matches if m.matched}
            result.unmatched_pred.extend(f"{image}/{k}" for i, k in enumerate(pred_keys) if i not in matched_preds)
        for i, j, iou, ok in assignments:
            gt = gts[gt_keys[j]]
            pred = preds[pred_keys[i]] if ok else np.zeros_like(gt)
            row: dict = {"name": f"{image}/{gt_keys[j]}"}
            scores = _metrics_checked(pred, gt, None, metrics, conn_reference, row["name"],
                                      pred_dir / image / pred_keys[i] if ok else Path("(none)"),
                                      gt_dir / image / gt_keys[j], result.skipped)
            if scores is None:
                continue
            row.update(scores)
            row.update(pixels=int(gt.size), pred=f"{image}/{pred_keys[i]}" if ok else "", iou=round(float(iou), 6),
                       matched=bool(ok and iou >= iou_threshold) if match == "iou" else bool(ok))
            result.rows.append(row)
    return result


def is_metrics_csv(path: str | Path) -> bool:
    """True for a per-image CSV that :func:`write_csv` wrote (judged by its header line)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline().strip().split(",")
    known = set(METRIC_NAMES) | set(TEMPORAL_NAMES) | {"pixels", "pred", "iou", "matched"}
    return len(header) > 2 and header[0] == "name" and "pixels" in header and set(header[1:]) <= known


def _csv_columns(result: EvaluationResult) -> list[str]:
    cols = ["name", *result.metrics, "pixels"]
    if result.instances != "none":
        cols += ["pred", "iou", "matched"]
    return cols


def write_csv(result: EvaluationResult, path: str | Path) -> Path:
    """Write one row per evaluated image/instance (unscaled metrics) and a final ``MEAN`` row, atomically."""
    cols = _csv_columns(result)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else f"{v:.8g}" if isinstance(v, float) else v)
                         for k, v in row.items()})
    means = result.means
    writer.writerow({"name": "MEAN", **{m: f"{means[m]:.8g}" for m in result.metrics},
                     "pixels": sum(r["pixels"] for r in result.rows)})
    return atomic_write_text(path, buf.getvalue())


def _list_some(names: Iterable[str], limit: int = 8) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def format_table(result: EvaluationResult, title: str = "") -> str:
    """The means as a text table (MSE and MAD ×1e3) followed by the report of files not evaluated."""
    means = result.means
    header = ["rows"] + [_LABELS[m] for m in result.metrics]
    values = [str(len(result.rows))] + [
        "nan" if math.isnan(means[m]) else f"{means[m] * _SCALE[m]:.3f}" for m in result.metrics]
    widths = [max(len(h), len(v)) for h, v in zip(header, values)]
    region = "trimap unknown region (pixels = 128)" if result.region == "unknown" else "whole image"
    lines = []
    if title:
        lines.append(title)
    lines.append(f"region: {region}; MSE and MAD are shown x1e3, SAD, Grad and Conn /1000 as usual"
                 + ("; dtSSD x1e2, MESSDdt x1e3 over consecutive frames" if "dtssd" in result.metrics else ""))
    lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    lines.append("  ".join(v.rjust(w) for v, w in zip(values, widths)))
    if result.instances != "none" and result.rows:
        matched = sum(bool(r.get("matched")) for r in result.rows)
        lines.append(f"instances: {len(result.rows)} ground truth, {matched} matched (IoU >= 0.5), "
                     f"{len(result.rows) - matched} missed (scored against an empty matte), "
                     f"{len(result.unmatched_pred)} unmatched predictions")
    if result.missing_pred:
        lines.append(f"missing predictions ({len(result.missing_pred)}, not in the means): "
                     f"{_list_some(result.missing_pred)}")
    if result.extra_pred:
        lines.append(f"predictions without ground truth ({len(result.extra_pred)}): {_list_some(result.extra_pred)}")
    if result.missing_trimap:
        lines.append(f"missing trimaps ({len(result.missing_trimap)}, not in the means): "
                     f"{_list_some(result.missing_trimap)}")
    if result.skipped:
        lines.append(f"not evaluated ({len(result.skipped)}):")
        lines.extend(f"  {name}: {reason}" for name, reason in result.skipped[:20])
        if len(result.skipped) > 20:
            lines.append(f"  … ({len(result.skipped) - 20} more)")
    return "\n".join(lines)

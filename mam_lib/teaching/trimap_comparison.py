"""Masks, trimaps and scribbles as prompts, and MAM against closed-form matting on the same trimap.

What ``notebooks/06_masks_and_trimaps.ipynb`` shows, as functions:

* :func:`scaled_sample` — the shipped sample (image, known alpha, prompt) at another size;
* :func:`trimap_of_width` — a trimap from a known alpha: definite regions eroded by ``width`` pixels;
* :func:`unknown_metrics` — SAD / MSE×1e3 / Grad counted only in a trimap's unknown (128) region;
* :func:`compare_on_trimaps` — ``predictor.predict(trimap=...)`` (optionally with a box or points)
  and closed-form matting (:func:`mam_lib.evaluation.baselines.closed_form_alpha`, pymatting's
  ``estimate_alpha_cf``) on the same trimaps, timed, scored in the unknown region; a
  :class:`TrimapComparison` holds the mattes and prints as a :class:`MetricsTable`;
* :func:`region_check` — whether a matte kept a trimap's (or scribbles') definite regions;
* :func:`honesty_note` — the sentence that goes next to the numbers when the weights are random;
* panels (:class:`Panel`, lists of them) for the three figures: :func:`mask_path_panels` (a mask →
  M2M's 256² input → the matte), :func:`comparison_panels` (trimap, both mattes, their errors),
  :func:`scribble_panels` (strokes, the matte before and after); :func:`plot_panels` draws them and
  :func:`describe_panels` prints the value range of each, so a test can check a figure shows
  something without reading pixels.

Metrics come from :mod:`mam_lib.evaluation.metrics` (SAD ÷ 1000, MSE printed ×1e3, Grad ÷ 1000).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from ..data.transforms.trimap import trimap_from_alpha
from ..evaluation.baselines import closed_form_alpha
from ..evaluation.metrics import all_metrics
from ..inference.guides import BG, FG, FREE, UNKNOWN
from ..inference.sam import IMAGE_SIZE, LOW_RES_SIZE
from ..io.samples import DemoSample
from . import viz
from .refinement_report import MetricsTable

__all__ = [
    "METRIC_COLUMNS", "CLOSED_FORM", "CONSTANT", "scaled_sample", "trimap_of_width", "unknown_metrics",
    "MethodRun", "TrimapComparison", "compare_on_trimaps", "run_closed_form", "run_predictor",
    "region_check", "honesty_note", "Panel", "mask_path_panels", "lowres_at_photo_size", "comparison_panels",
    "scribble_panels", "scribble_overlay", "plot_panels", "describe_panels",
]

#: Metric columns: (name in mam_lib.evaluation.metrics, header, printed scale).
METRIC_COLUMNS: tuple[tuple[str, str, float], ...] = (("sad", "SAD", 1.0), ("mse", "MSE×1e3", 1e3),
                                                      ("grad", "Grad", 1.0))
#: Method name of closed-form matting in a comparison.
CLOSED_FORM = "closed form (pymatting)"
#: Method name of the reference row: every unknown pixel set to 0.5.
CONSTANT = "unknown = 0.5 (reference)"

#: Colours (RGB) of the brush modes in :func:`scribble_overlay`.
STROKE_COLORS = {FG: (57, 255, 20), BG: (255, 49, 49), UNKNOWN: (255, 212, 0)}


# ----------------------------------------------------------------------------- data


def scaled_sample(sample: DemoSample, scale: float) -> DemoSample:
    """``sample`` resized by ``scale`` (OpenCV area interpolation for shrinking, cubic for growing;
    the alpha clipped to [0,1]); box and points scaled with it. ``scale`` 1 returns it unchanged."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if scale == 1:
        return sample
    h, w = sample.alpha.shape
    size = (max(int(round(w * scale)), 8), max(int(round(h * scale)), 8))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    sx, sy = size[0] / w, size[1] / h
    return replace(sample, image=cv2.resize(sample.image, size, interpolation=interp),
                   alpha=np.clip(cv2.resize(sample.alpha, size, interpolation=interp), 0.0, 1.0),
                   box=(sample.box.reshape(2, 2) * [sx, sy]).reshape(4).astype(np.float32),
                   points=(sample.points * [sx, sy]).astype(np.float32))


def trimap_of_width(alpha: np.ndarray, width: int) -> np.ndarray:
    """``(H,W)`` uint8 trimap of a known ``alpha`` ``(H,W)`` float in [0,1]: definite foreground
    (α = 1) and background (α = 0) each shrunk by ``width`` pixels (a wider band: a rougher trimap),
    the rest 128. Every 255 pixel has α = 1 and every 0 pixel α = 0
    (:func:`mam_lib.data.transforms.trimap.trimap_from_alpha` with a fixed width)."""
    w = int(width)
    if w < 1:
        raise ValueError(f"width must be at least 1 pixel, got {width}")
    return trimap_from_alpha(alpha, None, (w, w))


def unknown_metrics(alpha: np.ndarray, gt_alpha: np.ndarray, trimap: np.ndarray) -> dict[str, float]:
    """SAD, MSE×1e3 and Grad of ``alpha`` against ``gt_alpha`` (both ``(H,W)`` float in [0,1]),
    counted only where ``trimap`` (``(H,W)`` uint8 0/128/255) is 128. Keys are the headers of
    :data:`METRIC_COLUMNS`. Grad's gradients are taken on the whole image (the Composition-1k rule),
    only the sum is restricted."""
    values = all_metrics(np.clip(alpha, 0.0, 1.0), gt_alpha, trimap, metrics=[m for m, _, _ in METRIC_COLUMNS])
    return {header: values[name] * scale for name, header, scale in METRIC_COLUMNS}


# ----------------------------------------------------------------------------- the comparison


@dataclass
class MethodRun:
    """One method on one trimap.

    Attributes:
        trimap: the trimap's name; method: the method's name.
        alpha: ``(H,W)`` float32 in [0,1], the matte.
        seconds: wall-clock time of the call (for the predictor: the prompt, M2M and the
            refinement; SAM's image encoder runs once per image and is not included).
        metrics: :func:`unknown_metrics` of the matte.
        result: the predictor's :class:`~mam_lib.inference.predictor.MattingResult`, or None.
    """

    trimap: str
    method: str
    alpha: np.ndarray
    seconds: float
    metrics: dict[str, float]
    result: Any = None


@dataclass
class TrimapComparison:
    """Mattes of several methods on several trimaps of one image, scored in each unknown region.

    Attributes:
        image: ``(H,W,3)`` uint8; gt_alpha: ``(H,W)`` float32, the known alpha.
        trimaps: name → ``(H,W)`` uint8 trimap.
        runs: one :class:`MethodRun` per (trimap, method), in the order they ran.
        encode_seconds: SAM's image encoder (once for every prompt on this image).
    """

    image: np.ndarray
    gt_alpha: np.ndarray
    trimaps: dict[str, np.ndarray]
    runs: list[MethodRun] = field(default_factory=list)
    encode_seconds: float = 0.0

    def run(self, trimap: str, method: str) -> MethodRun:
        for r in self.runs:
            if r.trimap == trimap and r.method == method:
                return r
        raise KeyError(f"no run of {method!r} on trimap {trimap!r}")

    def methods(self) -> list[str]:
        return list(dict.fromkeys(r.method for r in self.runs))

    def table(self) -> MetricsTable:
        """Columns ``trimap``, ``method``, ``unknown px``, ``SAD``, ``MSE×1e3``, ``Grad``, ``seconds``."""
        columns = ("trimap", "method", "unknown px") + tuple(h for _, h, _ in METRIC_COLUMNS) + ("seconds",)
        title = (f"in each trimap's unknown region (lower is better); seconds per trimap, SAM's encoder "
                 f"({self.encode_seconds:.2f} s) runs once per image and is not counted")
        table = MetricsTable(columns, title=title)
        for r in self.runs:
            table.rows.append((r.trimap, r.method, int((self.trimaps[r.trimap] == 128).sum()),
                               *(r.metrics[h] for _, h, _ in METRIC_COLUMNS), r.seconds))
        return table

    def winners(self, metric: str = "SAD") -> dict[str, str]:
        """Trimap name → the method with the lowest ``metric`` on it (the reference row excluded)."""
        out = {}
        for name in self.trimaps:
            runs = [r for r in self.runs if r.trimap == name and r.method != CONSTANT]
            if runs:
                out[name] = min(runs, key=lambda r: r.metrics[metric]).method
        return out

    def describe_winners(self, metric: str = "SAD") -> str:
        """One line per trimap: who has the lowest ``metric`` and who is faster."""
        lines = []
        for name, best in self.winners(metric).items():
            runs = [r for r in self.runs if r.trimap == name and r.method != CONSTANT]
            fastest = min(runs, key=lambda r: r.seconds)
            lines.append(f"trimap {name}: lowest {metric} {best}; fastest {fastest.method} ({fastest.seconds:.2f} s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def run_closed_form(image: np.ndarray, trimap: np.ndarray) -> tuple[np.ndarray, float]:
    """Closed-form matting of ``image`` ``(H,W,3)`` uint8 on ``trimap`` ``(H,W)`` uint8: the matte
    ``(H,W)`` float32 in [0,1] and the seconds it took. Call
    :func:`mam_lib.evaluation.baselines.warm_up_pymatting` first so numba's compilation is not timed."""
    t0 = time.perf_counter()
    alpha = closed_form_alpha(image, trimap)
    return alpha, time.perf_counter() - t0


def run_predictor(predictor, trimap: np.ndarray, **prompt) -> tuple[Any, float]:
    """``predictor.predict(trimap=trimap, **prompt)`` on its current image: the result and the
    seconds it took (prompt encoder, mask decoder, M2M, refinement; not the image encoder)."""
    t0 = time.perf_counter()
    result = predictor.predict(trimap=trimap, **prompt)
    return result, time.perf_counter() - t0


def compare_on_trimaps(predictor, image: np.ndarray, gt_alpha: np.ndarray, trimaps: Mapping[str, np.ndarray],
                       prompts: Mapping[str, Mapping[str, Any]] | None = None, closed_form: bool = True,
                       constant: bool = True) -> TrimapComparison:
    """Run each method on each trimap and score it in that trimap's unknown region.

    Args:
        predictor: a :class:`~mam_lib.inference.predictor.MattingPredictor`; its image is set to
            ``image`` unless it already holds that image (then its encoding is reused).
        image: ``(H,W,3)`` uint8 RGB; gt_alpha: ``(H,W)`` float in [0,1], the known alpha.
        trimaps: name → ``(H,W)`` uint8 trimap (0 / 128 / 255).
        prompts: method name → keyword arguments added to ``predict(trimap=...)`` (e.g.
            ``{"box": box}``); default ``{"M2M, trimap": {}}``. Empty: the predictor is not run.
        closed_form: also run closed-form matting (:data:`CLOSED_FORM`).
        constant: add the reference row :data:`CONSTANT` (every unknown pixel 0.5, the rest from the trimap).
    """
    prompts = {"M2M, trimap": {}} if prompts is None else prompts
    gt = np.asarray(gt_alpha, np.float32)
    comparison = TrimapComparison(image, gt, {k: np.asarray(v) for k, v in trimaps.items()})
    if prompts:
        current = predictor.image
        if current is None or current.shape != image.shape or not np.array_equal(current, image):
            predictor.set_image(image)
        comparison.encode_seconds = predictor.encode_ms / 1000
    for name, trimap in comparison.trimaps.items():
        for method, kwargs in prompts.items():
            result, seconds = run_predictor(predictor, trimap, **kwargs)
            comparison.runs.append(MethodRun(name, method, result.alpha, seconds,
                                             unknown_metrics(result.alpha, gt, trimap), result))
        if closed_form:
            alpha, seconds = run_closed_form(image, trimap)
            comparison.runs.append(MethodRun(name, CLOSED_FORM, alpha, seconds, unknown_metrics(alpha, gt, trimap)))
        if constant:
            alpha = np.where(trimap == 128, 0.5, trimap / 255.0).astype(np.float32)
            comparison.runs.append(MethodRun(name, CONSTANT, alpha, 0.0, unknown_metrics(alpha, gt, trimap)))
    return comparison


def region_check(alpha: np.ndarray, marks: np.ndarray, finest: np.ndarray | None = None) -> dict[str, Any]:
    """Did a matte keep the definite regions? ``alpha`` ``(H,W)`` float; ``marks``: a trimap
    (0/128/255) or scribbles (:data:`~mam_lib.inference.guides.FREE`/FG/BG/UNKNOWN);
    ``finest``: ``alpha_os1`` ``(H,W)``, compared on the unknown pixels.

    Returns ``fg_px``, ``bg_px``, ``unknown_px`` (counts), ``fg_all_one``, ``bg_all_zero`` (bool) and
    ``unknown_max_diff`` (largest ``|alpha − finest|`` on the unknown pixels, None without ``finest``).
    """
    m = np.asarray(marks)
    if m.max(initial=0) > UNKNOWN:  # a trimap
        fg, bg, unknown = m == 255, m == 0, m == 128
    else:
        fg, bg, unknown = m == FG, m == BG, m == UNKNOWN
    a = np.asarray(alpha, np.float32)
    diff = None
    if finest is not None and unknown.any():
        diff = float(np.abs(a[unknown] - np.asarray(finest, np.float32)[unknown]).max())
    return {"fg_px": int(fg.sum()), "bg_px": int(bg.sum()), "unknown_px": int(unknown.sum()),
            "fg_all_one": bool(np.all(a[fg] == 1.0)), "bg_all_zero": bool(np.all(a[bg] == 0.0)),
            "unknown_max_diff": diff}


def honesty_note(real_weights: bool) -> str:
    """What the M2M numbers mean: with random weights, nothing (said plainly); with published ones, MAM's own."""
    if real_weights:
        return ("Published weights: the M2M rows are what MAM really does on this image and trimap; the timings "
                "are real.")
    return ("These M2M numbers come from RANDOM weights (no published checkpoints are cached), so its mattes are "
            "meaningless and closed-form matting is expected to win: the M2M rows say nothing about MAM's quality. "
            "The timings are real.")


# ----------------------------------------------------------------------------- panels and figures


@dataclass
class Panel:
    """One picture of a figure.

    Attributes:
        title: the panel's title.
        array: what is drawn: ``(H,W,3)`` uint8 for ``kind`` "image"; ``(H,W)`` float/bool in [0,1]
            for "alpha" (grey) and "error" (magma).
        kind: "image", "alpha" or "error".
    """

    title: str
    array: np.ndarray
    kind: str = "alpha"


def lowres_at_photo_size(lowres: np.ndarray, input_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The cells of a ``(256,256)`` low-res mask that cover the photo, at the photo's ``size``
    ``(H,W)`` (nearest neighbour): what M2M is told, drawn over the photo. ``input_size``: ``(h,w)``
    of the photo in SAM's 1024 frame. Returns ``(H,W)`` bool."""
    h, w = input_size
    f = IMAGE_SIZE // LOW_RES_SIZE
    frame = np.repeat(np.repeat(np.asarray(lowres, bool), f, 0), f, 1)[:h, :w]  # (h,w) in the 1024 frame
    return cv2.resize(frame.view(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def mask_path_panels(image: np.ndarray, mask: np.ndarray, lowres: np.ndarray, input_size: tuple[int, int],
                     alpha: np.ndarray) -> list[Panel]:
    """A given mask's way to M2M: the mask on the image, M2M's 256² input over SAM's whole 1024
    frame (the photo in its top-left ``input_size``, padding below/right), that input back at the
    photo's size against the mask (where the 4-frame-pixel cells change it), the matte.

    ``image`` ``(H,W,3)`` uint8; ``mask`` ``(H,W)`` bool; ``lowres`` ``(256,256)`` bool
    (:func:`mam_lib.inference.guides.mask_to_lowres`); ``alpha`` ``(H,W)`` float in [0,1].
    """
    m = np.asarray(mask, bool)
    back = lowres_at_photo_size(lowres, input_size, m.shape)
    h, w = input_size
    frame = np.asarray(lowres, np.float32).copy()
    pad = np.ones_like(frame, bool)
    pad[:-(-h // 4), :-(-w // 4)] = False
    frame[pad] = 0.25  # the padding in dark grey, so the photo's region shows
    return [
        Panel("given mask", viz.tint(image, m, viz.MASK_COLOR), "image"),
        Panel("M2M's 256² input (grey: padding)", frame),
        Panel("its cells at photo size (orange: ≠ mask)",
              viz.tint(viz.alpha_to_rgb(back.astype(np.float32)), back != m, viz.BAND_COLOR, 0.9), "image"),
        Panel("alpha, predict(mask=…)", np.asarray(alpha, np.float32)),
    ]


def _trimap_rgb(trimap: np.ndarray) -> np.ndarray:
    t = np.asarray(trimap)
    return np.repeat(t[..., None], 3, axis=2).astype(np.uint8)


def comparison_panels(comparison: TrimapComparison, methods: Sequence[str] | None = None) -> list[list[Panel]]:
    """One row per trimap: the trimap, each method's matte, each method's ``|error|`` in the unknown
    region (0 elsewhere; the title gives the SAD there), the known alpha last.
    ``methods``: which (default all but the reference row)."""
    chosen = list(methods) if methods is not None else [m for m in comparison.methods() if m != CONSTANT]
    rows = []
    for name, trimap in comparison.trimaps.items():
        unknown = trimap == 128
        row = [Panel(f"trimap {name} ({100 * unknown.mean():.0f}% unknown)", _trimap_rgb(trimap), "image")]
        runs = [comparison.run(name, m) for m in chosen]
        row += [Panel(r.method, r.alpha) for r in runs]
        for r in runs:
            err = np.where(unknown, np.abs(r.alpha - comparison.gt_alpha), 0.0).astype(np.float32)
            row.append(Panel(f"|error| {r.method.split(' (')[0]}, SAD {r.metrics['SAD']:.2f}", err, "error"))
        row.append(Panel("known alpha", comparison.gt_alpha))
        rows.append(row)
    return rows


def scribble_overlay(image: np.ndarray, scribbles: np.ndarray) -> np.ndarray:
    """``image`` ``(H,W,3)`` uint8 with the strokes painted: foreground green, background red,
    unknown yellow. ``scribbles`` ``(H,W)`` uint8 in 0..3. Returns ``(H,W,3)`` uint8."""
    out = image
    for value, color in STROKE_COLORS.items():
        out = viz.tint(out, np.asarray(scribbles) == value, color, 0.8)
    return out


def scribble_panels(image: np.ndarray, scribbles: np.ndarray, before: np.ndarray, after: np.ndarray,
                    gt_alpha: np.ndarray | None = None) -> list[Panel]:
    """The strokes on the image, the matte without and with them, and (with ``gt_alpha``) both
    ``|error|`` maps, the title giving the whole-image SAD. Arrays ``(H,W)`` float in [0,1]."""
    painted = int((np.asarray(scribbles) != FREE).sum())
    panels = [Panel(f"strokes ({painted} px painted)", scribble_overlay(image, scribbles), "image"),
              Panel("alpha without strokes", np.asarray(before, np.float32)),
              Panel("alpha with strokes", np.asarray(after, np.float32))]
    if gt_alpha is not None:
        for label, a in (("without", before), ("with", after)):
            err = viz.error_map(a, gt_alpha)
            panels.append(Panel(f"|error| {label}, SAD {err.sum() / 1000:.2f}", err, "error"))
    return panels


def plot_panels(panels: Sequence[Panel] | Sequence[Sequence[Panel]], panel_width: float = 2.4):
    """Draw panels on one row, or a list of rows (short rows are padded with blank axes). Returns the Figure."""
    rows = [list(panels)] if panels and isinstance(panels[0], Panel) else [list(r) for r in panels]
    ncols = max(len(r) for r in rows)
    h, w = np.shape(rows[0][0].array)[:2]
    import matplotlib.pyplot as plt  # lazily, so a headless backend can be chosen first

    fig, axes = plt.subplots(len(rows), ncols, figsize=(panel_width * ncols, len(rows) * (panel_width * h / w + 0.45)),
                             layout="constrained", squeeze=False)
    for i, row in enumerate(rows):
        for j in range(ncols):
            ax = axes[i, j]
            if j >= len(row):
                ax.axis("off")
                continue
            p = row[j]
            if p.kind == "image":
                viz.show_image(ax, p.array, p.title)
            elif p.kind == "error":
                viz.show_image(ax, p.array, p.title, cmap="magma", vmin=0, vmax=1)
            else:
                viz.show_alpha(ax, np.asarray(p.array, np.float32), p.title)
    return fig


def describe_panels(panels: Sequence[Panel] | Sequence[Sequence[Panel]]) -> str:
    """One line: each panel's title and value range, ``constant v`` where a panel is one value."""
    flat = list(panels) if panels and isinstance(panels[0], Panel) else [p for r in panels for p in r]
    parts = []
    for p in flat:
        a = np.asarray(p.array, np.float64)
        lo, hi = float(a.min()), float(a.max())
        parts.append(f"{p.title.split(' (')[0]}: " + (f"constant {lo:.3g}" if lo == hi else f"{lo:.3g}–{hi:.3g}"))
    return "panel values: " + " | ".join(parts)

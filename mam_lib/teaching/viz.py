"""Plotting helpers shared by the demo and the notebooks (matplotlib).

Two layers:

* **Panels** draw one picture into a given ``Axes`` and return it: :func:`show_image`,
  :func:`show_prompt` (image + box/points), :func:`overlay_mask`, :func:`show_alpha`,
  :func:`show_alpha_zoom` (alpha with a zoom inset), :func:`show_band` (a refinement band over the
  estimate it edits), :func:`show_change` (what a step replaced), :func:`show_error` (error map
  against a known alpha), :func:`show_cutout` (cut-out over a checkerboard), :func:`draw_detections`
  (a text prompt's boxes with their phrases and scores).
* **Figures** compose panels for a :class:`~mam_lib.inference.predictor.MattingResult` and return the
  ``Figure``: :func:`plot_refinement_stages` (the whole inference path on two rows),
  :func:`plot_decoder_outputs` (SAM's mask and M2M's three outputs), :func:`plot_stage_grid` (each
  refinement step: band, change, estimate, error), :func:`plot_refinement_summary` (one compact row),
  :func:`plot_refinement_comparison` (one such row per refinement setting) and
  :func:`plot_text_instances` (a text prompt's boxes, then each instance's cut-out and alpha).

Conventions: ``image`` is ``(H,W,3)`` uint8 RGB; ``alpha``, ``gt_alpha`` are ``(H,W)`` float in
[0,1]; masks and bands are ``(H,W)`` bool; boxes are ``x0, y0, x1, y1`` pixels. Every figure
function takes ``crop_box`` to show one region (for example :func:`pick_zoom_box`'s) at full
resolution instead of the whole image. Array arithmetic only; matplotlib is imported lazily so
:func:`use_headless_backend` can pick the file-only backend first.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import matplotlib
import numpy as np

from ..io.cutout import checkerboard, rgba_cutout

#: Colours (RGB 0-255) used consistently across figures.
BAND_COLOR = (255, 120, 0)  # pixels a refinement step rewrites
MASK_COLOR = (30, 144, 255)  # SAM's mask
PROMPT_COLOR = "#00e5ff"  # box prompts
ZOOM_COLOR = "#ffd400"  # the frame of a zoomed region

_STEP_LABELS = ("os8", "os4", "os1")


def _plt():
    import matplotlib.pyplot as plt  # imported lazily so a headless backend can be chosen first

    return plt


def use_headless_backend() -> None:
    """Switch matplotlib to the file-only ``Agg`` backend (for scripts and the CLI)."""
    matplotlib.use("Agg", force=True)


# ----------------------------------------------------------------------------- array helpers


def crop(array: np.ndarray, box: Sequence[float] | None) -> np.ndarray:
    """The ``box`` (``x0, y0, x1, y1`` pixels, end exclusive) of an ``(H,W,...)`` array; None: all of it."""
    if box is None:
        return array
    x0, y0, x1, y1 = (int(round(v)) for v in np.asarray(box, dtype=float).reshape(4))
    return array[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)]


def pick_zoom_box(alpha: np.ndarray, size: int | None = None) -> tuple[int, int, int, int]:
    """The square window holding the most pixels of interest.

    ``alpha``: ``(H,W)`` float in [0,1] — the pixels of interest are the semi-transparent ones
    (``1/255 ≤ α ≤ 254/255``; pass the known alpha so every figure zooms on the same hair or fur) —
    or ``(H,W)`` bool, whose ``True`` pixels are the pixels of interest. ``size``: side in pixels
    (default a third of the shorter side). Window sums come from OpenCV's integral image; ties go to
    the first window in row-major order; with no pixel of interest the window is centred.
    Returns ``(x0, y0, x1, y1)``.
    """
    arr = np.asarray(alpha)
    if arr.ndim != 2:
        raise ValueError(f"alpha must be (H,W), got shape {arr.shape}")
    h, w = arr.shape
    s = int(size) if size else max(min(h, w) // 3, 1)
    s = max(1, min(s, h, w))
    if arr.dtype == np.bool_:
        interest = arr.astype(np.uint8)
    else:
        a = arr.astype(np.float32)
        interest = ((a >= 1 / 255) & (a <= 254 / 255)).astype(np.uint8)
    if not interest.any():
        y0, x0 = (h - s) // 2, (w - s) // 2
        return x0, y0, x0 + s, y0 + s
    ii = cv2.integral(interest)  # (H+1, W+1), ii[y, x] = sum of interest[:y, :x]
    sums = ii[s:, s:] - ii[:-s, s:] - ii[s:, :-s] + ii[:-s, :-s]  # (H-s+1, W-s+1), window at its top-left
    y0, x0 = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(x0), int(y0), int(x0) + s, int(y0) + s


def alpha_to_rgb(alpha: np.ndarray) -> np.ndarray:
    """``(H,W)`` float alpha in [0,1] → ``(H,W,3)`` uint8 grey image."""
    g = np.clip(np.rint(np.asarray(alpha, np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def tint(image: np.ndarray, mask: np.ndarray, color=BAND_COLOR, opacity: float = 0.55) -> np.ndarray:
    """``image`` ``(H,W,3)`` uint8 with the ``mask`` pixels blended towards ``color``: ``(H,W,3)`` uint8."""
    out = image.astype(np.float32).copy()
    m = np.asarray(mask, dtype=bool)
    out[m] = (1 - opacity) * out[m] + opacity * np.asarray(color, np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def band_overlay(alpha: np.ndarray, band: np.ndarray, color=BAND_COLOR, opacity: float = 0.55) -> np.ndarray:
    """A grey ``alpha`` with ``band`` tinted: ``(H,W,3)`` uint8 (what :func:`show_band` draws)."""
    return tint(alpha_to_rgb(alpha), band, color, opacity)


def error_map(alpha: np.ndarray, gt_alpha: np.ndarray, signed: bool = False) -> np.ndarray:
    """``alpha − gt_alpha`` (``signed``) or ``|alpha − gt_alpha|``: ``(H,W)`` float32 in [-1,1] / [0,1]."""
    a = np.asarray(alpha, np.float32)
    g = np.asarray(gt_alpha, np.float32)
    if a.shape != g.shape:
        raise ValueError(f"alpha {a.shape} and gt_alpha {g.shape} differ in size")
    d = a - g
    return d if signed else np.abs(d)


def cutout_on_checkerboard(image: np.ndarray, alpha: np.ndarray, square: int = 16) -> np.ndarray:
    """The cut-out (image × alpha) over a grey/white checkerboard: ``(H,W,3)`` uint8."""
    rgba = rgba_cutout(image, alpha).astype(np.float32)
    board = checkerboard(np.shape(alpha), square).astype(np.float32)
    a = rgba[..., 3:] / 255.0
    return np.clip(np.rint(a * rgba[..., :3] + (1 - a) * board), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- panels


def show_image(ax, image: np.ndarray, title: str | None = None, cmap: str | None = None, vmin=None, vmax=None):
    """Draw an image (``(H,W,3)`` uint8 or ``(H,W)`` float) without axes ticks."""
    ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def draw_prompts(ax, box=None, points=None, labels=None, color: str = PROMPT_COLOR):
    """Draw a box (``x0,y0,x1,y1``) and points (green = foreground, red = background) on ``ax``."""
    plt = _plt()
    if box is not None:
        x0, y0, x1, y1 = np.asarray(box, dtype=float).reshape(4)
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.5))
    if points is not None:
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        lab = np.ones(len(pts), int) if labels is None else np.asarray(labels).reshape(-1)
        for (x, y), lab_i in zip(pts, lab):
            ax.scatter([x], [y], s=60, marker="*", c="#39ff14" if lab_i == 1 else "#ff3131",
                       edgecolors="white", linewidths=0.8, zorder=3)
    return ax


def draw_detections(ax, detections, color: str = PROMPT_COLOR, numbered: bool = True):
    """Draw a text prompt's boxes (``detections``: :class:`~mam_lib.inference.text.Detections`, best
    first) on ``ax``, each labelled ``i: phrase score``."""
    plt = _plt()
    for i, det in enumerate(detections, 1):
        x0, y0, x1, y1 = np.asarray(det.box, dtype=float).reshape(4)
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.5))
        label = f"{i}: " if numbered else ""
        ax.text(x0, y0, f"{label}{det.phrase or '—'} {det.score:.2f}", fontsize=7, color="black", va="bottom",
                bbox={"facecolor": color, "edgecolor": "none", "pad": 1.0, "alpha": 0.85}, clip_on=True)
    return ax


def show_prompt(ax, image: np.ndarray, box=None, points=None, labels=None, title: str | None = "image + prompt"):
    """The image with its box and/or points drawn on top."""
    show_image(ax, image, title)
    return draw_prompts(ax, box, points, labels)


def draw_outline(ax, mask: np.ndarray, color="white", linewidth: float = 0.8):
    """Draw the boundary of a ``(H,W)`` bool mask as a contour line."""
    m = np.asarray(mask, dtype=np.float32)
    if 0 < m.sum() < m.size:
        xlim, ylim = ax.get_xlim(), ax.get_ylim()  # contour() would re-scale (and un-flip) an image's axes
        ax.contour(m, levels=[0.5], colors=[color], linewidths=linewidth)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
    return ax


def overlay_mask(ax, image: np.ndarray, mask: np.ndarray, color=MASK_COLOR, opacity: float = 0.45,
                 title: str | None = None, outline: bool = False):
    """Draw ``image`` with a binary ``mask`` tinted in ``color`` (and its boundary with ``outline``)."""
    show_image(ax, tint(image, mask, color, opacity), title)
    if outline:
        draw_outline(ax, mask, color=np.asarray(color, float) / 255.0)
    return ax


def show_alpha(ax, alpha: np.ndarray, title: str | None = None):
    """Draw an ``(H,W)`` alpha in [0,1] in grey (black 0, white 1)."""
    return show_image(ax, alpha, title, cmap="gray", vmin=0, vmax=1)


def _inset_bounds(zoom_box, shape) -> list[float]:
    """Axes-fraction bounds of an inset in the corner farthest from the zoomed region."""
    h, w = shape[:2]
    x0, y0, x1, y1 = zoom_box
    cx, cy = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
    size = 0.42
    left = 0.02 if cx > 0.5 else 1 - 0.02 - size
    bottom = 1 - 0.02 - size if cy > 0.5 else 0.02  # axes y grows upwards, image rows downwards
    return [left, bottom, size, size]


def add_zoom_inset(ax, image: np.ndarray, zoom_box: Sequence[float], cmap: str | None = None, vmin=None,
                   vmax=None, color: str = ZOOM_COLOR):
    """Add an inset to ``ax`` showing ``zoom_box`` of ``image`` enlarged, with the region framed.

    ``image`` is what ``ax`` shows (``(H,W)`` or ``(H,W,3)``). Returns the inset ``Axes``.
    """
    x0, y0, x1, y1 = (float(v) for v in np.asarray(zoom_box, dtype=float).reshape(4))
    inset = ax.inset_axes(_inset_bounds((x0, y0, x1, y1), np.shape(image)))
    inset.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    inset.set_xlim(x0 - 0.5, x1 - 0.5)
    inset.set_ylim(y1 - 0.5, y0 - 0.5)
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor(color)
        spine.set_linewidth(1.2)
    ax.indicate_inset_zoom(inset, edgecolor=color, alpha=0.9)
    return inset


def show_alpha_zoom(ax, alpha: np.ndarray, title: str | None = None, zoom_box: Sequence[float] | None = None):
    """An alpha with an enlarged inset of ``zoom_box`` (default: :func:`pick_zoom_box` of ``alpha``)."""
    show_alpha(ax, alpha, title)
    add_zoom_inset(ax, alpha, pick_zoom_box(alpha) if zoom_box is None else zoom_box, cmap="gray", vmin=0, vmax=1)
    return ax


def show_band(ax, alpha: np.ndarray, band: np.ndarray, title: str | None = None, color=BAND_COLOR,
              outline: bool = True):
    """The estimate ``alpha`` in grey with the ``band`` a step rewrites tinted in ``color`` (and outlined)."""
    show_image(ax, band_overlay(alpha, band, color), title)
    if outline:
        draw_outline(ax, band, color=np.asarray(color, float) / 255.0, linewidth=0.7)
    return ax


def show_change(ax, before: np.ndarray, after: np.ndarray, title: str | None = None, limit: float | None = None):
    """What a step replaced: ``after − before`` (blue lowered, red raised, white unchanged).

    ``limit``: the colour scale is ``±limit``; None picks the 99th percentile of the non-zero
    changes (at least 0.05), so small corrections stay visible. The title gets the scale.
    """
    d = np.asarray(after, np.float32) - np.asarray(before, np.float32)
    if limit is None:
        nz = np.abs(d[d != 0])
        limit = max(float(np.percentile(nz, 99)) if nz.size else 0.0, 0.05)
    label = f"{title + ' ' if title else ''}(±{limit:.2f})"
    return show_image(ax, d, label, cmap="RdBu_r", vmin=-limit, vmax=limit)


def show_error(ax, alpha: np.ndarray, gt_alpha: np.ndarray, title: str | None = None, signed: bool = False,
               region: np.ndarray | None = None):
    """Error map against a known alpha; the title gets the SAD (Σ|α − gt| ÷ 1000) of the shown pixels.

    ``signed``: ``alpha − gt`` in a blue/red map (too transparent / too opaque), else ``|alpha − gt|``
    in ``magma``. ``region``: ``(H,W)`` bool, pixels outside it are drawn as 0 and not counted.
    """
    err = error_map(alpha, gt_alpha, signed=signed)
    if region is not None:
        err = np.where(np.asarray(region, bool), err, 0.0)
    sad = float(np.abs(err).sum()) / 1000.0
    label = f"{title + ', ' if title else ''}SAD {sad:.2f}"
    if signed:
        return show_image(ax, err, label, cmap="RdBu_r", vmin=-1, vmax=1)
    return show_image(ax, err, label, cmap="magma", vmin=0, vmax=1)


def show_cutout(ax, image: np.ndarray, alpha: np.ndarray, title: str | None = None, square: int = 16):
    """Draw the cut-out (image × alpha) over a checkerboard."""
    return show_image(ax, cutout_on_checkerboard(image, alpha, square), title)


# ----------------------------------------------------------------------------- figures


def _figure(nrows: int, ncols: int, shape: tuple[int, int], panel_width: float = 2.6, title_space: float = 0.42):
    """A constrained-layout figure whose panels fit images of ``shape`` (no empty bands)."""
    h, w = shape[:2]
    width = panel_width * ncols
    height = nrows * (panel_width * h / max(w, 1) + title_space) + 0.2
    fig, axes = _plt().subplots(nrows, ncols, figsize=(width, height), layout="constrained", squeeze=False)
    return fig, axes


def _step_inputs(result) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Per step ``(before, band, after, source name)``: start (from os8 or the mask), os4, os1."""
    guidance = result.refinement.guidance
    before8 = result.mask.astype(np.float32) if guidance == "mask" else result.alpha_os8
    first = ("SAM mask (ring from alpha_os8)" if guidance == "mask" else "alpha_os8 (0 outside the mask's box)")
    return [(before8, result.bands["os8"], result.start, first),
            (result.start, result.bands["os4"], result.after_os4, "alpha_os4"),
            (result.after_os4, result.bands["os1"], result.alpha, "alpha_os1")]


def _crop_all(crop_box, *arrays):
    return [crop(a, crop_box) for a in arrays]


def _mask_title(result, mask_title: str | None) -> str:
    if mask_title is not None:
        return mask_title
    iou = result.sam.iou
    return f"SAM mask (predicted IoU {iou:.2f})" if np.isfinite(iou) else "coarse mask (not from SAM)"


def _suptitle(fig, title: str | None) -> None:
    if title:
        fig.suptitle(title, fontsize=9, wrap=True)


def plot_refinement_stages(image: np.ndarray, result, gt_alpha: np.ndarray | None = None,
                           figsize: Sequence[float] | None = None, zoom_box: Sequence[float] | None = None,
                           title: str | None = None, mask_title: str | None = None):
    """One figure of the whole inference path of a :class:`~mam_lib.inference.predictor.MattingResult`.

    Top row: the image with its prompt, SAM's mask, ``alpha_os8``, ``alpha_os4``, ``alpha_os1``.
    Bottom row: the start of the refinement, the os4 band (tinted) over the start, the os1 band
    over the estimate after os4, the final alpha with a zoom inset, and the absolute error against
    ``gt_alpha`` (or, without it, the cut-out on a checkerboard). ``figsize`` None fits the image's
    aspect ratio; ``zoom_box`` defaults to :func:`pick_zoom_box` of ``gt_alpha`` (else of the alpha).
    ``title``: the figure's title (e.g. which path made the result); ``mask_title``: the mask panel's
    (default: SAM's mask with its predicted IoU, or "coarse mask" when no SAM made it).
    """
    fig, axes = _figure(2, 5, image.shape, title_space=0.42 + 0.15 * bool(title))
    _suptitle(fig, title)
    if figsize is not None:
        fig.set_size_inches(*figsize)
    zoom = zoom_box if zoom_box is not None else pick_zoom_box(gt_alpha if gt_alpha is not None else result.alpha)
    show_prompt(axes[0, 0], image, result.box, result.points, result.labels)
    overlay_mask(axes[0, 1], image, result.mask, outline=True, title=_mask_title(result, mask_title))
    for ax, key in zip(axes[0, 2:], ("alpha_os8", "alpha_os4", "alpha_os1")):
        show_alpha(ax, getattr(result, key), key)
    show_alpha(axes[1, 0], result.start, f"start ({result.refinement.guidance} guidance)")
    for ax, key, base in ((axes[1, 1], "os4", result.start), (axes[1, 2], "os1", result.after_os4)):
        show_band(ax, base, result.bands[key], f"{key} band: {int(result.bands[key].sum())} px")
    show_alpha_zoom(axes[1, 3], result.alpha, "final alpha", zoom)
    if gt_alpha is not None:
        show_error(axes[1, 4], result.alpha, gt_alpha, "|α − known α|")
    else:
        show_cutout(axes[1, 4], image, result.alpha, "cut-out")
    return fig


def plot_decoder_outputs(image: np.ndarray, result, gt_alpha: np.ndarray | None = None,
                         zoom_box: Sequence[float] | None = None, title: str | None = None,
                         mask_title: str | None = None):
    """What the refinement starts from: the prompt, SAM's mask, ``alpha_os8/os4/os1`` (and the known alpha).

    Every alpha gets a zoom inset of ``zoom_box`` (default :func:`pick_zoom_box` of ``gt_alpha``,
    else of ``alpha_os1``), so the coarse-to-fine sharpening is visible. ``title`` and
    ``mask_title`` as for :func:`plot_refinement_stages`.
    """
    n = 5 + (gt_alpha is not None)
    fig, axes = _figure(1, n, image.shape, title_space=0.42 + 0.3 * bool(title))
    _suptitle(fig, title)
    zoom = zoom_box if zoom_box is not None else pick_zoom_box(gt_alpha if gt_alpha is not None else result.alpha_os1)
    show_prompt(axes[0, 0], image, result.box, result.points, result.labels)
    overlay_mask(axes[0, 1], image, result.mask, outline=True,
                 title=f"{_mask_title(result, mask_title)}: {int(result.mask.sum())} px")
    for ax, key in zip(axes[0, 2:5], ("alpha_os8", "alpha_os4", "alpha_os1")):
        show_alpha_zoom(ax, getattr(result, key), key, zoom)
    if gt_alpha is not None:
        show_alpha_zoom(axes[0, 5], gt_alpha, "known alpha", zoom)
    return fig


def plot_stage_grid(result, gt_alpha: np.ndarray | None = None, crop_box: Sequence[float] | None = None,
                    title: str | None = None):
    """The stage grid: one column per refinement step (start, os4, os1), one row per view.

    Rows: (1) the estimate before the step with the step's band tinted; (2) what the step changed,
    ``after − before``; (3) the estimate after the step; (4) with ``gt_alpha``, the error after the
    step with its SAD. Band sizes in the titles count the whole image even when ``crop_box`` shows
    only part of it. ``title``: the figure's title.
    """
    steps = _step_inputs(result)
    rows = 4 if gt_alpha is not None else 3
    shape = crop(result.alpha, crop_box).shape
    fig, axes = _figure(rows, 3, shape, panel_width=3.2)
    _suptitle(fig, title)
    names = ("1. start", "2. os4 step", "3. os1 step")
    for j, ((before, band, after, source), name) in enumerate(zip(steps, names)):
        b, m, a = _crop_all(crop_box, before, band, after)
        verb = "set from" if j == 0 else "replaced by"
        show_band(axes[0, j], b, m, f"{name}: band {int(band.sum())} px\n{verb} {source}")
        show_change(axes[1, j], b, a, "after − before")
        show_alpha(axes[2, j], a, "start estimate" if j == 0 else f"after {_STEP_LABELS[j]}")
        if gt_alpha is not None:
            show_error(axes[3, j], a, crop(gt_alpha, crop_box), "|error|")
    return fig


def plot_refinement_summary(result, gt_alpha: np.ndarray | None = None, crop_box: Sequence[float] | None = None,
                            image: np.ndarray | None = None, axes=None, label: str | None = None):
    """One compact row: os4 band over the start, os1 band over the os4 estimate, final alpha, error.

    Without ``gt_alpha`` the last panel is the cut-out (needs ``image``) or is left out. ``axes``:
    draw into these 3 or 4 axes instead of a new figure (returns them); ``label`` prefixes the
    first title. Returns the new ``Figure`` when ``axes`` is None.
    """
    n = 4 if (gt_alpha is not None or image is not None) else 3
    fig = None
    if axes is None:
        fig, grid = _figure(1, n, crop(result.alpha, crop_box).shape)
        axes = grid[0]
    start, after4, final, b4, b1 = _crop_all(crop_box, result.start, result.after_os4, result.alpha,
                                              result.bands["os4"], result.bands["os1"])
    prefix = f"{label}\n" if label else ""
    show_band(axes[0], start, b4, f"{prefix}os4 band: {int(result.bands['os4'].sum())} px")
    show_band(axes[1], after4, b1, f"os1 band: {int(result.bands['os1'].sum())} px")
    show_alpha(axes[2], final, "final alpha")
    if gt_alpha is not None:
        show_error(axes[3], final, crop(gt_alpha, crop_box), "|error|")
    elif image is not None:
        show_cutout(axes[3], crop(image, crop_box), final, "cut-out")
    return fig if fig is not None else axes


def plot_refinement_comparison(results: Mapping[str, object], gt_alpha: np.ndarray | None = None,
                               crop_box: Sequence[float] | None = None, title: str | None = None):
    """One :func:`plot_refinement_summary` row per named result (e.g. per refinement setting);
    ``title``: the figure's title."""
    if not results:
        raise ValueError("results is empty: pass at least one named MattingResult")
    first = next(iter(results.values()))
    n = 4 if gt_alpha is not None else 3
    fig, axes = _figure(len(results), n, crop(first.alpha, crop_box).shape)
    _suptitle(fig, title)
    for row, (name, res) in zip(axes, results.items()):
        plot_refinement_summary(res, gt_alpha, crop_box, axes=row, label=name)
    return fig


def plot_sam_candidates(image: np.ndarray, masks: np.ndarray, scores: Sequence[float], box=None, points=None,
                        labels=None, gt_alpha: np.ndarray | None = None, title: str | None = None):
    """SAM's candidate masks for one prompt, as segment-anything's ``SamPredictor.predict`` returns them.

    ``masks``: ``(3,H,W)`` bool; ``scores``: ``(3,)`` SAM's predicted IoU of each. One panel per
    candidate (the prompt drawn on the first), the highest-scoring one marked "kept" — the one MAM
    passes to M2M. With ``gt_alpha`` each title also gives the candidate's true IoU with ``gt_alpha ≥ 0.5``.
    """
    masks = np.asarray(masks, bool)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {masks.shape}")
    best = int(np.argmax(scores))
    fig, axes = _figure(1, len(masks), image.shape, title_space=0.55 + 0.25 * bool(title))
    _suptitle(fig, title)
    for i, (ax, mask, score) in enumerate(zip(axes[0], masks, scores)):
        name = f"candidate {i}{' (kept)' if i == best else ''}\npredicted IoU {float(score):.2f}"
        if gt_alpha is not None:
            name += f", true IoU {mask_iou(mask, gt_alpha >= 0.5):.2f}"
        overlay_mask(ax, image, mask, outline=True, title=name)
        if i == 0:
            draw_prompts(ax, box, points, labels)
    return fig


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``(H,W)`` bool masks, ``|a ∧ b| / |a ∨ b|`` in [0,1] (1 when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def plot_text_instances(image: np.ndarray, detections, results: Sequence = (), max_instances: int = 4):
    """A text prompt from phrase to mattes: the image with every box (top left), then for each of the
    first ``max_instances`` results its cut-out (top row) and alpha (bottom row).

    ``detections``: :class:`~mam_lib.inference.text.Detections`; ``results``: the
    :class:`~mam_lib.inference.predictor.MattingResult` of each box, as ``predict_text`` returns them.
    """
    shown = list(results)[:max_instances]
    fig, axes = _figure(2, 1 + max(len(shown), 1), image.shape)
    show_image(axes[0, 0], image, f"{detections.text!r}: {len(detections)} box(es)")
    draw_detections(axes[0, 0], detections)
    axes[1, 0].axis("off")
    if not shown:
        axes[0, 1].axis("off")
        axes[1, 1].axis("off")
        axes[0, 1].text(0.5, 0.5, "no box above the thresholds", ha="center", va="center", fontsize=9)
    for i, result in enumerate(shown, 1):
        det = result.detection
        name = f"{i}: {det.phrase or '—'} {det.score:.2f}" if det is not None else f"instance {i}"
        show_cutout(axes[0, i], image, result.alpha, name)
        draw_prompts(axes[0, i], box=result.box)
        show_alpha(axes[1, i], result.alpha, f"alpha {i}")
    return fig


def figure_to_png(fig, dpi: int = 72, close: bool = True) -> bytes:
    """Render a figure to PNG bytes (and close it, so notebooks do not also show it)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if close:
        _plt().close(fig)
    return buf.getvalue()

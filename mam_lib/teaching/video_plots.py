"""Figures for video matting: frames next to their alphas, a player, and per-frame metric curves.

Every function takes numpy arrays (frames ``(T,H,W,3)`` uint8, alphas ``(T,H,W)`` float32 in [0,1])
and returns a matplotlib figure, or for :func:`play` an HTML player (matplotlib's own
``FuncAnimation.to_jshtml``: the frames are embedded as PNG, so keep clips short and small); nothing
here changes data.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..io.cutout import composite


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _picks(n: int, count: int) -> list[int]:
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, min(count, n))})


def frame_strip(frames: np.ndarray, alphas: Mapping[str, np.ndarray], count: int = 5,
                boxes: np.ndarray | None = None, title: str = ""):
    """A grid: the first row shows ``count`` frames spread over the clip (with ``boxes`` ``(T,4)``
    drawn, e.g. the ground-truth box), each further row one named alpha sequence ``(T,H,W)``."""
    plt = _plt()
    picks = _picks(len(frames), count)
    rows = 1 + len(alphas)
    fig, axes = plt.subplots(rows, len(picks), figsize=(2.4 * len(picks), 2.0 * rows), squeeze=False)
    for j, t in enumerate(picks):
        ax = axes[0, j]
        ax.imshow(frames[t])
        ax.set_title(f"frame {t}", fontsize=9)
        if boxes is not None and np.isfinite(boxes[t]).all():
            x0, y0, x1, y1 = boxes[t]
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1.2))
        for i, (name, seq) in enumerate(alphas.items(), 1):
            axes[i, j].imshow(seq[t], cmap="gray", vmin=0, vmax=1)
            if j == 0:
                axes[i, j].set_ylabel(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def play(frames: np.ndarray, alphas: Mapping[str, np.ndarray], fps: float = 10.0,
         background=(0, 177, 64), width: float = 3.0):
    """An HTML player (``IPython.display.HTML``) of the frames next to each alpha sequence and the
    composite of the first one on ``background``; ``fps`` is the playback rate."""
    from IPython.display import HTML
    from matplotlib import animation

    plt = _plt()
    names = list(alphas)
    panels = 2 + len(names)
    fig, axes = plt.subplots(1, panels, figsize=(width * panels, width * frames.shape[1] / frames.shape[2] + 0.4))
    first = alphas[names[0]]
    images = [axes[0].imshow(frames[0])]
    axes[0].set_title("frame 0", fontsize=9)
    for ax, name in zip(axes[1:], names):
        images.append(ax.imshow(alphas[name][0], cmap="gray", vmin=0, vmax=1))
        ax.set_title(name, fontsize=9)
    images.append(axes[-1].imshow(composite(frames[0], first[0], background)))
    axes[-1].set_title(f"composite ({names[0]})", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()

    def update(t):
        images[0].set_data(frames[t])
        axes[0].set_title(f"frame {t}", fontsize=9)
        for im, name in zip(images[1:-1], names):
            im.set_data(alphas[name][t])
        images[-1].set_data(composite(frames[t], first[t], background))
        return images

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=1000.0 / fps, blit=False)
    html = HTML(anim.to_jshtml(default_mode="loop"))
    plt.close(fig)
    return html


def metric_curves(per_frame: Mapping[str, Sequence[Mapping[str, float]]], metrics: Sequence[str] = ("sad", "dtssd"),
                  scale: Mapping[str, float] | None = None):
    """Per-frame curves: for each run name, its rows (``ClipScores.frames``: dicts with ``frame`` and
    the metrics), one panel per metric. ``scale`` multiplies a metric (default: dtSSD ×1e2, MESSDdt ×1e3,
    MSE ×1e3)."""
    plt = _plt()
    scale = {"mse": 1e3, "dtssd": 1e2, "messddt": 1e3, **(scale or {})}
    label = {"sad": "SAD", "mse": "MSE ×1e3", "dtssd": "dtSSD ×1e2", "messddt": "MESSDdt ×1e3"}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.0), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for name, rows in per_frame.items():
            t = [r["frame"] for r in rows]
            ax.plot(t, [r[m] * scale.get(m, 1.0) for r in rows], marker=".", label=name)
        ax.set_xlabel("frame")
        ax.set_title(label.get(m, m), fontsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def stage_bars(shares: Mapping[str, float], title: str = "share of the time per stage"):
    """A horizontal bar chart of :meth:`mam_lib.inference.video.VideoRun.stage_shares`."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 2.4))
    names = list(shares)
    ax.barh(names, [100 * shares[k] for k in names], color="#4c72b0")
    ax.invert_yaxis()
    ax.set_xlabel("% of the summed stage time")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig

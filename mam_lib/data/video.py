"""Procedural video clips with a known alpha: objects with hair, fur or glass that move and deform
over a moving background.

:func:`make_clip` draws each object once with :func:`mam_lib.data.procedural.make_foreground` (so
its strands are sub-pixel and its alpha fractional), then for every frame maps it into the picture
through a smooth path: a translation along a Lissajous curve, a slow rotation and a breathing scale
(the rigid part), plus a non-rigid warp, a sum of travelling sine waves of a few percent of the
object's size (its strands sway). The background is a larger procedural picture
(:func:`mam_lib.data.procedural.make_background`) seen through a window that pans. Frames are the
over-composite ``I = α_K F_K + (1 − α_K)(… (α_1 F_1 + (1 − α_1) B))``; the ground truth of object
``k`` is what of it is visible, ``α_k Π_{j>k} (1 − α_j)``. Everything is seeded: the same
:class:`ClipConfig` gives the same arrays.

:func:`write_clip` writes a clip as ``frames/000000.png …``, ``alphas/<object>/000000.png …``,
``clip.mp4`` (H.264), ``boxes.json`` (per object, per frame, the box of α > 0.5) and ``clip.json``
(size, frame rate, objects, seed); ``mam synth --video OUT_DIR`` calls it.

The per-pixel motion :meth:`VideoClip.motion` (from frame ``t`` to ``t−1``, for MESSDdt) is the rigid
part of an object's path; the sine warp adds up to ``deform × 2.5%`` of the object's size on top.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Sequence

import cv2
import numpy as np

from ..errors import ConfigError, OutputError
from ..io.outputs import check_output_dir, mark_folder, read_marker, run_lock
from ..io.video import write_video
from .procedural import FOREGROUND_KINDS, make_background, make_foreground
from .writing import alpha_to_uint8, write_image, write_json

__all__ = ["ClipConfig", "VideoClip", "make_clip", "write_clip", "CLIP_KIND"]

#: The kind recorded in the marker of a folder written by :func:`write_clip`.
CLIP_KIND = "procedural clip"


@dataclass(frozen=True)
class ClipConfig:
    """Settings of a procedural clip."""

    size: tuple[int, int] = (480, 640)  # (H, W) of the frames
    frames: int = 75  # 3 s at 25 frames/s
    fps: float = 25.0  # frame rate written to clip.mp4
    kinds: tuple[str, ...] = ("hair",)  # one object per entry, from procedural.FOREGROUND_KINDS (not "multi")
    seed: int = 0  # the same seed gives the same clip
    object_scale: float = 0.6  # side of each object's square canvas, as a fraction of the frame's short side
    motion: float = 1.0  # scale of the path's amplitude (0: the object stays put)
    deform: float = 1.0  # scale of the non-rigid warp (0: rigid motion only)
    pan: float = 1.0  # scale of the background's pan (0: static background)
    supersample: int = 3  # drawing resolution of the foreground (procedural.make_foreground)

    def check(self) -> "ClipConfig":
        h, w = self.size
        if h < 32 or w < 32:
            raise ConfigError(f"a clip must be at least 32×32 pixels, got {w}×{h}")
        if self.frames < 1:
            raise ConfigError(f"a clip needs at least 1 frame, got {self.frames}")
        if self.fps <= 0:
            raise ConfigError(f"the frame rate must be positive, got {self.fps}")
        if not self.kinds:
            raise ConfigError("a clip needs at least one object kind")
        bad = [k for k in self.kinds if k not in FOREGROUND_KINDS or k == "multi"]
        if bad:
            raise ConfigError(f"unknown object kind(s) {', '.join(bad)} for a clip; choose from "
                              f"{', '.join(k for k in FOREGROUND_KINDS if k != 'multi')}")
        return self


@dataclass
class _Path:
    """One object's path: centre, rotation, scale, warp phase per frame."""

    center: np.ndarray  # (T, 2) x, y in frame pixels
    angle: np.ndarray  # (T,) radians
    scale: np.ndarray  # (T,)
    phase: np.ndarray  # (T,) radians, of the sine warp


@dataclass
class VideoClip:
    """A procedural clip and its ground truth.

    Attributes:
        frames: ``(T,H,W,3)`` uint8 RGB.
        alphas: ``{object name: (T,H,W) float32 in [0,1]}``, each object's visible alpha.
        boxes: ``{object name: (T,4) float32}``, the box of α > 0.5 per frame (``x1`` = last column + 1;
            NaN where the object is not visible).
        fps: frames per second.
        config: the settings it was made with.
    """

    frames: np.ndarray
    alphas: dict[str, np.ndarray]
    boxes: dict[str, np.ndarray]
    fps: float
    config: ClipConfig
    _paths: dict[str, _Path] = field(default_factory=dict, repr=False)
    _canvas: int = 0

    @property
    def objects(self) -> list[str]:
        return list(self.alphas)

    def __len__(self) -> int:
        return len(self.frames)

    def motion(self, name: str, t: int) -> np.ndarray:
        """``(H,W,2)`` float32: where each pixel of frame ``t`` was in frame ``t−1`` minus where it is
        (``x``, ``y``), following object ``name``'s rigid path (zeros at ``t = 0``)."""
        h, w = self.frames.shape[1:3]
        if t == 0:
            return np.zeros((h, w, 2), np.float32)
        path = self._paths[name]
        xx, yy = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
        u, v = _to_canvas(xx, yy, path, t, self._canvas)
        x0, y0 = _from_canvas(u, v, path, t - 1, self._canvas)
        return np.stack([x0 - xx, y0 - yy], axis=-1).astype(np.float32)


def _smooth_path(rng: np.random.Generator, frames: int, size: tuple[int, int], motion: float) -> _Path:
    h, w = size
    t = np.arange(frames, dtype=np.float64)
    period = max(frames, 20)
    fx, fy = rng.uniform(0.6, 1.2), rng.uniform(0.8, 1.6)
    px, py = rng.uniform(0, 2 * np.pi, 2)
    cx = w / 2 + motion * 0.18 * w * np.sin(2 * np.pi * fx * t / period + px)
    cy = h / 2 + motion * 0.10 * h * np.sin(2 * np.pi * fy * t / period + py)
    angle = motion * rng.uniform(0.15, 0.3) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    scale = 1.0 + motion * 0.08 * np.sin(2 * np.pi * 0.7 * t / period + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * 1.5 * t / period
    return _Path(np.stack([cx, cy], 1), angle, scale, phase)


def _to_canvas(x, y, path: _Path, t: int, side: int):
    """Frame pixel coordinates → the object's canvas (the inverse of the rigid part)."""
    cx, cy = path.center[t]
    c, s, k = math.cos(path.angle[t]), math.sin(path.angle[t]), path.scale[t]
    dx, dy = x - cx, y - cy
    return (c * dx + s * dy) / k + side / 2, (-s * dx + c * dy) / k + side / 2


def _from_canvas(u, v, path: _Path, t: int, side: int):
    cx, cy = path.center[t]
    c, s, k = math.cos(path.angle[t]), math.sin(path.angle[t]), path.scale[t]
    du, dv = (u - side / 2) * k, (v - side / 2) * k
    return c * du - s * dv + cx, s * du + c * dv + cy


def _warp_maps(path: _Path, t: int, side: int, size: tuple[int, int], deform: float) -> tuple[np.ndarray, np.ndarray]:
    """For every frame pixel, where to read the object's canvas (rigid inverse + sine warp)."""
    h, w = size
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
    u, v = _to_canvas(xx, yy, path, t, side)
    amp = deform * 0.025 * side
    ph = path.phase[t]
    # travelling waves: strands sway sideways, more towards the object's rim
    r = np.hypot(u - side / 2, v - side / 2) / (side / 2)
    du = amp * r * np.sin(2 * np.pi * v / side * 1.5 + ph)
    dv = 0.6 * amp * r * np.sin(2 * np.pi * u / side * 1.2 - 0.8 * ph)
    return (u + du - 0.5).astype(np.float32), (v + dv - 0.5).astype(np.float32)


def make_clip(config: ClipConfig | None = None, progress: bool = False) -> VideoClip:
    """Draw a procedural clip (see the module docstring). ``progress``: a tqdm bar over the frames."""
    from tqdm.auto import tqdm

    cfg = (config or ClipConfig()).check()
    h, w = int(cfg.size[0]), int(cfg.size[1])
    rng = np.random.default_rng([int(cfg.seed), 0x56_49_44])
    side = max(16, int(round(cfg.object_scale * min(h, w))))
    objects = []
    for k, kind in enumerate(cfg.kinds):
        fg, alpha = make_foreground(int(rng.integers(1 << 30)), (side, side), kind, supersample=cfg.supersample)
        name = f"obj{k + 1}"
        objects.append((name, fg.astype(np.float32) / 255.0, alpha, _smooth_path(rng, cfg.frames, (h, w), cfg.motion)))
    margin = 0.25 * cfg.pan
    bh, bw = int(h * (1 + margin)) + 1, int(w * (1 + margin)) + 1
    background = make_background(int(rng.integers(1 << 30)), (bh, bw)).astype(np.float32) / 255.0
    t_axis = np.arange(cfg.frames) / max(cfg.frames - 1, 1)
    ox = (bw - w) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t_axis + rng.uniform(0, 2 * np.pi)))
    oy = (bh - h) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.35 * t_axis + rng.uniform(0, 2 * np.pi)))
    frames = np.empty((cfg.frames, h, w, 3), np.uint8)
    alphas = {name: np.empty((cfg.frames, h, w), np.float32) for name, *_ in objects}
    for t in tqdm(range(cfg.frames), desc="drawing clip", unit="frame", disable=not progress):
        shift = np.float32([[1, 0, -ox[t]], [0, 1, -oy[t]]])  # sub-pixel pan
        image = cv2.warpAffine(background, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        layers = []
        for name, fg, alpha, path in objects:
            mx, my = _warp_maps(path, t, side, (h, w), cfg.deform)
            a = cv2.remap(alpha, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            f = cv2.remap(fg, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            a = np.clip(a, 0.0, 1.0)
            image = a[..., None] * f + (1.0 - a[..., None]) * image
            layers.append((name, a))
        for k, (name, a) in enumerate(layers):
            visible = a.copy()
            for _, above in layers[k + 1:]:
                visible *= 1.0 - above
            alphas[name][t] = visible
        frames[t] = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    boxes = {name: np.stack([_box(a) for a in seq]) for name, seq in alphas.items()}
    return VideoClip(frames, alphas, boxes, float(cfg.fps), cfg, {name: p for name, _, _, p in objects}, side)


def _box(alpha: np.ndarray) -> np.ndarray:
    fg = alpha > 0.5
    cols, rows = np.flatnonzero(fg.any(axis=0)), np.flatnonzero(fg.any(axis=1))
    if not cols.size:
        return np.full(4, np.nan, np.float32)
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)


def write_clip(out_dir: str | os.PathLike, clip: VideoClip, overwrite: bool = False, video: bool = True) -> dict:
    """Write ``clip`` into ``out_dir`` (the layout of the module docstring); returns a summary dict.

    A folder holding an earlier clip written by this function is replaced only with ``overwrite``;
    a folder holding other files is refused (:class:`~mam_lib.errors.OutputError`). ``video``: also
    encode ``clip.mp4``.
    """
    out = check_output_dir(out_dir, what="output folder")
    if out.is_dir() and any(p.name not in (".mam_lib.lock",) for p in out.iterdir()):
        marker = read_marker(out)
        if marker is None or marker.get("kind") != CLIP_KIND:
            raise OutputError(f"{str(out)!r} already holds files that mam synth --video did not write; they are left "
                              "alone: choose an empty or new folder")
        if not overwrite:
            raise OutputError(f"{str(out)!r} already holds a procedural clip; pass --overwrite (overwrite=True) to "
                              "replace it, or choose another folder")
    with run_lock(out, "mam synth --video"):
        mark_folder(out, CLIP_KIND, complete=False)
        for sub in ["frames"] + [f"alphas/{n}" for n in clip.objects]:
            folder = out / sub
            if folder.is_dir():  # frames of an earlier, longer clip must not stay behind
                for p in folder.glob("*.png"):
                    p.unlink()
        for t in range(len(clip)):
            write_image(out / "frames" / f"{t:06d}.png", clip.frames[t], png_compression=3)
            for name in clip.objects:
                write_image(out / "alphas" / name / f"{t:06d}.png", alpha_to_uint8(clip.alphas[name][t]),
                            png_compression=3)
        if video:
            write_video(out / "clip.mp4", clip.frames, clip.fps)
        boxes = {name: [[None if math.isnan(v) else int(v) for v in b] for b in clip.boxes[name]] for name in clip.objects}
        write_json(out / "boxes.json", boxes, indent=None)
        cfg = asdict(clip.config)
        write_json(out / "clip.json", {"frames": len(clip), "size": list(clip.frames.shape[1:3]), "fps": clip.fps,
                                       "objects": clip.objects, "config": cfg})
        mark_folder(out, CLIP_KIND, complete=True, frames=len(clip), objects=clip.objects)
    return {"out_dir": str(out), "frames": len(clip), "objects": clip.objects, "size": list(clip.frames.shape[1:3])}


def kinds_of(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"hair,glass"`` → ``("hair", "glass")``; None → the default."""
    if spec is None:
        return ClipConfig.kinds
    if isinstance(spec, str):
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    return tuple(spec)

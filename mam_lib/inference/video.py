"""Matting an object through a clip from prompts on a few frames: :class:`VideoMatting`.

Prompt an object once (a box, points, a mask or a text, on any frame) and every other frame gets its
prompt from its neighbour's result, the way SAM is prompted interactively:

* **the box** of the neighbour's matte (α > 0.5), grown by ``box_margin`` of its size on each side
  so that the object may move, and
* **the low-resolution logits** of the neighbour's SAM mask (``result.sam.logits_lowres``,
  ``(1,256,256)``) as SAM's ``mask_input`` — the same 256×256 frame for every frame of a clip.

From the first prompted frame the propagation runs **forward** to the end, then **backward** to
frame 0. Any frame with a prompt of its own (a *keyframe*) is matted from that prompt alone; the
propagation restarts from it (re-prompting overrides the propagation). Several objects share each
frame's encoding: SAM's image encoder runs once per frame, the prompt path once per object. An
object whose matte comes out empty keeps its last box (and drops ``mask_input``) until it is found
again; :class:`FrameResult` marks such frames ``lost``.

**Temporal smoothing** (``VideoConfig.smoothing``, off by default) blends each alpha with the
previous frame's written alpha: ``α_t ← (1 − s)·α_t + s·α_{t−1}``. It calms flicker and lags
behind fast motion; a keyframe is never blended.

**Files and resuming** (:meth:`VideoMatting.run` with ``out_dir``): for object ``obj1`` the run writes
``obj1/alpha/000000.png`` (8-bit grey), ``obj1/rgba/000000.png`` (the cut-out) and
``obj1/composite/000000.png`` as each frame is computed, and ``obj1/state/000000.npz`` (the box and
the logits the next frame starts from) last: a frame is done when its state file exists. Every
file is written atomically, so a run that is interrupted (Ctrl-C, a crash, a power cut) resumes
from the frames it finished and writes each frame exactly once; the propagation always starts from
the stored state (logits rounded to float16, alpha to 8 bits), so a resumed run writes the same
files as an uninterrupted one. When every frame is done, ``obj1/alpha.mp4`` and
``obj1/composite.mp4`` are encoded from the PNGs. ``run.json`` records the clip, the prompts and the
settings: a folder holding a run with other settings is refused unless ``overwrite``.

**SAM 2** (:class:`Sam2Masks`): with SAM 2's official package (``sam2``) and its weights, SAM 2's video
predictor propagates the *masks* through the clip (its memory attention tracks an object better
than a box and a mask prompt do), and each frame's mask goes to M2M through
``MattingPredictor.predict(mask=…)`` (the mask path).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, MissingExtraError, OutputError, PromptError
from ..io.atomic import atomic_path, atomic_write_text
from ..io.cutout import alpha_to_uint8, check_color, foreground_colors, save_alpha, save_composite, save_rgba
from ..io.images import matte_to_unit, read_matte
from ..io.outputs import check_output_dir, mark_folder, read_marker, run_lock
from ..io.video import FrameSequence, FrameSource, open_frames, write_video_from_sequence
from .predictor import MattingPredictor

__all__ = ["VideoConfig", "Keyframe", "FrameResult", "VideoRun", "VideoMatting", "Sam2Masks", "box_of",
           "grow_box", "OUTPUTS", "RUN_KIND"]

#: What :meth:`VideoMatting.run` can write per object and frame.
OUTPUTS: tuple[str, ...] = ("alpha", "rgba", "composite")
#: The kind recorded in the marker of a run folder.
RUN_KIND = "video matte run"
#: The stages whose time a run adds up (milliseconds): reading frames, SAM's image encoder, SAM's
#: prompt path, M2M, the refinement, writing files.
STAGES: tuple[str, ...] = ("decode", "encode", "sam", "m2m", "refine", "write")


@dataclass(frozen=True)
class VideoConfig:
    """How a prompt is carried from frame to frame."""

    box_margin: float = 0.1  # the propagated box grows by this fraction of its width/height on each side
    use_box: bool = True  # carry the previous matte's box as the box prompt
    use_mask_input: bool = True  # carry the previous SAM logits as mask_input
    smoothing: float = 0.0  # blend weight of the previous alpha, in [0, 1); 0 = off (default)
    min_pixels: int = 16  # a matte with fewer pixels above 0.5 counts as lost
    guidance: str | None = None  # refinement guidance ("alpha" / "mask"); None: the predictor's

    def check(self) -> "VideoConfig":
        if not 0.0 <= self.smoothing < 1.0:
            raise ConfigError(f"smoothing must lie in [0, 1), got {self.smoothing:g}")
        if self.box_margin < 0:
            raise ConfigError(f"box_margin must be at least 0, got {self.box_margin:g}")
        if not (self.use_box or self.use_mask_input):
            raise ConfigError("propagation needs the box, the mask_input or both (use_box / use_mask_input)")
        return self


@dataclass
class Keyframe:
    """A prompt for one object on one frame: a box, points (+ labels), a mask, or a text."""

    frame: int
    box: np.ndarray | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    mask: np.ndarray | None = None
    text: str | None = None

    @property
    def kind(self) -> str:
        return "text" if self.text is not None else "mask" if self.mask is not None else \
            "+".join(k for k in ("box", "points") if getattr(self, k) is not None)

    def record(self) -> dict:
        """A JSON-able description (a mask by its size and SHA-1) for ``run.json``."""
        out: dict = {"frame": int(self.frame)}
        if self.box is not None:
            out["box"] = [round(float(v), 3) for v in self.box]
        if self.points is not None:
            out["points"] = [[round(float(x), 3), round(float(y), 3)] for x, y in self.points]
            out["labels"] = [int(v) for v in self.labels]
        if self.mask is not None:
            out["mask"] = {"shape": list(self.mask.shape), "sha1": hashlib.sha1(np.packbits(self.mask)).hexdigest()}
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass
class FrameResult:
    """One object on one frame.

    Attributes:
        frame, obj: where.
        alpha: ``(H,W)`` float32 in [0,1] (after smoothing, if on).
        box: ``(4,)`` float32, the box the next frame starts from (the matte's box of α > 0.5, or the last
            known one when ``lost``).
        logits: ``(1,256,256)`` float32, SAM's logits the next frame gets as ``mask_input``.
        source: ``"keyframe"``, ``"forward"`` (from frame − 1), ``"backward"`` (from frame + 1) or ``"sam2"``.
        prompt: what was given to the predictor: ``{"box": [...], "mask_input": bool}``, the keyframe's, or
            ``{"mask": "sam2"}``.
        lost: the matte had fewer than ``min_pixels`` pixels above 0.5.
        timings: milliseconds of ``sam``, ``m2m``, ``refine`` (and ``encode`` for the frame's first object).
    """

    frame: int
    obj: str
    alpha: np.ndarray
    box: np.ndarray
    logits: np.ndarray
    source: str
    prompt: dict
    lost: bool = False
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class VideoRun:
    """What a run did.

    Attributes:
        frames: frames in the clip; objects: object names.
        computed: ``(frame, obj)`` computed by this call, in order; skipped: how many were already done.
        timings: total milliseconds per stage of :data:`STAGES`; wall_s: seconds of the whole call.
        alphas: ``{obj: (T,H,W) float32}`` when run without ``out_dir``; else None.
        results: the :class:`FrameResult` of every computed step when run without ``out_dir``.
        out_dir: the folder, or None; videos: the video files written.
    """

    frames: int
    objects: list[str]
    computed: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0
    timings: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in STAGES})
    wall_s: float = 0.0
    alphas: dict[str, np.ndarray] | None = None
    results: list[FrameResult] = field(default_factory=list)
    out_dir: Path | None = None
    videos: list[Path] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        """Frames (all objects of a frame count once) computed per second of the call."""
        n = len({f for f, _ in self.computed})
        return n / self.wall_s if self.wall_s > 0 else 0.0

    def stage_shares(self) -> dict[str, float]:
        """Each stage's share of the summed stage time, in [0, 1]."""
        total = sum(self.timings.values())
        return {k: (v / total if total else 0.0) for k, v in self.timings.items()}


def box_of(alpha: np.ndarray, threshold: float = 0.5, min_pixels: int = 1) -> np.ndarray | None:
    """``(4,)`` float32 bounding box ``x0, y0, x1, y1`` of ``alpha > threshold`` (``x1`` = last column + 1,
    the data package's convention), or None when fewer than ``min_pixels`` pixels pass."""
    fg = np.asarray(alpha) > threshold
    if int(fg.sum()) < max(1, min_pixels):
        return None
    cols, rows = np.flatnonzero(fg.any(axis=0)), np.flatnonzero(fg.any(axis=1))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)


def grow_box(box: np.ndarray, margin: float, size: tuple[int, int]) -> np.ndarray:
    """``box`` grown by ``margin`` × its width (height) on the left and right (top and bottom), clipped to
    the image ``size`` ``(H, W)``; at least 2 pixels wide and high."""
    h, w = size
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    x0, x1 = max(0.0, x0 - dx), min(float(w), x1 + dx)
    y0, y1 = max(0.0, y0 - dy), min(float(h), y1 + dy)
    if x1 - x0 < 2:
        x0, x1 = max(0.0, min(x0, w - 2.0)), min(float(w), max(x1, x0 + 2.0))
    if y1 - y0 < 2:
        y0, y1 = max(0.0, min(y0, h - 2.0)), min(float(h), max(y1, y0 + 2.0))
    return np.array([x0, y0, x1, y1], np.float32)


@dataclass
class _State:
    """What the next frame starts from (as stored: logits in float16, alpha in 8 bits)."""

    box: np.ndarray
    logits: np.ndarray  # (1,256,256) float32 (values of float16)
    alpha_u8: np.ndarray  # (H,W) uint8, the written alpha
    lost: bool


@dataclass(frozen=True)
class _Step:
    frame: int
    obj: str
    source: str  # "keyframe" | "forward" | "backward"
    prev: int | None  # the frame whose state this step starts from


class _MemoryStore:
    def __init__(self, objects: list[str], frames: int, size: tuple[int, int]) -> None:
        self.states: dict[tuple[str, int], _State] = {}
        self.alphas = {o: np.zeros((frames,) + tuple(size), np.float32) for o in objects}

    def done(self, obj: str, frame: int) -> bool:
        return (obj, frame) in self.states

    def state(self, obj: str, frame: int) -> _State:
        return self.states[(obj, frame)]

    def save(self, obj: str, frame: int, image: np.ndarray, alpha: np.ndarray, state: _State) -> None:
        self.alphas[obj][frame] = alpha
        self.states[(obj, frame)] = state


class _FolderStore:
    """The files of a run folder (see the module docstring)."""

    def __init__(self, out: Path, objects: list[str], outputs: Sequence[str], background) -> None:
        self.out, self.outputs, self.background = out, tuple(outputs), background
        self.seqs = {o: {k: FrameSequence(out / o / k) for k in outputs} for o in objects}
        self.state_seqs = {o: FrameSequence(out / o / "state", ".npz") for o in objects}
        self._done = {o: set(self.state_seqs[o].done()) for o in objects}

    def done(self, obj: str, frame: int) -> bool:
        return frame in self._done[obj]

    def state(self, obj: str, frame: int) -> _State:
        with np.load(self.state_seqs[obj].path(frame)) as data:
            box, logits, lost = data["box"].astype(np.float32), data["logits"].astype(np.float32), bool(data["lost"])
        alpha_u8 = read_matte(self.seqs[obj]["alpha"].path(frame))
        return _State(box, logits, np.asarray(alpha_u8, np.uint8), lost)

    def save(self, obj: str, frame: int, image: np.ndarray, alpha: np.ndarray, state: _State) -> None:
        seqs = self.seqs[obj]
        if "alpha" in seqs:
            seqs["alpha"].write(frame, lambda p: save_alpha(p, alpha))
        # one foreground estimate for the frame's cut-out and composite
        fg = foreground_colors(image, alpha) if "rgba" in seqs and "composite" in seqs else None
        if "rgba" in seqs:
            seqs["rgba"].write(frame, lambda p: save_rgba(p, image, alpha, fg=fg))
        if "composite" in seqs:
            seqs["composite"].write(frame, lambda p: save_composite(p, image, alpha, self.background, fg=fg))

        def write_state(path: Path) -> None:
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, box=state.box, logits=state.logits.astype(np.float16), lost=np.bool_(state.lost))

        self.state_seqs[obj].write(frame, write_state)
        self._done[obj].add(frame)


def _supports_mask(predictor: MattingPredictor) -> bool:
    try:
        return "mask" in inspect.signature(predictor.predict).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


class VideoMatting:
    """Mattes objects through a clip with a :class:`~mam_lib.inference.predictor.MattingPredictor`.

    >>> video = VideoMatting(MattingPredictor.from_pretrained("tiny"))
    >>> video.prompt(0, box=[100, 80, 300, 260])              # object "obj1" on frame 0
    >>> video.prompt(40, box=[140, 90, 330, 270])             # re-prompt it on frame 40
    >>> run = video.run("clip.mp4", "out/")                    # obj1/alpha/000000.png …, obj1/alpha.mp4

    Args:
        predictor: the matting predictor (its SAM, M2M and refinement settings are used).
        config: how prompts are carried between frames (:class:`VideoConfig`).
        sam2: a :class:`Sam2Masks` to propagate masks with SAM 2 instead (see the module docstring).
    """

    def __init__(self, predictor: MattingPredictor, config: VideoConfig | None = None,
                 sam2: "Sam2Masks | None" = None) -> None:
        self.predictor = predictor
        self.config = (config or VideoConfig()).check()
        self.sam2 = sam2
        self.keyframes: dict[str, dict[int, Keyframe]] = {}

    # ------------------------------------------------------------------ prompts

    def prompt(self, frame: int, box=None, points=None, labels=None, mask=None, text: str | None = None,
               obj: str = "obj1") -> Keyframe:
        """Prompt object ``obj`` on ``frame`` (a keyframe); a second prompt on the same frame replaces it.

        ``box``: ``x0, y0, x1, y1`` pixels; ``points`` ``(N,2)`` + ``labels`` ``(N,)`` (default all 1);
        ``mask``: ``(H,W)`` coarse mask (bool, 0/1, 0..255 or floats in [0,1]); ``text``: a phrase for
        the predictor's text detector. Box and points may be combined; a mask or a text stands alone.
        """
        if not isinstance(obj, str) or not obj or "/" in obj or obj.startswith(".") or obj in OUTPUTS:
            raise PromptError(f"an object name must be a plain folder name, got {obj!r}")
        if int(frame) < 0:
            raise PromptError(f"frames are numbered from 0, got {frame}")
        spatial = box is not None or points is not None
        given = sum(x is not None for x in (mask, text)) + spatial
        if given == 0:
            raise PromptError("give a prompt: a box, points, a mask or a text")
        if given > 1:
            raise PromptError("give a box and/or points, or a mask, or a text — not several kinds at once")
        key = Keyframe(int(frame))
        if box is not None:
            b = np.asarray(box, np.float32).reshape(-1)
            if b.size != 4 or not np.isfinite(b).all() or b[2] <= b[0] or b[3] <= b[1]:
                raise PromptError(f"a box is x0, y0, x1, y1 with x1 > x0 and y1 > y0, got {np.asarray(box).tolist()}")
            key.box = b
        if points is not None:
            pts = np.asarray(points, np.float32).reshape(-1, 2)
            lab = np.ones(len(pts), np.int64) if labels is None else np.asarray(labels, np.int64).reshape(-1)
            if len(lab) != len(pts) or not len(pts):
                raise PromptError(f"give one label per point: {len(pts)} points, {len(lab)} labels")
            key.points, key.labels = pts, lab
        if mask is not None:
            if self.sam2 is None and not _supports_mask(self.predictor):
                raise PromptError("this predictor takes no mask prompt (MattingPredictor.predict(mask=…)); prompt with "
                                  "a box or points instead")
            m = np.asarray(mask)
            if m.ndim != 2:
                raise PromptError(f"a mask is an (H, W) array, got shape {m.shape}")
            key.mask = (matte_to_unit(m, "the mask") > 0.5) if m.dtype != bool else m.copy()
            if not key.mask.any():
                raise PromptError("the mask is empty: it marks no pixel of the object")
        if text is not None:
            if not str(text).strip():
                raise PromptError("the text prompt is empty; give a phrase such as 'the cat'")
            key.text = str(text)
        self.keyframes.setdefault(obj, {})[key.frame] = key
        return key

    def clear(self, obj: str | None = None) -> None:
        """Forget the prompts of ``obj`` (all objects when None)."""
        if obj is None:
            self.keyframes.clear()
        else:
            self.keyframes.pop(obj, None)

    @property
    def objects(self) -> list[str]:
        return [o for o, keys in self.keyframes.items() if keys]

    # ------------------------------------------------------------------ the plan

    def plan(self, frames: int) -> list[_Step]:
        """The steps of a run over ``frames`` frames, in order: forward from each object's first keyframe
        to the end (re-prompted at its keyframes), then backward from it to frame 0."""
        if not self.objects:
            raise PromptError("no object is prompted: call prompt(frame, box=…) first")
        first = {o: min(self.keyframes[o]) for o in self.objects}
        late = [(o, f) for o, keys in self.keyframes.items() for f in keys if f >= frames]
        if late:
            raise PromptError(f"object {late[0][0]!r} is prompted on frame {late[0][1]}, but the clip has frames "
                              f"0..{frames - 1}")
        steps: list[_Step] = []
        for f in range(min(first.values()), frames):
            for o in self.objects:
                if f in self.keyframes[o]:
                    steps.append(_Step(f, o, "keyframe", None))
                elif f > first[o]:
                    steps.append(_Step(f, o, "forward", f - 1))
        for f in range(max(first.values()) - 1, -1, -1):
            for o in self.objects:
                if f < first[o]:
                    steps.append(_Step(f, o, "backward", f + 1))
        return steps

    # ------------------------------------------------------------------ running

    def _manifest(self, clip: FrameSource, outputs, background) -> dict:
        source = clip.info.source
        ident: dict = {"path": source, "frames": len(clip), "size": list(clip.size)}
        if source == "<array>":  # frames in memory: known by their content
            digest = hashlib.sha1()
            for _, frame in clip.iter_frames():
                digest.update(frame.tobytes())
            ident["sha1"] = digest.hexdigest()
        else:
            ident["path"] = os.path.realpath(source)
            if Path(source).is_file():
                ident["bytes"] = Path(source).stat().st_size
        record = {"source": ident,
                  "prompts": {o: [self.keyframes[o][f].record() for f in sorted(self.keyframes[o])]
                              for o in self.objects},
                  "config": asdict(self.config), "predictor": self.predictor.description,
                  "refinement": repr(self.predictor.refinement), "outputs": list(outputs),
                  "background": background if isinstance(background, (list, tuple)) else str(background),
                  "sam2": None if self.sam2 is None else self.sam2.description}
        return json.loads(json.dumps(record))

    def _open_folder(self, out: Path, manifest: dict, overwrite: bool) -> None:
        """Refuse a folder that is not ours or holds a run with other settings; clear it with ``overwrite``."""
        marker = read_marker(out) if out.is_dir() else None
        present = [p for p in out.iterdir() if p.name not in (".mam_lib.lock",)] if out.is_dir() else []
        if marker is None or marker.get("kind") != RUN_KIND:
            if present:
                raise OutputError(f"{str(out)!r} already holds files that no video matting run wrote; they are left "
                                  "alone: choose an empty or new folder")
            return
        try:
            earlier = json.loads((out / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = None
        if earlier == manifest:
            return  # resume
        if not overwrite:
            what = [k for k in manifest if earlier is None or earlier.get(k) != manifest[k]]
            raise OutputError(f"{str(out)!r} holds a video matting run with other {', '.join(what) or 'settings'}; "
                              "pass --overwrite (overwrite=True) to start it again, or choose another folder "
                              "(the same settings resume it)")
        for o in marker.get("objects", []):  # our own folders only
            target = out / str(o)
            if target.is_dir() and not target.is_symlink() and target.resolve().parent == out.resolve():
                shutil.rmtree(target)

    def run(self, source: "str | os.PathLike | np.ndarray | FrameSource", out_dir: "str | os.PathLike | None" = None,
            outputs: Sequence[str] = OUTPUTS, background=(0, 177, 64), videos: bool = True, overwrite: bool = False,
            progress: bool = True, callback: Callable[[FrameResult], None] | None = None,
            inputs: Iterable["str | os.PathLike"] = ()) -> VideoRun:
        """Matte every prompted object on every frame of ``source``.

        Args:
            source: a video file, a folder of frames, an array ``(T,H,W,3)`` or a
                :class:`~mam_lib.io.video.FrameSource`.
            out_dir: where to write (see the module docstring), resuming what an earlier run with the same
                settings wrote; None keeps the alphas in memory (``VideoRun.alphas``).
            outputs: which of :data:`OUTPUTS` to write (``alpha`` is needed by smoothing and the videos).
            background: the composite's background: an RGB colour or an image (array or path).
            videos: encode ``alpha.mp4`` (and ``composite.mp4``) when the run is complete.
            overwrite: start again in a folder holding a run with other settings.
            progress: a tqdm bar (frames/s and the time left).
            callback: called with each :class:`FrameResult` after it is stored (an exception it raises
                stops the run; what is stored stays).
            inputs: files the outputs must not replace (the clip itself is always one).

        Returns a :class:`VideoRun`.
        """
        from tqdm.auto import tqdm

        t_start = time.perf_counter()
        clip = open_frames(source)
        try:
            return self._run_on(clip, out_dir, outputs, background, videos, overwrite, progress, callback, inputs,
                                t_start, tqdm)
        finally:
            if clip is not source:  # opened here
                clip.close()

    def _run_on(self, clip: FrameSource, out_dir, outputs, background, videos, overwrite, progress, callback, inputs,
                t_start, tqdm) -> VideoRun:
        outputs = tuple(outputs)
        bad = [o for o in outputs if o not in OUTPUTS]
        if bad:
            raise ConfigError(f"unknown output(s) {', '.join(bad)}; choose from {', '.join(OUTPUTS)}")
        if out_dir is not None and "alpha" not in outputs:
            raise ConfigError("the outputs must include 'alpha' (the propagation and the videos read it back)")
        if isinstance(background, (list, tuple)):
            background = list(check_color(background))
        steps = self.plan(len(clip))
        summary = VideoRun(len(clip), self.objects)
        if out_dir is None:
            store = _MemoryStore(self.objects, len(clip), clip.size)
            return self._run(clip, steps, store, summary, progress, callback, tqdm, t_start, keep=True)
        srcs = [clip.info.source] if clip.info.source != "<array>" else []
        out = check_output_dir(out_dir, inputs=[s for s in srcs if Path(s).is_dir()], what="output folder")
        real_out = Path(os.path.realpath(out))
        for s in list(srcs) + [str(p) for p in inputs]:  # the outputs live in out/<object>/ and out/run.json
            real = Path(os.path.realpath(s))
            if real == real_out / "run.json" or any(real_out / o in real.parents or real == real_out / o
                                                    for o in self.objects):
                raise OutputError(f"the input {str(s)!r} lies where this run writes its outputs ({str(out)!r}); move it "
                                  "or choose another output folder")
        manifest = self._manifest(clip, outputs, background)
        with run_lock(out, "video matting run"):
            self._open_folder(out, manifest, overwrite)
            mark_folder(out, RUN_KIND, objects=self.objects, complete=False)
            atomic_write_text(out / "run.json", json.dumps(manifest, indent=1) + "\n")
            store = _FolderStore(out, self.objects, outputs, background if not isinstance(background, list)
                                 else tuple(background))
            summary.out_dir = out
            self._run(clip, steps, store, summary, progress, callback, tqdm, t_start, keep=False)
            complete = all(store.done(s.obj, s.frame) for s in steps)
            if complete and videos:
                for o in self.objects:
                    for kind in ("alpha", "composite"):
                        if kind in outputs:
                            target = out / o / f"{kind}.mp4"
                            summary.videos.append(write_video_from_sequence(target, store.seqs[o][kind], len(clip),
                                                                            clip.fps))
            mark_folder(out, RUN_KIND, objects=self.objects, complete=complete)
        summary.wall_s = time.perf_counter() - t_start
        return summary

    def _run(self, clip: FrameSource, steps: list[_Step], store, summary: VideoRun, progress: bool, callback,
             tqdm, t_start: float, keep: bool) -> VideoRun:
        todo = [s for s in steps if not store.done(s.obj, s.frame)]
        summary.skipped = len(steps) - len(todo)
        sam2_masks = None
        if self.sam2 is not None and todo:
            sam2_masks = self.sam2.masks(clip, self.keyframes, progress=progress)
        # the frames in the order of the plan, each with its steps (objects share the frame's encoding)
        groups: list[tuple[int, list[_Step]]] = []
        for s in todo:
            if groups and groups[-1][0] == s.frame:
                groups[-1][1].append(s)
            else:
                groups.append((s.frame, [s]))
        bar = tqdm(total=len(groups), desc="matting frames", unit="frame", disable=not progress)
        last: dict[str, tuple[int, _State]] = {}  # the newest state of each object, to skip reading it back
        try:
            for direction in ("forward", "backward"):
                mine = [(f, g) for f, g in groups if (g[0].source == "backward") == (direction == "backward")]
                if not mine:
                    continue
                frames = clip.iter_frames([f for f, _ in mine])
                for f, group in mine:
                    t0 = time.perf_counter()
                    index, image = next(frames)
                    assert index == f
                    t1 = time.perf_counter()
                    summary.timings["decode"] += (t1 - t0) * 1000
                    self.predictor.set_image(image)
                    summary.timings["encode"] += self.predictor.encode_ms
                    for k, step in enumerate(group):
                        prev = None
                        if step.prev is not None:
                            cached = last.get(step.obj)
                            prev = cached[1] if cached is not None and cached[0] == step.prev else \
                                store.state(step.obj, step.prev)
                        result = self._step(step, image, prev, sam2_masks)
                        if k == 0:
                            result.timings["encode"] = self.predictor.encode_ms
                        tw = time.perf_counter()
                        state = _State(result.box, result.logits, alpha_to_uint8(result.alpha), result.lost)
                        store.save(step.obj, step.frame, image, result.alpha, state)
                        summary.timings["write"] += (time.perf_counter() - tw) * 1000
                        for stage in ("sam", "m2m", "refine"):
                            summary.timings[stage] += result.timings.get(stage, 0.0)
                        last[step.obj] = (step.frame, state)
                        summary.computed.append((step.frame, step.obj))
                        if keep:
                            summary.results.append(result)
                        if callback is not None:
                            callback(result)
                    bar.update(1)
        finally:
            bar.close()
            summary.wall_s = time.perf_counter() - t_start
        if keep:
            summary.alphas = store.alphas
        return summary

    def _step(self, step: _Step, image: np.ndarray, prev: _State | None, sam2_masks) -> FrameResult:
        cfg = self.config
        size = image.shape[:2]
        key = self.keyframes[step.obj].get(step.frame) if step.source == "keyframe" else None
        if sam2_masks is not None:
            mask = sam2_masks.get((step.obj, step.frame))
            if mask is None or not mask.any():
                mask = None
            prompt = {"mask": "sam2"}
            if mask is not None:
                result = self.predictor.predict(mask=mask, guidance=cfg.guidance)
            elif prev is not None:  # SAM 2 lost it: fall back to the box of the neighbour
                prompt = {"box": grow_box(prev.box, cfg.box_margin, size).tolist(), "mask_input": False}
                result = self.predictor.predict(box=prompt["box"], guidance=cfg.guidance)
            elif key is not None:
                result, prompt = self._keyframe_result(key, size), key.record()
            else:  # SAM 2 gives nothing and there is nothing to fall back on: an empty matte
                zero = np.zeros(size, np.float32)
                return FrameResult(step.frame, step.obj, zero, np.array([0, 0, size[1], size[0]], np.float32),
                                   np.full((1, 256, 256), -20.0, np.float32), "sam2", prompt, True, {})
            source = "sam2"
        elif key is not None:
            result = self._keyframe_result(key, size)
            prompt, source = key.record(), "keyframe"
        else:
            box = grow_box(prev.box, cfg.box_margin, size) if cfg.use_box else None
            mask_input = prev.logits if cfg.use_mask_input and not prev.lost else None
            if box is None and mask_input is None:  # lost, and no box carried: fall back to the last box
                box = grow_box(prev.box, cfg.box_margin, size)
            prompt = {"box": None if box is None else [round(float(v), 2) for v in box],
                      "mask_input": mask_input is not None}
            result = self.predictor.predict(box=box, mask_input=None if mask_input is None else
                                            torch.as_tensor(mask_input), guidance=cfg.guidance)
            source = step.source
        alpha = result.alpha
        if cfg.smoothing > 0 and prev is not None and source != "keyframe":
            alpha = ((1.0 - cfg.smoothing) * alpha + cfg.smoothing * (prev.alpha_u8.astype(np.float32) / 255.0)
                     ).astype(np.float32)
        box = box_of(alpha, 0.5, cfg.min_pixels)
        lost = box is None
        if lost:
            box = prev.box if prev is not None else (result.box if result.box is not None else
                                                     np.array([0, 0, size[1], size[0]], np.float32))
        logits = result.sam.logits_lowres.detach().float().cpu().numpy().reshape(1, 256, 256)
        logits = logits.astype(np.float16).astype(np.float32)  # as stored, so a resumed run continues identically
        return FrameResult(step.frame, step.obj, alpha, np.asarray(box, np.float32), logits, source, prompt, lost,
                           dict(result.timings))

    def _keyframe_result(self, key: Keyframe, size: tuple[int, int]):
        g = self.config.guidance
        if key.mask is not None:
            if key.mask.shape != tuple(size):
                raise PromptError(f"the mask of frame {key.frame} is {key.mask.shape[1]}×{key.mask.shape[0]} but the "
                                  f"clip is {size[1]}×{size[0]}")
            return self.predictor.predict(mask=key.mask, guidance=g)
        if key.text is not None:
            return self.predictor.predict(text=key.text, guidance=g)
        return self.predictor.predict(box=key.box, points=key.points, labels=key.labels, guidance=g)


# ---------------------------------------------------------------------------- SAM 2


#: Where SAM 2's package and weights come from (said by the errors).
SAM2_INSTALL = ("install SAM 2's package (`pip install sam2`, or `pip install "
                "git+https://github.com/facebookresearch/sam2`) and download a checkpoint such as "
                "sam2.1_hiera_tiny.pt from https://github.com/facebookresearch/sam2#model-description")
#: Checkpoint file name → its model config in the sam2 package.
SAM2_CONFIGS = {
    "sam2.1_hiera_tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_large": "configs/sam2.1/sam2.1_hiera_l.yaml",
    "sam2_hiera_tiny": "configs/sam2/sam2_hiera_t.yaml",
    "sam2_hiera_small": "configs/sam2/sam2_hiera_s.yaml",
    "sam2_hiera_base_plus": "configs/sam2/sam2_hiera_b+.yaml",
    "sam2_hiera_large": "configs/sam2/sam2_hiera_l.yaml",
}


class Sam2Masks:
    """Masks for every frame and object from SAM 2's video predictor.

    ``video_predictor``: an object with SAM 2's ``SAM2VideoPredictor`` methods ``init_state(video_path=)``,
    ``add_new_points_or_box(...)``, ``add_new_mask(...)`` and ``propagate_in_video(state, reverse=)``;
    :meth:`from_checkpoint` builds the real one. The frames are handed to it as a folder of JPEG files
    (``00000.jpg`` …), the input its ``init_state`` reads; text keyframes are first turned into a box by
    the matting predictor's text detector.
    """

    def __init__(self, video_predictor, description: str = "SAM 2", text_boxes: Callable | None = None) -> None:
        self.video_predictor = video_predictor
        self.description = description
        self.text_boxes = text_boxes

    @classmethod
    def from_checkpoint(cls, checkpoint: "str | os.PathLike", config: str | None = None,
                        device: str | None = None) -> "Sam2Masks":
        """SAM 2's video predictor from its package and ``checkpoint`` (a ``.pt`` file of SAM 2 / 2.1);
        ``config`` defaults to the one named like the file (:data:`SAM2_CONFIGS`)."""
        try:
            from sam2.build_sam import build_sam2_video_predictor
        except ImportError:
            raise MissingExtraError(f"propagating with SAM 2 needs its package, which is not installed: {SAM2_INSTALL}") from None
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise CheckpointError(f"the SAM 2 checkpoint {str(checkpoint)!r} does not exist: {SAM2_INSTALL}")
        if config is None:
            config = SAM2_CONFIGS.get(path.stem)
            if config is None:
                raise ConfigError(f"cannot tell the model config of {path.name!r}; give it (--sam2-config), one of "
                                  f"{', '.join(sorted(set(SAM2_CONFIGS.values())))}")
        dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            predictor = build_sam2_video_predictor(config, str(path), device=dev)
        except Exception as err:  # hydra / torch errors of a wrong file or config
            raise CheckpointError(f"SAM 2 could not load {str(path)!r} with config {config!r}: {err}") from None
        return cls(predictor, f"SAM 2 ({path.name})")

    def masks(self, clip: FrameSource, keyframes: dict[str, dict[int, Keyframe]],
              progress: bool = True) -> dict[tuple[str, int], np.ndarray]:
        """``{(obj, frame): (H,W) bool}`` for every frame SAM 2 reaches, forward then backward from the
        prompted frames."""
        from tqdm.auto import tqdm

        ids = {o: i + 1 for i, o in enumerate(keyframes)}
        names = {i: o for o, i in ids.items()}
        out: dict[tuple[str, int], np.ndarray] = {}
        with tempfile.TemporaryDirectory(prefix="mam_sam2_") as tmp:
            from PIL import Image

            for i, frame in tqdm(clip.iter_frames(), total=len(clip), desc="frames for SAM 2", unit="frame",
                                 disable=not progress):
                Image.fromarray(frame).save(Path(tmp) / f"{i:05d}.jpg", quality=95)
            vp = self.video_predictor
            with torch.inference_mode():
                state = vp.init_state(video_path=tmp)
                for o, keys in keyframes.items():
                    for f, key in sorted(keys.items()):
                        if key.mask is not None:
                            vp.add_new_mask(inference_state=state, frame_idx=f, obj_id=ids[o], mask=key.mask)
                            continue
                        box = key.box
                        if key.text is not None:
                            if self.text_boxes is None:
                                raise PromptError("a text keyframe with SAM 2 needs the matting predictor's text detector")
                            box = self.text_boxes(clip.frame(f), key.text)
                        vp.add_new_points_or_box(inference_state=state, frame_idx=f, obj_id=ids[o], points=key.points,
                                                 labels=key.labels, box=box)
                for reverse in (False, True):
                    for f, obj_ids, logits in vp.propagate_in_video(state, reverse=reverse):
                        for j, oid in enumerate(obj_ids):
                            m = np.asarray((logits[j] > 0.0).cpu().numpy() if torch.is_tensor(logits[j])
                                           else np.asarray(logits[j]) > 0.0).reshape(clip.size)
                            out.setdefault((names[int(oid)], int(f)), m)
        return out

"""The state of an interactive matting session, independent of any user interface.

A :class:`MattingSession` holds one image (encoded once by SAM), a list of objects — each with its
own prompt and matte, or a merge of two others — an undo history and a cache of results. The
ipywidgets view (:class:`mam_lib.widget.app.MattingWidget`) is a thin layer over it; scripts and
tests drive the same methods directly::

    session = MattingSession(predictor)
    session.set_image("data_samples/demo/image.png")     # the image encoder runs here, once
    session.add_point(289, 391)                          # prompt encoder + mask decoder + M2M + refinement
    session.set_box([107, 51, 472, 464])                 # box + points combine
    session.undo()
    session.export("outputs/widget", "demo")             # alpha, RGBA and composite PNGs + prompts JSON

Every mutating method is all-or-nothing: the prompt is validated and the matte computed first,
and only then is the state changed and the previous state pushed on the undo stack. A prompt that
SAM cannot take (a point outside the image, an empty box) raises :class:`PromptError` and leaves
the session as it was.
"""
from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..io.atomic import atomic_write_text
from ..io.cutout import save_alpha, save_composite, save_rgba
from ..errors import PromptError
from ..io.images import load_image
from ..inference.refinement import RefinementConfig
from .prompts import (PROMPTS_FORMAT, PROMPTS_VERSION, ObjectPrompts, prompts_from_dict, refinement_from_dict,
                      refinement_to_dict, validate_prompts)

#: listener(kind, detail): kind is "busy" (detail = what runs), "idle", "image" or "state".
Listener = Callable[[str, "str | None"], None]


def merge_alpha(*alphas: np.ndarray) -> np.ndarray:
    """Union of soft mattes: ``α = 1 − Π(1 − αᵢ)``; each ``(H,W)`` float in [0,1] → ``(H,W)`` float32.

    For two mattes this is ``1 − (1 − α₁)(1 − α₂)``: the probability that a pixel belongs to either
    object when coverage is independent — 1 where either is opaque, never darker than either.
    """
    if not alphas:
        raise PromptError("merge_alpha needs at least one matte")
    rest = np.ones(np.shape(alphas[0]), np.float32)
    for a in alphas:
        if np.shape(a) != rest.shape:
            raise PromptError(f"mattes to merge differ in size: {np.shape(a)} vs {rest.shape}")
        rest *= 1.0 - np.clip(np.asarray(a, np.float32), 0.0, 1.0)
    return 1.0 - rest


@dataclass
class PromptLatency:
    """How long one prompt took to become a refined alpha (milliseconds).

    ``total`` is the wall time measured around the whole call; ``sam`` (prompt encoder + mask
    decoder), ``m2m`` and ``refine`` come from :class:`MattingResult.timings`. ``cached`` is True when
    the same prompt was computed before (undo, reloading prompts) and nothing ran.
    """

    total: float
    sam: float = 0.0
    m2m: float = 0.0
    refine: float = 0.0
    cached: bool = False

    def describe(self) -> str:
        if self.cached:
            return f"{self.total:.0f} ms (cached result)"
        return (f"{_fmt_ms(self.total)} (SAM decoder {_fmt_ms(self.sam)}, M2M {_fmt_ms(self.m2m)}, "
                f"refinement {_fmt_ms(self.refine)})")


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


@dataclass
class MattingObject:
    """One object of a session: its prompt and, once prompted, its result."""

    prompts: ObjectPrompts
    result: Any = None  # MattingResult, None while the object has no prompt (always None for merges)

    @property
    def name(self) -> str:
        return self.prompts.name


@dataclass
class _Snapshot:
    prompts: tuple[ObjectPrompts, ...]
    current: int
    action: str


@dataclass
class SessionSummary:
    """What the status line shows: the current object, its prompt, coverage and latency."""

    name: str
    prompt: str
    n_points: int
    n_foreground: int
    n_background: int
    has_box: bool
    coverage: float  # mean alpha of the current object, in [0, 1]
    iou: float | None  # SAM's predicted IoU (None for merges and empty objects)
    latency: PromptLatency | None
    last_action: str
    n_objects: int
    extra: dict = field(default_factory=dict)

    def text(self) -> str:
        parts = [f"{self.name}: {self.prompt}", f"α coverage {100 * self.coverage:.1f}%"]
        if self.iou is not None:
            parts.append(f"SAM IoU {self.iou:.2f}")
        if self.latency is not None:
            parts.append(f"prompt → alpha {self.latency.describe()}")
        return " · ".join(parts)


class MattingSession:
    """Image, objects, prompts, undo and export on top of a :class:`~mam_lib.inference.predictor.MattingPredictor`.

    Args:
        predictor: the predictor to use; None builds :func:`~mam_lib.inference.predictor.default_predictor`
            (published weights when cached, else the tiny random SAM and a random M2M).
        refinement: refinement settings (guidance, band widths); default: the predictor's.
        cache_mb: memory budget of the result cache (undo and reloading prompts reuse results).
    """

    def __init__(self, predictor=None, refinement: RefinementConfig | None = None, *, cache_mb: float = 512.0) -> None:
        if predictor is None:
            from ..inference.predictor import default_predictor

            predictor, self.uses_real_weights = default_predictor()
        else:
            self.uses_real_weights = None
        self.predictor = predictor
        self.refinement: RefinementConfig = refinement or getattr(predictor, "refinement", None) or RefinementConfig()
        self.image: np.ndarray | None = None
        self.image_name: str | None = None
        self.encode_ms: float | None = None
        self.encode_count = 0  # how many times this session ran the image encoder
        self.latency: PromptLatency | None = None  # of the last prompt
        self.latencies: list[PromptLatency] = []
        self.last_action = "no image loaded"
        self._objects: list[MattingObject] = []
        self._current = 0
        self._history: list[_Snapshot] = []
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_budget = int(cache_mb * 2**20)
        self._listeners: list[Listener] = []

    # --- listeners ------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(kind, detail)`` on changes: ``"busy"`` (before slow work, detail says what),
        ``"idle"`` (after it), ``"image"`` (a new image) and ``"state"`` (prompts, objects, settings)."""
        self._listeners.append(listener)

    def _emit(self, kind: str, detail: str | None = None) -> None:
        for fn in list(self._listeners):
            fn(kind, detail)

    # --- the image ------------------------------------------------------------------------------

    @property
    def has_image(self) -> bool:
        return self.image is not None

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the current image."""
        self._require_image()
        return self.image.shape[:2]

    def _require_image(self) -> None:
        if self.image is None:
            raise PromptError("no image is loaded: load one first (a path, an array, an upload or a sample)")

    def set_image(self, image, name: str | None = None) -> float:
        """Load and encode ``image`` (a path, a PIL image or an ``(H,W,3)``/``(H,W)``/``(H,W,4)`` array).

        The SAM image encoder runs here, once per image; every prompt after it reuses the encoding.
        All objects, the undo history and the cache are cleared. Returns the encoding time in ms.
        Raises :class:`~mam_lib.errors.ImageReadError` for an image that cannot be read (the session
        is unchanged).
        """
        arr = load_image(image)
        if name is None:
            name = Path(image).name if isinstance(image, (str, os.PathLike)) else f"array {arr.shape[1]}×{arr.shape[0]}"
        self._emit("busy", f"Encoding {name} ({arr.shape[1]}×{arr.shape[0]}) with SAM's image encoder — once per image")
        try:
            self.predictor.set_image(arr)
        finally:
            self._emit("idle")
        self.encode_count += 1
        self.image = self.predictor.image
        self.image_name = name
        self.encode_ms = float(getattr(self.predictor, "encode_ms", 0.0))
        self._objects = [MattingObject(ObjectPrompts("object 1"))]
        self._current = 0
        self._history.clear()
        self._cache.clear()
        self.latency = None
        self.last_action = f"loaded {name}"
        self._emit("image")
        self._emit("state")
        return self.encode_ms

    def _ensure_encoded(self) -> None:
        """Re-encode if the predictor was pointed at another image since (e.g. shared by two sessions)."""
        if getattr(self.predictor, "image", None) is not self.image:
            self._emit("busy", "Re-encoding the image (the predictor was used for another image)")
            try:
                self.predictor.set_image(self.image)
            finally:
                self._emit("idle")
            self.encode_count += 1
            self.image = self.predictor.image

    # --- objects --------------------------------------------------------------------------------

    @property
    def objects(self) -> list[MattingObject]:
        return list(self._objects)

    @property
    def object_names(self) -> list[str]:
        return [o.name for o in self._objects]

    @property
    def current(self) -> MattingObject:
        self._require_image()
        return self._objects[self._current]

    def _index(self, name: str | int | None) -> int:
        if name is None:
            return self._current
        if isinstance(name, (int, np.integer)):
            if not 0 <= int(name) < len(self._objects):
                raise PromptError(f"there is no object #{int(name)}; the session has {len(self._objects)}")
            return int(name)
        names = self.object_names
        if name not in names:
            raise PromptError(f"there is no object {name!r}; the objects are {names}")
        return names.index(name)

    def get(self, name: str | int | None = None) -> MattingObject:
        self._require_image()
        return self._objects[self._index(name)]

    def _new_name(self) -> str:
        i = len(self._objects) + 1
        while f"object {i}" in self.object_names:
            i += 1
        return f"object {i}"

    def add_object(self, name: str | None = None) -> str:
        """Add an empty object and make it current; returns its name."""
        self._require_image()
        name = (name or "").strip() or self._new_name()
        if name in self.object_names:
            raise PromptError(f"an object named {name!r} exists already; choose another name")
        self._push("add object")
        self._objects.append(MattingObject(ObjectPrompts(name)))
        self._current = len(self._objects) - 1
        self.last_action = f"added {name}"
        self._emit("state")
        return name

    def select(self, name: str | int) -> MattingObject:
        """Make an object current (clicks then go to it)."""
        self._require_image()
        self._current = self._index(name)
        self.last_action = f"selected {self.current.name}"
        self._emit("state")
        return self.current

    def remove_object(self, name: str | int | None = None) -> None:
        """Remove an object (undoable). Objects that a merge uses cannot be removed before the merge."""
        self._require_image()
        i = self._index(name)
        target = self._objects[i].name
        users = [o.name for o in self._objects if o.prompts.is_merge and target in o.prompts.merge_of]
        if users:
            raise PromptError(f"{target!r} is part of the merge {users[0]!r}: remove the merge first")
        self._push(f"remove {target}")
        del self._objects[i]
        if not self._objects:
            self._objects.append(MattingObject(ObjectPrompts("object 1")))
        if self._current > i or self._current == i:
            self._current = max(self._current - 1, 0)
        self._current = min(self._current, len(self._objects) - 1)
        self.last_action = f"removed {target}"
        self._emit("state")

    def merge(self, first: str, second: str, name: str | None = None) -> str:
        """Add an object whose matte is ``1 − (1 − α₁)(1 − α₂)`` of two others (kept live: editing
        either source updates it). Returns its name; it becomes current."""
        self._require_image()
        a, b = self.get(first).name, self.get(second).name
        if a == b:
            raise PromptError("choose two different objects to merge")
        name = (name or "").strip() or f"{a} + {b}"
        if name in self.object_names:
            raise PromptError(f"an object named {name!r} exists already")
        self._push(f"merge {a} and {b}")
        self._objects.append(MattingObject(ObjectPrompts(name, merge_of=(a, b))))
        self._current = len(self._objects) - 1
        self.last_action = f"merged {a} and {b}"
        self._emit("state")
        return name

    # --- prompts --------------------------------------------------------------------------------

    def _editable(self) -> MattingObject:
        obj = self.current
        if obj.prompts.is_merge:
            a, b = obj.prompts.merge_of
            raise PromptError(f"{obj.name!r} is a merge of {a!r} and {b!r}: select one of them to add prompts")
        return obj

    def add_point(self, x: float, y: float, label: int = 1) -> MattingObject:
        """Add a point to the current object (label 1 = foreground, 0 = background) and recompute its matte."""
        self._require_image()
        obj = self._editable()
        if label not in (0, 1):
            raise PromptError(f"a point label is 1 (foreground) or 0 (background), got {label!r}")
        kind = "foreground" if label == 1 else "background"
        return self._apply(obj.prompts.with_point(x, y, label), f"{kind} point ({x:.0f}, {y:.0f})")

    def set_box(self, box: Sequence[float]) -> MattingObject:
        """Set the current object's box ``x0, y0, x1, y1`` (pixels; a box sticking out is clipped,
        corners given in any order are sorted) and recompute its matte. Points are kept: box and
        points combine."""
        self._require_image()
        obj = self._editable()
        b = np.asarray(box, dtype=np.float64).reshape(-1)
        if b.size != 4 or not np.isfinite(b).all():
            raise PromptError(f"a box is four numbers x0, y0, x1, y1, got {list(np.asarray(box).reshape(-1))}")
        x0, x1 = sorted((b[0], b[2]))
        y0, y1 = sorted((b[1], b[3]))
        return self._apply(obj.prompts.with_box((x0, y0, x1, y1)),
                           f"box ({x0:.0f}, {y0:.0f}) – ({x1:.0f}, {y1:.0f})")

    def set_prompts(self, box: Sequence[float] | None = None, points=None, labels=None) -> MattingObject:
        """Replace the current object's whole prompt at once (one SAM + M2M run).

        ``box``: ``x0, y0, x1, y1`` or None; ``points``: ``(N,2)`` ``(x, y)`` pixels or None;
        ``labels``: ``(N,)`` 1/0 (default all foreground).
        """
        self._require_image()
        obj = self._editable()
        new = obj.prompts.cleared()
        if points is not None and len(points):
            pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
            lab = np.ones(len(pts), np.int64) if labels is None else np.asarray(labels).reshape(-1)
            if len(lab) != len(pts):
                raise PromptError(f"{len(pts)} points but {len(lab)} labels; give one label per point")
            for (x, y), v in zip(pts, lab):
                if int(v) not in (0, 1):
                    raise PromptError(f"a point label is 1 (foreground) or 0 (background), got {v!r}")
                new = new.with_point(x, y, int(v))
        if box is not None:
            b = np.asarray(box, dtype=np.float64).reshape(-1)
            if b.size != 4:
                raise PromptError(f"a box is four numbers x0, y0, x1, y1, got {b.tolist()}")
            new = new.with_box((min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])))
        if new.is_empty:
            raise PromptError("give a box, one or more points, or both")
        return self._apply(new, f"prompt set: {new.describe()}")

    def clear_object(self) -> None:
        """Remove every prompt of the current object (undoable)."""
        obj = self._editable()
        self._push(f"clear {obj.name}")
        obj.prompts = obj.prompts.cleared()
        obj.result = None
        self.last_action = f"cleared {obj.name}"
        self._emit("state")

    def _apply(self, prompts: ObjectPrompts, action: str) -> MattingObject:
        prompts = validate_prompts(prompts, self.size)
        result = self._compute(prompts, record=True)
        self._push(action)
        obj = self.current
        obj.prompts, obj.result = prompts, result
        self.last_action = action
        self._emit("state")
        return obj

    def _compute(self, prompts: ObjectPrompts, record: bool = False):
        """The refined result for ``prompts`` (None for an empty prompt), from the cache when possible."""
        if prompts.is_merge or prompts.is_empty:
            return None
        t0 = time.perf_counter()
        key = prompts.key()
        base = self._cache.get(key)
        if base is not None:
            self._cache.move_to_end(key)
            result = base if base.refinement == self.refinement else self.predictor.refine(base, self.refinement)
            if record:
                self._record(PromptLatency(total=(time.perf_counter() - t0) * 1000, cached=True))
            return result
        self._ensure_encoded()
        self._emit("busy", f"Computing the matte: {prompts.describe()}")
        try:
            result = self.predictor.predict(**prompts.predictor_kwargs(), refinement=self.refinement)
        finally:
            self._emit("idle")
        total = (time.perf_counter() - t0) * 1000
        self._store(key, result)
        if record:
            t = result.timings
            self._record(PromptLatency(total=total, sam=t.get("sam", 0.0), m2m=t.get("m2m", 0.0),
                                       refine=t.get("refine", 0.0)))
        return result

    def _record(self, latency: PromptLatency) -> None:
        self.latency = latency
        self.latencies.append(latency)

    def _store(self, key: tuple, result) -> None:
        self._cache[key] = result
        self._cache.move_to_end(key)
        sizes = {k: _result_nbytes(v) for k, v in self._cache.items()}
        while len(self._cache) > 1 and sum(sizes.values()) > self._cache_budget:
            old, _ = self._cache.popitem(last=False)
            sizes.pop(old)

    # --- history --------------------------------------------------------------------------------

    def _push(self, action: str) -> None:
        self._history.append(_Snapshot(tuple(o.prompts for o in self._objects), self._current, action))
        del self._history[:-200]

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    def undo(self) -> str | None:
        """Undo the last change of prompts or objects; returns what was undone (None if nothing)."""
        if not self._history:
            self.last_action = "nothing to undo"
            self._emit("state")
            return None
        snap = self._history[-1]
        results = [self._compute(p) for p in snap.prompts]  # cache hits for anything seen before
        self._history.pop()
        self._objects = [MattingObject(p, r) for p, r in zip(snap.prompts, results)]
        self._current = min(snap.current, len(self._objects) - 1)
        self.latency = None
        self.last_action = f"undid {snap.action}"
        self._emit("state")
        return snap.action

    def reset(self) -> None:
        """Start over on the same image: one empty object (undoable; the encoding is kept)."""
        self._require_image()
        self._push("reset")
        self._objects = [MattingObject(ObjectPrompts("object 1"))]
        self._current = 0
        self.latency = None
        self.last_action = "reset: click on the image to add a point, drag to draw a box"
        self._emit("state")

    # --- refinement -----------------------------------------------------------------------------

    def set_refinement(self, **changes) -> RefinementConfig:
        """Change refinement settings (``guidance``, ``width_os8``, ``width_os4``, ``width_os1``,
        ``two_sided``) and re-run only the refinement of every object (no SAM, no M2M)."""
        try:
            config = self.refinement.with_(**changes)
        except (TypeError, ValueError) as err:
            raise PromptError(f"bad refinement setting: {err}") from None
        if config == self.refinement:
            return config
        self.refinement = config
        for obj in self._objects:
            if obj.result is not None:
                obj.result = self.predictor.refine(obj.result, config)
        self.last_action = f"refinement: {config.guidance} guidance, bands os8 {config.width_os8} / os4 " \
                           f"{config.width_os4} / os1 {config.width_os1}"
        self._emit("state")
        return config

    # --- mattes ---------------------------------------------------------------------------------

    def alpha(self, name: str | int | None = None) -> np.ndarray:
        """The matte of an object (default: current), ``(H,W)`` float32 in [0,1]; zeros without a prompt."""
        obj = self.get(name)
        if obj.prompts.is_merge:
            return merge_alpha(*(self.alpha(n) for n in obj.prompts.merge_of))
        if obj.result is None:
            return np.zeros(self.size, np.float32)
        return obj.result.alpha

    def mask(self, name: str | int | None = None) -> np.ndarray:
        """SAM's mask of an object, ``(H,W)`` bool (the union of the sources for a merge)."""
        obj = self.get(name)
        if obj.prompts.is_merge:
            a, b = obj.prompts.merge_of
            return self.mask(a) | self.mask(b)
        if obj.result is None:
            return np.zeros(self.size, bool)
        return np.asarray(obj.result.mask, bool)

    def has_matte(self, name: str | int | None = None) -> bool:
        obj = self.get(name)
        if obj.prompts.is_merge:
            return any(self.has_matte(n) for n in obj.prompts.merge_of)
        return obj.result is not None

    def summary(self) -> SessionSummary:
        """The numbers the status line shows for the current object."""
        obj = self.current
        p = obj.prompts
        return SessionSummary(
            name=obj.name, prompt=p.describe(), n_points=len(p.points), n_foreground=p.n_foreground,
            n_background=p.n_background, has_box=p.box is not None, coverage=float(self.alpha().mean()),
            iou=None if obj.result is None else float(obj.result.sam.iou), latency=self.latency,
            last_action=self.last_action, n_objects=len(self._objects))

    # --- prompts as JSON ------------------------------------------------------------------------

    def prompts_dict(self) -> dict[str, Any]:
        """All objects' prompts, the current object and the refinement settings (see
        :mod:`mam_lib.widget.prompts` for the format)."""
        self._require_image()
        h, w = self.size
        return {"format": PROMPTS_FORMAT, "version": PROMPTS_VERSION,
                "image": {"name": self.image_name, "width": int(w), "height": int(h)},
                "current": self.current.name, "refinement": refinement_to_dict(self.refinement),
                "objects": [o.prompts.to_dict() for o in self._objects]}

    def to_json(self) -> str:
        return json.dumps(self.prompts_dict(), indent=2, ensure_ascii=False)

    def save_prompts(self, path: str | os.PathLike) -> Path:
        """Write :meth:`prompts_dict` as JSON (atomically)."""
        return atomic_write_text(path, self.to_json() + "\n")

    def load_prompts(self, source: "dict | str | bytes | os.PathLike") -> None:
        """Replace all objects with those of a prompts dict, JSON text/bytes or a JSON file (undoable).

        Raises :class:`PromptError` for a malformed file, prompts made on an image of another size,
        or prompts SAM cannot take; the session is then unchanged.
        """
        self._require_image()
        data = _read_prompts_source(source)
        objects, current, refinement, image = prompts_from_dict(data)
        h, w = self.size
        if image and "width" in image and "height" in image and (int(image["width"]), int(image["height"])) != (w, h):
            raise PromptError(f"these prompts were made on a {image['width']}×{image['height']} image "
                              f"({image.get('name')!r}); the current image is {w}×{h}: load the matching image first")
        config = refinement_from_dict(refinement, self.refinement)
        checked = []
        for p in objects:
            try:
                checked.append(validate_prompts(p, (h, w)))
            except PromptError as err:
                raise PromptError(f"prompts file, object {p.name!r}: {err}") from None
        previous = self.refinement
        self.refinement = config
        try:
            results = [self._compute(p) for p in checked]
        except BaseException:
            self.refinement = previous
            raise
        self._push("load prompts")
        self._objects = [MattingObject(p, r) for p, r in zip(checked, results)]
        self._current = [p.name for p in checked].index(current) if current else 0
        self.latency = None
        self.last_action = f"loaded prompts of {len(checked)} object{'s' if len(checked) != 1 else ''}"
        self._emit("state")

    # --- export ---------------------------------------------------------------------------------

    def export(self, folder: str | os.PathLike, stem: str | None = None, background=(0, 177, 64),
               name: str | int | None = None) -> dict[str, Path]:
        """Write an object's matte (default: current) as files people use, atomically.

        Writes ``<stem>_alpha.png`` (8-bit grey), ``<stem>_rgba.png`` (the cut-out with the matte as
        alpha channel), ``<stem>_composite.png`` (on ``background``: an RGB colour, an image array or a
        path) and ``<stem>_prompts.json`` (all objects, see :meth:`save_prompts`). ``stem`` defaults to
        the image's name plus the object's. Returns the paths by kind.
        """
        obj = self.get(name)
        if not self.has_matte(obj.name):
            raise PromptError(f"{obj.name!r} has no prompt yet, so there is no matte to export: "
                              "click on the object or draw a box first")
        folder = Path(folder)
        if stem is None or not str(stem).strip():
            base = Path(self.image_name or "image").stem
            stem = f"{base}_{obj.name}".replace(" ", "_").replace("+", "and")
        stem = str(stem).strip()
        if any(sep in stem for sep in ("/", "\\")) or stem in (".", ".."):
            raise PromptError(f"the file name stem {stem!r} must not contain a folder; set the folder separately")
        alpha = self.alpha(obj.name)
        try:
            paths = {
                "alpha": save_alpha(folder / f"{stem}_alpha.png", alpha),
                "rgba": save_rgba(folder / f"{stem}_rgba.png", self.image, alpha),
                "composite": save_composite(folder / f"{stem}_composite.png", self.image, alpha, background),
                "prompts": self.save_prompts(folder / f"{stem}_prompts.json"),
            }
        except PermissionError as err:
            raise PromptError(f"cannot write to {str(folder)!r} ({err.strerror}); choose another folder") from None
        self.last_action = f"exported {obj.name} to {folder}"
        self._emit("state")
        return paths


def _read_prompts_source(source) -> Any:
    if isinstance(source, dict):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        text = bytes(source).decode("utf-8", errors="replace")
    elif isinstance(source, str) and source.lstrip().startswith("{"):
        text = source
    else:
        path = Path(source)
        if not path.is_file():
            raise PromptError(f"prompts file {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PromptError(f"the prompts file is not valid JSON ({err.msg} at line {err.lineno})") from None


def _result_nbytes(result) -> int:
    total = 0
    for v in vars(result).values():
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif isinstance(v, dict):
            total += sum(a.nbytes for a in v.values() if isinstance(a, np.ndarray))
    return total

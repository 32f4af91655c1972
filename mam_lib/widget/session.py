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

Changes and computations
------------------------
A session keeps two kinds of work apart.

* A **change** edits the prompt state: a point, a box, a whole prompt, Undo, Reset, a new,
  selected, cleared, removed or merged object, refinement settings, loaded prompts, a new image.
  Changes are cheap and each runs entirely under the session's lock (:attr:`MattingSession.lock`),
  so changes made from several threads are applied one at a time, each to the state the one
  before it left. Listeners hear of a change while the lock is still held, so what they show is
  the state that change made.
* A **computation** turns one object's prompt into its matte (SAM's prompt encoder and mask
  decoder, M2M, the refinement; or only the refinement of a cached result). It is slow, so it runs
  *outside* the session's lock, one at a time per predictor. It is keyed by the prompt and the
  refinement settings it was started for: its result goes to the cache, and to each object whose
  prompt and settings are still exactly those. An object that changed meanwhile never shows it
  (Undo back to that prompt later finds it in the cache).

An object's ``result`` is therefore always the result of its current prompt at the session's
current settings, or None: no prompt, a merge, or not computed yet (:attr:`MattingSession.pending`).

The methods that need a computation (``add_point``, ``set_box``, ``set_prompts``, ``undo``,
``load_prompts``, ``set_refinement``) take ``wait``:

* ``wait=True`` (the default; scripts, notebooks, tests): the matte is computed *first* and the
  change made after, so the call returns with the matte, and is all-or-nothing: a prompt SAM
  cannot take (a point outside the image, an empty box) raises :class:`PromptError`, and an error
  while computing propagates, both leaving the session as it was.
* ``wait=False`` (the widget): the prompt is checked (a :class:`PromptError` still changes nothing)
  and the change made at once, with the matte pending; :meth:`MattingSession.compute_pending`
  then computes what the *current* state lacks. The widget runs that on one worker thread
  (:mod:`mam_lib.widget.worker`), so a click is drawn at once, and clicks made during a
  computation only change what the next one computes: intermediate states are never computed.
"""
from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..io.atomic import atomic_write_text
from ..io.cutout import foreground_colors, save_alpha, save_composite, save_rgba
from ..errors import PromptError
from ..io.images import load_image
from ..inference.refinement import RefinementConfig
from .prompts import (PROMPTS_FORMAT, MaskPrompt, ObjectPrompts, make_stroke, prompts_from_dict, refinement_from_dict,
                      refinement_to_dict, validate_prompts)

#: listener(kind, detail). ``"state"``: a change (any method that edits the session);
#: ``"result"``: computed mattes arrived (detail: the objects' names); ``"image"``: a new image;
#: ``"busy"`` / ``"idle"``: the predictor starts / ends slow work (detail: what runs).
Listener = Callable[[str, "str | None"], None]


def computing_message(prompts: ObjectPrompts) -> str:
    """What the busy line says while ``prompts``' matte is computed."""
    return f"Computing the matte of {prompts.name}: {prompts.describe()}"


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

    ``total`` runs from the prompt (the call, or the click) to its matte; ``queued`` is the part of
    it spent waiting for an earlier computation to end (clicks made during a computation wait for
    it). ``sam`` (prompt encoder + mask decoder), ``m2m`` and ``refine`` come from
    :class:`MattingResult.timings`. ``cached`` is True when the prompt's result was in the cache
    (undo, reloading prompts, a prompt seen before): SAM and M2M did not run.
    """

    total: float
    sam: float = 0.0
    m2m: float = 0.0
    refine: float = 0.0
    cached: bool = False
    queued: float = 0.0

    def describe(self) -> str:
        if self.cached:
            return f"{self.total:.0f} ms (cached result)"
        waited = f", waited {_fmt_ms(self.queued)} for the previous computation" if self.queued >= 10 else ""
        return (f"{_fmt_ms(self.total)} (SAM decoder {_fmt_ms(self.sam)}, M2M {_fmt_ms(self.m2m)}, "
                f"refinement {_fmt_ms(self.refine)}{waited})")


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


@dataclass
class MattingObject:
    """One object of a session: its prompt and the result of exactly that prompt.

    ``result`` is None while the object has no prompt, for merges, and while its matte is being
    computed (see :attr:`MattingSession.pending`).
    """

    prompts: ObjectPrompts
    result: Any = None  # MattingResult

    @property
    def name(self) -> str:
        return self.prompts.name


@dataclass
class _Snapshot:
    prompts: tuple[ObjectPrompts, ...]
    current: int
    action: str


@dataclass(frozen=True)
class _Job:
    """One computation: ``prompts`` at ``refinement``, on the image of generation ``epoch``."""

    epoch: int
    prompts: ObjectPrompts
    refinement: RefinementConfig

    @property
    def key(self) -> tuple:
        return (self.epoch, self.prompts.key(), self.refinement)


@dataclass(frozen=True)
class _Outcome:
    """What :meth:`MattingSession._produce` gave for a job: the result and how it was obtained."""

    result: Any
    computed: bool = False  # False: found in the cache, nothing ran
    full: bool = False  # True: SAM + M2M ran; False with ``computed``: only the refinement
    started: float = 0.0  # perf_counter() when the computation began

    def latency(self, since: float) -> PromptLatency:
        """The latency of a prompt made at ``since`` (perf_counter) that this outcome answers."""
        total = (time.perf_counter() - since) * 1000
        if not self.full:
            return PromptLatency(total=total, cached=True)
        t = self.result.timings
        return PromptLatency(total=total, sam=t.get("sam", 0.0), m2m=t.get("m2m", 0.0), refine=t.get("refine", 0.0),
                             queued=max(0.0, (self.started - since) * 1000))


@dataclass(frozen=True)
class _Awaiting:
    """The last prompt edit, made with its matte pending: its latency is measured when it arrives."""

    key: tuple
    refinement: RefinementConfig
    since: float


class SessionLock:
    """The session's re-entrant lock; :meth:`held` tells whether the calling thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()

    def __enter__(self) -> "SessionLock":
        self._lock.acquire()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        return self

    def __exit__(self, *exc) -> None:
        self._local.depth -= 1
        self._lock.release()

    def held(self) -> bool:
        return getattr(self._local, "depth", 0) > 0


_PREDICTOR_LOCKS: "weakref.WeakKeyDictionary[Any, threading.Lock]" = weakref.WeakKeyDictionary()
_PREDICTOR_LOCKS_GUARD = threading.Lock()


def _predictor_lock(predictor) -> threading.Lock:
    """The lock that lets one call at a time into ``predictor``, shared by every session using it
    (the predictor holds one image encoding, which a call may replace)."""
    with _PREDICTOR_LOCKS_GUARD:
        try:
            lock = _PREDICTOR_LOCKS.get(predictor)
            if lock is None:
                lock = _PREDICTOR_LOCKS[predictor] = threading.Lock()
        except TypeError:  # a predictor that cannot be weakly referenced: a lock of this session's own
            lock = threading.Lock()
    return lock


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
    iou: float | None  # SAM's predicted IoU (None for merges, empty objects and while computing)
    latency: PromptLatency | None
    last_action: str
    n_objects: int
    extra: dict = field(default_factory=dict)
    computing: bool = False  # the current object's matte is being computed
    error: str | None = None  # why the current object's matte could not be computed

    def text(self) -> str:
        parts = [f"{self.name}: {self.prompt}"]
        if self.computing:
            return " · ".join(parts + ["computing the matte…"])
        if self.error is not None:
            return " · ".join(parts + [f"the matte could not be computed: {self.error}"])
        parts.append(f"α coverage {100 * self.coverage:.1f}%")
        if self.iou is not None:
            parts.append(f"SAM IoU {self.iou:.2f}")
        if self.latency is not None:
            parts.append(f"prompt → alpha {self.latency.describe()}")
        return " · ".join(parts)


class MattingSession:
    """Image, objects, prompts, undo and export on top of a :class:`~mam_lib.inference.predictor.MattingPredictor`.

    Safe to use from several threads: changes are serialised by :attr:`lock`, computations by a
    lock per predictor (see the module's docstring).

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
        # prompt key → (the refinement it was computed at, the result)
        self._cache: OrderedDict[tuple, tuple[RefinementConfig, Any]] = OrderedDict()
        self._cache_budget = int(cache_mb * 2**20)
        self._listeners: list[Listener] = []
        self._lock = SessionLock()
        self._compute_lock = _predictor_lock(predictor)
        self._epoch = 0  # generation of the image; computations for an older one are dropped
        self._failed: dict[tuple, str] = {}  # job key → error message (not retried by compute_pending)
        self._awaiting: _Awaiting | None = None

    @property
    def lock(self) -> SessionLock:
        """The lock every change holds. Hold it (``with session.lock:``) to read several things that
        must agree, as a view does. Do not compute while holding it: :meth:`compute_pending`,
        :meth:`set_image`, every ``wait=True`` call and :meth:`export` of a pending matte raise
        ``RuntimeError`` then, because a computation ending needs the lock to store its result."""
        return self._lock

    # --- listeners ------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(kind, detail)`` on changes (see :data:`Listener` for the kinds).

        Listeners run on the thread that made the change (a worker thread for computed results).
        ``"state"``, ``"result"`` and ``"image"`` come while :attr:`lock` is held, so a listener sees
        the state the change made; it may read the session and make ``wait=False`` changes, but must
        not compute."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

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
        It waits for a computation in progress to end; a computation pending for the previous image
        is dropped. All objects, the undo history and the cache are cleared. Returns the encoding
        time in ms. Raises :class:`~mam_lib.errors.ImageReadError` for an image that cannot be read
        (the session is unchanged).
        """
        arr = load_image(image)
        if name is None:
            name = Path(image).name if isinstance(image, (str, os.PathLike)) else f"array {arr.shape[1]}×{arr.shape[0]}"
        with self._computing():
            self._emit("busy", f"Encoding {name} ({arr.shape[1]}×{arr.shape[0]}) with SAM's image encoder — "
                               "once per image")
            try:
                self.predictor.set_image(arr)
            finally:
                self._emit("idle")
            with self._lock:
                self.encode_count += 1
                self.image = self.predictor.image
                self.image_name = name
                self.encode_ms = float(getattr(self.predictor, "encode_ms", 0.0))
                self._epoch += 1
                self._objects = [MattingObject(ObjectPrompts("object 1"))]
                self._current = 0
                self._history.clear()
                self._cache.clear()
                self._failed.clear()
                self._awaiting = None
                self.latency = None
                self.last_action = f"loaded {name}"
                self._emit("image")
                self._emit("state")
        return self.encode_ms

    def _ensure_encoded(self) -> None:
        """Re-encode if the predictor was pointed at another image since (e.g. shared by two
        sessions). Runs with the predictor's lock held."""
        with self._lock:
            image = self.image
        if getattr(self.predictor, "image", None) is image:
            return
        self._emit("busy", "Re-encoding the image (the predictor was used for another image)")
        try:
            self.predictor.set_image(image)
        finally:
            self._emit("idle")
        with self._lock:
            self.encode_count += 1
            if self.image is image:
                self.image = self.predictor.image

    # --- objects --------------------------------------------------------------------------------

    @property
    def objects(self) -> list[MattingObject]:
        with self._lock:
            return list(self._objects)

    @property
    def object_names(self) -> list[str]:
        with self._lock:
            return [o.name for o in self._objects]

    @property
    def current(self) -> MattingObject:
        with self._lock:
            self._require_image()
            return self._objects[self._current]

    @property
    def current_index(self) -> int:
        """Position of the current object in :attr:`objects`."""
        with self._lock:
            self._require_image()
            return self._current

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
        with self._lock:
            self._require_image()
            return self._objects[self._index(name)]

    def _new_name(self) -> str:
        i = len(self._objects) + 1
        while f"object {i}" in self.object_names:
            i += 1
        return f"object {i}"

    def add_object(self, name: str | None = None) -> str:
        """Add an empty object and make it current; returns its name."""
        with self._lock:
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
        with self._lock:
            self._require_image()
            self._current = self._index(name)
            self.last_action = f"selected {self.current.name}"
            self._emit("state")
            return self.current

    def remove_object(self, name: str | int | None = None) -> None:
        """Remove an object (undoable). Objects that a merge uses cannot be removed before the merge."""
        with self._lock:
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
            if self._current >= i:
                self._current = max(self._current - 1, 0)
            self._current = min(self._current, len(self._objects) - 1)
            self.last_action = f"removed {target}"
            self._emit("state")

    def merge(self, first: str, second: str, name: str | None = None) -> str:
        """Add an object whose matte is ``1 − (1 − α₁)(1 − α₂)`` of two others (kept live: editing
        either source updates it). Returns its name; it becomes current."""
        with self._lock:
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

    def add_point(self, x: float, y: float, label: int = 1, *, wait: bool = True) -> MattingObject:
        """Add a point to the current object (label 1 = foreground, 0 = background) and recompute its
        matte (``wait=False``: leave it pending, see the module's docstring)."""
        def edit(p: ObjectPrompts) -> ObjectPrompts:
            if label not in (0, 1):
                raise PromptError(f"a point label is 1 (foreground) or 0 (background), got {label!r}")
            return p.with_point(x, y, label)

        kind = "foreground" if label == 1 else "background"
        return self._edit(edit, f"{kind} point ({x:.0f}, {y:.0f})", wait)

    def set_box(self, box: Sequence[float], *, wait: bool = True) -> MattingObject:
        """Set the current object's box ``x0, y0, x1, y1`` (pixels; a box sticking out is clipped,
        corners given in any order are sorted) and recompute its matte (``wait=False``: leave it
        pending). Points are kept: box and points combine."""
        b = np.asarray(box, dtype=np.float64).reshape(-1)
        ok = b.size == 4 and np.isfinite(b).all()
        x0, x1 = sorted((b[0], b[2])) if ok else (0.0, 0.0)
        y0, y1 = sorted((b[1], b[3])) if ok else (0.0, 0.0)

        def edit(p: ObjectPrompts) -> ObjectPrompts:
            if not ok:
                raise PromptError(f"a box is four numbers x0, y0, x1, y1, got {b.tolist()}")
            return p.with_box((x0, y0, x1, y1))

        return self._edit(edit, f"box ({x0:.0f}, {y0:.0f}) – ({x1:.0f}, {y1:.0f})", wait)

    def add_stroke(self, mode, points, radius: float, *, wait: bool = True) -> MattingObject:
        """Paint a brush stroke on the current object and recompute its matte (``wait=False``: leave
        it pending). ``mode``: ``"fg"``, ``"bg"`` or ``"unknown"``; ``points``: ``(N,2)`` image pixels
        along the stroke; ``radius``: image pixels. Foreground and background strokes fix the matte
        to 1 and 0 where painted and correct the mask M2M reads; unknown strokes hand those pixels to
        the decoder's finest output (:mod:`mam_lib.inference.guides`). Undo takes a stroke back."""
        stroke = make_stroke(mode, points, radius)
        n = len(stroke.points)
        return self._edit(lambda p: p.with_stroke(stroke),
                          f"{stroke.mode_name} stroke ({n} point{'s' if n != 1 else ''}, radius {stroke.radius:.0f})",
                          wait)

    def set_mask(self, mask, *, wait: bool = True) -> MattingObject:
        """Make a mask of the user's own (``(H,W)`` bool, 0/1, 0..255 or floats in [0, 1], the image's
        size) the current object's prompt, instead of SAM's: its points and box are removed, its
        strokes kept. Recomputes the matte (``wait=False``: leaves it pending)."""
        with self._lock:
            self._editable()
        given = MaskPrompt.of(mask)
        return self._edit(lambda p: p.with_mask(given), "your mask", wait)

    def find_text(self, text: str, *, box_threshold: float | None = None, text_threshold: float | None = None,
                  wait: bool = True) -> list[str]:
        """Add one object per box the text detector finds for ``text`` (best score first), each with
        that box as its prompt, in one undoable step; the first becomes current. Returns their names
        (empty when nothing passes the thresholds; the status then says so).

        The detector (the predictor's ``detect_text``, the ``text`` extra) runs here, outside the
        session's lock and one call at a time with the predictor, so call it from a worker thread
        in a user interface. With ``wait=False`` the mattes are left pending."""
        phrase = str(text or "").strip()
        if not phrase:
            raise PromptError("type what to find first, e.g. \"the cat\"")
        detect = getattr(self.predictor, "detect_text", None)
        if detect is None:
            raise PromptError(f"this predictor ({type(self.predictor).__name__}) takes no text prompts")
        with self._lock:
            self._require_image()
            epoch = self._epoch
        with self._computing():
            self._ensure_encoded()
            self._emit("busy", f"Finding \u201c{phrase}\u201d with the text detector")
            try:
                found = detect(phrase, box_threshold=box_threshold, text_threshold=text_threshold)
            finally:
                self._emit("idle")
        with self._lock:
            if epoch != self._epoch:  # another image was loaded meanwhile
                return []
            if not len(found):
                self.last_action = f"found nothing for \u201c{phrase}\u201d: lower the box threshold or rephrase"
                self._emit("state")
                return []
            self._push(f"find \u201c{phrase}\u201d")
            names, first = [], len(self._objects)
            here = self._objects[self._current]
            merged = any(o.prompts.is_merge and here.name in o.prompts.merge_of for o in self._objects)
            if here.prompts.is_empty and not merged:  # the empty object in hand becomes the first one
                first = self._current
                del self._objects[first]
            for i, det in enumerate(found):
                base = f"{det.phrase or phrase} {i + 1}".strip()
                name, k = base, 2
                while name in [o.name for o in self._objects]:
                    name, k = f"{base} ({k})", k + 1
                prompts = validate_prompts(ObjectPrompts(name).with_box(det.box), self.size)
                self._objects.insert(first + i, MattingObject(prompts))
                names.append(name)
            self._current = first
            self.latency = None
            self._awaiting = None
            self.last_action = f"found {len(names)} object{'s' if len(names) != 1 else ''} for \u201c{phrase}\u201d"
            self._settle()
            self._emit("state")
        if wait:
            self.compute_pending()
        return names

    def set_prompts(self, box: Sequence[float] | None = None, points=None, labels=None, *,
                    wait: bool = True) -> MattingObject:
        """Replace the current object's whole prompt at once (one SAM + M2M run; ``wait=False``:
        leave it pending).

        ``box``: ``x0, y0, x1, y1`` or None; ``points``: ``(N,2)`` ``(x, y)`` pixels or None;
        ``labels``: ``(N,)`` 1/0 (default all foreground).
        """
        with self._lock:
            self._editable()  # the errors of a missing image or a merge come first
        new = ObjectPrompts("")
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
        return self._edit(lambda p: replace(new, name=p.name), f"prompt set: {new.describe()}", wait)

    def clear_object(self) -> None:
        """Remove every prompt of the current object (undoable)."""
        with self._lock:
            obj = self._editable()
            self._push(f"clear {obj.name}")
            obj.prompts = obj.prompts.cleared()
            obj.result = None
            self.last_action = f"cleared {obj.name}"
            self._emit("state")

    def _proposed(self, edit: Callable[[ObjectPrompts], ObjectPrompts]) -> ObjectPrompts:
        """``edit`` applied to the current object's prompt as it is now, checked against the image."""
        return validate_prompts(edit(self._editable().prompts), self.size)

    def _edit(self, edit: Callable[[ObjectPrompts], ObjectPrompts], action: str, wait: bool) -> MattingObject:
        """Change the current object's prompt to ``edit(prompt)``: computed first with ``wait``,
        then applied (to the prompt as it is then, should another thread have changed it)."""
        since = time.perf_counter()
        outcome = None
        if wait:
            with self._lock:
                jobs = self._jobs_for([self._proposed(edit)])
            outcome = self._produce(jobs[0]) if jobs else None
        with self._lock:
            prompts = self._proposed(edit)
            self._push(action)
            obj = self.current
            obj.prompts, obj.result = prompts, None
            self.last_action = action
            self._settle()
            if obj.result is None:  # measured when its computation ends
                self.latency = None
                self._awaiting = _Awaiting(prompts.key(), self.refinement, since)
            else:
                self._awaiting = None
                answered = outcome is not None and outcome.result is obj.result
                self._record(outcome.latency(since) if answered else _Outcome(obj.result).latency(since))
            self._emit("state")
        if wait:
            self.compute_pending()
        return obj

    # --- computations ---------------------------------------------------------------------------

    @property
    def pending(self) -> list[str]:
        """Names of the objects whose matte is still to be computed for the current state."""
        with self._lock:
            return [o.name for o in self._objects if self._waits(o)]

    def is_pending(self, name: str | int | None = None) -> bool:
        """Whether an object's matte (default: the current one's; a merge's sources') is still to be computed."""
        with self._lock:
            obj = self.get(name)
            if obj.prompts.is_merge:
                return any(self.is_pending(n) for n in obj.prompts.merge_of)
            return self._waits(obj)

    def failure(self, name: str | int | None = None) -> str | None:
        """Why an object's matte (default: current; a merge's sources') could not be computed, or None."""
        with self._lock:
            obj = self.get(name)
            if obj.prompts.is_merge:
                return next((f for f in map(self.failure, obj.prompts.merge_of) if f is not None), None)
            if obj.result is not None or obj.prompts.is_empty:
                return None
            return self._failed.get(self._job(obj.prompts).key)

    def compute_pending(self) -> int:
        """Compute the mattes the current state lacks, one at a time, the current object first.

        Each computation is for the state as it is when it starts, so changes made meanwhile (from
        another thread) only change what is computed next. Returns how many results were computed.
        A computation that fails is not tried again by later calls for the same prompt and settings
        (the object stays without a matte, :meth:`failure` says why); the first error is raised
        once the other objects are done.
        """
        self._check_unlocked()
        count, first_error = 0, None
        while True:
            with self._lock:
                job = self._next_job()
            if job is None:
                break
            try:
                outcome = self._produce(job)
            except Exception as err:
                with self._lock:
                    recorded = job.key in self._failed
                if not recorded:  # not the computation's own failure
                    raise
                first_error = first_error or err  # raised once the other objects are done
                continue
            count += bool(outcome is not None and outcome.computed)
        if first_error is not None:
            raise first_error
        return count

    def _check_unlocked(self) -> None:
        if self._lock.held():
            raise RuntimeError("the predictor cannot be used while this thread holds session.lock: a "
                               "computation in progress needs that lock to finish; release it first")

    @contextmanager
    def _computing(self) -> Iterator[None]:
        """Hold the predictor's lock (one call into it at a time)."""
        self._check_unlocked()
        with self._compute_lock:
            yield

    @staticmethod
    def _computable(prompts: ObjectPrompts) -> bool:
        return not prompts.is_merge and not prompts.is_empty

    def _job(self, prompts: ObjectPrompts, refinement: RefinementConfig | None = None) -> _Job:
        return _Job(self._epoch, prompts, refinement or self.refinement)

    def _jobs_for(self, prompts: Sequence[ObjectPrompts], refinement: RefinementConfig | None = None) -> list[_Job]:
        """The computations ``prompts`` need at ``refinement`` (default: the session's): those not cached."""
        refinement = refinement or self.refinement
        return [self._job(p, refinement) for p in prompts
                if self._computable(p) and self._cached(p, refinement) is None]

    def _waits(self, obj: MattingObject) -> bool:
        return obj.result is None and self._computable(obj.prompts) and self._job(obj.prompts).key not in self._failed

    def _next_job(self) -> _Job | None:
        """The next computation the current state needs (the current object first), or None."""
        if self.image is None:
            return None
        self._settle()
        order = [self._current] + [i for i in range(len(self._objects)) if i != self._current]
        for i in order:
            if self._waits(self._objects[i]):
                return self._job(self._objects[i].prompts)
        return None

    def _produce(self, job: _Job) -> _Outcome | None:
        """Get ``job``'s result (cache, refinement of a cached result, or SAM + M2M), store it and
        give it to the objects whose prompt is still ``job``'s. None when the image changed since
        ``job`` was made. Runs outside :attr:`lock`, with the predictor's lock held."""
        with self._computing():
            with self._lock:
                if job.epoch != self._epoch:  # the epoch cannot change while the predictor's lock is held
                    return None
                hit = self._cached(job.prompts, job.refinement)
                if hit is not None:
                    return self._deliver(job, _Outcome(hit))
                entry = self._cache.get(job.prompts.key())
            started = time.perf_counter()
            try:
                if entry is not None:  # SAM and M2M ran for this prompt before: only the refinement
                    result = self.predictor.refine(entry[1], job.refinement)
                else:
                    self._ensure_encoded()
                    self._emit("busy", computing_message(job.prompts))
                    try:
                        result = self.predictor.predict(**job.prompts.predictor_kwargs(self.size),
                                                        refinement=job.refinement)
                    finally:
                        self._emit("idle")
            except Exception as err:
                with self._lock:
                    self._failed[job.key] = f"{type(err).__name__}: {err}"
                raise
            with self._lock:
                self._store(job.prompts.key(), job.refinement, result)
                return self._deliver(job, _Outcome(result, computed=True, full=entry is None, started=started))

    def _deliver(self, job: _Job, outcome: _Outcome) -> _Outcome:
        """Give a cached ``job`` result to the objects that lack it, measure the awaited prompt's
        latency and tell the listeners (under :attr:`lock`)."""
        names = self._settle()
        a = self._awaiting
        if a is not None and a.key == job.prompts.key() and a.refinement == job.refinement == self.refinement:
            self._awaiting = None
            self._record(outcome.latency(a.since))
        if names:
            self._emit("result", ", ".join(names))
        return outcome

    def _settle(self) -> list[str]:
        """Give every object lacking its result the cached one, if any; the names of those that got one."""
        got = []
        for obj in self._objects:
            if obj.result is None and self._computable(obj.prompts):
                obj.result = self._cached(obj.prompts, self.refinement)
                if obj.result is not None:
                    got.append(obj.name)
        return got

    def _cached(self, prompts: ObjectPrompts, refinement: RefinementConfig):
        entry = self._cache.get(prompts.key())
        if entry is None or entry[0] != refinement:
            return None
        self._cache.move_to_end(prompts.key())
        return entry[1]

    def _record(self, latency: PromptLatency) -> None:
        self.latency = latency
        self.latencies.append(latency)

    def _store(self, key: tuple, refinement: RefinementConfig, result) -> None:
        self._cache[key] = (refinement, result)
        self._cache.move_to_end(key)
        sizes = {k: _result_nbytes(v[1]) for k, v in self._cache.items()}
        while len(self._cache) > 1 and sum(sizes.values()) > self._cache_budget:
            old, _ = self._cache.popitem(last=False)
            sizes.pop(old)

    # --- history --------------------------------------------------------------------------------

    def _push(self, action: str) -> None:
        self._history.append(_Snapshot(tuple(o.prompts for o in self._objects), self._current, action))
        del self._history[:-200]

    @property
    def can_undo(self) -> bool:
        with self._lock:
            return bool(self._history)

    def undo(self, *, wait: bool = True) -> str | None:
        """Undo the last change of prompts or objects; returns what was undone (None if nothing).

        Earlier results come from the cache; one that is not there any more is computed (first with
        ``wait``, else left pending)."""
        if wait:
            with self._lock:
                jobs = self._jobs_for(self._history[-1].prompts) if self._history else []
            for job in jobs:
                self._produce(job)
        with self._lock:
            if not self._history:
                self.last_action = "nothing to undo"
                self._emit("state")
                return None
            snap = self._history.pop()
            self._objects = [MattingObject(p) for p in snap.prompts]
            self._current = min(snap.current, len(self._objects) - 1)
            self.latency = None
            self._awaiting = None
            self.last_action = f"undid {snap.action}"
            self._settle()
            self._emit("state")
        if wait:
            self.compute_pending()
        return snap.action

    def reset(self) -> None:
        """Start over on the same image: one empty object (undoable; the encoding is kept)."""
        with self._lock:
            self._require_image()
            self._push("reset")
            self._objects = [MattingObject(ObjectPrompts("object 1"))]
            self._current = 0
            self.latency = None
            self._awaiting = None
            self.last_action = "reset: click on the image to add a point, drag to draw a box"
            self._emit("state")

    # --- refinement -----------------------------------------------------------------------------

    def set_refinement(self, *, wait: bool = True, **changes) -> RefinementConfig:
        """Change refinement settings (``guidance``, ``width_os8``, ``width_os4``, ``width_os1``,
        ``two_sided``) and re-run only the refinement of every object (no SAM, no M2M; with
        ``wait=False`` the new mattes are left pending)."""
        with self._lock:
            try:
                config = self.refinement.with_(**changes)
            except (TypeError, ValueError) as err:
                raise PromptError(f"bad refinement setting: {err}") from None
            if config == self.refinement:
                return config
            for obj in self._objects:
                if obj.result is not None:
                    if obj.prompts.key() not in self._cache:  # keep SAM's and M2M's outputs to refine
                        self._store(obj.prompts.key(), self.refinement, obj.result)
                    obj.result = None
            self.refinement = config
            self._settle()
            self.last_action = f"refinement: {config.guidance} guidance, bands os8 {config.width_os8} / os4 " \
                               f"{config.width_os4} / os1 {config.width_os1}"
            self._emit("state")
        if wait:
            self.compute_pending()
        return config

    # --- mattes ---------------------------------------------------------------------------------

    def alpha(self, name: str | int | None = None) -> np.ndarray:
        """The matte of an object (default: current), ``(H,W)`` float32 in [0,1]; zeros without a
        prompt and while it is being computed."""
        with self._lock:
            obj = self.get(name)
            if obj.prompts.is_merge:
                return merge_alpha(*(self.alpha(n) for n in obj.prompts.merge_of))
            if obj.result is None:
                return np.zeros(self.size, np.float32)
            return obj.result.alpha

    def mask(self, name: str | int | None = None) -> np.ndarray:
        """SAM's mask of an object, ``(H,W)`` bool (the union of the sources for a merge)."""
        with self._lock:
            obj = self.get(name)
            if obj.prompts.is_merge:
                a, b = obj.prompts.merge_of
                return self.mask(a) | self.mask(b)
            if obj.result is None:
                return np.zeros(self.size, bool)
            return np.asarray(obj.result.mask, bool)

    def has_matte(self, name: str | int | None = None) -> bool:
        with self._lock:
            obj = self.get(name)
            if obj.prompts.is_merge:
                return any(self.has_matte(n) for n in obj.prompts.merge_of)
            return obj.result is not None

    def summary(self) -> SessionSummary:
        """The numbers the status line shows for the current object."""
        with self._lock:
            obj = self.current
            p = obj.prompts
            return SessionSummary(
                name=obj.name, prompt=p.describe(), n_points=len(p.points), n_foreground=p.n_foreground,
                n_background=p.n_background, has_box=p.box is not None, coverage=float(self.alpha().mean()),
                iou=None if obj.result is None else float(obj.result.sam.iou), latency=self.latency,
                last_action=self.last_action, n_objects=len(self._objects), computing=self.is_pending(),
                error=self.failure())

    # --- prompts as JSON ------------------------------------------------------------------------

    def prompts_dict(self) -> dict[str, Any]:
        """All objects' prompts, the current object and the refinement settings (see
        :mod:`mam_lib.widget.prompts` for the format)."""
        with self._lock:
            self._require_image()
            h, w = self.size
            version = max(o.prompts.needs_version for o in self._objects)
            return {"format": PROMPTS_FORMAT, "version": version,
                    "image": {"name": self.image_name, "width": int(w), "height": int(h)},
                    "current": self.current.name, "refinement": refinement_to_dict(self.refinement),
                    "objects": [o.prompts.to_dict() for o in self._objects]}

    def to_json(self) -> str:
        return json.dumps(self.prompts_dict(), indent=2, ensure_ascii=False)

    def save_prompts(self, path: str | os.PathLike) -> Path:
        """Write :meth:`prompts_dict` as JSON (atomically)."""
        return atomic_write_text(path, self.to_json() + "\n")

    def load_prompts(self, source: "dict | str | bytes | os.PathLike", *, wait: bool = True) -> None:
        """Replace all objects with those of a prompts dict, JSON text/bytes or a JSON file (undoable).

        Raises :class:`PromptError` for a malformed file, prompts made on an image of another size,
        or prompts SAM cannot take; the session is then unchanged. The mattes come from the cache
        when they can, else are computed (first with ``wait``, else left pending).
        """
        self._require_image()
        data = _read_prompts_source(source)
        if wait:
            with self._lock:
                checked, _, config = self._checked_prompts(data)
                jobs = self._jobs_for(checked, config)
            for job in jobs:
                self._produce(job)
        with self._lock:
            checked, current, config = self._checked_prompts(data)
            self._push("load prompts")
            self.refinement = config
            self._objects = [MattingObject(p) for p in checked]
            self._current = [p.name for p in checked].index(current) if current else 0
            self.latency = None
            self._awaiting = None
            self.last_action = f"loaded prompts of {len(checked)} object{'s' if len(checked) != 1 else ''}"
            self._settle()
            self._emit("state")
        if wait:
            self.compute_pending()

    def _checked_prompts(self, data) -> tuple[list[ObjectPrompts], str | None, RefinementConfig]:
        """A prompts dict checked against the current image: the objects, the current one's name, the settings."""
        self._require_image()
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
        return checked, current, config

    # --- export ---------------------------------------------------------------------------------

    def export(self, folder: str | os.PathLike, stem: str | None = None, background=(0, 177, 64),
               name: str | int | None = None) -> dict[str, Path]:
        """Write an object's matte (default: current) as files people use, atomically.

        Writes ``<stem>_alpha.png`` (8-bit grey), ``<stem>_rgba.png`` (the cut-out: the estimated
        foreground colours, :mod:`mam_lib.io.foreground`, with the matte as alpha channel),
        ``<stem>_composite.png`` (on ``background``: an RGB colour, an image array or a
        path) and ``<stem>_prompts.json`` (all objects, see :meth:`save_prompts`). ``stem`` defaults to
        the image's name plus the object's. A matte still pending is computed first. Returns the
        paths by kind.
        """
        if self.is_pending(name):
            self.compute_pending()
        with self._lock:
            obj = self.get(name)
            if not self.has_matte(obj.name):
                failure = self.failure(obj.name)
                if failure is not None:
                    raise PromptError(f"the matte of {obj.name!r} could not be computed ({failure}), so there is "
                                      "nothing to export: change or undo its prompt")
                raise PromptError(f"{obj.name!r} has no prompt yet, so there is no matte to export: "
                                  "click on the object or draw a box first")
            folder = Path(folder)
            if stem is None or not str(stem).strip():
                base = Path(self.image_name or "image").stem
                stem = f"{base}_{obj.name}".replace(" ", "_").replace("+", "and")
            stem = str(stem).strip()
            if any(sep in stem for sep in ("/", "\\")) or stem in (".", ".."):
                raise PromptError(f"the file name stem {stem!r} must not contain a folder; set the folder separately")
            alpha, image, prompts_json = self.alpha(obj.name), self.image, self.to_json()
        fg = foreground_colors(image, alpha)  # estimated once for the cut-out and the composite
        try:
            paths = {
                "alpha": save_alpha(folder / f"{stem}_alpha.png", alpha),
                "rgba": save_rgba(folder / f"{stem}_rgba.png", image, alpha, fg=fg),
                "composite": save_composite(folder / f"{stem}_composite.png", image, alpha, background, fg=fg),
                "prompts": atomic_write_text(folder / f"{stem}_prompts.json", prompts_json + "\n"),
            }
        except PermissionError as err:
            raise PromptError(f"cannot write to {str(folder)!r} ({err.strerror}); choose another folder") from None
        with self._lock:
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

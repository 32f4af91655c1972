"""The prompts of one object, their JSON form, and how they reach SAM's prompt encoder.

An object's prompt is what SAM accepts for one mask: any number of points (``(x, y)`` pixels of
the original image, label 1 = foreground, 0 = background) and at most one box
(``x0, y0, x1, y1`` pixels) — or, instead of both, a mask of the user's own (it replaces SAM's
mask, :mod:`mam_lib.inference.guides`). Brush strokes (foreground, background, unknown) may be
painted over either; they reach the predictor as its ``scribbles`` (:func:`scribble_map`). A *merge*
object has no prompt of its own: its matte is the union of two other objects' mattes (see
:func:`mam_lib.widget.session.merge_alpha`).

The JSON file written by :meth:`MattingSession.save_prompts` looks like::

    {"format": "mam-prompts", "version": 1,
     "image": {"name": "demo/image.png", "width": 640, "height": 480},
     "current": "object 1",
     "refinement": {"guidance": "alpha", "width_os8": 10, "width_os4": 20, "width_os1": 10, "two_sided": false},
     "objects": [{"name": "object 1", "box": [107, 51, 472, 464], "points": [[289, 391]], "labels": [1]},
                 {"name": "object 2", "box": null, "points": [[300, 150]], "labels": [1]},
                 {"name": "object 1 + object 2", "merge": ["object 1", "object 2"]}]}

An object with strokes or a mask of its own adds (and the file is then version 2)::

     {"name": "object 3", "box": [10, 10, 200, 180], "points": [], "labels": [],
      "strokes": [{"mode": "bg", "radius": 6.0, "points": [[50, 60], [58, 64]]}],
      "mask": {"png_base64": "iVBORw0KGgo..."}}

(``mode``: ``fg``, ``bg`` or ``unknown``; ``radius`` in image pixels; the mask as a grey PNG of the
image's size, white = object.)

Coordinates are always in the pixel frame of the original image; SAM's own 1024 frame is
derived from them (:func:`sam_prompt_inputs`).
"""
from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from ..errors import PromptError
from ..inference.guides import BG, FG, UNKNOWN, check_mask
from ..inference.refinement import RefinementConfig
from ..inference.sam import IMAGE_SIZE, check_box, check_points

PROMPTS_FORMAT = "mam-prompts"
#: The newest version read and written; files without strokes or masks are still written as version 1.
PROMPTS_VERSION = 2
#: Brush modes by name (the JSON form) → scribble value (:mod:`mam_lib.inference.guides`).
STROKE_MODES = {"fg": FG, "bg": BG, "unknown": UNKNOWN}
_MODE_NAMES = {v: k for k, v in STROKE_MODES.items()}
#: Largest brush radius, in image pixels.
MAX_STROKE_RADIUS = 2000.0


@dataclass(frozen=True)
class Stroke:
    """One brush stroke: a polyline of round dabs.

    Attributes:
        mode: ``FG`` (1), ``BG`` (2) or ``UNKNOWN`` (3), see :mod:`mam_lib.inference.guides`.
        radius: the brush's radius in image pixels.
        points: ``((x, y), ...)`` image pixels along the stroke (one point: a dab).
    """

    mode: int
    radius: float
    points: tuple[tuple[float, float], ...]

    @property
    def mode_name(self) -> str:
        return _MODE_NAMES[self.mode]

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode_name, "radius": round(float(self.radius), 2),
                "points": [[round(x, 2), round(y, 2)] for x, y in self.points]}


def make_stroke(mode, points, radius: float) -> Stroke:
    """A checked :class:`Stroke`: ``mode`` a name of :data:`STROKE_MODES` or its value, ``points``
    ``(N,2)`` finite pixels (N ≥ 1), ``radius`` in (0, :data:`MAX_STROKE_RADIUS`]."""
    value = STROKE_MODES.get(mode, mode) if isinstance(mode, str) else mode
    if value not in _MODE_NAMES:
        raise PromptError(f"a brush mode is one of {sorted(STROKE_MODES)}, got {mode!r}")
    try:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        r = float(radius)
    except (TypeError, ValueError):
        raise PromptError("a stroke is a list of [x, y] points and a radius") from None
    if not len(pts) or not np.isfinite(pts).all():
        raise PromptError("a stroke needs one or more finite [x, y] points")
    if not (np.isfinite(r) and 0 < r <= MAX_STROKE_RADIUS):
        raise PromptError(f"a brush radius is in (0, {MAX_STROKE_RADIUS:g}] image pixels, got {radius!r}")
    return Stroke(int(value), r, tuple((float(x), float(y)) for x, y in pts))


def scribble_map(strokes, size: tuple[int, int]) -> np.ndarray:
    """``(H,W)`` uint8 scribbles (0 = not painted, else the stroke's mode) of ``strokes`` in order:
    a later stroke paints over an earlier one. Each stroke is OpenCV's round-capped thick polyline."""
    out = np.zeros(size, np.uint8)
    for s in strokes:
        pts = np.rint(np.asarray(s.points, np.float64) * 16).astype(np.int32)  # 4 fractional bits
        thickness = max(1, int(round(2 * s.radius)))
        if len(pts) == 1:
            cv2.circle(out, tuple(int(v) for v in pts[0]), int(round(s.radius * 16)), int(s.mode), -1,
                       cv2.LINE_8, 4)
        else:
            cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, int(s.mode), thickness, cv2.LINE_8, 4)
    return out


@dataclass(frozen=True, eq=False)
class MaskPrompt:
    """A mask of the user's own as an object's prompt: ``array`` ``(H,W)`` bool, compared by content."""

    array: np.ndarray
    digest: str

    @classmethod
    def of(cls, mask) -> "MaskPrompt":
        """From any mask :func:`~mam_lib.inference.guides.check_mask` accepts (of its own size)."""
        a = np.asarray(mask)
        m = check_mask(a, a.shape[:2], "the mask")  # an (H,W,1) mask is squeezed there
        m.setflags(write=False)
        return cls(m, hashlib.sha1(np.packbits(m).tobytes() + repr(m.shape).encode()).hexdigest())

    def __eq__(self, other) -> bool:
        return isinstance(other, MaskPrompt) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def to_dict(self) -> dict[str, Any]:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(self.array.astype(np.uint8) * 255).save(buf, format="PNG", optimize=True)
        return {"png_base64": base64.b64encode(buf.getvalue()).decode("ascii")}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "MaskPrompt":
        from PIL import Image

        try:
            raw = base64.b64decode(data["png_base64"], validate=True)
            with Image.open(io.BytesIO(raw)) as img:
                arr = np.asarray(img.convert("L"))
        except Exception:  # noqa: BLE001 - any failure is the same problem for the user
            raise PromptError(f"{where}: 'mask' must be {{\"png_base64\": <a grey PNG, base64>}}") from None
        return cls.of(arr >= 128)


@dataclass(frozen=True)
class ObjectPrompts:
    """The prompt of one object (immutable: every edit makes a new value, which keeps undo simple).

    Attributes:
        name: the object's name, unique within a session.
        points: ``((x, y), ...)`` pixels of the original image.
        labels: one per point, 1 = foreground, 0 = background.
        box: ``(x0, y0, x1, y1)`` pixels, or None.
        merge_of: for a merge object, the names of the two objects it combines (then points and box are empty).
        strokes: brush strokes painted over the object, oldest first.
        mask: a mask of the user's own instead of SAM's (then no points and no box), or None.
    """

    name: str
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    merge_of: tuple[str, str] | None = None
    strokes: tuple[Stroke, ...] = ()
    mask: MaskPrompt | None = None

    @property
    def is_merge(self) -> bool:
        return self.merge_of is not None

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to give the predictor (no point, box, mask or stroke; merges are never empty)."""
        return not self.is_merge and not self.points and self.box is None and self.mask is None and not self.strokes

    @property
    def n_foreground(self) -> int:
        return sum(1 for v in self.labels if v == 1)

    @property
    def n_background(self) -> int:
        return sum(1 for v in self.labels if v == 0)

    def key(self) -> tuple:
        """A hashable key of what the predictor sees (the name is not part of it)."""
        return (self.points, self.labels, self.box, self.strokes, None if self.mask is None else self.mask.digest)

    def with_point(self, x: float, y: float, label: int) -> "ObjectPrompts":
        return replace(self, points=self.points + ((float(x), float(y)),), labels=self.labels + (int(label),))

    def with_box(self, box) -> "ObjectPrompts":
        b = tuple(float(v) for v in np.asarray(box, dtype=np.float32).reshape(4))
        return replace(self, box=b)

    def with_stroke(self, stroke: Stroke) -> "ObjectPrompts":
        return replace(self, strokes=self.strokes + (stroke,))

    def with_mask(self, mask: MaskPrompt) -> "ObjectPrompts":
        """The mask as the prompt: points and box go (the mask replaces SAM's), strokes stay."""
        return replace(self, points=(), labels=(), box=None, mask=mask)

    def cleared(self) -> "ObjectPrompts":
        return ObjectPrompts(self.name)

    def predictor_kwargs(self, size: tuple[int, int] | None = None) -> dict[str, Any]:
        """``box``, ``points``, ``labels`` as :meth:`MattingPredictor.predict` takes them, and, when
        the object has them, ``mask`` and ``scribbles`` (drawn at ``size`` ``(H, W)``, which strokes need)."""
        kw: dict[str, Any] = {
            "box": None if self.box is None else np.asarray(self.box, np.float32),
            "points": np.asarray(self.points, np.float32).reshape(-1, 2) if self.points else None,
            "labels": np.asarray(self.labels, np.int64) if self.points else None,
        }
        if self.mask is not None:
            kw["mask"] = self.mask.array
        if self.strokes:
            if size is None:
                raise ValueError("the image size is needed to draw an object's strokes")
            kw["scribbles"] = scribble_map(self.strokes, size)
        return kw

    def describe(self) -> str:
        """Short text such as ``"box + 2 points (1 fg, 1 bg)"`` or ``"merge of a and b"``."""
        if self.is_merge:
            return f"merge of {self.merge_of[0]!r} and {self.merge_of[1]!r}"
        parts = []
        if self.mask is not None:
            parts.append("your mask")
        if self.box is not None:
            parts.append("box")
        n = len(self.points)
        if n:
            parts.append(f"{n} point{'s' if n != 1 else ''} ({self.n_foreground} fg, {self.n_background} bg)")
        k = len(self.strokes)
        if k:
            parts.append(f"{k} stroke{'s' if k != 1 else ''}")
        return " + ".join(parts) if parts else "no prompt"

    def to_dict(self) -> dict[str, Any]:
        if self.is_merge:
            return {"name": self.name, "merge": list(self.merge_of)}
        out: dict[str, Any] = {"name": self.name,
                               "box": None if self.box is None else [round(v, 2) for v in self.box],
                               "points": [[round(x, 2), round(y, 2)] for x, y in self.points],
                               "labels": list(self.labels)}
        if self.strokes:
            out["strokes"] = [s.to_dict() for s in self.strokes]
        if self.mask is not None:
            out["mask"] = self.mask.to_dict()
        return out

    @property
    def needs_version(self) -> int:
        """The prompts file version that can hold this object (2 for strokes or a mask)."""
        return 2 if self.strokes or self.mask is not None else 1


def validate_prompts(prompts: ObjectPrompts, size: tuple[int, int]) -> ObjectPrompts:
    """Check ``prompts`` against an image of ``size = (H, W)``; returns them with the box clipped.

    Raises :class:`PromptError` for a point outside the image, an empty box (zero width or height),
    a box entirely outside the image, labels other than 0/1, a mask of another size, or a mask
    together with a box or points.
    """
    if prompts.is_merge:
        return prompts
    box = prompts.box
    if box is not None:
        box = tuple(float(v) for v in check_box(box, size))
    if prompts.points:
        check_points(np.asarray(prompts.points, np.float32), np.asarray(prompts.labels), size)
    if prompts.mask is not None:
        if prompts.mask.array.shape != tuple(size):
            m = prompts.mask.array.shape
            raise PromptError(f"the mask is {m[1]}×{m[0]} but the image is {size[1]}×{size[0]}: give a mask of "
                              "the image's size")
        if box is not None or prompts.points:
            raise PromptError(f"{prompts.name!r} is matted from your mask, which replaces SAM's: clear it (Clear "
                              "prompts) to click or draw a box, or paint corrections with the brush")
    return replace(prompts, box=box)


def _object_from_dict(entry: Any, index: int) -> ObjectPrompts:
    where = f"prompts file, object #{index + 1}"
    if not isinstance(entry, dict):
        raise PromptError(f"{where}: expected an object like {{'name': ..., 'points': ..., 'labels': ..., 'box': ...}}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PromptError(f"{where}: every object needs a non-empty 'name'")
    if "merge" in entry:
        pair = entry["merge"]
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise PromptError(f"{where} ({name!r}): 'merge' must list the names of two objects")
        return ObjectPrompts(name, merge_of=(pair[0], pair[1]))
    points = entry.get("points") or []
    labels = entry.get("labels")
    try:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) if len(points) else np.zeros((0, 2))
    except (TypeError, ValueError):
        raise PromptError(f"{where} ({name!r}): 'points' must be a list of [x, y] pairs") from None
    if labels is None:
        labels = [1] * len(pts)
    if not isinstance(labels, (list, tuple)) or len(labels) != len(pts):
        raise PromptError(f"{where} ({name!r}): {len(pts)} points but "
                          f"{len(labels) if isinstance(labels, (list, tuple)) else 'no list of'} labels; "
                          "give one label (1 = foreground, 0 = background) per point")
    if any(v not in (0, 1) for v in labels):
        raise PromptError(f"{where} ({name!r}): labels must be 1 (foreground) or 0 (background), got {labels}")
    box = entry.get("box")
    if box is not None:
        try:
            box = tuple(float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
        except (TypeError, ValueError):
            raise PromptError(f"{where} ({name!r}): 'box' must be four numbers x0, y0, x1, y1 or null") from None
    strokes = entry.get("strokes") or []
    if not isinstance(strokes, list):
        raise PromptError(f"{where} ({name!r}): 'strokes' must be a list of {{mode, radius, points}}")
    parsed = []
    for j, s in enumerate(strokes):
        if not isinstance(s, dict):
            raise PromptError(f"{where} ({name!r}), stroke #{j + 1}: expected {{'mode': ..., 'radius': ..., "
                              "'points': [[x, y], ...]}")
        try:
            parsed.append(make_stroke(s.get("mode"), s.get("points"), s.get("radius")))
        except PromptError as err:
            raise PromptError(f"{where} ({name!r}), stroke #{j + 1}: {err}") from None
    mask = MaskPrompt.from_dict(entry["mask"], f"{where} ({name!r})") if entry.get("mask") is not None else None
    return ObjectPrompts(name, tuple((float(x), float(y)) for x, y in pts), tuple(int(v) for v in labels), box,
                         strokes=tuple(parsed), mask=mask)


def prompts_from_dict(data: Any) -> tuple[list[ObjectPrompts], str | None, dict | None, dict | None]:
    """Parse the JSON form (see the module docstring).

    Returns ``(objects, current name, refinement dict or None, image dict or None)``. Raises
    :class:`PromptError` naming the first problem (wrong format, duplicate names, a merge of an
    unknown object, malformed points/labels/box). Coordinates are not checked against an image here.
    """
    if not isinstance(data, dict) or data.get("format") != PROMPTS_FORMAT:
        raise PromptError(f"not a prompts file: expected a JSON object with \"format\": \"{PROMPTS_FORMAT}\"")
    if int(data.get("version", 0)) > PROMPTS_VERSION:
        raise PromptError(f"prompts file version {data.get('version')} is newer than this library reads "
                          f"({PROMPTS_VERSION}); update mam_lib")
    entries = data.get("objects")
    if not isinstance(entries, list) or not entries:
        raise PromptError("prompts file: 'objects' must be a non-empty list")
    objects = [_object_from_dict(e, i) for i, e in enumerate(entries)]
    names = [o.name for o in objects]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PromptError(f"prompts file: object names must be unique, {dupes} appear more than once")
    seen: set[str] = set()
    for o in objects:
        if o.is_merge:
            missing = [n for n in o.merge_of if n not in seen]
            if missing or o.merge_of[0] == o.merge_of[1]:
                raise PromptError(f"prompts file: merge {o.name!r} must combine two different objects listed "
                                  f"before it; {missing or list(o.merge_of)} is not")
        seen.add(o.name)
    current = data.get("current")
    if current is not None and current not in seen:
        raise PromptError(f"prompts file: current object {current!r} is not among the objects {names}")
    refinement = data.get("refinement")
    if refinement is not None and not isinstance(refinement, dict):
        raise PromptError("prompts file: 'refinement' must be an object of refinement settings")
    image = data.get("image")
    return objects, current, refinement, image if isinstance(image, dict) else None


def refinement_from_dict(data: dict | None, default: RefinementConfig) -> RefinementConfig:
    """Read refinement settings of a prompts file; unknown keys and bad values give :class:`PromptError`."""
    if not data:
        return default
    known = {"guidance", "width_os8", "width_os4", "width_os1", "two_sided"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise PromptError(f"prompts file: unknown refinement settings {unknown}; known are {sorted(known)}")
    try:
        return default.with_(**data)
    except (TypeError, ValueError) as err:
        raise PromptError(f"prompts file: bad refinement settings ({err})") from None


def refinement_to_dict(config: RefinementConfig) -> dict[str, Any]:
    return {"guidance": config.guidance, "width_os8": int(config.width_os8), "width_os4": int(config.width_os4),
            "width_os1": int(config.width_os1), "two_sided": bool(config.two_sided)}


# --- the SAM side -----------------------------------------------------------------------------------


@dataclass
class SamPromptInputs:
    """A prompt as SAM's prompt encoder receives it, in the 1024 frame of ``ResizeLongestSide``.

    Attributes:
        scale: ``1024 / max(H, W)``, the factor from image pixels to the 1024 frame.
        input_size: ``(h, w)`` of the resized image inside the zero-padded 1024×1024 square.
        points: ``(N,2)`` float32 pixels → ``points_1024`` ``(N,2)`` float32.
        labels: ``(N,)`` int64 (1 foreground, 0 background).
        box, box_1024: ``(4,)`` float32 or None.
        rows: one dict per prompt element (kind, label, pixel and 1024-frame coordinates) for printing.
    """

    scale: float
    input_size: tuple[int, int]
    points: np.ndarray
    points_1024: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None
    box_1024: np.ndarray | None
    rows: list[dict[str, Any]] = field(default_factory=list)


def sam_prompt_inputs(prompts: ObjectPrompts, original_size: tuple[int, int]) -> SamPromptInputs:
    """Map an object's prompt from image pixels to SAM's 1024 frame (as ``SamPredictor`` does).

    ``original_size``: ``(H, W)`` of the image. Uses segment-anything's ``ResizeLongestSide``: every
    coordinate is multiplied by ``1024 / max(H, W)`` (the image is resized by that factor and
    padded at the bottom/right, so no offset is added).
    """
    if prompts.is_merge:
        raise PromptError(f"{prompts.name!r} is a merge of two objects and has no SAM prompt of its own")
    h, w = original_size
    transform = ResizeLongestSide(IMAGE_SIZE)
    input_size = transform.get_preprocess_shape(h, w, IMAGE_SIZE)
    kw = prompts.predictor_kwargs()
    pts = kw["points"] if kw["points"] is not None else np.zeros((0, 2), np.float32)
    labels = kw["labels"] if kw["labels"] is not None else np.zeros((0,), np.int64)
    pts_1024 = transform.apply_coords(pts.copy(), original_size).astype(np.float32) if len(pts) else pts.copy()
    box = kw["box"]
    box_1024 = None if box is None else transform.apply_boxes(box[None].copy(), original_size)[0].astype(np.float32)
    rows = [{"kind": "point", "label": "foreground (1)" if lab == 1 else "background (0)",
             "pixels": (float(p[0]), float(p[1])), "sam_1024": (float(q[0]), float(q[1]))}
            for p, q, lab in zip(pts, pts_1024, labels)]
    if box is not None:
        rows.append({"kind": "box corner", "label": "top-left (2)", "pixels": (float(box[0]), float(box[1])),
                     "sam_1024": (float(box_1024[0]), float(box_1024[1]))})
        rows.append({"kind": "box corner", "label": "bottom-right (3)", "pixels": (float(box[2]), float(box[3])),
                     "sam_1024": (float(box_1024[2]), float(box_1024[3]))})
    return SamPromptInputs(scale=IMAGE_SIZE / max(h, w), input_size=tuple(input_size), points=pts,
                           points_1024=pts_1024, labels=labels, box=box, box_1024=box_1024, rows=rows)


@torch.no_grad()
def encode_prompt(sam, inputs: SamPromptInputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Run SAM's prompt encoder on :func:`sam_prompt_inputs` output.

    Returns ``(sparse, dense)``: ``sparse`` ``(1, T, 256)`` — one token per point, plus a padding
    token (label −1) when there is no box, plus two tokens for the box corners (labels 2 and 3);
    ``dense`` ``(1, 256, 64, 64)`` — the learned "no mask" embedding, as no mask prompt is given.
    """
    device = sam.device
    points = None
    if len(inputs.points_1024):
        points = (torch.as_tensor(inputs.points_1024, dtype=torch.float, device=device)[None],
                  torch.as_tensor(inputs.labels, dtype=torch.int, device=device)[None])
    boxes = None if inputs.box_1024 is None else torch.as_tensor(inputs.box_1024, dtype=torch.float,
                                                                  device=device)[None]
    if points is None and boxes is None:
        raise PromptError("the object has no prompt yet: add a point or a box first")
    return sam.prompt_encoder(points=points, boxes=boxes, masks=None)


def format_prompt_rows(inputs: SamPromptInputs) -> str:
    """A plain-text table of :attr:`SamPromptInputs.rows` (pixels → 1024 frame)."""
    lines = [f"scale 1024 / max(H, W) = {inputs.scale:.4f}; resized image {inputs.input_size[1]}×{inputs.input_size[0]} "
             f"inside the 1024×1024 input (zero padding right/bottom)",
             f"{'element':<12}{'label':<18}{'image pixels':>20}{'SAM 1024 frame':>22}"]
    for r in inputs.rows:
        px = f"({r['pixels'][0]:.1f}, {r['pixels'][1]:.1f})"
        sm = f"({r['sam_1024'][0]:.1f}, {r['sam_1024'][1]:.1f})"
        lines.append(f"{r['kind']:<12}{r['label']:<18}{px:>20}{sm:>22}")
    return "\n".join(lines)


def image_in_sam_frame(image: np.ndarray) -> np.ndarray:
    """The image as SAM's encoder sees it, before normalisation: ``(1024,1024,3)`` uint8, resized so
    the longest side is 1024 and zero-padded at the bottom and right."""
    resized = ResizeLongestSide(IMAGE_SIZE).apply_image(np.ascontiguousarray(image))
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    out[: resized.shape[0], : resized.shape[1]] = resized
    return out

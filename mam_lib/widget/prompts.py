"""The prompts of one object, their JSON form, and how they reach SAM's prompt encoder.

An object's prompt is what SAM accepts for one mask: any number of points (``(x, y)`` pixels of
the original image, label 1 = foreground, 0 = background) and at most one box
(``x0, y0, x1, y1`` pixels). A *merge* object has no prompt of its own: its matte is the union of
two other objects' mattes (see :func:`mam_lib.widget.session.merge_alpha`).

The JSON file written by :meth:`MattingSession.save_prompts` looks like::

    {"format": "mam-prompts", "version": 1,
     "image": {"name": "demo/image.png", "width": 640, "height": 480},
     "current": "object 1",
     "refinement": {"guidance": "alpha", "width_os8": 10, "width_os4": 20, "width_os1": 10, "two_sided": false},
     "objects": [{"name": "object 1", "box": [107, 51, 472, 464], "points": [[289, 391]], "labels": [1]},
                 {"name": "object 2", "box": null, "points": [[300, 150]], "labels": [1]},
                 {"name": "object 1 + object 2", "merge": ["object 1", "object 2"]}]}

Coordinates are always in the pixel frame of the original image; SAM's own 1024 frame is
derived from them (:func:`sam_prompt_inputs`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from ..errors import PromptError
from ..inference.refinement import RefinementConfig
from ..inference.sam import IMAGE_SIZE, check_box, check_points

PROMPTS_FORMAT = "mam-prompts"
PROMPTS_VERSION = 1


@dataclass(frozen=True)
class ObjectPrompts:
    """The prompt of one object (immutable: every edit makes a new value, which keeps undo simple).

    Attributes:
        name: the object's name, unique within a session.
        points: ``((x, y), ...)`` pixels of the original image.
        labels: one per point, 1 = foreground, 0 = background.
        box: ``(x0, y0, x1, y1)`` pixels, or None.
        merge_of: for a merge object, the names of the two objects it combines (then points and box are empty).
    """

    name: str
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    merge_of: tuple[str, str] | None = None

    @property
    def is_merge(self) -> bool:
        return self.merge_of is not None

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to give SAM (no point and no box; merges are never empty)."""
        return not self.is_merge and not self.points and self.box is None

    @property
    def n_foreground(self) -> int:
        return sum(1 for v in self.labels if v == 1)

    @property
    def n_background(self) -> int:
        return sum(1 for v in self.labels if v == 0)

    def key(self) -> tuple:
        """A hashable key of what SAM sees (the name is not part of it)."""
        return (self.points, self.labels, self.box)

    def with_point(self, x: float, y: float, label: int) -> "ObjectPrompts":
        return ObjectPrompts(self.name, self.points + ((float(x), float(y)),), self.labels + (int(label),),
                             self.box, None)

    def with_box(self, box) -> "ObjectPrompts":
        b = tuple(float(v) for v in np.asarray(box, dtype=np.float32).reshape(4))
        return ObjectPrompts(self.name, self.points, self.labels, b, None)

    def cleared(self) -> "ObjectPrompts":
        return ObjectPrompts(self.name)

    def predictor_kwargs(self) -> dict[str, Any]:
        """``box``, ``points``, ``labels`` as :meth:`MattingPredictor.predict` takes them."""
        return {
            "box": None if self.box is None else np.asarray(self.box, np.float32),
            "points": np.asarray(self.points, np.float32).reshape(-1, 2) if self.points else None,
            "labels": np.asarray(self.labels, np.int64) if self.points else None,
        }

    def describe(self) -> str:
        """Short text such as ``"box + 2 points (1 fg, 1 bg)"`` or ``"merge of a and b"``."""
        if self.is_merge:
            return f"merge of {self.merge_of[0]!r} and {self.merge_of[1]!r}"
        parts = []
        if self.box is not None:
            parts.append("box")
        n = len(self.points)
        if n:
            parts.append(f"{n} point{'s' if n != 1 else ''} ({self.n_foreground} fg, {self.n_background} bg)")
        return " + ".join(parts) if parts else "no prompt"

    def to_dict(self) -> dict[str, Any]:
        if self.is_merge:
            return {"name": self.name, "merge": list(self.merge_of)}
        return {"name": self.name,
                "box": None if self.box is None else [round(v, 2) for v in self.box],
                "points": [[round(x, 2), round(y, 2)] for x, y in self.points],
                "labels": list(self.labels)}


def validate_prompts(prompts: ObjectPrompts, size: tuple[int, int]) -> ObjectPrompts:
    """Check ``prompts`` against an image of ``size = (H, W)``; returns them with the box clipped.

    Raises :class:`PromptError` for a point outside the image, an empty box (zero width or height),
    a box entirely outside the image, or labels other than 0/1.
    """
    if prompts.is_merge:
        return prompts
    box = prompts.box
    if box is not None:
        box = tuple(float(v) for v in check_box(box, size))
    if prompts.points:
        check_points(np.asarray(prompts.points, np.float32), np.asarray(prompts.labels), size)
    return ObjectPrompts(prompts.name, prompts.points, prompts.labels, box, None)


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
    return ObjectPrompts(name, tuple((float(x), float(y)) for x, y in pts), tuple(int(v) for v in labels), box)


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

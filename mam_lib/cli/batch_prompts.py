"""The prompts file of ``mam matte DIR --prompts FILE``: the prompts of many images, by file name.

A JSON object (``"format"`` may be left out; ``"version"`` defaults to 1)::

    {"format": "mam-batch-prompts", "version": 1,
     "images": {
       "cat.jpg":    {"box": [40, 30, 300, 260]},
       "dog.png":    {"points": [[120, 90], [10, 10]], "labels": [1, 0]},
       "birds.jpg":  {"text": "the bird"},
       "pair.png":   [{"name": "left", "box": [0, 0, 200, 300]},
                      {"name": "right", "box": [200, 0, 400, 300], "points": [[300, 150]]}],
       "photo.jpg":  "exports/photo_object_1_prompts.json",
       "other.png":  {"format": "mam-prompts", "version": 1, "objects": [...]}}}

Each key is the file name of an image directly inside DIR. Each value is one of:

* **an object**: the fields of an object of the widget's prompts format
  (:mod:`mam_lib.widget.prompts`) — ``box`` ``[x0, y0, x1, y1]`` and/or ``points`` ``[[x, y], …]``
  with ``labels`` (1 = foreground, 0 = background; default all 1), in pixels of the image, and
  the widget's ``strokes`` and ``mask`` — or ``text``, a phrase the text detector turns into boxes
  (one matte per box it finds). ``name`` is optional and names the object's files when an image
  has several objects;
* **a list of objects**: several objects of one image (each matted on the one SAM encoding of the
  image). Such a list may also hold ``{"name": …, "merge": [a, b]}``, the union of two objects
  listed before it, as in the widget;
* **the widget's prompts export** (``MattingSession.save_prompts``, the ``<stem>_prompts.json``
  of the widget's *Export*): the JSON object itself, or the path of its file (relative to the
  prompts file's folder). All its objects with a prompt are matted, merges included, with the
  refinement settings it was saved with; it must have been made on an image of the same size.

The objects and widget exports are read by the widget's own parser
(:func:`mam_lib.widget.prompts.prompts_from_dict`). A malformed file as a whole (not JSON, no
``"images"`` object) raises :class:`PromptError`; a malformed entry is kept as that image's
error (:attr:`BatchPrompts.errors`), so the other images still run.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from ..errors import PromptError

if TYPE_CHECKING:  # the widget's prompts module imports torch: loaded only when a file is read
    from ..widget.prompts import ObjectPrompts

#: The ``"format"`` of a batch prompts file.
BATCH_FORMAT = "mam-batch-prompts"
#: The newest version this module reads.
BATCH_VERSION = 1
#: The fields an object of a batch prompts file may have.
OBJECT_FIELDS = ("name", "box", "points", "labels", "text", "merge", "strokes", "mask")


@dataclass(frozen=True)
class TextObject:
    """A text prompt: the detector's boxes for ``text`` on the image, each matted as a box prompt."""

    name: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text}


#: One object of an image: a box/points prompt or a merge (the widget's type), or a text prompt.
BatchObject = Union["ObjectPrompts", TextObject]


@dataclass(frozen=True)
class ImagePrompts:
    """The prompts of one image of the folder.

    Attributes:
        image: the image's file name inside the folder.
        objects: the objects to matte, in order (box/points/merge objects and text objects).
        refinement: the refinement settings of a widget export (a dict of
            :func:`mam_lib.widget.prompts.refinement_from_dict`), or None for the command's own.
        size: ``(width, height)`` of the image a widget export was made on, or None.
        source: where the prompts were read (the prompts file, or a widget export's file).
    """

    image: str
    objects: tuple[BatchObject, ...]
    refinement: dict | None = None
    size: tuple[int, int] | None = None
    source: str = "prompts file"

    @property
    def has_text(self) -> bool:
        return any(isinstance(o, TextObject) for o in self.objects)

    def key(self) -> dict[str, Any]:
        """A JSON-able form of everything that decides the mattes (compared to know an image is done)."""
        return {"objects": [o.to_dict() for o in self.objects], "refinement": self.refinement}


@dataclass
class BatchPrompts:
    """A parsed batch prompts file.

    Attributes:
        images: image file name → its prompts, for the entries that are well formed.
        errors: image file name → what is wrong with its entry (naming the field).
        inputs: the files read (the prompts file and the widget exports it names).
        path: the prompts file.
    """

    images: dict[str, ImagePrompts] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    inputs: list[Path] = field(default_factory=list)
    path: Path | None = None

    @property
    def names(self) -> list[str]:
        """Every image the file lists, well formed or not."""
        return sorted(set(self.images) | set(self.errors))


def _widget_message(err: Exception) -> str:
    """The widget parser's message without its ``prompts file`` prefix (the caller says which file)."""
    text = str(err)
    for prefix in ("prompts file, ", "prompts file: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _objects(image: str, entries: list, where: str) -> tuple[BatchObject, ...]:
    """The objects of one image's list (or single object) of the batch form."""
    from ..inference.text import caption_of
    from ..widget.prompts import PROMPTS_FORMAT, prompts_from_dict

    if not entries:
        raise PromptError(f"{where}: the list of objects is empty; give at least one box, points or text")
    widget_entries, texts = [], {}
    for i, entry in enumerate(entries):
        at = f"{where}, object #{i + 1}"
        if not isinstance(entry, dict):
            raise PromptError(f"{at}: expected an object such as {{\"box\": [x0, y0, x1, y1]}}, "
                              f"{{\"points\": [[x, y]], \"labels\": [1]}} or {{\"text\": \"the cat\"}}, "
                              f"got {json.dumps(entry)[:60]}")
        unknown = sorted(set(entry) - set(OBJECT_FIELDS))
        if unknown:
            raise PromptError(f"{at}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                              f"the fields of an object are {', '.join(OBJECT_FIELDS)}")
        name = entry.get("name", str(i + 1))
        if not isinstance(name, str) or not name.strip():
            raise PromptError(f"{at}: 'name' must be a non-empty string, got {json.dumps(name)}")
        if "text" in entry:
            spatial = [k for k in OBJECT_FIELDS if k not in ("name", "text") and entry.get(k) is not None]
            if spatial:
                raise PromptError(f"{at} ({name!r}): give either 'text' or {', '.join(map(repr, spatial))}, not both: "
                                  "the boxes the text names are the prompts")
            try:
                caption_of(entry["text"])
            except PromptError as err:
                raise PromptError(f"{at} ({name!r}): 'text': {err}") from None
            texts[i] = TextObject(name, " ".join(entry["text"].split()))
            widget_entries.append({"name": name})  # a placeholder: keeps the object numbers and names checked
            continue
        widget_entries.append({**entry, "name": name})
    try:
        parsed, _, _, _ = prompts_from_dict({"format": PROMPTS_FORMAT, "objects": widget_entries})
    except PromptError as err:
        raise PromptError(f"{where}: {_widget_message(err)}") from None
    for i, o in enumerate(parsed):
        if i not in texts and o.is_empty:
            raise PromptError(f"{where}, object #{i + 1} ({o.name!r}): no prompt; give 'box' [x0, y0, x1, y1], "
                              "'points' [[x, y], …] or 'text'")
    for o in parsed:
        if o.is_merge and any(parsed[j].name in o.merge_of for j in texts):
            raise PromptError(f"{where}: merge {o.name!r} combines a text object; a merge combines box or point "
                              "objects (a text may find several boxes)")
    return tuple(texts.get(i, o) for i, o in enumerate(parsed))


def _widget_export(image: str, data: dict, where: str, source: str) -> ImagePrompts:
    """An image's prompts from the widget's export (``MattingSession.prompts_dict`` form)."""
    from ..inference.refinement import RefinementConfig
    from ..widget.prompts import prompts_from_dict, refinement_from_dict

    try:
        objects, _, refinement, info = prompts_from_dict(data)
        refinement_from_dict(refinement, RefinementConfig())  # the settings are valid
    except PromptError as err:
        raise PromptError(f"{where}: {_widget_message(err)}") from None
    kept = tuple(o for o in objects if not o.is_empty)
    if not kept:
        raise PromptError(f"{where}: none of the widget's objects has a prompt (a point or a box); add one in the "
                          "widget and save the prompts again")
    size = None
    if info and "width" in info and "height" in info:
        try:
            size = (int(info["width"]), int(info["height"]))
        except (TypeError, ValueError):
            raise PromptError(f"{where}: 'image' must give whole numbers 'width' and 'height'") from None
    return ImagePrompts(image, kept, refinement or None, size, source)


def image_prompts(image: str, value: Any, base_dir: "str | os.PathLike | None" = None,
                  source: str = "prompts file", inputs: list[Path] | None = None) -> ImagePrompts:
    """Parse one entry of the ``"images"`` object (see the module docstring).

    ``base_dir`` is where relative paths of widget exports start (the prompts file's folder);
    files read are appended to ``inputs``. Raises :class:`PromptError` naming the image and the field.
    """
    from ..widget.prompts import PROMPTS_FORMAT

    where = f"{source}, image {image!r}"
    if isinstance(value, str):
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise PromptError(f"{where}: the widget's prompts file {str(path)!r} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            raise PromptError(f"{where}: cannot read {str(path)!r} ({err}); check the file") from None
        except json.JSONDecodeError as err:
            raise PromptError(f"{where}: {str(path)!r} is not valid JSON ({err.msg} at line {err.lineno})") from None
        if inputs is not None:
            inputs.append(path)
        if not isinstance(data, dict) or data.get("format") != PROMPTS_FORMAT:
            raise PromptError(f"{where}: {str(path)!r} is not the widget's prompts file (\"format\": "
                              f"\"{PROMPTS_FORMAT}\"); give its objects here instead")
        return _widget_export(image, data, f"{path.name}, image {image!r}", str(path))
    if isinstance(value, dict) and "format" in value:
        if value.get("format") != PROMPTS_FORMAT:
            raise PromptError(f"{where}: 'format' {json.dumps(value.get('format'))} is not the widget's "
                              f"{PROMPTS_FORMAT!r}; an object's prompt has only the fields {', '.join(OBJECT_FIELDS)}")
        return _widget_export(image, value, where, source)
    if isinstance(value, dict):
        return ImagePrompts(image, _objects(image, [value], where), source=source)
    if isinstance(value, list):
        return ImagePrompts(image, _objects(image, value, where), source=source)
    raise PromptError(f"{where}: expected an object ({{\"box\": …}}, {{\"points\": …}}, {{\"text\": …}}), a list of "
                      f"them, or the path of the widget's prompts file, got {json.dumps(value)[:60]}")


def parse_batch_prompts(data: Any, base_dir: "str | os.PathLike | None" = None,
                        source: str = "prompts file") -> BatchPrompts:
    """Parse a batch prompts file's JSON value. Raises :class:`PromptError` when the file as a
    whole is malformed; a malformed entry goes to :attr:`BatchPrompts.errors`."""
    from ..widget.prompts import PROMPTS_FORMAT

    example = f'{{"format": "{BATCH_FORMAT}", "images": {{"photo.jpg": {{"box": [x0, y0, x1, y1]}}}}}}'
    if isinstance(data, dict) and data.get("format") == PROMPTS_FORMAT:
        name = (data.get("image") or {}).get("name") if isinstance(data.get("image"), dict) else None
        shown = Path(str(name)).name if name else "photo.jpg"
        raise PromptError(f"{source} is the widget's prompts file of one image; list it under the image it was made "
                          f"on in a batch prompts file: {{\"format\": \"{BATCH_FORMAT}\", \"images\": {{\"{shown}\": "
                          f"\"{Path(source).name}\"}}}} (see docs/batch.md)")
    if not isinstance(data, dict):
        raise PromptError(f"{source}: expected a JSON object like {example}")
    if data.get("format", BATCH_FORMAT) != BATCH_FORMAT:
        raise PromptError(f"{source}: 'format' is {json.dumps(data.get('format'))}, expected {BATCH_FORMAT!r}")
    version = data.get("version", BATCH_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise PromptError(f"{source}: 'version' must be a whole number, got {json.dumps(version)}")
    if version > BATCH_VERSION:
        raise PromptError(f"{source}: version {version} is newer than this library reads ({BATCH_VERSION}); "
                          "update mam_lib")
    unknown = sorted(set(data) - {"format", "version", "images"})
    if unknown:
        raise PromptError(f"{source}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                          "a batch prompts file has 'format', 'version' and 'images'")
    images = data.get("images")
    if not isinstance(images, dict) or not images:
        raise PromptError(f"{source}: 'images' must be a non-empty object of image file name → prompts, like {example}")
    batch = BatchPrompts()
    for image, value in images.items():
        try:
            if not image.strip() or Path(image).name != image or image in (".", ".."):
                raise PromptError(f"{source}, image {image!r}: a key is the file name of an image directly inside the "
                                  "folder, without a folder part")
            batch.images[image] = image_prompts(image, value, base_dir, source, batch.inputs)
        except PromptError as err:
            batch.errors[image] = str(err)
    return batch


def read_batch_prompts(path: "str | os.PathLike") -> BatchPrompts:
    """Read and parse a batch prompts file (see the module docstring).

    Raises :class:`PromptError` for a missing file, invalid JSON or a malformed file as a whole."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise PromptError(f"prompts file {str(p)!r} does not exist" if not p.is_dir()
                          else f"--prompts {str(p)!r} is a folder; give the JSON file of the prompts (see docs/batch.md)")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PromptError(f"cannot read the prompts file {str(p)!r} ({err}); check the file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise PromptError(f"the prompts file {str(p)!r} is not valid JSON ({err.msg} at line {err.lineno}, "
                          f"column {err.colno})") from None
    batch = parse_batch_prompts(data, base_dir=p.parent, source=p.name)
    batch.inputs.insert(0, p)
    batch.path = p
    return batch

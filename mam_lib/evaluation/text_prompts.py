"""The text prompts of a benchmark: one referring expression per image, read from its JSON files.

RefMatte-RW100 ships its expressions as ``refmatte_rw100_label.json``: for each image stem an
entry ``{"image_name": "0001.jpg", "expressions": ["the man on the left", …], …}``. MAM's
evaluation picks one expression per image with ``eval_index_expression.json`` (image name →
index into ``expressions``); without that file the first expression is used, and
:attr:`TextPrompts.note` says so. Any benchmark or folder can instead be given a JSON file of its
own: ``{"<image stem>": "the cat", …}`` (or entries in the RefMatte form).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError
from .benchmarks import IMAGE_EXTENSIONS

#: RefMatte-RW100's file of expressions, in its root folder.
RW100_LABELS = "refmatte_rw100_label.json"
#: The file of MAM's evaluation choosing one expression per image (image name → index).
RW100_INDEX = "eval_index_expression.json"


@dataclass(frozen=True)
class TextPrompts:
    """The text of each image: ``texts`` maps an image stem (``0001``) to its expression."""

    texts: dict[str, str]
    source: str  # the file(s) they were read from
    note: str = ""  # how expressions were chosen, when it matters

    def for_image(self, stem: str) -> str | None:
        """The expression of the image ``stem``, None when there is none."""
        return self.texts.get(stem)


def _stem(key: str) -> str:
    p = Path(key)
    return p.with_suffix("").as_posix() if p.suffix.lower() in IMAGE_EXTENSIONS else key


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{what} {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{what} {str(path)!r} is not a readable JSON file ({err})") from None


def read_text_prompts(path: str | Path, index_path: str | Path | None = None) -> TextPrompts:
    """Read a JSON file of text prompts.

    Entries are ``stem → "text"`` or ``stem → {"expressions": [...], "image_name": ...}``; for the
    latter, ``index_path`` (default: :data:`RW100_INDEX` beside ``path``, when it exists) maps the
    image name (or stem) to the expression to use, else the first is used. Keys with an image
    extension are taken by their stem. Raises :class:`DatasetError` for a missing or malformed file.
    """
    path = Path(path)
    data = _read_json(path, "text-prompt file")
    if not isinstance(data, dict):
        raise DatasetError(f"text-prompt file {str(path)!r} must hold a JSON object: image stem → text")
    if index_path is None and (path.parent / RW100_INDEX).is_file():
        index_path = path.parent / RW100_INDEX
    index = _read_json(Path(index_path), "expression index file") if index_path is not None else {}
    if not isinstance(index, dict):
        raise DatasetError(f"expression index file {str(index_path)!r} must hold a JSON object: image name → index")
    texts: dict[str, str] = {}
    first_used = 0
    for key, entry in data.items():
        if isinstance(entry, str):
            texts[_stem(key)] = entry
            continue
        expressions = entry.get("expressions") if isinstance(entry, dict) else None
        if not isinstance(expressions, list) or not expressions or not all(isinstance(e, str) for e in expressions):
            raise DatasetError(f"text-prompt file {str(path)!r}: entry {key!r} is neither a text nor an object with a "
                               "non-empty list 'expressions'")
        name = str(entry.get("image_name", key))
        choice = index.get(name, index.get(_stem(name), index.get(key)))
        if choice is None:
            choice, first_used = 0, first_used + 1
        if not isinstance(choice, int) or not 0 <= choice < len(expressions):
            raise DatasetError(f"expression index {choice!r} of {name!r} is not an index into its "
                               f"{len(expressions)} expressions")
        texts[_stem(key)] = expressions[choice]
    source = str(path) + (f" + {index_path}" if index_path is not None else "")
    note = f"{first_used} image(s) without an index entry use their first expression" if first_used else ""
    if index_path is None and first_used:
        note = f"no {RW100_INDEX}: every image uses its first expression"
    return TextPrompts(texts, source, note)


def benchmark_text_prompts(root: str | Path, texts_file: str | Path | None = None) -> TextPrompts:
    """The text prompts of a benchmark under ``root``: ``texts_file`` when given, else RefMatte-RW100's
    :data:`RW100_LABELS` in ``root``. Raises :class:`DatasetError` naming what to give otherwise."""
    if texts_file is not None:
        return read_text_prompts(texts_file)
    labels = Path(root) / RW100_LABELS
    if labels.is_file():
        return read_text_prompts(labels)
    raise DatasetError(f"text prompts need an expression per image: {str(root)!r} has no {RW100_LABELS} "
                       "(RefMatte-RW100's); give a JSON file of image stem → text with --texts FILE")

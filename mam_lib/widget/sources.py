"""Where the widget's images come from: the shipped samples and browser uploads."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PromptError
from ..io.images import load_image_bytes
from ..io.samples import data_samples_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
#: names (of files or of their folders) that mark ground truth or layers, not pictures to prompt on
_NOT_PROMPTABLE = ("alpha", "trimap", "mask", "fg")
_BACKGROUND = ("bg", "background")


def _marked(path: Path, root: Path, prefixes: tuple[str, ...]) -> bool:
    parts = [p.lower() for p in path.relative_to(root).parts[:-1]] + [path.stem.lower()]
    return any(part.startswith(prefixes) for part in parts)


def sample_images() -> dict[str, Path]:
    """Pictures in ``data_samples/`` to prompt on, by label (``"demo"`` for ``demo/image.png``).

    A sample folder's ``image.*`` is listed under the folder's name; other pictures under their
    relative path. Alpha mattes, trimaps, foreground layers and backgrounds are left out.
    """
    root = data_samples_dir()
    if not root.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        rel = path.relative_to(root)
        if _marked(path, root, _NOT_PROMPTABLE + _BACKGROUND):
            continue
        label = str(rel.parent) if path.stem.lower() == "image" and rel.parent != Path(".") else str(rel)
        found[label] = path
    first = [k for k in found if k == "demo"]
    return {k: found[k] for k in first + [k for k in found if k != "demo"]}


def background_images() -> dict[str, Path]:
    """Pictures in ``data_samples/`` suitable as cut-out backgrounds (backgrounds first, then the others)."""
    root = data_samples_dir()
    if not root.is_dir():
        return {}
    paths = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
             and not _marked(p, root, _NOT_PROMPTABLE)]
    paths.sort(key=lambda p: (not _marked(p, root, _BACKGROUND), str(p)))
    return {str(p.relative_to(root)): p for p in paths}


def uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """``(name, content)`` pairs from an ``ipywidgets.FileUpload`` value (ipywidgets 8: a tuple of
    dicts with ``name`` and ``content``; ipywidgets 7: a dict by name)."""
    items = value.values() if isinstance(value, dict) else (value or ())
    out = []
    for item in items:
        name = item.get("name") or item.get("metadata", {}).get("name") or "upload"
        out.append((str(name), bytes(item["content"])))
    return out


def image_from_bytes(content: bytes, name: str = "upload") -> np.ndarray:
    """Decode an uploaded image file to ``(H,W,3)`` uint8 RGB; :class:`ImageReadError` if it is not one
    (or is over the pixel limit: :func:`mam_lib.io.images.load_image_bytes`)."""
    return load_image_bytes(content, name)


def json_from_upload(value: Any) -> tuple[str, bytes]:
    """The single ``(name, content)`` of a prompts-file upload."""
    files = uploaded_files(value)
    if not files:
        raise PromptError("no file was uploaded")
    return files[0]

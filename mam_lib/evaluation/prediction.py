"""Predicting a benchmark: a prompt derived from each ground truth, one alpha file per sample.

Prompts derived from the ground truth (used by ``mam predict-benchmark``): the box is the
bounding box of α > 0.5, ``[x0, y0, x1, y1]`` in pixel indices with x1, y1 inclusive (the first
and last column and row holding such a pixel); the point prompt is the centre of that box, a
single foreground click. This is how prompt-based matting methods are evaluated on these sets,
RefMatte-RW100 included. With ``prompt="text"`` the prompt is instead each image's referring
expression (:mod:`mam_lib.evaluation.text_prompts`), turned into a box by the predictor's text
detector as MAM's RefMatte-RW100 evaluation does: Grounding DINO with box threshold 0.25 and text
threshold 0.5, the highest-scoring box matted (:meth:`TextPromptConfig.mam_benchmark`); an image
where no box passes gets an all-zero alpha (so it is scored, as a failure). The training data's boxes
(:func:`mam_lib.data.transforms.prompts.box_from_alpha`) use box edges instead (x1 = last
column + 1); the one-pixel difference follows the published evaluation scripts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import MamError, OutputError, PromptError
from ..io.outputs import real_path
from ..io.cutout import save_alpha
from ..io.images import load_image, read_matte
from ..inference.text import TextPromptConfig
from .benchmarks import BenchmarkSample
from .metrics import to_unit_alpha


def box_from_gt(alpha: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The box prompt of a ground-truth matte: bounding box of α > ``threshold``.

    ``alpha``: ``(H,W)`` uint8 in [0,255] or float in [0,1]. Returns ``(4,)`` float32
    ``[x0, y0, x1, y1]``: first and last column and row (inclusive) holding such a pixel.
    Raises :class:`PromptError` when no pixel exceeds the threshold.
    """
    fg = to_unit_alpha(alpha) > threshold
    cols = np.flatnonzero(fg.any(axis=0))
    rows = np.flatnonzero(fg.any(axis=1))
    if cols.size == 0:
        raise PromptError(f"the ground-truth alpha has no pixel above {threshold}; no prompt can be derived")
    return np.array([cols[0], rows[0], cols[-1], rows[-1]], dtype=np.float32)


def point_from_gt(alpha: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The point prompt of a ground-truth matte: the centre of :func:`box_from_gt`, ``(1,2)`` float32 ``(x, y)``."""
    x0, y0, x1, y1 = box_from_gt(alpha, threshold)
    return np.array([[(x0 + x1) / 2.0, (y0 + y1) / 2.0]], dtype=np.float32)


def prompt_from_gt(alpha: np.ndarray, kind: str = "box") -> dict:
    """Keyword arguments for ``MattingPredictor.predict``: ``{"box": ...}`` or ``{"points": ..., "labels": [1]}``."""
    if kind == "box":
        return {"box": box_from_gt(alpha)}
    if kind == "point":
        return {"points": point_from_gt(alpha), "labels": np.array([1], dtype=np.int64)}
    raise PromptError(f"prompt kind must be 'box' or 'point', got {kind!r}")


@dataclass
class PredictionReport:
    """What :func:`predict_samples` did."""

    written: list[str] = field(default_factory=list)  # names of the alpha files written
    kept: list[str] = field(default_factory=list)  # existing files left alone (skip_existing)
    empty_gt: list[str] = field(default_factory=list)  # no α > 0.5: an all-zero alpha was written
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason) nothing written
    images_encoded: int = 0
    seconds: float = 0.0
    no_detection: list[str] = field(default_factory=list)  # text prompts that found no box: an all-zero alpha
    text_prompts: dict[str, dict] = field(default_factory=dict)  # name → text, and the box, score, phrase matted


#: Prompt kinds of :func:`predict_samples`.
PROMPT_KINDS = ("box", "point", "text")


def text_of(texts: Mapping[str, str], sample: BenchmarkSample) -> str | None:
    """A sample's text: by its name without extension (``duo/0``), else by its image's stem."""
    return texts.get(Path(sample.name).with_suffix("").as_posix(), texts.get(sample.image_path.stem))


def predict_samples(predictor, samples: Sequence[BenchmarkSample], out_dir: str | Path, prompt: str = "box",
                    guidance: str | None = "alpha", skip_existing: bool = False,
                    progress: bool = True, texts: Mapping[str, str] | None = None,
                    text_config: TextPromptConfig | None = None) -> PredictionReport:
    """Run a ``MattingPredictor`` on every sample with a prompt derived from its ground truth, or
    with its text.

    Each image is encoded once, however many instances it has (samples of one image must be
    consecutive, as :func:`list_samples` returns them). Writes ``out_dir/<sample.name>`` as an
    8-bit alpha PNG, atomically. Samples whose ground truth has no pixel above 0.5 get an all-zero
    alpha (there is nothing to prompt); unreadable files and size mismatches are reported, not raised.

    ``prompt="text"``: ``texts`` maps each image stem (or sample name without extension) to its
    expression (:func:`mam_lib.evaluation.text_prompts.benchmark_text_prompts`); the predictor's
    ``predict_text`` finds the boxes with ``text_config`` (default
    :meth:`TextPromptConfig.mam_benchmark`) and the best one is matted. A sample without a text is
    skipped; one whose text finds no box gets an all-zero alpha (listed in ``report.no_detection``).
    """
    from tqdm.auto import tqdm

    if prompt not in PROMPT_KINDS:
        raise PromptError(f"prompt must be 'box', 'point' or 'text', got {prompt!r}")
    if prompt == "text":
        if texts is None:
            raise PromptError("text prompts need the texts: give texts={image stem: expression} "
                              "(see mam_lib.evaluation.text_prompts)")
        text_config = (text_config or TextPromptConfig.mam_benchmark()).with_(max_detections=1)
    out_dir = Path(out_dir)
    inputs = {real_path(p) for s in samples for p in (s.image_path, s.alpha_path, s.trimap_path) if p is not None}
    for sample in samples:
        if real_path(out_dir / sample.name) in inputs:
            raise OutputError(f"the prediction {sample.name} would be written over the input {str(out_dir / sample.name)!r}; "
                              "choose an output folder of its own")
    report = PredictionReport()
    t0 = time.perf_counter()
    current: Path | None = None
    image = None
    for sample in tqdm(samples, desc=f"predicting ({prompt} prompts)", unit="alpha", disable=not progress):
        dest = out_dir / sample.name
        if skip_existing and dest.is_file():
            report.kept.append(sample.name)
            continue
        try:
            gt = read_matte(sample.alpha_path)
            if sample.image_path != current:
                image = load_image(sample.image_path)
                predictor.set_image(image)
                current = sample.image_path
                report.images_encoded += 1
            if image.shape[:2] != gt.shape:
                report.skipped.append((sample.name, f"image is {image.shape[1]}x{image.shape[0]} but the ground "
                                                    f"truth is {gt.shape[1]}x{gt.shape[0]}"))
                continue
            if prompt == "text":
                text = text_of(texts, sample)
                if text is None:
                    report.skipped.append((sample.name, f"no text expression for image {sample.image_path.stem!r}"))
                    continue
                results = predictor.predict_text(text, text_config=text_config, guidance=guidance)
                if not results:
                    save_alpha(dest, np.zeros(gt.shape, np.float32))
                    report.no_detection.append(sample.name)
                    report.text_prompts[sample.name] = {"text": text}
                    continue
                result = results[0]
                det = result.detection
                report.text_prompts[sample.name] = {"text": text, "box": [round(float(v), 2) for v in det.box],
                                                    "score": round(float(det.score), 4), "phrase": det.phrase}
            else:
                try:
                    kwargs = prompt_from_gt(gt, prompt)
                except PromptError:
                    save_alpha(dest, np.zeros(gt.shape, np.float32))
                    report.empty_gt.append(sample.name)
                    continue
                result = predictor.predict(guidance=guidance, **kwargs)
        except MamError as err:
            report.skipped.append((sample.name, str(err)))
            continue
        save_alpha(dest, result.alpha)
        report.written.append(sample.name)
    report.seconds = time.perf_counter() - t0
    return report

"""Text prompts: a phrase ("the dog on the left") → boxes, with Grounding DINO.

MAM's text path runs Grounding DINO (an open-vocabulary detector conditioned on a caption) to
turn a phrase into boxes and then mattes a box. This module wraps the maintained implementation
in Hugging Face ``transformers`` (``GroundingDinoForObjectDetection`` and its processor, whose own
post-processing turns the model's outputs into boxes, scores and phrases); nothing of the detector
is re-implemented here. It needs the optional ``text`` extra (``pip install -e .[text]``);
importing this module does not import ``transformers``, only building a detector does.

* :class:`TextDetector` — ``detect(image, text, box_threshold, text_threshold)`` → :class:`Detections`;
  :meth:`TextDetector.from_pretrained` loads a cached registry entry (``mam download
  grounding-dino-tiny``) or any folder holding a Hugging Face Grounding DINO, never from the network;
* :func:`build_tiny_grounding_dino` — a small randomly initialised Grounding DINO built from a
  ``transformers`` config and a tokenizer made from a small vocabulary, so the whole text path runs
  with no download (its boxes are meaningless);
* :func:`default_text_detector` — the cached weights when present, else the tiny random one;
* :class:`TextPromptConfig` — the thresholds and the duplicate-box suppression.

>>> detector = build_tiny_grounding_dino()                       # or TextDetector.from_pretrained("grounding-dino-tiny")
>>> detections = detector.detect("photo.jpg", "the cat", box_threshold=0.3)
>>> detections.boxes.shape, detections.scores.shape, detections.phrases  # (N,4) float32 pixels, (N,), N phrases
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, MissingExtraError, PromptError
from ..io.images import load_image
from .device import resolve_device
from .weights import REGISTRY, TEXT_DETECTORS, TEXT_EXTRA_HINT, cache_dir, find_checkpoint, is_complete_snapshot

#: The detector a text prompt uses when none is given: the first of these found in the cache folder.
DEFAULT_TEXT_DETECTOR = TEXT_DETECTORS[0]


def require_transformers():
    """Import and return ``transformers`` with Grounding DINO, or raise :class:`MissingExtraError`
    saying how to install the ``text`` extra."""
    try:
        import transformers
        from transformers import GroundingDinoForObjectDetection, GroundingDinoProcessor  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"text prompts need Hugging Face transformers (Grounding DINO): {TEXT_EXTRA_HINT}") \
            from None
    return transformers


def _check_unit(value: float, name: str) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ConfigError(f"{name} must lie in [0, 1], got {value!r}")
    return v


@dataclass(frozen=True)
class TextPromptConfig:
    """How detections become text-prompt instances."""

    box_threshold: float = 0.35  # a box is kept when its best token's score exceeds this (Grounding DINO's demo value)
    text_threshold: float = 0.25  # tokens scoring above this make up a box's phrase (Grounding DINO's demo value)
    nms_iou: float | None = 0.8  # drop a box overlapping a higher-scoring one by IoU above this (MAM's value); None: keep all
    max_detections: int | None = None  # keep at most this many boxes, highest scores first; None: all

    def __post_init__(self) -> None:
        _check_unit(self.box_threshold, "box_threshold")
        _check_unit(self.text_threshold, "text_threshold")
        if self.nms_iou is not None:
            _check_unit(self.nms_iou, "nms_iou")
        if self.max_detections is not None and (int(self.max_detections) != self.max_detections
                                                or self.max_detections < 1):
            raise ConfigError(f"max_detections must be a whole number ≥ 1 or None, got {self.max_detections!r}")

    @classmethod
    def mam_benchmark(cls) -> "TextPromptConfig":
        """MAM's RefMatte-RW100 evaluation: box 0.25, text 0.5, NMS at IoU 0.8, the best box only."""
        return cls(box_threshold=0.25, text_threshold=0.5, nms_iou=0.8, max_detections=1)

    def with_(self, **changes) -> "TextPromptConfig":
        """A copy with some fields changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True, eq=False)
class Detection:
    """One box a text prompt found.

    Attributes:
        box: ``(4,)`` float32 ``x0, y0, x1, y1`` in image pixels (inside the image).
        score: the box's best token score (sigmoid), in [0, 1].
        phrase: the words of the prompt whose scores pass the text threshold.
        text: the caption the detector was given.
    """

    box: np.ndarray
    score: float
    phrase: str
    text: str = ""


@dataclass(frozen=True, eq=False)
class Detections:
    """Every box of one text prompt on one image, highest score first.

    Attributes:
        boxes: ``(N,4)`` float32 ``x0, y0, x1, y1`` image pixels (clipped to the image).
        scores: ``(N,)`` float32 in [0, 1], descending.
        phrases: ``N`` strings, the matched words of the prompt for each box.
        text: the caption the detector was given (lower case, ending with ``.``).
        image_size: ``(H, W)`` of the image.
        ms: milliseconds the detector took (processor, model and post-processing).
    """

    boxes: np.ndarray
    scores: np.ndarray
    phrases: list[str]
    text: str = ""
    image_size: tuple[int, int] = (0, 0)
    ms: float = 0.0

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, i: int) -> Detection:
        return Detection(self.boxes[i].copy(), float(self.scores[i]), self.phrases[i], self.text)

    def __iter__(self) -> Iterator[Detection]:
        return (self[i] for i in range(len(self)))

    def best(self) -> Detection | None:
        """The highest-scoring detection, None when there is none."""
        return self[0] if len(self) else None

    def describe(self) -> str:
        """One line per box: score, phrase and box in pixels."""
        if not len(self):
            return f"no box for {self.text!r}"
        return "\n".join(f"{i + 1}: {d.score:.2f} {d.phrase!r} box [{', '.join(f'{v:.0f}' for v in d.box)}]"
                         for i, d in enumerate(self))


def caption_of(text: str) -> str:
    """The caption Grounding DINO expects: lower case, single spaces, ending with ``.``.

    Raises :class:`PromptError` for an empty text or one that is not a string.
    """
    if not isinstance(text, str):
        raise PromptError(f"a text prompt is a string such as 'the cat', got {type(text).__name__}")
    words = " ".join(text.split()).lower()
    if not words.strip(" ."):
        raise PromptError("the text prompt is empty; describe the object to matte, e.g. 'the cat'")
    return words if words.endswith(".") else words + "."


def _post_process(processor, outputs, input_ids, box_threshold: float, text_threshold: float,
                  size: tuple[int, int]) -> dict:
    """The processor's own ``post_process_grounded_object_detection`` (its threshold argument is
    ``box_threshold`` in older ``transformers`` and ``threshold`` in newer ones)."""
    fn = processor.post_process_grounded_object_detection
    params = inspect.signature(fn).parameters
    name = "threshold" if "threshold" in params else "box_threshold"
    result = fn(outputs, input_ids, **{name: box_threshold}, text_threshold=text_threshold, target_sizes=[size])[0]
    phrases = result["text_labels"] if "text_labels" in result else dict.__getitem__(result, "labels")
    return {"boxes": result["boxes"], "scores": result["scores"], "phrases": list(phrases)}


class TextDetector:
    """Grounding DINO behind one call: image + text → :class:`Detections`.

    Args:
        model: a ``transformers`` ``GroundingDinoForObjectDetection``.
        processor: its ``GroundingDinoProcessor`` (image processor + tokenizer).
        device: where to run; None picks CUDA, then MPS, then the CPU.
        config: default thresholds (see :class:`TextPromptConfig`).
        description: what it is, for messages (which weights).
    """

    def __init__(self, model, processor, device: str | torch.device | None = None,
                 config: TextPromptConfig | None = None, description: str = "Grounding DINO") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.config = config or TextPromptConfig()
        self.description = description
        tokenizer = getattr(processor, "tokenizer", None)
        specials = list(getattr(tokenizer, "all_special_tokens", []) or [])
        self._specials = re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True))) \
            if specials else None

    @classmethod
    def from_pretrained(cls, source: str | os.PathLike = DEFAULT_TEXT_DETECTOR, device: str | torch.device | None = None,
                        config: TextPromptConfig | None = None) -> "TextDetector":
        """Load a Grounding DINO from a registry name (``grounding-dino-tiny``, ``grounding-dino-base``,
        looked up in the cache folder) or a folder of a Hugging Face Grounding DINO repository.

        Reads local files only: nothing is downloaded (``mam download grounding-dino-tiny`` does that).
        Raises :class:`MissingExtraError` without ``transformers``, :class:`CheckpointError` when the
        weights are not there or cannot be loaded.
        """
        require_transformers()
        from transformers import GroundingDinoForObjectDetection, GroundingDinoProcessor

        name = str(source)
        if name in REGISTRY and REGISTRY[name].is_folder:
            folder = find_checkpoint(name)
            if folder is None:
                raise CheckpointError(f"{name} is not in the cache folder {cache_dir()}: run `mam download {name}` "
                                      "(or give the folder of a downloaded Grounding DINO)")
        else:
            folder = Path(source).expanduser()
            if not folder.is_dir():
                known = ", ".join(n for n in TEXT_DETECTORS)
                raise CheckpointError(f"text detector {name!r} is neither a folder nor a registry name ({known})")
            if not is_complete_snapshot(folder):
                raise CheckpointError(f"{str(folder)!r} does not hold a Grounding DINO: it needs config.json, the "
                                      "weights (model.safetensors) and the tokenizer files of the Hugging Face repository")
        try:
            model = GroundingDinoForObjectDetection.from_pretrained(str(folder), local_files_only=True)
            processor = GroundingDinoProcessor.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{str(folder)!r} could not be loaded as a Grounding DINO ({first}); download it "
                                  "again with `mam download grounding-dino-tiny`") from None
        return cls(model, processor, device=device, config=config,
                   description=f"Grounding DINO ({Path(folder).name})")

    def _clean(self, phrase: str) -> str:
        if self._specials is not None:
            phrase = self._specials.sub(" ", phrase)
        return " ".join(phrase.split()).strip(" .")

    @torch.no_grad()
    def detect(self, image, text: str, box_threshold: float | None = None, text_threshold: float | None = None, *,
               config: TextPromptConfig | None = None) -> Detections:
        """Boxes of the objects ``text`` describes in ``image``.

        Args:
            image: ``(H,W,3)`` uint8 RGB, a PIL image or a path (as :func:`mam_lib.io.images.load_image`).
            text: a phrase ("the dog on the left"); lower-cased and ended with ``.`` for the model.
            box_threshold, text_threshold: override those of ``config``.
            config: thresholds, duplicate suppression and a maximum count (default: ``self.config``).

        Returns :class:`Detections`, highest score first: the processor's post-processing keeps the
        boxes scoring above ``box_threshold``; boxes are then clipped to the image, empty ones dropped,
        a box overlapping a higher-scoring one by IoU above ``nms_iou`` dropped, and at most
        ``max_detections`` kept.
        """
        cfg = (config or self.config).with_(box_threshold=box_threshold, text_threshold=text_threshold)
        caption = caption_of(text)
        arr = load_image(image)
        if not arr.flags.writeable:  # torch.from_numpy (inside the processor) warns about read-only arrays
            arr = arr.copy()
        h, w = arr.shape[:2]
        t0 = time.perf_counter()
        inputs = self.processor(images=arr, text=caption, return_tensors="pt").to(self.device)
        outputs = self.model(**inputs)
        found = _post_process(self.processor, outputs, inputs["input_ids"], cfg.box_threshold, cfg.text_threshold,
                              (h, w))
        boxes = found["boxes"].detach().float().cpu().reshape(-1, 4)
        scores = found["scores"].detach().float().cpu().reshape(-1)
        phrases = [self._clean(str(p)) for p in found["phrases"]]
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
        order = torch.argsort(scores, descending=True, stable=True)
        order = order[keep[order]]
        if cfg.nms_iou is not None and len(order) > 1:
            from torchvision.ops import nms

            kept = nms(boxes[order], scores[order], cfg.nms_iou)  # indices into order, by descending score
            order = order[kept]
        if cfg.max_detections is not None:
            order = order[: int(cfg.max_detections)]
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        ms = (time.perf_counter() - t0) * 1000
        idx = order.tolist()
        return Detections(boxes=boxes[order].numpy().astype(np.float32).reshape(-1, 4),
                          scores=scores[order].numpy().astype(np.float32).reshape(-1),
                          phrases=[phrases[i] for i in idx], text=caption, image_size=(h, w), ms=ms)


# ----------------------------------------------------------------------- offline: a tiny random detector

#: The words of the tiny detector's vocabulary (besides BERT's special tokens, punctuation, digits
#: and single letters with their ``##`` continuations, which let any word be tokenised).
TINY_WORDS = (
    "the a an and or of on in at to with by from near next behind front left right top bottom middle center "
    "small big large little tall short long white black brown red green blue yellow grey gray orange pink "
    "dark light furry hairy cat cats dog dogs person people man woman men women boy girl child baby kid "
    "hair head face hand arm leg animal bird horse sheep cow bear lion tiger fox rabbit plant tree flower "
    "glass cup bottle chair table car bike bicycle ball toy hat shirt dress coat veil net object thing "
    "one two three first second other is are sitting standing lying holding wearing looking"
).split()


#: Factor on the tiny detector's decoder output norm (the logits scale with it), see :func:`build_tiny_grounding_dino`.
TINY_LOGIT_SCALE = 0.2


def tiny_vocabulary() -> list[str]:
    """The tiny detector's WordPiece vocabulary, one token per entry (BERT's special tokens first)."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    punctuation = list(".,;:!?'\"()-&/")
    digits = [str(d) for d in range(10)]
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *punctuation, *digits, *letters,
              *(f"##{c}" for c in letters + digits), *TINY_WORDS]
    return list(dict.fromkeys(tokens))


def tiny_tokenizer(folder: str | os.PathLike | None = None):
    """A ``BertTokenizerFast`` (lower-casing WordPiece) made from :func:`tiny_vocabulary`, whose
    ``vocab.txt`` is written to ``folder`` (default: a temporary folder, removed afterwards)."""
    require_transformers()
    from transformers import BertTokenizerFast

    with tempfile.TemporaryDirectory(prefix="mam_tiny_tokenizer_") as tmp:
        where = Path(folder) if folder is not None else Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        (where / "vocab.txt").write_text("\n".join(tiny_vocabulary()) + "\n", encoding="utf-8")
        return BertTokenizerFast.from_pretrained(str(where), do_lower_case=True, local_files_only=True)


def build_tiny_grounding_dino(seed: int = 0, device: str | torch.device | None = None,
                              image_size: tuple[int, int] = (160, 256), num_queries: int = 30,
                              folder: str | os.PathLike | None = None) -> TextDetector:
    """A small randomly initialised Grounding DINO: the whole text path with no download.

    Built from ``transformers``' own ``GroundingDinoConfig`` with a tiny Swin image backbone (embed
    dim 16, one block per stage), a tiny BERT text backbone (hidden size 32, one layer), d_model 32,
    one encoder and two decoder layers and ``num_queries`` queries; the tokenizer is a
    ``BertTokenizerFast`` made from :func:`tiny_vocabulary`, written to ``folder`` (default: a
    temporary folder, removed afterwards). Images are resized so their short side is
    ``image_size[0]`` and the long one at most ``image_size[1]``. Same ``seed``, same weights. The
    decoder's output norm is scaled by :data:`TINY_LOGIT_SCALE`, so the random scores spread over
    (0, 1) (rather than crowding at 1) and the thresholds visibly filter. About 0.4 M parameters; a
    detection takes about 0.1 s on a CPU. Its boxes, scores and phrases are meaningless; its default
    config keeps at most 3 boxes.
    """
    require_transformers()
    from transformers import (BertConfig, GroundingDinoConfig, GroundingDinoForObjectDetection,
                              GroundingDinoImageProcessor, GroundingDinoProcessor, SwinConfig)

    vocab = tiny_vocabulary()
    tokenizer = tiny_tokenizer(folder)
    max_text_len = 64
    backbone = SwinConfig(image_size=224, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                          window_size=4, out_indices=[2, 3, 4])
    text = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=max_text_len)
    # decoder_layers: two, since the box heads of decoder layers after the first are tied to the first's
    config = GroundingDinoConfig(backbone_config=backbone, text_config=text, num_queries=num_queries, d_model=32,
                                 encoder_layers=1, decoder_layers=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                                 encoder_attention_heads=2, decoder_attention_heads=2, encoder_n_points=2,
                                 decoder_n_points=2, num_feature_levels=4, max_text_len=max_text_len)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GroundingDinoForObjectDetection(config)
    with torch.no_grad():  # random logits are large: shrink them so scores spread over (0, 1) instead of sitting at 1
        norm = model.model.decoder.layer_norm
        norm.weight.mul_(TINY_LOGIT_SCALE)
        norm.bias.mul_(TINY_LOGIT_SCALE)
    short, long = image_size
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": int(short), "longest_edge": int(long)}),
        tokenizer=tokenizer)
    return TextDetector(model, processor, device=device, config=TextPromptConfig(max_detections=3),
                        description="tiny random Grounding DINO (no published weights): its boxes are meaningless")


def cached_text_detector(device: str | torch.device | None = None) -> TextDetector | None:
    """The first detector of :data:`~mam_lib.inference.weights.TEXT_DETECTORS` found in the cache folder,
    loaded, or None when none has been downloaded."""
    for name in TEXT_DETECTORS:
        if find_checkpoint(name) is not None:
            return TextDetector.from_pretrained(name, device=device)
    return None


def default_text_detector(device: str | torch.device | None = None, seed: int = 0) -> tuple[TextDetector, bool]:
    """The detector the notebooks start from: the cached Grounding DINO weights when there are some,
    else :func:`build_tiny_grounding_dino`. Returns ``(detector, uses_real_weights)``;
    ``detector.description`` says which one it is."""
    require_transformers()
    detector = cached_text_detector(device)
    if detector is not None:
        return detector, True
    return build_tiny_grounding_dino(seed=seed, device=device), False


def load_text_detector(source: str | os.PathLike | None = "auto", device: str | torch.device | None = None,
                       seed: int = 0) -> tuple[TextDetector, bool]:
    """The detector a command line names: ``"auto"``/None (the cached weights, else an error saying how
    to get them), ``"tiny"`` (the random one), a registry name or a folder. Returns
    ``(detector, uses_real_weights)``."""
    require_transformers()
    if source is None or str(source) == "auto":
        detector = cached_text_detector(device)
        if detector is None:
            raise CheckpointError(
                f"text prompts need Grounding DINO weights and none are in the cache folder {cache_dir()}: run "
                f"`mam download {DEFAULT_TEXT_DETECTOR}`, or pass --text-model tiny to try the pipeline with a tiny "
                "random detector (meaningless boxes)")
        return detector, True
    if str(source) == "tiny":
        return build_tiny_grounding_dino(seed=seed, device=device), False
    return TextDetector.from_pretrained(source, device=device), True

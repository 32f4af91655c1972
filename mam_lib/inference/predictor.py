"""``MattingPredictor``: image + prompt → alpha matte, the whole MAM inference path.

Like segment-anything's ``SamPredictor`` it splits the expensive step from the cheap one:
``set_image`` runs SAM's image encoder once (seconds on a CPU); every ``predict`` after it runs
only the prompt encoder, the mask decoder, M2M and the refinement.

>>> predictor = MattingPredictor.from_pretrained("tiny")       # or vit_b + checkpoints
>>> predictor.set_image("data_samples/demo/image.png")
>>> result = predictor.predict(box=[40, 30, 300, 260])
>>> result.alpha.shape, result.alpha.dtype                      # (H, W) float32 in [0, 1]
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam

from .checkpoints import load_m2m
from .device import autocast_context, resolve_device
from ..errors import PromptError
from ..io.images import load_image
from .m2m import M2MDecoder
from .refinement import RefinementConfig, RefinementSteps, refine
from .sam import ImageEncoding, SamMaskPredictor, SamPrediction, build_sam, sam_variant_of
from .weights import M2M_FOR_SAM, find_checkpoint


@dataclass
class MattingResult:
    """One matte and everything that led to it. Arrays are at the original image size ``(H, W)``.

    Attributes:
        alpha: ``(H,W)`` float32 in [0,1], the refined matte.
        mask: ``(H,W)`` bool, SAM's mask.
        alpha_os8, alpha_os4, alpha_os1: ``(H,W)`` float32 in [0,1], the decoder's three outputs.
        start, after_os4: ``(H,W)`` float32, the estimate before the os4 and before the os1 step.
        bands: ``{"os8", "os4", "os1"}`` → ``(H,W)`` bool, the pixels each step set (see
            :class:`mam_lib.inference.refinement.RefinementSteps`).
        sam: SAM's prediction (low-res mask and logits for a follow-up ``mask_input``, IoU).
        refinement: the settings used.
        box, points, labels: the prompt.
        timings: milliseconds of each stage (``sam``, ``m2m``, ``refine``, ``total``).
    """

    alpha: np.ndarray
    mask: np.ndarray
    alpha_os8: np.ndarray
    alpha_os4: np.ndarray
    alpha_os1: np.ndarray
    start: np.ndarray
    after_os4: np.ndarray
    bands: dict[str, np.ndarray]
    sam: SamPrediction
    refinement: RefinementConfig
    box: np.ndarray | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _np(t: torch.Tensor) -> np.ndarray:
    return t[0, 0].float().cpu().numpy()


class MattingPredictor:
    """Frozen SAM + M2M decoder + iterative refinement behind a two-call API.

    Args:
        sam_model: a segment-anything ``Sam`` (see :func:`mam_lib.inference.sam.build_sam`).
        m2m: the decoder (see :func:`mam_lib.inference.checkpoints.load_m2m`).
        device: where to run; None picks CUDA, then MPS, then the CPU.
        refinement: default refinement settings (guidance mode, band widths).
        precision: None, or ``"bf16"``/``"fp16"`` autocast on CUDA; ``"bf16"`` also on the CPU.
    """

    def __init__(self, sam_model: Sam, m2m: M2MDecoder, device: str | torch.device | None = None,
                 refinement: RefinementConfig | None = None, precision: str | None = None) -> None:
        self.device = resolve_device(device)
        self.sam = sam_model.to(self.device).eval()
        self.m2m = m2m.to(self.device).eval()
        self.precision = precision
        self.refinement = refinement or RefinementConfig()
        self.sam_predictor = SamMaskPredictor(self.sam, precision=precision)
        self.image: np.ndarray | None = None
        self.encode_ms: float = 0.0
        self.description = f"SAM {sam_variant_of(self.sam)} + M2M"

    @classmethod
    def from_pretrained(cls, sam_variant: str = "vit_b", sam_checkpoint: str | os.PathLike | None = None,
                        m2m_checkpoint: str | os.PathLike | None = None, device: str | torch.device | None = None,
                        seed: int = 0, **kwargs) -> "MattingPredictor":
        """Build SAM (``vit_b``/``vit_l``/``vit_h``/``tiny``) and M2M, each from a checkpoint path or random."""
        dev = resolve_device(device)
        sam = build_sam(sam_variant, sam_checkpoint, seed=seed, device=dev)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            m2m = load_m2m(m2m_checkpoint, device=dev)
        predictor = cls(sam, m2m, device=dev, **kwargs)
        predictor.description = (
            f"SAM {sam_variant} ({'checkpoint ' + Path(sam_checkpoint).name if sam_checkpoint else 'random weights'}) + "
            f"M2M ({'checkpoint ' + Path(m2m_checkpoint).name if m2m_checkpoint else 'random weights'})")
        return predictor

    @property
    def has_image(self) -> bool:
        return self.sam_predictor.encoding is not None

    @property
    def encoding(self) -> ImageEncoding:
        if self.sam_predictor.encoding is None:
            raise PromptError("no image is set: call set_image(image) first")
        return self.sam_predictor.encoding

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def set_image(self, image) -> ImageEncoding:
        """Encode an image once. ``image``: ``(H,W,3)`` uint8 RGB, a PIL image or a path
        (grey and RGBA are converted as :func:`mam_lib.io.images.load_image` documents)."""
        arr = load_image(image)
        t0 = time.perf_counter()
        enc = self.sam_predictor.set_image(arr)
        self._sync()
        self.encode_ms = (time.perf_counter() - t0) * 1000
        self.image = arr
        return enc

    @torch.no_grad()
    def _decode(self, masks_lowres: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run M2M for ``(N,1,256,256)`` masks on the current image; outputs cropped and resized to ``(N,1,H,W)``."""
        enc = self.encoding
        n = masks_lowres.shape[0]
        with autocast_context(self.device, self.precision):
            out = self.m2m(enc.features.expand(n, -1, -1, -1), enc.image.expand(n, -1, -1, -1), masks_lowres)
        h, w = enc.input_size
        resized = {}
        for key in ("alpha_os8", "alpha_os4", "alpha_os1"):
            a = out[key][..., :h, :w].float()
            resized[key] = F.interpolate(a, enc.original_size, mode="bilinear", align_corners=False).clamp_(0, 1)
        return resized

    def _result(self, sam_pred: SamPrediction, outputs: dict[str, torch.Tensor], i: int,
                config: RefinementConfig, box, points, labels, timings: dict[str, float]) -> MattingResult:
        mask = torch.as_tensor(sam_pred.mask, device=self.device)[None, None]
        t0 = time.perf_counter()
        steps = refine(outputs["alpha_os8"][i:i + 1], outputs["alpha_os4"][i:i + 1], outputs["alpha_os1"][i:i + 1],
                       mask, config)
        result = self._pack(steps, outputs, i, sam_pred, box, points, labels)
        timings = dict(timings, refine=(time.perf_counter() - t0) * 1000)
        timings["total"] = timings.get("sam", 0) + timings.get("m2m", 0) + timings["refine"]
        result.timings = timings
        return result

    @staticmethod
    def _pack(steps: RefinementSteps, outputs, i, sam_pred, box, points, labels) -> MattingResult:
        return MattingResult(
            alpha=_np(steps.alpha), mask=np.asarray(sam_pred.mask, dtype=bool),
            alpha_os8=_np(outputs["alpha_os8"][i:i + 1]), alpha_os4=_np(outputs["alpha_os4"][i:i + 1]),
            alpha_os1=_np(outputs["alpha_os1"][i:i + 1]),
            start=_np(steps.start), after_os4=_np(steps.after_os4),
            bands={"os8": _np(steps.band_os8).astype(bool), "os4": _np(steps.band_os4).astype(bool),
                   "os1": _np(steps.band_os1).astype(bool)},
            sam=sam_pred, refinement=steps.config,
            box=None if box is None else np.asarray(box, np.float32).reshape(4),
            points=None if points is None else np.asarray(points, np.float32).reshape(-1, 2),
            labels=None if labels is None else np.asarray(labels).reshape(-1).astype(np.int64))

    def _config(self, guidance: str | None, refinement: RefinementConfig | None) -> RefinementConfig:
        cfg = refinement or self.refinement
        return cfg.with_(guidance=guidance) if guidance is not None else cfg

    def predict(self, box=None, points=None, labels=None, mask_input=None, guidance: str | None = None,
                refinement: RefinementConfig | None = None, multimask_output: bool = True) -> MattingResult:
        """Matte one object on the current image.

        Args:
            box: ``x0, y0, x1, y1`` in image pixels.
            points: ``(N,2)`` ``(x, y)`` pixels; ``labels``: ``(N,)`` 1 foreground / 0 background
                (default all 1). Box and points may be combined.
            mask_input: a previous result's ``result.sam.logits_lowres`` to refine SAM's mask.
            guidance: ``"alpha"`` (default) or ``"mask"``, see :mod:`mam_lib.inference.refinement`.
            refinement: full refinement settings (band widths, two-sided); ``guidance`` overrides its mode.
        """
        config = self._config(guidance, refinement)
        t0 = time.perf_counter()
        sam_pred = self.sam_predictor.predict(box=box, points=points, labels=labels, mask_input=mask_input,
                                              multimask_output=multimask_output)
        self._sync()
        t1 = time.perf_counter()
        outputs = self._decode(sam_pred.mask_lowres)
        self._sync()
        t2 = time.perf_counter()
        timings = {"sam": (t1 - t0) * 1000, "m2m": (t2 - t1) * 1000}
        return self._result(sam_pred, outputs, 0, config, box, points, labels, timings)

    def predict_boxes(self, boxes, guidance: str | None = None,
                      refinement: RefinementConfig | None = None) -> list[MattingResult]:
        """One matte per box (``(N,4)`` pixels) on the current image; M2M runs once on the batch."""
        arr = np.asarray(boxes, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] != 4 or len(arr) == 0:
            raise PromptError(f"boxes must be an (N, 4) array of x0, y0, x1, y1, got shape {arr.shape}")
        config = self._config(guidance, refinement)
        t0 = time.perf_counter()
        preds = [self.sam_predictor.predict(box=b) for b in arr]
        t1 = time.perf_counter()
        outputs = self._decode(torch.cat([p.mask_lowres for p in preds], 0))
        self._sync()
        t2 = time.perf_counter()
        n = len(arr)
        timings = {"sam": (t1 - t0) * 1000 / n, "m2m": (t2 - t1) * 1000 / n}
        return [self._result(p, outputs, i, config, arr[i], None, None, timings) for i, p in enumerate(preds)]

    def refine(self, result: MattingResult, refinement: RefinementConfig | None = None,
               guidance: str | None = None) -> MattingResult:
        """Re-run only the refinement of an earlier result with other settings (no SAM, no M2M)."""
        config = self._config(guidance, refinement or result.refinement)
        outputs = {k: torch.as_tensor(getattr(result, k), device=self.device)[None, None]
                   for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
        timings = {k: v for k, v in result.timings.items() if k in ("sam", "m2m")}
        return self._result(result.sam, outputs, 0, config, result.box, result.points, result.labels, timings)


def default_predictor(device: str | torch.device | None = None, sam_variant: str = "vit_b",
                      seed: int = 0) -> tuple[MattingPredictor, bool]:
    """The predictor the demo, notebooks and widget start from.

    Uses the published weights when both files are in the cache folder (see
    :mod:`mam_lib.inference.weights`): SAM ``sam_variant`` and its MAM M2M checkpoint. Otherwise it falls back
    to the ``tiny`` random SAM and a randomly initialised M2M — the whole pipeline runs, but the
    mattes carry no meaning. Returns ``(predictor, uses_real_weights)``; ``predictor.description``
    says which one it is.
    """
    sam_ckpt = find_checkpoint(f"sam_{sam_variant}") if sam_variant != "tiny" else None
    m2m_ckpt = find_checkpoint(M2M_FOR_SAM[sam_variant]) if sam_variant in M2M_FOR_SAM else None
    if sam_ckpt is not None and m2m_ckpt is not None:
        return MattingPredictor.from_pretrained(sam_variant, sam_ckpt, m2m_ckpt, device=device, seed=seed), True
    predictor = MattingPredictor.from_pretrained("tiny", None, None, device=device, seed=seed)
    predictor.description = ("tiny random SAM + random M2M (no published checkpoints found in the cache folder): "
                             "the pipeline runs end to end, but the mattes are meaningless")
    return predictor, False


def build_predictor(sam_variant: str | None = None, sam_checkpoint: str | os.PathLike | None = None,
                    m2m_checkpoint: str | os.PathLike | None = None,
                    device: str | torch.device | None = None) -> tuple[MattingPredictor, bool]:
    """The predictor a command line asks for: :func:`default_predictor` when nothing is named,
    else :meth:`MattingPredictor.from_pretrained` (``vit_b`` when only checkpoints are given).

    Returns ``(predictor, uses_real_weights)``; real means both checkpoints were loaded.
    """
    if sam_variant is None and sam_checkpoint is None and m2m_checkpoint is None:
        return default_predictor(device=device)
    predictor = MattingPredictor.from_pretrained(sam_variant or "vit_b", sam_checkpoint, m2m_checkpoint, device=device)
    return predictor, sam_checkpoint is not None and m2m_checkpoint is not None

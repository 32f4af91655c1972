"""``MattingPredictor``: image + prompt → alpha matte, the whole MAM inference path.

Like segment-anything's ``SamPredictor`` it splits the expensive step from the cheap one:
``set_image`` runs SAM's image encoder once (seconds on a CPU); every ``predict`` after it runs
only the prompt encoder, the mask decoder, M2M and the refinement.

>>> predictor = MattingPredictor.from_pretrained("tiny")       # or vit_b + checkpoints
>>> predictor.set_image("data_samples/demo/image.png")
>>> result = predictor.predict(box=[40, 30, 300, 260])
>>> result.alpha.shape, result.alpha.dtype                      # (H, W) float32 in [0, 1]

Text prompts (the ``text`` extra) go through a Grounding DINO detector first (see
:mod:`mam_lib.inference.text`): ``predict(text="the cat")`` mattes the best-scoring box,
``predict_text("the cat")`` one matte per box that passes the thresholds.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam

from .checkpoints import load_m2m
from .device import autocast_context, resolve_device
from ..errors import CheckpointError, MamError, PromptError
from ..io.images import load_image
from .fast_m2m import FastM2M
from .guides import Guide
from .m2m import M2MDecoder
from .refinement import RefinementConfig, matte_region, refine, refine_in_rows
from .resize import RowResizer, source_rows
from .sam import ImageEncoding, SamMaskPredictor, SamPrediction, build_sam, sam_variant_of
from .text import Detection, Detections, TextDetector, TextPromptConfig, cached_text_detector, require_transformers
from .weights import M2M_FOR_SAM, find_checkpoint


#: The result fields that can be computed on first access (full-size maps for plots and teaching).
DETAIL_FIELDS = ("alpha_os8", "alpha_os4", "alpha_os1", "start", "after_os4", "bands")


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
        timings: milliseconds of each stage (``sam``, ``m2m``, ``refine``, ``total``; ``detect`` for a text
            prompt: the detector's time, not part of ``total``).
        lowres: the decoder's outputs before resizing, ``(1,1,h,w)`` each (``h, w``: the image's size
            in SAM's 1024 frame), when the predictor kept them.
        lowres_window: ``(y0, y1, x0, x1)``: where in that frame ``lowres`` holds the decoder's
            output (the fast path evaluates it only where the matte can be non-zero, see
            :func:`~mam_lib.inference.refinement.matte_region`; zeros elsewhere); None: everywhere.
        full_lowres: computes ``lowres`` everywhere (one more decoder run) when a plot asks for it.
        detection: for a text prompt, the detector's box (``box`` is the same), score and phrase; else None.
        guide: the mask, trimap or scribbles the prompt came with (:class:`~mam_lib.inference.guides.Guide`),
            applied to ``alpha`` after the refinement; else None.

    The fast path computes only ``alpha`` and ``mask`` at full size; the six fields of
    :data:`DETAIL_FIELDS` are then computed from ``lowres`` the first time one of them is read (a few
    full-size maps: 432 MB each at 12000×9000), so a click pays for them only when a plot asks.
    """

    alpha: np.ndarray
    mask: np.ndarray
    sam: SamPrediction
    refinement: RefinementConfig
    alpha_os8: np.ndarray = field(default_factory=lambda: None, repr=False)
    alpha_os4: np.ndarray = field(default_factory=lambda: None, repr=False)
    alpha_os1: np.ndarray = field(default_factory=lambda: None, repr=False)
    start: np.ndarray = field(default_factory=lambda: None, repr=False)
    after_os4: np.ndarray = field(default_factory=lambda: None, repr=False)
    bands: dict[str, np.ndarray] = field(default_factory=lambda: None, repr=False)
    box: np.ndarray | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    lowres: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    lowres_window: tuple[int, int, int, int] | None = None
    full_lowres: Callable[[], dict[str, torch.Tensor]] | None = field(default=None, repr=False, compare=False)
    detection: Detection | None = None
    guide: Guide | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        missing = [k for k in DETAIL_FIELDS if self.__dict__.get(k) is None]
        if missing and self.lowres is None:
            raise ValueError(f"MattingResult needs {', '.join(missing)} or the decoder's low-res outputs (lowres)")
        for k in missing:  # computed by __getattr__ on first access
            del self.__dict__[k]

    def __getattr__(self, name: str):
        if name in DETAIL_FIELDS and "lowres" in self.__dict__:
            if self.lowres_window is not None and self.full_lowres is not None:
                self.lowres, self.lowres_window = self.full_lowres(), None
            details = _details(self.lowres, self.mask, self.refinement)
            del details["alpha"]
            self.__dict__.update(details)
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    @property
    def has_details(self) -> bool:
        """Whether the full-size decoder outputs and steps are already computed."""
        return all(k in self.__dict__ for k in DETAIL_FIELDS)


def frame_window(mask: np.ndarray, config: RefinementConfig, input_size: tuple[int, int]
                 ) -> tuple[int, int, int, int] | None:
    """The window of SAM's 1024 frame that a matte's non-zero region reads, None if it has none.

    ``mask``: ``(H,W)`` SAM's mask at the photo's size; ``input_size``: ``(h, w)`` of the photo in the
    frame. :func:`~mam_lib.inference.refinement.matte_region` at the photo's size, taken to the frame
    through the resize's own source rows and columns (:func:`~mam_lib.inference.resize.source_rows`).
    """
    region = matte_region(mask, config)
    if region is None:
        return None
    y0, y1, x0, x1 = region
    (h, w), (H, W) = input_size, mask.shape
    i0, i1, _, _ = source_rows(h, H)
    j0, j1, _, _ = source_rows(w, W)
    return int(i0[y0]), int(i1[y1 - 1]) + 1, int(j0[x0]), int(j1[x1 - 1]) + 1


def _details(lowres: dict[str, torch.Tensor], mask: np.ndarray, config: RefinementConfig) -> dict:
    """The full-size decoder outputs and refinement steps of a result, from its low-res outputs."""
    size = mask.shape
    full = {k: F.interpolate(lowres[k].reshape(1, 1, *lowres[k].shape[-2:]).float(), size, mode="bilinear",
                             align_corners=False).clamp_(0, 1) for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
    steps = refine(full["alpha_os8"], full["alpha_os4"], full["alpha_os1"],
                   torch.as_tensor(mask, device=full["alpha_os8"].device)[None, None], config)
    out = {k: _np(v) for k, v in full.items()}
    out.update(alpha=_np(steps.alpha), start=_np(steps.start), after_os4=_np(steps.after_os4),
               bands={"os8": _np(steps.band_os8).astype(bool), "os4": _np(steps.band_os4).astype(bool),
                      "os1": _np(steps.band_os1).astype(bool)})
    return out


def _np(t: torch.Tensor) -> np.ndarray:
    return t[0, 0].float().cpu().numpy()


#: How the decoder and the refinement run:
#:
#: * ``"fast"``: the prepared decoder (folded weights, channels_last, no padding, only the matte's
#:   region: :mod:`mam_lib.inference.fast_m2m`) and, on the CPU, the refinement a band of rows at a
#:   time (:func:`~mam_lib.inference.refinement.refine_in_rows`). Same matte to ~1e-5, except the
#:   few pixels whose value lies within float rounding of a band threshold (see docs/refinement.md).
#: * ``"exact"``: the decoder module as it is (the published arithmetic and its speed) and, on the
#:   CPU, the row-wise refinement, which is bit for bit the full-size one: the alpha is identical
#:   to "eager"'s, with the fast path's memory on very large photos.
#: * ``"eager"``: the decoder module and every map at full size, the published way.
BACKENDS = ("fast", "exact", "eager")


class MattingPredictor:
    """Frozen SAM + M2M decoder + iterative refinement behind a two-call API.

    Args:
        sam_model: a segment-anything ``Sam`` (see :func:`mam_lib.inference.sam.build_sam`).
        m2m: the decoder (see :func:`mam_lib.inference.checkpoints.load_m2m`), or any module with its
            ``forward`` (e.g. :class:`mam_lib.inference.onnx_export.OnnxM2M`, which runs "eager").
        device: where to run; None picks CUDA, then MPS, then the CPU.
        refinement: default refinement settings (guidance mode, band widths).
        precision: None (float32), or ``"bf16"``/``"fp16"`` autocast on CUDA; ``"bf16"`` also on the
            CPU, where it pays only on processors with native bf16 (see README, "Device and precision").
        backend: ``"fast"`` (default), ``"exact"`` or ``"eager"``, see :data:`BACKENDS`. All give the
            same alpha (max abs difference ~1e-6 in float32 but for pixels at a band threshold);
            "exact" and "eager" give identical ones. "fast" is several times quicker; "fast" and
            "exact" keep memory low on very large photos. The fast decoder is prepared from
            ``m2m``'s weights on first use and prepared again whenever they change (e.g. after
            ``load_state_dict``).
        text_detector: turns text prompts into boxes (:class:`~mam_lib.inference.text.TextDetector`);
            None: the cached Grounding DINO weights are loaded on the first text prompt. It can also be
            set later: ``predictor.text_detector = build_tiny_grounding_dino()``.
    """

    def __init__(self, sam_model: Sam, m2m: M2MDecoder, device: str | torch.device | None = None,
                 refinement: RefinementConfig | None = None, precision: str | None = None,
                 backend: str = "fast", text_detector: TextDetector | None = None) -> None:
        if backend not in BACKENDS:
            raise MamError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.device = resolve_device(device)
        self.sam = sam_model.to(self.device).eval()
        self.m2m = m2m.to(self.device).eval()
        self.precision = precision
        self.backend = backend
        self.refinement = refinement or RefinementConfig()
        self.sam_predictor = SamMaskPredictor(self.sam, precision=precision)
        self.image: np.ndarray | None = None
        self.encode_ms: float = 0.0
        self.description = f"SAM {sam_variant_of(self.sam)} + M2M"
        self._fast: FastM2M | None = None
        self._fast_key: tuple | None = None
        self.text_detector = text_detector
        self._text_cache: tuple | None = None  # (image, detector, (text, config), Detections) of the last text prompt

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

    def fast_decoder(self) -> FastM2M | None:
        """The prepared decoder for the current weights of ``self.m2m`` (None if it is not an M2M).

        Rebuilt when ``self.m2m`` is replaced or any of its tensors is changed in place (torch
        counts in-place changes in each tensor's ``_version``), so loading new weights is enough.
        """
        if not isinstance(self.m2m, M2MDecoder):
            return None
        key = (id(self.m2m), self.m2m.training,
               tuple((t.data_ptr(), t._version) for t in self.m2m.state_dict(keep_vars=True).values()))
        if self._fast is None or key != self._fast_key:
            self._fast = FastM2M.from_decoder(self.m2m)
            self._fast_key = key
        return self._fast

    @torch.no_grad()
    def _decode(self, masks_lowres: torch.Tensor, window: tuple[int, int, int, int] | None = None
                ) -> dict[str, torch.Tensor]:
        """Run M2M for ``(N,1,256,256)`` masks on the current image.

        Returns ``(N,1,h,w)`` float32 outputs cropped to the image's region of SAM's 1024 frame (not
        yet resized to the photo's size). With ``window`` (fast backend only) the decoder runs only
        there and the outputs are 0 elsewhere.
        """
        enc = self.encoding
        n = masks_lowres.shape[0]
        h, w = enc.input_size
        features, image = enc.features.expand(n, -1, -1, -1), enc.image.expand(n, -1, -1, -1)
        fast = self.fast_decoder() if self.backend == "fast" else None
        with autocast_context(self.device, self.precision):
            if fast is None:
                out = self.m2m(features, image, masks_lowres)
            elif window is None:
                out = fast(features, image, masks_lowres, valid=(h, w))
            else:
                y0, y1, x0, x1 = window
                part = fast(features, image, masks_lowres, valid=(h, w), window=window)
                out = {}
                for k, v in part.items():
                    out[k] = v.new_zeros((n, 1, h, w))
                    out[k][..., y0:y1, x0:x1] = v
        return {k: out[k][..., :h, :w].float() for k in ("alpha_os8", "alpha_os4", "alpha_os1")}

    def _matte(self, sam_pred: SamPrediction, config: RefinementConfig, box, points, labels,
               t0: float, guide: Guide | None = None) -> MattingResult:
        """M2M and the refinement for one SAM prediction (``t0``: when the prompt started), then the
        guide's marks."""
        self._sync()
        t1 = time.perf_counter()
        window, lowres = None, None
        if self.backend == "fast" and self.fast_decoder() is not None:
            reach = sam_pred.mask if guide is None else guide.reach(sam_pred.mask)
            window = frame_window(reach, config, self.encoding.input_size)
            if window is None:  # an empty mask: the matte is 0 everywhere, whatever M2M says
                h, w = self.encoding.input_size
                zeros = torch.zeros((1, 1, h, w), device=self.device)
                lowres = {k: zeros for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
                window = (0, 0, 0, 0)  # the decoder's outputs are valid nowhere
        if lowres is None:
            lowres = self._decode(sam_pred.mask_lowres, window)
        self._sync()
        t2 = time.perf_counter()
        timings = {"sam": (t1 - t0) * 1000, "m2m": (t2 - t1) * 1000}
        result = self._result(sam_pred, lowres, 0, config, box, points, labels, timings, guide)
        if window is not None:
            result.lowres_window = window
            result.full_lowres = self._full_lowres_of(sam_pred.mask_lowres)
        return result

    def _full_lowres_of(self, mask_lowres: torch.Tensor) -> Callable[[], dict[str, torch.Tensor]]:
        """A function computing the decoder's outputs everywhere for this mask on the current image
        with the current weights (kept, so it stays right after the image or the weights change)."""
        enc, fast, precision, device = self.encoding, self.fast_decoder(), self.precision, self.device

        @torch.no_grad()
        def compute() -> dict[str, torch.Tensor]:
            h, w = enc.input_size
            with autocast_context(device, precision):
                out = fast(enc.features, enc.image, mask_lowres, valid=(h, w))
            return {k: out[k].float() for k in ("alpha_os8", "alpha_os4", "alpha_os1")}

        return compute

    def _result(self, sam_pred: SamPrediction, lowres: dict[str, torch.Tensor], i: int,
                config: RefinementConfig, box, points, labels, timings: dict[str, float],
                guide: Guide | None = None) -> MattingResult:
        t0 = time.perf_counter()
        mine = {k: v[i:i + 1] for k, v in lowres.items()}
        mask = np.asarray(sam_pred.mask, dtype=bool)
        if self.backend in ("fast", "exact") and self.device.type == "cpu":
            alpha, details = refine_in_rows(mine, mask, config), {}

            def finest(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
                return RowResizer(mine["alpha_os1"], mask.shape, cols=(x0, x1)).rows(y0, y1).clamp_(0, 1).cpu().numpy()
        else:  # the published way (and on a GPU): every map at full size, then the refinement on them
            details = _details(mine, mask, config)
            alpha = details.pop("alpha")

            def finest(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
                return details["alpha_os1"][y0:y1, x0:x1]
        if guide is not None:
            alpha = guide.apply(alpha, finest)
        timings = dict(timings, refine=(time.perf_counter() - t0) * 1000)
        timings["total"] = timings.get("sam", 0) + timings.get("m2m", 0) + timings["refine"]
        return MattingResult(
            alpha=alpha, mask=mask, sam=sam_pred, refinement=config, lowres=mine, timings=timings,
            box=None if box is None else np.asarray(box, np.float32).reshape(4),
            points=None if points is None else np.asarray(points, np.float32).reshape(-1, 2),
            labels=None if labels is None else np.asarray(labels).reshape(-1).astype(np.int64), guide=guide,
            **details)

    def _config(self, guidance: str | None, refinement: RefinementConfig | None) -> RefinementConfig:
        cfg = refinement or self.refinement
        return cfg.with_(guidance=guidance) if guidance is not None else cfg

    def predict(self, box=None, points=None, labels=None, mask_input=None, guidance: str | None = None,
                refinement: RefinementConfig | None = None, multimask_output: bool = True, text: str | None = None,
                box_threshold: float | None = None, text_threshold: float | None = None, mask=None,
                trimap=None, scribbles=None) -> MattingResult:
        """Matte one object on the current image.

        Args:
            box: ``x0, y0, x1, y1`` in image pixels.
            points: ``(N,2)`` ``(x, y)`` pixels; ``labels``: ``(N,)`` 1 foreground / 0 background
                (default all 1). Box and points may be combined.
            mask_input: a previous result's ``result.sam.logits_lowres`` to refine SAM's mask.
            guidance: ``"alpha"`` (default) or ``"mask"``, see :mod:`mam_lib.inference.refinement`.
            refinement: full refinement settings (band widths, two-sided); ``guidance`` overrides its mode.
            text: a phrase instead of a box or points: the text detector's best-scoring box is matted
                (``result.detection`` holds it). Raises :class:`PromptError` when no box passes the
                thresholds. ``box_threshold``/``text_threshold`` override the detector's (see
                :meth:`predict_text`).
            mask: an ``(H,W)`` coarse mask from any source (bool; 0/1 or 0..255 integers; floats in
                [0, 1]) instead of SAM's mask decoder output: M2M and the refinement run on it. An
                earlier result's ``result.sam`` is taken as it is. Not with a box or points.
            trimap: ``(H,W)`` uint8, 0 background / 128 unknown / 255 foreground: those two stay as
                the trimap says, the unknown region is filled from the refined matte. With a box or
                points SAM's mask is the start; without, the trimap's own (see
                :mod:`mam_lib.inference.guides`).
            scribbles: ``(H,W)`` uint8 brush strokes (0 none, 1 foreground, 2 background, 3 unknown),
                a partial trimap painted over ``trimap`` if both are given.
        """
        if text is not None:
            if box is not None or points is not None or mask_input is not None or mask is not None:
                raise PromptError("give either a text prompt or a box/points/mask, not both (the text's box is "
                                  "the prompt)")
            detections = self.detect_text(text, box_threshold, text_threshold)
            best = detections.best()
            if best is None:
                cfg = self._text_config(box_threshold, text_threshold)
                raise PromptError(f"no object matches {text!r} above box threshold {cfg.box_threshold:g} "
                                  f"(text threshold {cfg.text_threshold:g}); lower the thresholds or rephrase the text")
            result = self.predict(box=best.box, guidance=guidance, refinement=refinement,
                                  multimask_output=multimask_output, trimap=trimap, scribbles=scribbles)
            result.detection = best
            result.timings["detect"] = detections.ms
            return result
        config = self._config(guidance, refinement)
        t0 = time.perf_counter()
        guide = None
        if mask is not None or trimap is not None or scribbles is not None:
            guide = Guide.of(self.encoding.original_size, mask, trimap, scribbles)
        prompted = box is not None or points is not None or mask_input is not None
        if guide is None or prompted:
            if guide is not None and (guide.mask is not None or guide.prediction is not None):
                raise PromptError("give either a mask or a box/points, not both: the mask replaces what SAM "
                                  "would make of the box or points")
            sam_pred = self.sam_predictor.predict(box=box, points=points, labels=labels, mask_input=mask_input,
                                                  multimask_output=multimask_output)
        else:
            sam_pred = guide.base_prediction(self.encoding.input_size, self.device)
            if sam_pred is None:
                raise PromptError("these scribbles mark no foreground: paint some foreground, or give a box, "
                                  "points or a mask with them")
        if guide is not None:
            sam_pred = guide.edit(sam_pred, self.encoding.input_size)
        return self._matte(sam_pred, config, box, points, labels, t0, guide)

    def predict_boxes(self, boxes, guidance: str | None = None,
                      refinement: RefinementConfig | None = None) -> list[MattingResult]:
        """One matte per box (``(N,4)`` pixels) on the current image; M2M runs once on the batch."""
        arr = np.asarray(boxes, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] != 4 or len(arr) == 0:
            raise PromptError(f"boxes must be an (N, 4) array of x0, y0, x1, y1, got shape {arr.shape}")
        config = self._config(guidance, refinement)
        if self.backend == "fast":  # each box's decoder run covers only its own matte's region
            results = []
            for b in arr:
                t0 = time.perf_counter()
                results.append(self._matte(self.sam_predictor.predict(box=b), config, b, None, None, t0))
            return results
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
        """Re-run only the refinement of an earlier result with other settings (no SAM, no M2M).

        When the result's decoder outputs cover only its matte's region and the new settings reach
        further (wider bands), the outputs are first computed everywhere (one decoder run).
        """
        config = self._config(guidance, refinement or result.refinement)
        lowres, window = result.lowres, result.lowres_window
        if lowres is None:  # a result made elsewhere: its full-size outputs are the decoder's output
            lowres = {k: torch.as_tensor(getattr(result, k), device=self.device)[None, None]
                      for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
        elif window is not None:
            reach = result.mask if result.guide is None else result.guide.reach(result.mask)
            need = frame_window(reach, config, tuple(lowres["alpha_os8"].shape[-2:]))
            inside = need is None or (window[0] <= need[0] and need[1] <= window[1] and window[2] <= need[2]
                                      and need[3] <= window[3])
            if not inside:
                lowres, window = result.full_lowres(), None
        timings = {k: v for k, v in result.timings.items() if k in ("sam", "m2m")}
        out = self._result(result.sam, lowres, 0, config, result.box, result.points, result.labels, timings,
                           result.guide)
        out.lowres_window, out.full_lowres = window, result.full_lowres
        out.detection = result.detection
        return out

    # ------------------------------------------------------------------ text prompts

    def _text_config(self, box_threshold: float | None, text_threshold: float | None,
                     text_config: TextPromptConfig | None = None) -> TextPromptConfig:
        base = text_config or (self.text_detector.config if self.text_detector is not None else TextPromptConfig())
        return base.with_(box_threshold=box_threshold, text_threshold=text_threshold)

    def require_text_detector(self) -> TextDetector:
        """The text detector: the one given, else the cached Grounding DINO weights, loaded once.

        Raises :class:`~mam_lib.errors.MissingExtraError` without the ``text`` extra, and
        :class:`~mam_lib.errors.CheckpointError` when no detector was given and none is cached.
        """
        if self.text_detector is None:
            require_transformers()
            detector = cached_text_detector(self.device)
            if detector is None:
                from .weights import cache_dir

                raise CheckpointError(
                    f"text prompts need a Grounding DINO and none is in the cache folder {cache_dir()}: run "
                    "`mam download grounding-dino-tiny`, or give one: predictor.text_detector = "
                    "TextDetector.from_pretrained(folder) (mam_lib.inference.text.build_tiny_grounding_dino() for a "
                    "random one that shows the mechanics)")
            self.text_detector = detector
        return self.text_detector

    def detect_text(self, text: str, box_threshold: float | None = None, text_threshold: float | None = None,
                    text_config: TextPromptConfig | None = None) -> Detections:
        """The boxes ``text`` names on the current image (see :meth:`TextDetector.detect`), highest
        score first. The last call's result is reused for the same image, text and settings."""
        if self.image is None:
            raise PromptError("no image is set: call set_image(image) first")
        detector = self.require_text_detector()
        config = self._text_config(box_threshold, text_threshold, text_config)
        cached = self._text_cache
        if (cached is not None and cached[0] is self.image and cached[1] is detector
                and cached[2] == (text, config)):
            return cached[3]
        detections = detector.detect(self.image, text, config=config)
        self._text_cache = (self.image, detector, (text, config), detections)
        return detections

    def predict_text(self, text: str, box_threshold: float | None = None, text_threshold: float | None = None,
                     text_config: TextPromptConfig | None = None, guidance: str | None = None,
                     refinement: RefinementConfig | None = None) -> list[MattingResult]:
        """One matte per box the text detector finds for ``text`` on the current image, best first.

        Args:
            text: a phrase, e.g. ``"the dog on the left"``.
            box_threshold: keep boxes whose best token score exceeds this (default: the detector's
                config, 0.35 for Grounding DINO).
            text_threshold: tokens above this make up each box's phrase (default 0.25).
            text_config: all detection settings (NMS IoU, a maximum count); the thresholds override it.
            guidance, refinement: as for :meth:`predict`.

        Returns a list (empty when no box passes the thresholds) of results whose ``box`` is the
        detected box and ``detection`` its score and phrase; ``timings["detect"]`` is the detector's time
        (shared by the instances, not part of ``timings["total"]``).
        """
        detections = self.detect_text(text, box_threshold, text_threshold, text_config)
        return self.matte_detections(detections, guidance=guidance, refinement=refinement)

    def matte_detections(self, detections: Detections, guidance: str | None = None,
                         refinement: RefinementConfig | None = None) -> list[MattingResult]:
        """One matte per box of ``detections`` (found on the current image, e.g. by
        ``text_detector.detect(image, text)`` before ``set_image``), in their order; each result
        carries its detection. An empty ``detections`` gives an empty list."""
        if not len(detections):
            return []
        if self.image is not None and tuple(detections.image_size) not in ((0, 0), tuple(self.image.shape[:2])):
            raise PromptError(f"the detections were made on a {detections.image_size[1]}×{detections.image_size[0]} "
                              f"image but the current one is {self.image.shape[1]}×{self.image.shape[0]}; detect on "
                              "the image that is set")
        results = self.predict_boxes(detections.boxes, guidance=guidance, refinement=refinement)
        for result, detection in zip(results, detections):
            result.detection = detection
            result.timings["detect"] = detections.ms
        return results


def default_predictor(device: str | torch.device | None = None, sam_variant: str = "vit_b",
                      seed: int = 0, backend: str = "fast") -> tuple[MattingPredictor, bool]:
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
        return MattingPredictor.from_pretrained(sam_variant, sam_ckpt, m2m_ckpt, device=device, seed=seed,
                                                backend=backend), True
    predictor = MattingPredictor.from_pretrained("tiny", None, None, device=device, seed=seed, backend=backend)
    predictor.description = ("tiny random SAM + random M2M (no published checkpoints found in the cache folder): "
                             "the pipeline runs end to end, but the mattes are meaningless")
    return predictor, False


def build_predictor(sam_variant: str | None = None, sam_checkpoint: str | os.PathLike | None = None,
                    m2m_checkpoint: str | os.PathLike | None = None,
                    device: str | torch.device | None = None, backend: str = "fast") -> tuple[MattingPredictor, bool]:
    """The predictor a command line asks for: :func:`default_predictor` when nothing is named,
    else :meth:`MattingPredictor.from_pretrained` (``vit_b`` when only checkpoints are given);
    ``backend``: see :data:`BACKENDS`.

    Returns ``(predictor, uses_real_weights)``; real means both checkpoints were loaded.
    """
    if sam_variant is None and sam_checkpoint is None and m2m_checkpoint is None:
        return default_predictor(device=device, backend=backend)
    predictor = MattingPredictor.from_pretrained(sam_variant or "vit_b", sam_checkpoint, m2m_checkpoint, device=device,
                                                 backend=backend)
    return predictor, sam_checkpoint is not None and m2m_checkpoint is not None

"""Stand-in decoder outputs made from a known alpha, and a predictor that says which path it shows.

Without the published checkpoints, SAM and M2M have random weights and every matte is noise. For
an image whose true alpha is known (the shipped demo sample), the stand-in path makes the matte
mean something without pretending to predict it:

* :func:`stand_in_outputs` degrades the known alpha into three decoder-like outputs — soft at os8,
  sharper at os4, sharp but speckled inside solid regions at os1 — and a SAM-like mask (the alpha
  thresholded at SAM's 256-pixel resolution). :func:`stand_in_result` wraps them in a
  :class:`~mam_lib.inference.predictor.MattingResult` with the real refinement run on them.
* :class:`TeachingPredictor` is a :class:`~mam_lib.inference.predictor.MattingPredictor` that knows
  some images' alphas. On such an image, without published weights, SAM still runs on every prompt
  (its prompt encoder and mask decoder, timed as usual; :attr:`TeachingPredictor.last_sam` keeps its
  prediction), but the mask M2M reads and M2M's three outputs come from the known alpha of the
  objects the prompt selects; the refinement is the real one. On any other image, or with published
  weights, it is the plain predictor. :attr:`~TeachingPredictor.kind` and
  :attr:`~TeachingPredictor.banner` say which path the current image gets.
* :func:`teaching_predictor` builds it the way :func:`~mam_lib.inference.predictor.default_predictor`
  builds its predictor (published weights when cached), with the demo sample's alpha registered.

Which objects a prompt selects: the known alpha is split into objects (connected regions of
``alpha > 0``, grown by a few pixels so strands stay with their object). A box selects the objects
whose opaque part (``alpha ≥ 0.5``) it overlaps, and the mask is kept inside the box (as SAM keeps a
box prompt's mask), so the refinement's start is cut to it; a foreground point selects the object it
lies on and adds the object's semi-transparent pixels near it to the mask, a background point
removes that object or clears the mask near it; a mask (given, or a trimap's) selects the objects
its pixels overlap.
Nothing else is read from the prompt: the stand-ins show what the refinement does with outputs
that look like a trained decoder's, not what a decoder would make of the prompt.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch

from ..errors import PromptError
from .predictor import MattingPredictor, MattingResult, default_predictor
from .refinement import HIGH, RefinementConfig, refine
from .sam import LOW_RES_SIZE, SamMaskPredictor, SamPrediction

#: The paths a :class:`TeachingPredictor` can show, by :attr:`TeachingPredictor.kind`.
KINDS = ("published", "stand-in", "trained", "random")


@dataclass(frozen=True)
class StandInConfig:
    """How :func:`stand_in_outputs` degrades a known alpha into three decoder-like outputs."""

    os8_factor: int = 8  # alpha_os8: the alpha averaged over 8×8 cells, enlarged bilinearly (soft, strands smeared)
    os4_factor: int = 4  # alpha_os4: the same over 4×4 cells (sharper, thin strands still faint)
    os1_noise: float = 0.01  # alpha_os1: Gaussian noise of this std outside solid foreground (clipped to [0,1])
    solid_noise: float = 0.06  # alpha_os1: inside solid foreground, alpha lowered by |noise| of this std (mottling)
    speckle_fraction: float = 0.06  # alpha_os1: share of solid-foreground pixels inside speckles
    speckle_scale: int = 48  # speckle blobs come from noise drawn on a grid this many cells wide
    speckle_depth: float = 0.6  # a speckle multiplies alpha by (1 - depth): holes a two-sided band lets in
    mask_side: int = 256  # the mask is alpha > mask_threshold at this longer side (SAM's 256 logits), enlarged
    mask_threshold: float = 0.5  # binarisation level of the mask


def _resample(alpha: np.ndarray, factor: int) -> np.ndarray:
    """Average over ``factor × factor`` cells, enlarge back bilinearly (OpenCV ``INTER_AREA`` / ``INTER_LINEAR``)."""
    h, w = alpha.shape
    if factor <= 1:
        return alpha.copy()
    small = cv2.resize(alpha, (max(w // factor, 1), max(h // factor, 1)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def stand_in_outputs(alpha: np.ndarray, config: StandInConfig | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Decoder-like outputs made from a known alpha, for seeing the refinement without trained weights.

    A trained M2M's heads are soft at os8, sharper at os4, and sharp but noisier inside solid
    regions at os1; these stand-ins have exactly those traits, so what each refinement step keeps
    and replaces is visible. Nothing is predicted: the known alpha is degraded.

    Args:
        alpha: ``(H,W)`` float in [0,1], the known alpha.
        config: the degradations (:class:`StandInConfig`).
        seed: seeds the os1 noise and speckles.

    Returns:
        ``{"alpha_os8", "alpha_os4", "alpha_os1"}``: ``(H,W)`` float32 in [0,1]; ``"mask"``:
        ``(H,W)`` bool, a SAM-like mask (thresholded at 256-pixel resolution, so corners round off
        and strands vanish).
    """
    cfg = config or StandInConfig()
    a = np.clip(np.asarray(alpha, np.float32), 0.0, 1.0)
    if a.ndim != 2:
        raise ValueError(f"alpha must be (H,W), got shape {a.shape}")
    h, w = a.shape
    rng = np.random.default_rng(seed)
    a8 = _resample(a, cfg.os8_factor)
    a4 = _resample(a, cfg.os4_factor)
    # Speckles: smooth noise enlarged from a coarse grid, its top `speckle_fraction` inside solid alpha.
    gw = max(int(cfg.speckle_scale), 2)
    gh = max(int(round(gw * h / w)), 2)
    blobs = cv2.resize(rng.standard_normal((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    solid = a > HIGH
    speckle = np.zeros_like(solid)
    if solid.any() and cfg.speckle_fraction > 0:
        level = np.quantile(blobs[solid], 1.0 - cfg.speckle_fraction)
        speckle = solid & (blobs > level)
    noise = rng.standard_normal((h, w)).astype(np.float32)
    a1 = np.where(speckle, a * (1.0 - cfg.speckle_depth), a)
    a1 = np.where(solid, a1 - cfg.solid_noise * np.abs(noise), a1 + cfg.os1_noise * noise)
    a1 = np.clip(a1, 0.0, 1.0)
    scale = cfg.mask_side / max(h, w)
    small = cv2.resize(a, (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)), interpolation=cv2.INTER_AREA)
    mask = cv2.resize((small > cfg.mask_threshold).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    return {"alpha_os8": a8.astype(np.float32), "alpha_os4": a4.astype(np.float32),
            "alpha_os1": a1.astype(np.float32), "mask": mask}


def sam_prediction_for(mask: np.ndarray) -> SamPrediction:
    """A :class:`~mam_lib.inference.sam.SamPrediction` carrying ``mask`` (``(H,W)`` bool).

    The low-res versions are in SAM's padded 256 frame (``(1,1,256,256)`` in {0,1}; logits ±10);
    ``iou`` is NaN and ``index`` −1: no SAM predicted it.
    """
    h, w = mask.shape
    scale = LOW_RES_SIZE / max(h, w)
    lh, lw = max(int(round(h * scale)), 1), max(int(round(w * scale)), 1)
    low = np.zeros((LOW_RES_SIZE, LOW_RES_SIZE), np.float32)
    low[:lh, :lw] = cv2.resize(mask.astype(np.float32), (lw, lh), interpolation=cv2.INTER_LINEAR) > 0.5
    low_t = torch.from_numpy(low)
    return SamPrediction(mask_lowres=low_t[None, None], mask=mask.astype(bool), logits_lowres=(low_t * 20 - 10)[None],
                         iou=float("nan"), index=-1)


def stand_in_result(alpha: np.ndarray, config: StandInConfig | None = None, seed: int = 0,
                    refinement: RefinementConfig | None = None, box=None) -> MattingResult:
    """A :class:`~mam_lib.inference.predictor.MattingResult` built on :func:`stand_in_outputs` of ``alpha``.

    The refinement is run on the stand-ins with ``refinement`` (default: published settings), so
    the result plots, tabulates and re-refines (``predictor.refine(result, config)``) like a real
    one. ``box`` (default: the box of ``alpha > 0.5``) is kept as the prompt. Arrays are ``(H,W)``
    like ``alpha``.
    """
    outs = stand_in_outputs(alpha, config, seed)
    cfg = refinement or RefinementConfig()
    t = {k: torch.from_numpy(outs[k])[None, None] for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
    steps = refine(t["alpha_os8"], t["alpha_os4"], t["alpha_os1"], torch.from_numpy(outs["mask"])[None, None], cfg)
    if box is None:
        ys, xs = np.nonzero(np.asarray(alpha) > 0.5)
        box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else None

    def arr(x: torch.Tensor) -> np.ndarray:
        return x[0, 0].numpy()

    return MattingResult(
        alpha=arr(steps.alpha).astype(np.float32), mask=outs["mask"],
        alpha_os8=outs["alpha_os8"], alpha_os4=outs["alpha_os4"], alpha_os1=outs["alpha_os1"],
        start=arr(steps.start).astype(np.float32), after_os4=arr(steps.after_os4).astype(np.float32),
        bands={"os8": arr(steps.band_os8).astype(bool), "os4": arr(steps.band_os4).astype(bool),
               "os1": arr(steps.band_os1).astype(bool)},
        sam=sam_prediction_for(outs["mask"]), refinement=cfg,
        box=None if box is None else np.asarray(box, np.float32).reshape(4))


# ----------------------------------------------------------------------------- the predictor


#: Pixels an object's region is grown by, so thin strands next to it belong to it.
OBJECT_GROWTH = 7
#: A point within this many pixels of an object's region selects (or removes) it.
POINT_REACH = 6
#: Around a foreground point the object's semi-transparent pixels within this many pixels join the
#: stand-in mask (around a background point the mask is cleared).
POINT_SPREAD = 12


def _image_key(image: np.ndarray) -> tuple:
    return image.shape, hashlib.sha1(np.ascontiguousarray(image).data).hexdigest()


@dataclass
class KnownAlpha:
    """A registered image's alpha and its objects.

    Attributes:
        alpha: ``(H,W)`` float32 in [0,1].
        objects: ``(H,W)`` int32, 0 outside every object, else the object's number (1…``count``).
        count: how many objects.
        name: a label for messages (e.g. ``"demo"``).
    """

    alpha: np.ndarray
    objects: np.ndarray
    count: int
    name: str

    @classmethod
    def of(cls, alpha: np.ndarray, name: str) -> "KnownAlpha":
        a = np.clip(np.asarray(alpha, np.float32), 0.0, 1.0)
        if a.ndim != 2:
            raise PromptError(f"a known alpha must be (H, W), got shape {a.shape}")
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * OBJECT_GROWTH + 1,) * 2)
        grown = cv2.dilate((a > 0).astype(np.uint8), kernel)
        count, objects = cv2.connectedComponents(grown, connectivity=8)
        return cls(a, objects.astype(np.int32), int(count) - 1, name)

    def alpha_of(self, ids: set[int]) -> np.ndarray:
        """``(H,W)`` float32: the alpha of the objects ``ids`` only (0 elsewhere)."""
        if not ids:
            return np.zeros_like(self.alpha)
        return np.where(np.isin(self.objects, sorted(ids)), self.alpha, 0.0).astype(np.float32)

    def objects_under(self, mask: np.ndarray) -> set[int]:
        """The objects whose opaque part (α ≥ 0.5) ``mask`` (``(H,W)`` bool) overlaps."""
        hit = np.unique(self.objects[mask & (self.alpha >= 0.5)])
        return {int(i) for i in hit if i > 0}

    def object_at(self, x: float, y: float) -> int:
        """The object at pixel ``(x, y)`` (within :data:`POINT_REACH`), 0 for none."""
        h, w = self.objects.shape
        xi, yi = int(np.clip(x, 0, w - 1)), int(np.clip(y, 0, h - 1))
        y0, y1, x0, x1 = max(yi - POINT_REACH, 0), yi + POINT_REACH + 1, max(xi - POINT_REACH, 0), xi + POINT_REACH + 1
        window = self.objects[y0:y1, x0:x1]
        if self.objects[yi, xi] > 0:
            return int(self.objects[yi, xi])
        ids = window[window > 0]
        return int(np.bincount(ids).argmax()) if ids.size else 0

    def select(self, box=None, points=None, labels=None) -> set[int]:
        """The objects a box and points select (see the module's docstring)."""
        ids: set[int] = set()
        h, w = self.alpha.shape
        if box is not None:
            x0, y0, x1, y1 = (float(v) for v in np.asarray(box, np.float32).reshape(4))
            inside = np.zeros((h, w), bool)
            r0, r1 = max(int(np.floor(y0)), 0), max(int(np.ceil(y1)), 0)
            c0, c1 = max(int(np.floor(x0)), 0), max(int(np.ceil(x1)), 0)
            inside[r0:r1, c0:c1] = True
            ids |= self.objects_under(inside)
        if points is not None:
            pts = np.asarray(points, np.float32).reshape(-1, 2)
            labs = np.ones(len(pts), np.int64) if labels is None else np.asarray(labels).reshape(-1)
            for (x, y), label in zip(pts, labs):
                if int(label) == 1 and self.object_at(x, y):
                    ids.add(self.object_at(x, y))
            for (x, y), label in zip(pts, labs):
                if int(label) == 0:
                    ids.discard(self.object_at(x, y))
        return ids


class _StandInSamStage(SamMaskPredictor):
    """SAM's stage of a :class:`TeachingPredictor`: SAM runs; on a known image the mask it hands on
    is the stand-in mask of the objects the prompt selects."""

    def __init__(self, sam_model, precision, owner: "TeachingPredictor") -> None:
        super().__init__(sam_model, precision=precision)
        self._owner = owner

    def predict(self, box=None, points=None, labels=None, mask_input=None,
                multimask_output: bool = True) -> SamPrediction:
        raw = super().predict(box=box, points=points, labels=labels, mask_input=mask_input,
                              multimask_output=multimask_output)
        owner = self._owner
        owner.last_sam = raw
        known = owner.known_alpha
        if known is None:
            return raw
        ids = known.select(box, points, labels)
        if box is None and points is None and mask_input is not None:  # a mask prompt alone: what it covers
            logits = torch.as_tensor(mask_input, dtype=torch.float, device=self.device).reshape(1, LOW_RES_SIZE,
                                                                                                  LOW_RES_SIZE)
            ids = known.objects_under(self.full_size_mask(logits))
        return owner.stand_in_prediction(ids, box, points, labels)


class TeachingPredictor(MattingPredictor):
    """A :class:`~mam_lib.inference.predictor.MattingPredictor` that says what it is and, on images
    whose alpha it knows, shows stand-in decoder outputs instead of random ones.

    Args:
        sam_model, m2m, device, refinement, precision, backend, text_detector: as for
            :class:`~mam_lib.inference.predictor.MattingPredictor`.
        real_weights: whether SAM and M2M carry the published weights; then the stand-ins are never used.
        m2m_checkpoint: the file M2M's weights came from when they are not the published ones
            (e.g. the decoder ``02_training`` saves); None: random.
        stand_in: how the stand-ins degrade the known alpha (:class:`StandInConfig`).
        seed: seeds the stand-ins' noise.

    Attributes:
        kind: which path the current image gets — ``"published"``, ``"stand-in"``, ``"trained"``
            (a trained M2M with the random tiny SAM) or ``"random"`` (see :data:`KINDS`).
        banner: one line saying so, for the top of a figure, a log or the widget; ``label``: a few words.
        description: the weights, as :class:`MattingPredictor` gives it.
        stand_in_enabled: set False (or use :meth:`model_path`) to see the model's own output on a
            known image.
        last_sam: SAM's own prediction for the last box/point prompt (on the stand-in path
            ``result.sam`` holds the stand-in mask instead).
    """

    def __init__(self, sam_model, m2m, device=None, refinement: RefinementConfig | None = None,
                 precision: str | None = None, backend: str = "fast", text_detector=None, *,
                 real_weights: bool = False, m2m_checkpoint: str | os.PathLike | None = None,
                 stand_in: StandInConfig | None = None, seed: int = 0) -> None:
        super().__init__(sam_model, m2m, device=device, refinement=refinement, precision=precision,
                         backend=backend, text_detector=text_detector)
        self.sam_predictor = _StandInSamStage(self.sam, precision, self)
        self.real_weights = bool(real_weights)
        self.m2m_checkpoint = None if m2m_checkpoint is None else str(m2m_checkpoint)
        self.stand_in_config = stand_in or StandInConfig()
        self.seed = int(seed)
        self.stand_in_enabled = True
        self.last_sam: SamPrediction | None = None
        self._known: dict[tuple, KnownAlpha] = {}
        self._current: KnownAlpha | None = None
        self._frame_cache: dict[tuple, dict[str, torch.Tensor]] = {}

    # --- known alphas ---------------------------------------------------------------------------

    def add_known_alpha(self, image, alpha: np.ndarray, name: str = "sample") -> None:
        """Register ``image`` (``(H,W,3)`` uint8 RGB, a PIL image or a path) and its ``alpha``
        (``(H,W)`` float in [0,1]): from now on, setting this image (same pixels) uses the stand-in path."""
        from ..io.images import load_image

        arr = load_image(image)
        known = KnownAlpha.of(alpha, name)
        if known.alpha.shape != arr.shape[:2]:
            raise PromptError(f"the alpha is {known.alpha.shape[1]}×{known.alpha.shape[0]} but the image "
                              f"{arr.shape[1]}×{arr.shape[0]}")
        self._known[_image_key(arr)] = known

    @property
    def known_alpha(self) -> KnownAlpha | None:
        """The current image's known alpha when the stand-in path is on for it, else None."""
        if self.real_weights or not self.stand_in_enabled:
            return None
        return self._current

    def set_image(self, image):
        enc = super().set_image(image)
        self._frame_cache.clear()
        key_shapes = {k[0] for k in self._known}
        self._current = self._known.get(_image_key(self.image)) if self.image.shape in key_shapes else None
        return enc

    @contextlib.contextmanager
    def model_path(self) -> Iterator["TeachingPredictor"]:
        """Within the block, the current image gets the model's own outputs (the stand-ins are off)."""
        before = self.stand_in_enabled
        self.stand_in_enabled = False
        try:
            yield self
        finally:
            self.stand_in_enabled = before

    # --- what it is -----------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        if self.real_weights:
            return "published"
        if self.known_alpha is not None:
            return "stand-in"
        return "trained" if self.m2m_checkpoint else "random"

    @property
    def label(self) -> str:
        """A few words naming the path, for figure titles and table rows."""
        return {"published": "published weights", "stand-in": "stand-in path: outputs made from the known alpha",
                "trained": "trained M2M, random SAM", "random": "random weights"}[self.kind]

    @property
    def banner(self) -> str:
        kind = self.kind
        if kind == "published":
            return f"Published weights ({self.description}): the masks and mattes are the model's own."
        if kind == "stand-in":
            return ("Stand-in path (no published weights): SAM runs on the prompt, but the mask M2M reads and "
                    f"M2M's three outputs are made from the known alpha of '{self._current.name}' (soft at os8, "
                    "noisy at os1); the refinement is real, the matte is not a prediction.")
        if kind == "trained":
            return (f"Trained M2M ({Path(self.m2m_checkpoint).name}) with the tiny random SAM: the decoder's "
                    "output is real, but SAM's mask is meaningless, so the matte is rough at best.")
        return ("Random weights (no published checkpoints): tiny random SAM + random M2M — every shape, timing "
                "and file is real, the masks and mattes are meaningless.")

    # --- the stand-in path ----------------------------------------------------------------------

    def stand_in_prediction(self, ids: set[int], box=None, points=None, labels=None) -> SamPrediction:
        """The mask SAM's stage hands on for the objects ``ids`` of the current image: their alpha
        thresholded at SAM's 256 resolution (:func:`stand_in_outputs`' mask), kept inside ``box``
        (``x0, y0, x1, y1`` pixels; None: everywhere) as SAM keeps a box prompt's mask inside the
        box; within :data:`POINT_SPREAD` pixels of a foreground point (``points`` ``(N,2)``, ``labels``
        1/0) the object's semi-transparent pixels join the mask, as SAM's masks swallow the hair
        around a click, and near a background point the mask is cleared. Post-processed to the photo's
        size as SAM's own masks are. ``iou`` NaN, ``index`` −1.

        The decoder's stand-in outputs cover the whole objects; with alpha guidance the refinement
        starts from them cut to the mask's bounding box, so a tighter box gives a tighter matte.
        """
        known = self._current
        enc = self.encoding
        h, w = enc.input_size
        lh, lw = -(-h // 4), -(-w // 4)
        small = cv2.resize(known.alpha_of(ids), (lw, lh), interpolation=cv2.INTER_AREA)
        low = np.zeros((LOW_RES_SIZE, LOW_RES_SIZE), np.float32)
        low[:lh, :lw] = small > self.stand_in_config.mask_threshold
        if box is not None:  # the box in the 256 frame: original pixels × (256-frame size / original size)
            H, W = enc.original_size
            x0, y0, x1, y1 = (float(v) for v in np.asarray(box, np.float32).reshape(4))
            keep = np.zeros_like(low)
            keep[max(int(np.floor(y0 * lh / H)), 0):int(np.ceil(y1 * lh / H)),
                 max(int(np.floor(x0 * lw / W)), 0):int(np.ceil(x1 * lw / W))] = 1
            low *= keep
        if points is not None:
            H, W = enc.original_size
            pts = np.asarray(points, np.float32).reshape(-1, 2)
            labs = np.ones(len(pts), np.int64) if labels is None else np.asarray(labels).reshape(-1)
            yy, xx = np.mgrid[:lh, :lw]
            radius = POINT_SPREAD * lh / H
            for (x, y), label in zip(pts, labs):
                near = (xx + 0.5 - x * lw / W) ** 2 + (yy + 0.5 - y * lh / H) ** 2 <= radius ** 2
                if int(label) == 1 and known.object_at(x, y) in ids:
                    low[:lh, :lw][near & (small > 0.02)] = 1
                elif int(label) == 0:
                    low[:lh, :lw][near] = 0
        low_t = torch.from_numpy(low).to(self.device)
        logits = (low_t * 20 - 10)[None]
        return SamPrediction(mask_lowres=low_t[None, None], mask=self.sam_predictor.full_size_mask(logits),
                             logits_lowres=logits, iou=float("nan"), index=-1)

    def fast_decoder(self):
        # the stand-ins are made for the whole frame: no windowed decoder on that path
        return None if self.known_alpha is not None else super().fast_decoder()

    def _decode(self, masks_lowres: torch.Tensor, window=None) -> dict[str, torch.Tensor]:
        known = self.known_alpha
        if known is None:
            return super()._decode(masks_lowres, window)
        enc = self.encoding
        h, w = enc.input_size
        H, W = enc.original_size
        outs = []
        for m in masks_lowres:
            full = cv2.resize(m[0, : -(-h // 4), : -(-w // 4)].float().cpu().numpy(), (W, H),
                              interpolation=cv2.INTER_LINEAR) > 0.5
            ids = known.objects_under(full)
            outs.append(self._frame_outputs(tuple(sorted(ids))))
        return {k: torch.cat([o[k] for o in outs], 0) for k in ("alpha_os8", "alpha_os4", "alpha_os1")}

    def _frame_outputs(self, ids: tuple[int, ...]) -> dict[str, torch.Tensor]:
        """Stand-in outputs of the objects ``ids`` in SAM's 1024 frame, ``(1,1,h,w)`` float32 each: the
        stand-ins of the photo's alpha (:func:`stand_in_outputs`), taken to the frame so that the
        predictor's resize back to the photo gives them again (:func:`frame_version`)."""
        if ids not in self._frame_cache:
            outs = stand_in_outputs(self._current.alpha_of(set(ids)), self.stand_in_config, self.seed)
            size = self.encoding.input_size
            self._frame_cache[ids] = {k: torch.from_numpy(frame_version(outs[k], size)).to(self.device)[None, None]
                                      for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
        return self._frame_cache[ids]


def frame_version(alpha: np.ndarray, frame_size: tuple[int, int], iterations: int = 4) -> np.ndarray:
    """A map at ``frame_size`` ``(h, w)`` whose bilinear resize to ``alpha``'s size gives ``alpha`` back.

    The predictor resizes the decoder's outputs from SAM's 1024 frame to the photo bilinearly; a
    plain enlargement followed by that resize blurs thin strands (SAD 1.6 on the demo sample). A
    Lanczos enlargement corrected by ``iterations`` rounds of back-projection brings the round trip
    to ~0.15. ``alpha``: ``(H,W)`` float32 in [0,1]; returns ``(h,w)`` float32 in [0,1].
    """
    import torch.nn.functional as F

    a = np.asarray(alpha, np.float32)
    (h, w), (H, W) = frame_size, a.shape

    def back(u: np.ndarray) -> np.ndarray:
        up = F.interpolate(torch.from_numpy(u)[None, None], (H, W), mode="bilinear", align_corners=False)
        return up[0, 0].numpy()

    u = np.clip(cv2.resize(a, (w, h), interpolation=cv2.INTER_LANCZOS4), 0.0, 1.0)
    if (h, w) == (H, W):
        return a.copy()
    for _ in range(iterations):
        u = np.clip(u + cv2.resize(a - back(u), (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
    return u.astype(np.float32)


def teaching_predictor(sample: str | None = "demo", sam_variant: str = "vit_b",
                       m2m_checkpoint: str | os.PathLike | None = None, device=None, seed: int = 0,
                       stand_in: StandInConfig | None = None) -> TeachingPredictor:
    """The predictor the notebooks, the demo and the widget show, labelled with the path it takes.

    Args:
        sample: a folder of ``data_samples/`` with an ``image.png`` and its ``alpha.png`` to register
            (:meth:`TeachingPredictor.add_known_alpha`); None registers nothing.
        sam_variant: which published SAM to look for in the cache folder (``"vit_b"``, ``"vit_l"``,
            ``"vit_h"``) together with its MAM M2M, as :func:`~mam_lib.inference.predictor.default_predictor`
            does; without both files the tiny random SAM is used. ``"tiny"``: always the tiny random SAM.
        m2m_checkpoint: M2M weights to load when no published weights are found (e.g. the decoder
            ``02_training`` saved); ignored when it is None or the file does not exist.
        device, seed: as for :func:`~mam_lib.inference.predictor.default_predictor`.
        stand_in: how the stand-ins degrade the known alpha.

    Returns a :class:`TeachingPredictor`; ``.real_weights``, ``.kind`` and ``.banner`` say what it is.
    """
    base, real = default_predictor(device=device, sam_variant=sam_variant, seed=seed)
    trained = None
    if not real and m2m_checkpoint is not None and Path(m2m_checkpoint).is_file():
        from .checkpoints import load_m2m_weights

        load_m2m_weights(base.m2m, m2m_checkpoint)
        trained = m2m_checkpoint
    predictor = TeachingPredictor(base.sam, base.m2m, device=base.device, real_weights=real, m2m_checkpoint=trained,
                                  stand_in=stand_in, seed=seed)
    predictor.description = base.description if trained is None else (
        f"tiny random SAM + M2M trained by 02_training ({trained})")
    if sample is not None:
        from ..io.samples import load_demo_sample

        known = load_demo_sample(sample)
        predictor.add_known_alpha(known.image, known.alpha, name=sample)
    return predictor

"""What a user can say about pixels besides a box or points: a coarse mask, a trimap, brush strokes.

The predictor (:meth:`MattingPredictor.predict <mam_lib.inference.predictor.MattingPredictor.predict>`)
takes three kinds of guide, alone or combined with a box or points:

* ``mask``: an ``(H,W)`` coarse mask from any source (another segmenter, a file, a drawing). It
  replaces SAM's mask decoder output: M2M and the refinement run on it as usual.
* ``trimap``: ``(H,W)`` uint8, 0 = background, 128 = unknown, 255 = foreground (the usual
  convention, checked by :func:`mam_lib.io.images.check_trimap`). Definite foreground and
  background stay exactly as the trimap says; the unknown region is filled from the refined matte,
  whose last step (the ``alpha_os1`` output) covers the whole unknown region: the trimap says where
  the transition is, so it is the refinement's os1 band.
* ``scribbles``: ``(H,W)`` uint8 brush strokes, :data:`FREE` (0, not painted), :data:`FG` (1),
  :data:`BG` (2), :data:`UNKNOWN` (3): a partial trimap, as a brush in the widget paints it.
  Painted pixels behave as the trimap's; unpainted ones keep the refined matte.

How a guide reaches M2M. M2M reads a ``(1,1,256,256)`` mask covering SAM's padded 1024² frame
(the photo resized so its long side is 1024, padded at the bottom and right). A given mask goes
there by :func:`mask_to_lowres`: resized to the photo's size in the frame with OpenCV's area
interpolation (each frame pixel gets the fraction of the photo's pixels it covers that are in
the mask), padded, averaged over the 4×4 frame pixels of each low-res cell, kept where that
fraction is at least one half. A mask SAM made itself gives back SAM's own low-res mask on all but
a few cells along its edge (``tests/inference/test_guides.py`` measures it); to reuse a SAM mask
exactly, pass the earlier result's ``result.sam`` as ``mask``. Foreground and background marks
edit the coarse mask before M2M sees it: a low-res cell any foreground mark touches is set, one any
background mark touches is cleared (background wins), since a thin stroke on a large photo covers
less than a cell.

Without a box, points or mask, the coarse mask comes from the trimap — its foreground plus the
unknown pixels nearer to the foreground than to the background (:func:`trimap_mask`) — or from the
foreground strokes.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..errors import ImageReadError, PromptError
from ..io.images import check_trimap
from .sam import IMAGE_SIZE, LOW_RES_SIZE, SamPrediction

#: Scribble values: not painted, foreground, background, unknown.
FREE, FG, BG, UNKNOWN = 0, 1, 2, 3
#: Logit given to the cells of a mask that did not come from SAM's decoder (SAM's own are of this size),
#: so ``result.sam.logits_lowres`` can still be passed back as ``mask_input``.
MASK_LOGIT = 10.0


def _plane(arr, size: tuple[int, int], what: str) -> np.ndarray:
    """``arr`` as an ``(H,W)`` array of the image's size (an ``(H,W,1)`` one is squeezed)."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        extra = " (a colour image? save the mask as one grey value per pixel)" if a.ndim == 3 else ""
        raise PromptError(f"{what} must be a 2-D (H, W) array, got shape {a.shape}{extra}")
    if a.shape != tuple(size):
        raise PromptError(f"{what} is {a.shape[1]}×{a.shape[0]} but the image is {size[1]}×{size[0]}: "
                          "give one value per image pixel (resize it to the image's size first)")
    return a


def check_mask(mask, size: tuple[int, int], what: str = "the mask") -> np.ndarray:
    """``(H,W)`` bool from a coarse mask of any usual kind.

    bool as it is; integers 0/1 (any integer type) or 0..255 (uint8: kept from 128 up, so a grey
    0/255 mask or a matte works); floats must be finite and in [0, 1] (kept from 0.5 up). Raises
    :class:`PromptError` for another size or layout, other values, or an empty mask.
    """
    a = _plane(mask, size, what)
    if a.dtype == bool:
        out = a
    elif np.issubdtype(a.dtype, np.integer):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo < 0 or hi > 255:
            raise PromptError(f"{what} holds integers from {lo} to {hi}; a mask is 0/1, or 0..255 in a grey image")
        out = a >= 128 if hi > 1 else a.astype(bool)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise PromptError(f"{what} holds NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 1:
            hint = ": divide it by 255" if hi <= 255 and hi > 1 else ""
            raise PromptError(f"{what} holds floats from {lo:g} to {hi:g}; a float mask is in [0, 1]{hint}")
        out = a >= 0.5
    else:
        raise PromptError(f"{what} holds {a.dtype} values; give a bool, integer or float array")
    if not out.any():
        raise PromptError(f"{what} is empty (no pixel is set): there is no object to matte")
    return np.ascontiguousarray(out)


def check_scribbles(scribbles, size: tuple[int, int], what: str = "the scribbles") -> np.ndarray:
    """``(H,W)`` uint8 in {FREE, FG, BG, UNKNOWN} (0..3); raises :class:`PromptError` otherwise."""
    a = _plane(scribbles, size, what)
    if not np.issubdtype(a.dtype, np.integer) and a.dtype != bool:
        raise PromptError(f"{what} holds {a.dtype} values; scribbles are integers 0 (not painted), 1 (foreground), "
                          "2 (background), 3 (unknown)")
    values = np.unique(a)
    bad = values[(values < FREE) | (values > UNKNOWN)]
    if bad.size:
        raise PromptError(f"{what} holds values other than 0..3 ({', '.join(str(int(v)) for v in bad[:6])}); "
                          "scribbles are 0 (not painted), 1 (foreground), 2 (background), 3 (unknown)")
    return np.ascontiguousarray(a, dtype=np.uint8)


def check_trimap_for(trimap, size: tuple[int, int], what: str = "the trimap") -> np.ndarray:
    """``(H,W)`` uint8 trimap of the image's size holding only 0/128/255 and some unknown pixels."""
    a = _plane(trimap, size, what)
    try:
        t = check_trimap(a, what)
    except ImageReadError as err:
        raise PromptError(str(err)) from None
    if not (t == 128).any():
        raise PromptError(f"{what} has no unknown (128) pixels, so there is nothing to matte: it already is the "
                          "matte. Mark the transition between foreground and background as 128")
    return t


def trimap_to_scribbles(trimap: np.ndarray) -> np.ndarray:
    """``(H,W)`` uint8 marks of a checked trimap: 255 → FG, 0 → BG, 128 → UNKNOWN."""
    marks = np.full(trimap.shape, UNKNOWN, np.uint8)
    marks[trimap == 255] = FG
    marks[trimap == 0] = BG
    return marks


def trimap_mask(marks: np.ndarray) -> np.ndarray:
    """``(H,W)`` bool coarse mask of a (partial) trimap's marks: the foreground, plus the unknown
    pixels nearer to the foreground than to the background (Euclidean distance, OpenCV's
    ``distanceTransform``): the middle of the transition. With no foreground mark: the unknown region."""
    fg, bg, unknown = marks == FG, marks == BG, marks == UNKNOWN
    if not fg.any():
        return unknown.copy()
    if not bg.any():
        return fg | unknown
    to_fg = cv2.distanceTransform((~fg).view(np.uint8), cv2.DIST_L2, 3)  # distance to the nearest fg pixel
    to_bg = cv2.distanceTransform((~bg).view(np.uint8), cv2.DIST_L2, 3)
    return fg | (unknown & (to_fg <= to_bg))


def _frame_fraction(mask: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """``(256,256)`` float32: the fraction of each low-res cell of SAM's frame that ``mask`` covers."""
    h, w = input_size
    # uint8 0/255 rather than float: a quarter of the memory on a large photo, fractions to 1/255
    resized = cv2.resize(np.ascontiguousarray(mask).view(np.uint8) * np.uint8(255), (w, h),
                         interpolation=cv2.INTER_AREA)
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    frame[:h, :w] = resized / np.float32(255)
    f = IMAGE_SIZE // LOW_RES_SIZE
    return frame.reshape(LOW_RES_SIZE, f, LOW_RES_SIZE, f).mean(axis=(1, 3))


def mask_to_lowres(mask: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """``(256,256)`` bool: M2M's low-res input for an ``(H,W)`` bool mask (see the module's docstring).

    ``input_size``: ``(h, w)`` of the photo in SAM's 1024 frame (``encoding.input_size``).
    """
    return _frame_fraction(np.asarray(mask, dtype=bool), input_size) >= 0.5


def _touched(mask: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """``(256,256)`` bool: the low-res cells any pixel of ``mask`` falls in."""
    return _frame_fraction(np.asarray(mask, dtype=bool), input_size) > 0


def prediction_of_mask(mask: np.ndarray, lowres: np.ndarray, device: torch.device | str = "cpu") -> SamPrediction:
    """A :class:`~mam_lib.inference.sam.SamPrediction` for a mask SAM's decoder did not make.

    ``mask``: ``(H,W)`` bool at the photo's size; ``lowres``: ``(256,256)`` bool, M2M's input. The
    logits are ±:data:`MASK_LOGIT`, ``iou`` is NaN and ``index`` −1 (no candidate was chosen).
    """
    low = torch.as_tensor(np.ascontiguousarray(lowres), device=device).float()[None]
    return SamPrediction(mask_lowres=low[None].clone(), mask=np.ascontiguousarray(mask, dtype=bool),
                         logits_lowres=(low * 2 - 1) * MASK_LOGIT, iou=float("nan"), index=-1)


@dataclass(frozen=True, eq=False)
class Guide:
    """A checked mask, trimap and/or scribbles for one image (see the module's docstring).

    Attributes:
        mask: ``(H,W)`` bool given coarse mask, or None.
        prediction: a given SAM prediction (an earlier ``result.sam``) used as the mask, or None.
        marks: ``(H,W)`` uint8 in {FREE, FG, BG, UNKNOWN}: the trimap's classes with the scribbles
            painted over them, or None.
        kind: what was given, e.g. ``"mask"``, ``"trimap"``, ``"trimap + scribbles"``.
    """

    mask: np.ndarray | None
    prediction: SamPrediction | None
    marks: np.ndarray | None
    kind: str

    @classmethod
    def of(cls, size: tuple[int, int], mask=None, trimap=None, scribbles=None) -> "Guide | None":
        """The guide for an image of ``size`` ``(H, W)``; None when nothing is given. Raises
        :class:`PromptError` for a malformed one."""
        if mask is None and trimap is None and scribbles is None:
            return None
        prediction = None
        if isinstance(mask, SamPrediction):
            prediction, mask = mask, None
            if prediction.mask.shape != tuple(size):
                raise PromptError(f"the SAM prediction given as mask is for a {prediction.mask.shape[1]}×"
                                  f"{prediction.mask.shape[0]} image, not this {size[1]}×{size[0]} one")
        elif mask is not None:
            mask = check_mask(mask, size)
        marks = None
        if trimap is not None:
            marks = trimap_to_scribbles(check_trimap_for(trimap, size))
        if scribbles is not None:
            strokes = check_scribbles(scribbles, size)
            if marks is None:
                marks = strokes
            else:
                marks = np.where(strokes != FREE, strokes, marks).astype(np.uint8)
        kind = " + ".join(k for k, v in (("mask", mask if prediction is None else prediction), ("trimap", trimap),
                                         ("scribbles", scribbles)) if v is not None)
        return cls(mask, prediction, marks, kind)

    def marked(self, value: int) -> np.ndarray | None:
        """``(H,W)`` bool of the pixels marked ``value``, None if there is none."""
        if self.marks is None:
            return None
        m = self.marks == value
        return m if m.any() else None

    def base_prediction(self, input_size: tuple[int, int], device) -> SamPrediction | None:
        """The coarse mask the guide itself gives (mask, SAM prediction, trimap or foreground
        strokes), as a prediction for M2M; None when it gives none (a box or points must then)."""
        if self.prediction is not None:
            return self.prediction
        if self.mask is not None:
            return prediction_of_mask(self.mask, mask_to_lowres(self.mask, input_size), device)
        if self.marks is not None and (self.marks == UNKNOWN).any():
            base = trimap_mask(self.marks)
        else:
            base = self.marked(FG)
        if base is None or not base.any():
            return None
        return prediction_of_mask(base, mask_to_lowres(base, input_size), device)

    def edit(self, pred: SamPrediction, input_size: tuple[int, int]) -> SamPrediction:
        """``pred`` with the foreground marks added to its mask and the background marks removed, at
        full size and in the low-res input (see the module's docstring); ``pred`` itself if no mark
        changes it."""
        fg, bg = self.marked(FG), self.marked(BG)
        if fg is None and bg is None:
            return pred
        mask = pred.mask.copy()
        low = pred.mask_lowres[0, 0].cpu().numpy() > 0.5
        new_low = low.copy()
        if fg is not None:
            mask |= fg
            new_low |= _touched(fg, input_size)
        if bg is not None:
            mask &= ~bg
            new_low &= ~_touched(bg, input_size)
        if np.array_equal(mask, pred.mask) and np.array_equal(new_low, low):
            return pred
        device = pred.mask_lowres.device
        logits = pred.logits_lowres.clone()
        changed = torch.as_tensor(new_low != low, device=device)[None]
        logits[changed] = (torch.as_tensor(new_low, device=device).float()[None][changed] * 2 - 1) * MASK_LOGIT
        return SamPrediction(mask_lowres=torch.as_tensor(new_low, device=device).float()[None, None],
                             mask=mask, logits_lowres=logits, iou=pred.iou, index=pred.index)

    def reach(self, mask: np.ndarray) -> np.ndarray:
        """``(H,W)`` bool: where the matte can be non-zero before the refinement's halo: ``mask`` and
        the unknown marks (the decoder must be evaluated there too)."""
        unknown = self.marked(UNKNOWN)
        return mask if unknown is None else mask | unknown

    def apply(self, alpha: np.ndarray, finest) -> np.ndarray:
        """The refined ``alpha`` ``(H,W)`` float32 with the marks applied, in place: FG → 1, BG → 0,
        UNKNOWN → the finest output. ``finest(y0, y1, x0, x1)`` gives ``alpha_os1`` at full size on
        that block (float32 in [0, 1])."""
        if self.marks is None:
            return alpha
        alpha[self.marks == FG] = 1.0
        alpha[self.marks == BG] = 0.0
        unknown = self.marked(UNKNOWN)
        if unknown is not None:
            rows, cols = np.flatnonzero(unknown.any(axis=1)), np.flatnonzero(unknown.any(axis=0))
            y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
            block = unknown[y0:y1, x0:x1]
            alpha[y0:y1, x0:x1][block] = np.asarray(finest(y0, y1, x0, x1), np.float32)[block]
        return alpha

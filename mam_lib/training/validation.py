"""Validation of the decoder during training.

The decoder's outputs on held-out crops go through the inference refinement
(:func:`mam_lib.inference.refinement.refine`) and are scored with :mod:`mam_lib.evaluation.metrics`
(SAD, MSE) in the trimap's unknown region; the coarse mask used as an alpha is scored alongside
as the baseline. :class:`ValidationMixin` gives the :class:`~mam_lib.training.trainer.Trainer`
these methods.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..inference.device import autocast_context
from ..inference.refinement import refine


class ValidationMixin:
    """Prediction and scoring on held-out data; part of :class:`~mam_lib.training.trainer.Trainer`.

    Relies on the trainer's attributes ``config``, ``model``, ``forward_model`` (the model, or
    its compiled form), ``device``, ``precision`` and ``refinement`` (a
    :class:`~mam_lib.inference.refinement.RefinementConfig`), and on its methods ``prepare`` and
    ``val_set`` (:class:`~mam_lib.training.inputs.InputsMixin`).
    """

    @torch.no_grad()
    def predict(self, raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the decoder and the inference refinement on a batch (sample dicts or cached items).

        Returns ``(B,1,S,S)`` float tensors in [0,1]: ``alpha`` (refined), ``alpha_os8``,
        ``alpha_os4``, ``alpha_os1``, ``mask`` (the coarse mask at full size, {0,1}), ``gt_alpha``
        (when the batch has one), and ``unknown`` (bool, the trimap's unknown region). The model's
        train/eval mode is left as it was; the prediction itself runs in eval mode.
        """
        was_training = self.model.training
        self.model.eval()
        try:
            batch = self.prepare(raw)
            with autocast_context(self.device, self.precision):
                outputs = self.forward_model(batch["features"], batch["image"], batch["mask"])
        finally:
            self.model.train(was_training)
        outputs = {k: v.float() for k, v in outputs.items()}
        size = batch["image"].shape[-2:]
        coarse = (F.interpolate(batch["mask"], size=size, mode="nearest") > 0.5).float()
        steps = refine(outputs["alpha_os8"], outputs["alpha_os4"], outputs["alpha_os1"], coarse > 0.5,
                       self.refinement)
        out = {"alpha": steps.alpha.clamp(0, 1), "mask": coarse,
               **{k: outputs[k] for k in ("alpha_os8", "alpha_os4", "alpha_os1")}}
        if "alpha" in batch:
            out["gt_alpha"] = batch["alpha"].clamp(0, 1)
        if "trimap" in batch:
            out["unknown"] = (batch["trimap"] > 0.25) & (batch["trimap"] < 0.75)
        return out

    @torch.no_grad()
    def validate(self, dataset: Dataset | None = None, max_items: int | None = None) -> dict[str, float]:
        """Score the refined prediction on held-out data; returns mean metrics.

        Keys: ``sad``, ``mse`` (unknown region of the trimap), ``sad_all`` (whole crop), and the
        same for the coarse mask used as an alpha (``mask_sad``, ``mask_mse``, ``mask_sad_all``).
        """
        from ..evaluation.metrics import mse, sad

        data = dataset if dataset is not None else self.val_set()
        n = len(data) if max_items is None else min(len(data), max_items)
        loader = DataLoader(torch.utils.data.Subset(data, list(range(n))), batch_size=self.config.run.val_batch_size,
                            shuffle=False, num_workers=0)
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        count = 0
        try:
            for raw in loader:
                out = self.predict(raw)
                pred = out["alpha"].cpu().numpy()
                gt = out["gt_alpha"].cpu().numpy()
                base = out["mask"].cpu().numpy()
                unknown = out["unknown"].cpu().numpy()
                for i in range(pred.shape[0]):
                    g, region = gt[i, 0], unknown[i, 0]
                    scores = {"sad": sad(pred[i, 0], g, region), "mse": mse(pred[i, 0], g, region),
                              "sad_all": sad(pred[i, 0], g), "mask_sad": sad(base[i, 0], g, region),
                              "mask_mse": mse(base[i, 0], g, region), "mask_sad_all": sad(base[i, 0], g)}
                    for k, v in scores.items():
                        sums[k] = sums.get(k, 0.0) + v
                    count += 1
        finally:
            self.model.train(was_training)
        return {k: v / max(1, count) for k, v in sums.items()}

"""Where a training batch's SAM features and coarse mask come from.

Per batch, from the frozen SAM on the crop and its box prompt (``model.mask_source = "sam"``,
the recipe), or SAM's features with the data set's simulated coarse mask (``"simulated"``) — or,
with ``cache.enabled``, from a disk cache of either (:mod:`mam_lib.training.feature_cache`), which
removes SAM from the step altogether. The cache is built on first use under a key of everything
that shapes its items, the data's files among them (:func:`source_fingerprint`).
:class:`InputsMixin` gives the :class:`~mam_lib.training.trainer.Trainer` its SAM, its training
and validation data and :meth:`~InputsMixin.prepare`, which turns a batch into the decoder's inputs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ..errors import MamError
from ..inference.checkpoints import check_checkpoint_file
from ..inference.device import autocast_context
from ..inference.sam import build_sam, crop_features, sam_features_and_masks
from ..inference.weights import resolve_weights_path
from .config import config_to_dict
from .feature_cache import FeatureCache, build_feature_cache, cache_key, item_sources, open_or_build_cache


def _is_cached(dataset: Dataset) -> bool:
    """True for a :class:`FeatureCache` (or a subset of one): its items already carry SAM's features."""
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return isinstance(dataset, FeatureCache)


def source_fingerprint(dataset: Dataset) -> list[Any]:
    """What a data set reads, for cache keys: each source's description and, for folders of
    files, every file's name, size and modification time (so edited folders invalidate a cache)."""
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    out: list[Any] = [type(base).__name__, len(dataset)]
    for group in ("foregrounds", "backgrounds", "images"):
        for src in getattr(base, group, []) or []:
            entry: list[Any] = [group, src.describe() if hasattr(src, "describe") else type(src).__name__]
            files = [f for pair in getattr(src, "pairs", []) for f in (pair.color, pair.alpha)]
            files += list(getattr(src, "files", []) or [])
            stats = []
            for f in files:
                try:
                    st = Path(f).stat()
                    stats.append([Path(f).name, st.st_size, int(st.st_mtime)])
                except OSError:
                    stats.append([str(f), None, None])
            if stats:
                entry.append(cache_key({"files": stats}))
            out.append(entry)
    return out


class InputsMixin:
    """The frozen SAM, the training and validation data, and the decoder's inputs of a batch;
    part of :class:`~mam_lib.training.trainer.Trainer`.

    Relies on the trainer's attributes ``config``, ``device``, ``precision``, ``out_dir``,
    ``echo``, ``_sam`` (the SAM given, or None until built), ``_train_data`` and ``_val_data``
    (the data sets given, or None), and ``_train_set`` and ``_val_set`` (None until first built).
    """

    @staticmethod
    def _freeze(sam: torch.nn.Module) -> None:
        sam.eval()
        sam.requires_grad_(False)

    @property
    def sam(self) -> torch.nn.Module:
        """The frozen SAM (built on first use: a complete feature cache never needs it)."""
        if self._sam is None:
            m = self.config.model
            ckpt = resolve_weights_path(m.sam_checkpoint, "model.sam_checkpoint")
            if ckpt is not None:
                check_checkpoint_file(ckpt, "model.sam_checkpoint")  # empty or foreign files: a clear error
            self._sam = build_sam(m.sam_variant, ckpt, seed=m.sam_seed, device=self.device)
            self._freeze(self._sam)
        return self._sam

    def sam_stage(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's features ``(B,256,S/16,S/16)`` and the coarse mask of a batch of sample dicts.

        The mask is SAM's best mask for the box, ``(B,1,S/4,S/4)``, or with ``mask_source =
        "simulated"`` the batch's own ``mask`` ``(B,1,S,S)``.
        """
        m = self.config.model
        image = batch["image"].to(self.device, non_blocking=True)
        if m.mask_source == "simulated":
            if "mask" not in batch:
                raise MamError("model.mask_source = 'simulated' but the samples carry no 'mask'; "
                               "set data.with_mask = true")
            # only the image encoder is needed (SAM's own mask would be thrown away), and only its
            # features of the crop: crop_features skips the windows of padding the tiny SAM never mixes in
            with torch.no_grad(), autocast_context(self.device, self.precision):
                features = crop_features(self.sam, image)
            features = features.float().contiguous()
            return features, batch["mask"].to(self.device, non_blocking=True).float()
        box = batch["box"].to(self.device, non_blocking=True).float()
        with torch.no_grad():
            features, sam_mask = sam_features_and_masks(self.sam, image, box, multimask_output=m.multimask_output,
                                                        precision=self.precision)
        return features, sam_mask

    def _cache_description(self, split: str, dataset: Dataset) -> dict[str, Any]:
        m, c = self.config.model, self.config.cache
        sam_ckpt = resolve_weights_path(m.sam_checkpoint, "model.sam_checkpoint")
        sam_id = None
        if sam_ckpt is not None:
            st = sam_ckpt.stat()
            sam_id = [str(sam_ckpt.resolve()), st.st_size, int(st.st_mtime)]
        return {
            "split": split,
            "data": config_to_dict(self.config.data),
            "val": config_to_dict(self.config.val) if split == "val" else None,
            "sources": source_fingerprint(dataset),
            "sam_variant": m.sam_variant, "sam_checkpoint": sam_id, "sam_seed": m.sam_seed,
            "mask_source": m.mask_source, "multimask_output": m.multimask_output,
            "views": c.views if split == "train" else 1, "store_fg_bg": c.store_fg_bg,
            "items": len(dataset),
        }

    def _cached(self, split: str, dataset: Dataset) -> FeatureCache:
        c = self.config.cache
        root = Path(c.dir) if c.dir else self.out_dir / "cache"
        directory = root / split
        description = self._cache_description(split, dataset)
        key = cache_key(description)
        views = c.views if split == "train" else 1

        def build() -> FeatureCache:
            self.echo(f"building the {split} feature cache in {directory} ({len(dataset) * views} crops)")
            return build_feature_cache(directory, dataset, self.sam_stage, items=item_sources(len(dataset), views),
                                       key=key, description=description, batch_size=c.build_batch_size,
                                       store_fg_bg=c.store_fg_bg, progress=self.config.run.progress,
                                       num_workers=self.config.run.num_workers)

        return open_or_build_cache(directory, key, build, log=self.echo)

    def train_set(self) -> Dataset:
        """The training data (built, and cached to disk when ``cache.enabled``, on first use)."""
        if self._train_set is None:
            from ..data.dataset import MattingDataset

            data = self._train_data if self._train_data is not None else MattingDataset(self.config.data, "train")
            if self.config.cache.enabled and not _is_cached(data):
                data = self._cached("train", data)
            self._train_set = data
        return self._train_set

    def val_set(self) -> Dataset:
        """The held-out data (``MattingDataset(config.data, "val")`` unless given; cached likewise)."""
        if self._val_set is None:
            from ..data.dataset import MattingDataset

            data = self._val_data
            if data is None:
                v = self.config.val
                data_cfg = self.config.data
                if v.images:
                    data_cfg = data_cfg.replace(images=tuple(v.images), foregrounds=(), backgrounds=(), real_ratio=1.0)
                data = MattingDataset(data_cfg, "val")
            if self.config.val.max_items is not None and self.config.val.max_items < len(data):
                data = torch.utils.data.Subset(data, list(range(self.config.val.max_items)))
            if self.config.cache.enabled and not _is_cached(data):
                data = self._cached("val", data)
            self._val_set = data
        return self._val_set

    def prepare(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Move a batch to the device and add ``features`` and ``mask`` (from the cache or SAM)."""
        if "features" in batch:
            features = batch["features"].to(self.device, non_blocking=True).float()
            mask = batch["mask"].to(self.device, non_blocking=True).float()
        else:
            features, mask = self.sam_stage(batch)
        out = {"features": features, "mask": mask}
        for key in ("image", "alpha", "trimap", "fg", "bg"):
            if key in batch:
                out[key] = batch[key].to(self.device, non_blocking=True).float()
        if self.config.model.channels_last:
            out["features"] = out["features"].contiguous(memory_format=torch.channels_last)
            out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
        return out

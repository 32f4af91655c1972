"""SAM features and coarse masks precomputed to disk, so M2M trains without running SAM.

SAM is frozen during training, so for a *fixed* crop its features and mask never change. Caching
them turns the expensive part of a training step (SAM's ViT encoder: about 14 s per 1024² image
for ViT-B on two CPU cores) into a disk read, and makes fine-tuning M2M practical on a CPU.

The trade-off: the pixels are fixed when the cache is built. A cached item is one augmented crop
(affine, crop, colour jitter, compositing all done once); training then sees the same crops every
epoch instead of fresh augmentations. ``views = K`` caches ``K`` different augmentations of every
data item (epochs ``0..K-1`` of the data set), trading disk space and build time for variety.
The cache is keyed by everything that produced it (data config, SAM variant, weights and seed, mask
source, crop size, views); a cache whose key differs is rebuilt, never silently reused.

Layout of a cache folder (all arrays are numpy ``.npy`` files opened with ``np.load(mmap_mode="r")``,
i.e. memory-mapped: only the items a batch reads are paged in):

================  ===========================  ==========================================
file              shape, dtype                 content
================  ===========================  ==========================================
``features.npy``  ``(N,256,S/16,S/16) float16``  SAM image features of each crop
``mask.npy``      ``(N,1,h,w) uint8``          coarse mask in {0,1}: SAM's (``h = S/4``) or the
                                               simulated one (``h = S``)
``image.npy``     ``(N,3,S,S) float16``        SAM-normalised crop (M2M's image input)
``alpha.npy``     ``(N,1,S,S) float16``        ground-truth alpha in [0,1]
``trimap.npy``    ``(N,1,S,S) uint8``          trimap {0,128,255}
``box.npy``       ``(N,4) float32``            box prompt, crop pixels
``fg.npy``/``bg.npy``  ``(N,3,S,S) float16``   only with ``store_fg_bg``
``index.json``    —                            version, key, count, shapes, dtypes, how it was made
================  ===========================  ==========================================

float16 is precise enough for both: SAM's features are float16 already under its own
mixed-precision inference, and float16 resolves steps of 1/2048 near 1, finer than the 1/255 steps
of an 8-bit alpha. Sizes per item at ``S = 512``: features 0.5 MB, image 1.5 MB, alpha 0.5 MB,
trimap 0.25 MB, SAM mask 16 kB.

A cache is written into a temporary sibling folder and renamed into place when complete, so an
interrupted build never leaves a cache that looks usable. A cache folder carries the project's
marker (:func:`mam_lib.io.outputs.mark_folder`); rebuilding replaces only a folder that is a cache
(or empty): pointing ``cache.dir`` at a folder of other files (a data set's ``train/``, say) is
refused and the folder is left alone.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..io.atomic import atomic_write_text
from ..io.outputs import check_output_dir, is_marked, mark_folder, pid_alive
from ..errors import DatasetError, OutputError

#: The kind recorded in a cache folder's marker.
CACHE_KIND = "feature cache"

CACHE_VERSION = 1
INDEX_NAME = "index.json"
FEATURE_DIM = 256


def cache_key(description: dict[str, Any]) -> str:
    """A short stable hash of a JSON-able description of what produced a cache."""
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CacheItemSource:
    """Where cached item ``k`` comes from: data-set ``epoch`` and ``index``."""

    epoch: int
    index: int


def item_sources(length: int, views: int) -> list[CacheItemSource]:
    """Items of a cache of ``views`` views over a data set of ``length`` items: view-major order."""
    return [CacheItemSource(v, i) for v in range(views) for i in range(length)]


def _shapes(crop: int, mask_side: int, store_fg_bg: bool) -> dict[str, tuple[tuple[int, ...], str]]:
    shapes = {
        "features": ((FEATURE_DIM, crop // 16, crop // 16), "float16"),
        "mask": ((1, mask_side, mask_side), "uint8"),
        "image": ((3, crop, crop), "float16"),
        "alpha": ((1, crop, crop), "float16"),
        "trimap": ((1, crop, crop), "uint8"),
        "box": ((4,), "float32"),
    }
    if store_fg_bg:
        shapes["fg"] = ((3, crop, crop), "float16")
        shapes["bg"] = ((3, crop, crop), "float16")
    return shapes


def _trimap_u8(trimap: torch.Tensor) -> np.ndarray:
    t = trimap.float()
    if t.numel() and float(t.max()) <= 1.5:
        t = t * 255.0
    return np.clip(np.rint(t.cpu().numpy()), 0, 255).astype(np.uint8)


def _is_unmarked_cache(dest: Path) -> bool:
    """A cache written before caches carried a marker: a readable index and only the cache's own files."""
    index = read_index(dest)
    if not (isinstance(index, dict) and "key" in index and "fields" in index):
        return False
    own = {INDEX_NAME} | {f"{name}.npy" for name in index.get("fields", {})}
    return all(p.name in own for p in dest.iterdir())


def check_cache_folder(directory: str | os.PathLike) -> Path:
    """Raise :class:`~mam_lib.errors.OutputError` unless ``directory`` may receive a (new) cache:
    missing, empty, or a cache already. Any other folder is never replaced."""
    dest = Path(directory)
    check_output_dir(dest, what="feature cache folder")
    if dest.is_dir():
        try:
            entries = sorted(p.name for p in dest.iterdir())
        except OSError as err:
            raise OutputError(f"cannot read the feature cache folder {str(dest)!r} ({err.strerror or err}); fix its "
                              "permissions or set cache.dir to another folder") from None
        if entries and not is_marked(dest, CACHE_KIND) and not _is_unmarked_cache(dest):
            shown = ", ".join(entries[:5]) + (" …" if len(entries) > 5 else "")
            raise OutputError(f"the feature cache folder {str(dest)!r} holds other files ({shown}), not a feature "
                              "cache; it is left alone. Set cache.dir to a folder of its own (the cache goes into "
                              "its train/ and val/)")
    return dest


def _remove_abandoned_builds(dest: Path) -> None:
    """Delete temporary build folders of ``dest`` left by processes that were killed mid-build."""
    for tmp in dest.parent.glob(f".{dest.name}.building-*"):
        parts = tmp.name[len(f".{dest.name}.building-"):].split("-", 1)
        if parts and parts[0].isdigit() and int(parts[0]) != os.getpid() and pid_alive(int(parts[0])):
            continue  # another process is building right now
        shutil.rmtree(tmp, ignore_errors=True)


def build_feature_cache(
    directory: str | os.PathLike,
    dataset: Dataset,
    features_fn: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]],
    *,
    items: Sequence[CacheItemSource] | None = None,
    key: str = "",
    description: dict[str, Any] | None = None,
    batch_size: int = 4,
    store_fg_bg: bool = False,
    progress: bool = True,
    num_workers: int = 0,
) -> "FeatureCache":
    """Compute and store the SAM stage of every item; returns the opened cache.

    Args:
        directory: the cache folder (replaced if it exists).
        dataset: a map-style data set of sample dicts with ``image (3,S,S)``, ``alpha``, ``trimap``,
            ``box`` (and ``mask``, ``fg``, ``bg`` when used); if it has ``set_epoch`` it is called per view.
        features_fn: ``batch → (features (B,256,S/16,S/16), mask (B,1,h,w) in {0,1})`` — runs SAM on
            the batch (or takes the batch's simulated mask); called under ``torch.no_grad``.
        items: which ``(epoch, index)`` to cache (default: every index once, epoch 0).
        key: the fingerprint stored in the index (see :func:`cache_key`).
        description: JSON-able notes stored in the index (what produced the cache).
        batch_size: samples per ``features_fn`` call.
        store_fg_bg: also store ``fg`` and ``bg``.
        progress: show a tqdm bar.
        num_workers: DataLoader workers producing the samples.
    """
    from torch.utils.data import DataLoader, Subset
    from tqdm.auto import tqdm

    dest = check_cache_folder(directory)
    items = list(items) if items is not None else item_sources(len(dataset), 1)
    if not items:
        raise DatasetError("nothing to cache: the data set is empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-{os.getpid()}-", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes the folder private; a cache is ordinary output
    mark_folder(tmp, CACHE_KIND)
    arrays: dict[str, np.ndarray] = {}
    count = len(items)
    try:
        bar = tqdm(total=count, desc="caching SAM features", unit="crop", disable=not progress, leave=False)
        written = 0
        epochs = sorted({it.epoch for it in items})
        for epoch in epochs:
            indices = [(k, it.index) for k, it in enumerate(items) if it.epoch == epoch]
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            loader = DataLoader(Subset(dataset, [i for _, i in indices]), batch_size=batch_size, shuffle=False,
                                num_workers=num_workers)
            pos = 0
            for batch in loader:
                with torch.no_grad():
                    features, mask = features_fn(batch)
                b = features.shape[0]
                if not arrays:
                    crop = int(batch["image"].shape[-1])
                    for name, (shape, dtype) in _shapes(crop, int(mask.shape[-1]), store_fg_bg).items():
                        arrays[name] = np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=dtype,
                                                                 shape=(count, *shape))
                rows = [k for k, _ in indices[pos:pos + b]]
                values = {
                    "features": features.detach().float().cpu().numpy().astype(np.float16),
                    "mask": (mask.detach().float().cpu().numpy() > 0.5).astype(np.uint8),
                    "image": batch["image"].numpy().astype(np.float16),
                    "alpha": batch["alpha"].numpy().astype(np.float16),
                    "trimap": _trimap_u8(batch["trimap"]),
                    "box": batch["box"].numpy().astype(np.float32),
                }
                if store_fg_bg:
                    values["fg"] = batch["fg"].numpy().astype(np.float16)
                    values["bg"] = batch["bg"].numpy().astype(np.float16)
                for name, value in values.items():
                    if value.shape[1:] != arrays[name].shape[1:]:
                        raise DatasetError(f"cache field {name!r}: item shape {value.shape[1:]} differs from "
                                           f"{arrays[name].shape[1:]}; all crops must have the same size")
                    arrays[name][rows] = value
                pos += b
                written += b
                bar.update(b)
        bar.close()
        for arr in arrays.values():
            arr.flush()
        index = {
            "version": CACHE_VERSION,
            "key": key,
            "count": count,
            "fields": {name: {"shape": list(arr.shape), "dtype": str(arr.dtype)} for name, arr in arrays.items()},
            "items": [[it.epoch, it.index] for it in items],
            "description": description or {},
        }
        arrays.clear()
        atomic_write_text(tmp / INDEX_NAME, json.dumps(index, indent=1, default=str))
        if dest.exists():
            check_cache_folder(dest)  # still a cache (or empty): nothing else is ever deleted
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        arrays.clear()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FeatureCache(dest)


def read_index(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The cache's ``index.json`` as a dict, or None when there is no complete cache there."""
    path = Path(directory) / INDEX_NAME
    try:
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except PermissionError as err:
        raise DatasetError(f"cannot read the feature cache in {str(directory)!r} ({err.strerror}); fix the folder's "
                           "permissions or set cache.dir to another folder") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


class FeatureCache(Dataset):
    """A built cache as a data set: item ``k`` is a dict of float32 tensors.

    ``features (256,S/16,S/16)``, ``mask (1,h,w)`` in {0,1}, ``image (3,S,S)`` SAM-normalised,
    ``alpha (1,S,S)`` in [0,1], ``trimap (1,S,S)`` in {0,0.5,1}, ``box (4,)`` (and ``fg``, ``bg``
    ``(3,S,S)`` in [0,1] when stored). Arrays are memory-mapped lazily in each process, so the
    data set can be handed to ``DataLoader`` workers.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        index = read_index(self.directory)
        if index is None:
            raise DatasetError(f"{str(self.directory)!r} holds no complete feature cache (no readable {INDEX_NAME}); "
                               "build it again")
        if index.get("version") != CACHE_VERSION:
            raise DatasetError(f"feature cache {str(self.directory)!r} has format version {index.get('version')}, "
                               f"this library reads version {CACHE_VERSION}; delete the folder to rebuild it")
        self.index = index
        self.count = int(index["count"])
        self.fields = dict(index["fields"])
        for name, meta in self.fields.items():
            path = self.directory / f"{name}.npy"
            if not path.is_file():
                raise DatasetError(f"feature cache {str(self.directory)!r} lacks {path.name}; delete it to rebuild")
        self._arrays: dict[str, np.ndarray] | None = None

    @property
    def key(self) -> str:
        return str(self.index.get("key", ""))

    @property
    def crop_size(self) -> int:
        return int(self.fields["image"]["shape"][-1])

    def nbytes(self) -> int:
        """Bytes on disk of all arrays."""
        return sum((self.directory / f"{n}.npy").stat().st_size for n in self.fields)

    def _open(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            arrays = {}
            for name, meta in self.fields.items():
                arr = np.load(self.directory / f"{name}.npy", mmap_mode="r")
                if list(arr.shape) != list(meta["shape"]) or str(arr.dtype) != meta["dtype"]:
                    raise DatasetError(f"feature cache {str(self.directory)!r}: {name}.npy has shape {arr.shape} "
                                       f"{arr.dtype}, the index says {meta['shape']} {meta['dtype']}; delete it to rebuild")
                arrays[name] = arr
            self._arrays = arrays
        return self._arrays

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_arrays"] = None  # each worker maps the files itself
        return state

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        if not 0 <= k < self.count:
            raise IndexError(f"cache item {k} out of range ({self.count} items)")
        a = self._open()
        out = {name: torch.from_numpy(np.array(arr[k], dtype=np.float32)) for name, arr in a.items()}
        trimap = out["trimap"]
        out["trimap"] = torch.where(trimap == 128.0, torch.full_like(trimap, 0.5), trimap / 255.0)
        out["index"] = torch.tensor(k, dtype=torch.int64)
        return out


def open_or_build_cache(
    directory: str | os.PathLike,
    key: str,
    build: Callable[[], FeatureCache],
    log: Callable[[str], None] | None = print,
) -> FeatureCache:
    """Open the cache at ``directory`` when its key equals ``key``, otherwise call ``build()``."""
    index = read_index(directory)
    if index is not None and index.get("key") == key and index.get("version") == CACHE_VERSION:
        try:
            cache = FeatureCache(directory)
            cache._open()
            if log:
                log(f"using the feature cache {directory} ({cache.count} crops)")
            return cache
        except DatasetError as err:
            if log:
                log(f"rebuilding the feature cache: {err}")
    elif index is not None and log:
        log(f"the feature cache {directory} was made with other settings; rebuilding it")
    return build()

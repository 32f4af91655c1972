"""Training batches in a reproducible, resumable order.

:class:`BatchStream` turns a data set into an endless stream of batches whose order is a
function of ``(seed, epoch)``; its ``position`` (samples handed out so far) is all a checkpoint
needs to continue the stream where it stopped.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import MamError


class BatchStream:
    """Endless batches in a reproducible order, resumable from a sample position.

    Epoch ``e`` visits the items in the order ``randperm(len(dataset))`` drawn from a generator
    seeded with ``(seed, e)``, in batches of ``batch_size`` (the incomplete last batch is
    dropped); ``set_epoch(e)`` is called on data sets that have it, so augmentations change per
    epoch. ``position`` counts the samples handed out; a new stream built with a saved position
    continues exactly where the old one stopped.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, position: int = 0, num_workers: int = 0,
                 pin_memory: bool = False, shuffle: bool = True) -> None:
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.position = int(position)
        self.num_workers = int(num_workers)
        self.pin_memory = pin_memory
        self.shuffle = shuffle
        n = len(dataset)
        if n < self.batch_size:
            raise MamError(f"the training data has {n} items, fewer than one batch of {self.batch_size}; "
                           "lower optim.batch_size or add data")
        self.per_epoch = (n // self.batch_size) * self.batch_size

    def order(self, epoch: int) -> list[int]:
        """Item order of ``epoch``."""
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        g = torch.Generator()
        g.manual_seed((self.seed * 1_000_003 + epoch * 7_919 + 17) % (2**63))
        return torch.randperm(n, generator=g).tolist()

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        from ..data.dataset import worker_init_fn

        while True:
            epoch, offset = divmod(self.position, self.per_epoch)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            order = self.order(epoch)
            batches = [order[i:i + self.batch_size] for i in range(offset, self.per_epoch, self.batch_size)]
            loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=self.num_workers,
                                worker_init_fn=worker_init_fn if self.num_workers > 0 else None,
                                pin_memory=self.pin_memory)
            for batch in loader:
                self.position += self.batch_size
                yield batch

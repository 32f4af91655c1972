"""Training the M2M decoder behind a frozen SAM: the published recipe on one GPU, scaled down for a CPU.

* :mod:`~mam_lib.training.config` — the run's configuration: one dataclass tree, presets, TOML;
* :mod:`~mam_lib.training.losses` — L1, Laplacian-pyramid L1 and the multi-scale loss;
* :mod:`~mam_lib.training.regions` — where each scale's loss counts, step by step;
* :mod:`~mam_lib.training.trainer` — :class:`~mam_lib.training.trainer.Trainer`: the steps and the loop,
  built from
  :mod:`~mam_lib.training.inputs` (SAM features and masks of a batch, from SAM or the cache),
  :mod:`~mam_lib.training.optim` (learning-rate schedule, gradient clipping),
  :mod:`~mam_lib.training.batches` (reproducible, resumable batch order),
  :mod:`~mam_lib.training.validation` (refined predictions scored on held-out data) and
  :mod:`~mam_lib.training.checkpointing` (atomic checkpoints, exact resume, one run per folder);
* :mod:`~mam_lib.training.feature_cache` — SAM's features precomputed to disk;
* :mod:`~mam_lib.training.log` — CSV, JSON-lines and TensorBoard logs.
"""

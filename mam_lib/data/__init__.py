"""Training data made offline or read from the published data sets, as SAM-ready tensors.

* :mod:`~mam_lib.data.procedural` — procedural foregrounds (hair, fur, soft edges, glass, holes,
  several objects) and busy backgrounds;
* :mod:`~mam_lib.data.video` — procedural clips with a known alpha (objects moving and deforming over a
  moving background), ``mam synth --video``;
* :mod:`~mam_lib.data.sources` — where foregrounds, backgrounds and real images come from: the
  published folder layouts, your own ``images/ + alphas/`` folder, procedural and in-memory sources;
* :mod:`~mam_lib.data.transforms` — the augmentations of the recipe and the conversions to tensors;
* :mod:`~mam_lib.data.coarse_mask` — simulated SAM masks, so M2M trains without SAM weights;
* :mod:`~mam_lib.data.dataset` — :class:`~mam_lib.data.dataset.MattingDataset`, mixing composites
  and real images, and its loader;
* :mod:`~mam_lib.data.writing` and :mod:`~mam_lib.data.synthesis` — writing data sets to disk
  (``mam synth``) and regenerating ``data_samples/``.
"""

"""Files in and out: the lowest layer, used by every other subpackage.

* :mod:`~mam_lib.io.atomic` — atomic writes (temporary file in the target folder, then a rename);
* :mod:`~mam_lib.io.images` — reading images as ``(H,W,3)`` uint8 RGB and mattes as stored;
* :mod:`~mam_lib.io.cutout` — writing alpha PNGs, RGBA cut-outs and composites;
* :mod:`~mam_lib.io.samples` — the small generated samples shipped in ``data_samples/``.

Nothing here imports torch or any model code.
"""

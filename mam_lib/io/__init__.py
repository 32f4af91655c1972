"""Files in and out: the lowest layer, used by every other subpackage.

* :mod:`~mam_lib.io.atomic` — atomic writes (temporary file in the target folder, then a rename);
* :mod:`~mam_lib.io.images` — reading images as ``(H,W,3)`` uint8 RGB and mattes as stored, with one
  set of rules for every dtype and value range, and a pixel limit;
* :mod:`~mam_lib.io.cutout` — writing alpha PNGs, RGBA cut-outs and composites;
* :mod:`~mam_lib.io.foreground` — foreground colour estimation on the transition band (the colours
  of cut-outs and composites);
* :mod:`~mam_lib.io.video` — reading clips (PyAV) and frame folders, numbered frame files written one at a
  time (resumable), encoding videos;
* :mod:`~mam_lib.io.samples` — the small generated samples shipped in ``data_samples/``;
* :mod:`~mam_lib.io.outputs` — where outputs may go: never over an input, never over an existing
  file by surprise, never deleting a folder the project did not make, one run per folder
  (:mod:`~mam_lib.io.paths` holds its path helpers).

Nothing here imports torch or any model code.
"""

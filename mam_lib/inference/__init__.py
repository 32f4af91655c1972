"""The inference path: frozen SAM → M2M decoder → iterative refinement, and the weights they load.

* :mod:`~mam_lib.inference.sam` — SAM built from segment-anything (``vit_b``/``vit_l``/``vit_h`` or
  the small random ``tiny``); encode an image once, prompt it many times; the batched training form;
* :mod:`~mam_lib.inference.m2m` — the Mask-to-Matte decoder (heads at output strides 8, 4 and 1);
* :mod:`~mam_lib.inference.fast_m2m` — the decoder prepared for inference (folded weights,
  channels_last, evaluated only on a window: the same outputs, several times faster);
* :mod:`~mam_lib.inference.resize` — a bilinear resize a band of rows at a time, bit for bit the full one;
* :mod:`~mam_lib.inference.refinement` — the band-by-band refinement from ``alpha_os8`` to the matte;
* :mod:`~mam_lib.inference.predictor` — :class:`MattingPredictor`, the three put together;
* :mod:`~mam_lib.inference.checkpoints` — reading and writing M2M weights in the published layouts;
* :mod:`~mam_lib.inference.weights` — the registry of published files, the cache folder, downloads;
* :mod:`~mam_lib.inference.device` — device choice and mixed-precision contexts;
* :mod:`~mam_lib.inference.onnx_export` — ONNX export of M2M and SAM's prompt decoder, an onnxruntime M2M.
* :mod:`~mam_lib.inference.text` — text prompts: Grounding DINO (Hugging Face ``transformers``, the
  optional ``text`` extra) turns a phrase into boxes; a tiny random detector for offline use.
* :mod:`~mam_lib.inference.guides` — a mask, a trimap or brush scribbles as prompts, and how they reach M2M;
* :mod:`~mam_lib.inference.video` — one prompt propagated through a clip (box and SAM logits frame to frame);
* :mod:`~mam_lib.inference.stand_in` — decoder outputs made from a known alpha, and the predictor that uses
  them offline and says so (:func:`~mam_lib.inference.stand_in.teaching_predictor`).

This layer imports only :mod:`mam_lib.errors` and :mod:`mam_lib.io`: never data, training,
evaluation or plotting code.
"""

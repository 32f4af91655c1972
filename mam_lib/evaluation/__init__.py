"""Scoring mattes: the metrics, folder and benchmark evaluation, and the baselines to beat.

* :mod:`~mam_lib.evaluation.metrics` — SAD, MSE, MAD, Grad and Conn, as the matting literature's
  Python evaluation code computes them;
* :mod:`~mam_lib.evaluation.temporal` — dtSSD and MESSDdt, the temporal coherence of a matted clip;
* :mod:`~mam_lib.evaluation.folders` — a folder of predictions against a folder of ground truth
  (``mam eval``), tables and CSV;
* :mod:`~mam_lib.evaluation.benchmarks` — presets of the published benchmarks: layouts, regions,
  how samples pair;
* :mod:`~mam_lib.evaluation.instances` — matching predicted to ground-truth instances (HIM2K, RWP-636);
* :mod:`~mam_lib.evaluation.prediction` — prompts derived from the ground truth, predicting a
  benchmark (``mam predict-benchmark``);
* :mod:`~mam_lib.evaluation.baselines` — the mask as alpha, closed-form and KNN matting.
"""

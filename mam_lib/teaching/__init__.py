"""What the notebooks and the demo show: figures, reports and sliders (matplotlib, ipywidgets).

* :mod:`~mam_lib.teaching.viz` — shared plotting helpers and the refinement figures;
* :mod:`~mam_lib.teaching.data_plots` — figures of the data pipeline;
* :mod:`~mam_lib.teaching.training_plots` — figures of the losses, the region schedule, curves;
* :mod:`~mam_lib.teaching.refinement_report` — what each refinement step did, against a known alpha;
* :mod:`~mam_lib.teaching.refinement_widgets` — live band-width and guidance sliders;
* :mod:`~mam_lib.teaching.trimap_comparison` — masks, trimaps and scribbles as prompts; M2M against
  closed-form matting on the same trimap (notebook 06);
* :mod:`~mam_lib.teaching.video_plots` — frames next to their alphas, per-frame and temporal metrics (notebook 07);
* :mod:`~mam_lib.teaching.demo` — the main job (``mam demo``): the whole pipeline on the shipped sample.

Without published weights, the notebooks, the demo and the widget show the stand-in path of
:mod:`mam_lib.inference.stand_in` (``teaching_predictor()``), which says in its ``banner`` which path
a figure shows; :func:`~mam_lib.teaching.refinement_report.stand_in_result` is re-exported from there.

The top of the stack below the widget and the CLI: it may use every lower layer, and nothing
below it imports it.
"""

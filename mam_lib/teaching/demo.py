"""The main job: the whole MAM pipeline on the shipped demo image, written to ``outputs/``.

With the published checkpoints in the cache folder (see :mod:`mam_lib.inference.weights`) it uses SAM
ViT-B + MAM's M2M. Otherwise SAM and M2M have random weights, and the demo takes the stand-in path
(:mod:`mam_lib.inference.stand_in`): the tiny random SAM runs on the box, but the mask and M2M's
three outputs are made from the sample's known alpha, so the refinement and every file show a
meaningful matte; it says so in the log, the figure's title and the summary (``"path"``).
``stand_in=False`` shows the random model's own (meaningless) output instead.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path, atomic_write_text
from ..io.cutout import foreground_colors, save_alpha, save_composite, save_rgba
from ..io.outputs import SOFTWARE_TAG, check_output, check_output_dir, is_own_image, starts_with
from ..inference.predictor import MattingResult
from ..inference.stand_in import teaching_predictor
from ..io.samples import load_demo_sample


@dataclass
class DemoOutputs:
    """Paths written by :func:`run_demo` and what produced them."""

    alpha: Path
    cutout: Path
    composite: Path
    stages: Path
    summary: Path
    real_weights: bool
    description: str
    result: MattingResult


#: The files :func:`run_demo` writes into its folder.
DEMO_FILES = ("demo_alpha.png", "demo_cutout.png", "demo_composite.png", "demo_stages.png", "demo_summary.json")
_SUMMARY_START = '{\n  "model": '


def check_demo_outputs(out_dir: str | os.PathLike = "outputs", overwrite: bool = False) -> None:
    """Raise :class:`~mam_lib.errors.OutputError` when the demo cannot write into ``out_dir``, or
    would replace a file of the same name that an earlier demo did not write (unless ``overwrite``)."""
    out = check_output_dir(out_dir, what="demo output folder")
    for name in DEMO_FILES:
        ours = starts_with(_SUMMARY_START) if name.endswith(".json") else is_own_image
        check_output(out / name, overwrite=overwrite, ours=ours, what="demo output")


def run_demo(out_dir: str | os.PathLike = "outputs", device=None, guidance: str = "alpha",
             log=print, overwrite: bool = False, stand_in: bool = True) -> DemoOutputs:
    """Matte the demo sample with its box prompt; write alpha, cut-out, composite and a stage figure.

    Files an earlier demo wrote are replaced; any other file of the same name only with ``overwrite``.
    Without published weights the matte comes from the stand-in path (see the module's docstring)
    unless ``stand_in`` is False.
    """
    from . import viz

    viz.use_headless_backend()
    check_demo_outputs(out_dir, overwrite)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sample = load_demo_sample()
    predictor = teaching_predictor("demo", device=device)
    predictor.stand_in_enabled = stand_in
    real = predictor.real_weights
    log(f"model: {predictor.description}")
    t0 = time.perf_counter()
    predictor.set_image(sample.image)
    log(predictor.banner)
    if not real:
        log("No published checkpoints, so SAM and M2M have random weights. Put sam_vit_b_01ec64.pth and "
            "mam_vitb.pth in the cache folder for real results (README, 'Weights').")
    log(f"image {sample.image.shape[1]}x{sample.image.shape[0]} encoded once in {predictor.encode_ms / 1000:.2f} s "
        f"on {predictor.device}")
    result = predictor.predict(box=sample.box, guidance=guidance)
    log(f"box prompt {sample.box.tolist()} -> alpha in {result.timings['total'] / 1000:.2f} s "
        f"(SAM decoder {result.timings['sam']:.0f} ms, "
        f"{'stand-in outputs' if predictor.kind == 'stand-in' else 'M2M'} {result.timings['m2m']:.0f} ms, "
        f"refinement {result.timings['refine']:.0f} ms)")
    fg = foreground_colors(sample.image, result.alpha)  # one estimate for the cut-out and the composite
    paths = {
        "alpha": save_alpha(out / "demo_alpha.png", result.alpha),
        "cutout": save_rgba(out / "demo_cutout.png", sample.image, result.alpha, fg=fg),
        "composite": save_composite(out / "demo_composite.png", sample.image, result.alpha, (0, 177, 64), fg=fg),
    }
    fig = viz.plot_refinement_stages(sample.image, result, gt_alpha=sample.alpha)
    fig.suptitle(predictor.banner, fontsize=8, wrap=True)
    with atomic_path(out / "demo_stages.png") as tmp:
        fig.savefig(tmp, dpi=90, metadata={"Software": SOFTWARE_TAG})
    _plt_close(fig)
    sad = float(np.abs(result.alpha - sample.alpha).sum() / 1000)
    summary = {
        "model": predictor.description, "real_weights": real, "path": predictor.kind, "banner": predictor.banner,
        "box": sample.box.tolist(), "guidance": guidance,
        "sad_vs_known_alpha": round(sad, 3), "seconds_total": round(time.perf_counter() - t0, 3),
        "timings_ms": {k: round(v, 1) for k, v in result.timings.items()},
    }
    summary_path = atomic_write_text(out / "demo_summary.json", json.dumps(summary, indent=2))
    for name, path in paths.items():
        log(f"wrote {path}")
    log(f"wrote {out / 'demo_stages.png'} (refinement stages) and {summary_path}")
    note = {"published": "", "stand-in": " (stand-in outputs made from that alpha: small by construction)",
            "trained": " (random SAM: expect a large value)", "random": " (random weights: expect a large value)"}
    log(f"SAD against the known alpha: {sad:.2f}" + note[predictor.kind])
    return DemoOutputs(paths["alpha"], paths["cutout"], paths["composite"], out / "demo_stages.png", summary_path,
                       real, predictor.description, result)


def _plt_close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)

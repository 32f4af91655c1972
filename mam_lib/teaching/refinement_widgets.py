"""Sliders for the refinement: change band widths, guidance and band sidedness, see the steps redrawn.

>>> explorer = RefinementExplorer(predictor, result, gt_alpha=sample.alpha)
>>> explorer            # in a notebook: the controls, the redrawn steps and a metrics table

Each change re-runs only :meth:`mam_lib.inference.predictor.MattingPredictor.refine` on the stored decoder
outputs — no SAM, no M2M — so a redraw takes a fraction of a second on a CPU. Several results
(for example the model's and a stand-in from :func:`mam_lib.teaching.refinement_report.stand_in_result`)
can be explored side by side through a drop-down.

The figure is rendered to PNG and shown in an ``ipywidgets.Image``, so the explorer works with
any matplotlib backend, in a live kernel and in a notebook executed headless (where it just
renders once and waits for nobody).
"""
from __future__ import annotations

import time
from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np

from . import viz
from ..inference.predictor import MattingPredictor, MattingResult
from ..inference.refinement import GUIDANCE_MODES, RefinementConfig

#: Slider ranges (min, max, step) of the band widths; the structuring element is width // 2.
WIDTH_RANGES = {"width_os8": (0, 60, 2), "width_os4": (0, 80, 2), "width_os1": (0, 60, 2)}


class RefinementExplorer:
    """Interactive refinement: sliders → ``predictor.refine(result, config)`` → redrawn steps.

    Args:
        predictor: the predictor whose :meth:`~mam_lib.inference.predictor.MattingPredictor.refine` re-runs the
            refinement (its SAM and M2M are never called here).
        results: one :class:`~mam_lib.inference.predictor.MattingResult`, or ``{name: result}`` to choose
            from (all of one image's size).
        gt_alpha: ``(H,W)`` float in [0,1], the known alpha: adds the error panel and a metrics table.
        crop_box: ``x0, y0, x1, y1`` to offer a zoomed view (a "zoom" checkbox appears).
        image: ``(H,W,3)`` uint8, for a cut-out panel when there is no ``gt_alpha``.
        dpi: resolution of the redrawn figure.

    Attributes:
        controls: ``{name: widget}`` (``source``, ``guidance``, ``width_os8``, ``width_os4``,
            ``width_os1``, ``two_sided``, ``zoom``) — set their ``value`` to drive it from code.
        result: the latest refined :class:`~mam_lib.inference.predictor.MattingResult`.
        widget: the whole app (``ipywidgets.VBox``); displaying the explorer displays it.
    """

    def __init__(self, predictor: MattingPredictor, results: MattingResult | Mapping[str, MattingResult],
                 gt_alpha: np.ndarray | None = None, *, crop_box: Sequence[float] | None = None,
                 image: np.ndarray | None = None, dpi: int = 72) -> None:
        self.predictor = predictor
        self.sources: dict[str, MattingResult] = (
            {"result": results} if isinstance(results, MattingResult) else dict(results))
        if not self.sources:
            raise ValueError("results is empty: pass a MattingResult or a non-empty {name: result} mapping")
        self.gt_alpha = gt_alpha
        self.crop_box = crop_box
        self.image = image
        self.dpi = int(dpi)
        self.redraws = 0
        self._hold = False
        base = next(iter(self.sources.values())).refinement

        style = {"description_width": "150px"}
        layout = widgets.Layout(width="460px")
        self.controls: dict[str, widgets.ValueWidget] = {
            "source": widgets.Dropdown(options=list(self.sources), description="outputs", style=style, layout=layout),
            "guidance": widgets.ToggleButtons(options=list(GUIDANCE_MODES), value=base.guidance,
                                              description="guidance", style=style),
            "width_os8": self._slider("width_os8", base.width_os8, "mask ring (mask guidance)", style, layout),
            "width_os4": self._slider("width_os4", base.width_os4, "os4 band width", style, layout),
            "width_os1": self._slider("width_os1", base.width_os1, "os1 band width", style, layout),
            "two_sided": widgets.Checkbox(value=base.two_sided, description="two-sided bands", indent=False),
            "zoom": widgets.Checkbox(value=False, description="zoom on the crop box", indent=False,
                                     disabled=crop_box is None),
        }
        if len(self.sources) == 1:
            self.controls["source"].layout.display = "none"
        if crop_box is None:
            self.controls["zoom"].layout.display = "none"
        self.reset_button = widgets.Button(description="published settings", icon="undo",
                                           tooltip="guidance alpha, widths 10 / 20 / 10, one-sided")
        self.reset_button.on_click(lambda _: self.reset())
        self.figure = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.table = widgets.HTML()
        self.status = widgets.HTML()
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.widget = widgets.VBox([
            self.controls["source"], self.controls["guidance"],
            self.controls["width_os4"], self.controls["width_os1"], self.controls["width_os8"],
            widgets.HBox([self.controls["two_sided"], self.controls["zoom"], self.reset_button]),
            self.status, self.figure, self.table,
        ])
        self.result: MattingResult = self.update()

    @staticmethod
    def _slider(name: str, value: int, description: str, style, layout) -> widgets.IntSlider:
        lo, hi, step = WIDTH_RANGES[name]
        return widgets.IntSlider(value=int(np.clip(value, lo, hi)), min=lo, max=hi, step=step,
                                 description=description, continuous_update=False, style=style, layout=layout)

    @property
    def config(self) -> RefinementConfig:
        """The refinement settings the controls show."""
        c = self.controls
        return RefinementConfig(guidance=c["guidance"].value, width_os8=int(c["width_os8"].value),
                                width_os4=int(c["width_os4"].value), width_os1=int(c["width_os1"].value),
                                two_sided=bool(c["two_sided"].value))

    @property
    def source(self) -> MattingResult:
        """The stored (un-refined-again) result chosen in the drop-down."""
        return self.sources[self.controls["source"].value]

    def _on_change(self, change) -> None:
        if not self._hold:
            self.update()

    def set(self, **values) -> MattingResult:
        """Set several controls at once (``set(width_os4=40, two_sided=True)``) with one redraw."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; choose from {sorted(self.controls)}")
        self._hold = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._hold = False
        return self.update()

    def reset(self) -> MattingResult:
        """Back to the published settings (alpha guidance, widths 10 / 20 / 10, one-sided)."""
        d = RefinementConfig()
        return self.set(guidance=d.guidance, width_os8=d.width_os8, width_os4=d.width_os4, width_os1=d.width_os1,
                        two_sided=d.two_sided)

    def update(self) -> MattingResult:
        """Re-run the refinement with the current settings and redraw; returns the new result."""
        t0 = time.perf_counter()
        result = self.predictor.refine(self.source, self.config)
        refine_ms = (time.perf_counter() - t0) * 1000
        crop_box = self.crop_box if self.controls["zoom"].value else None
        fig = viz.plot_refinement_summary(result, self.gt_alpha, crop_box=crop_box, image=self.image)
        self.figure.value = viz.figure_to_png(fig, dpi=self.dpi)
        if self.gt_alpha is not None:
            from .refinement_report import step_metrics

            self.table.value = step_metrics(result, self.gt_alpha, with_outputs=False)._repr_html_()
        self.status.value = (f"<small>refinement re-run in {refine_ms:.0f} ms (SAM and M2M not re-run); "
                             f"os4 band {int(result.bands['os4'].sum())} px, "
                             f"os1 band {int(result.bands['os1'].sum())} px</small>")
        self.result = result
        self.redraws += 1
        return result

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def refinement_explorer(predictor: MattingPredictor, results: MattingResult | Mapping[str, MattingResult],
                        gt_alpha: np.ndarray | None = None, **kwargs) -> RefinementExplorer:
    """Build a :class:`RefinementExplorer` (the notebook's one-liner)."""
    return RefinementExplorer(predictor, results, gt_alpha, **kwargs)

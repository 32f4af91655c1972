"""``MattingWidget``: click on an image in JupyterLab, get an alpha matte and a cut-out.

The view is built from standard ipywidgets; mouse input comes from ``ipyevents`` on an
``ipywidgets.Image``, which reports the position in the picture's own pixels (``dataX``/``dataY``),
whatever size the browser draws it at. All state lives in a
:class:`~mam_lib.widget.session.MattingSession` (``widget.session``); the view listens to it, so
code that calls the session (``widget.session.add_point(...)``) updates the widget too.

Mouse: click = foreground point; Shift- or Alt-click (or the "Background" mode) = background
point; drag = box (box and points combine). Every widget carries a stable CSS class
(``mam-image``, ``mam-matte``, ``mam-status``, …) so pages and tests can find it.

Errors caused by input (a prompt outside the image, an empty box, an unreadable image or prompts
file) are shown as a message in the widget, never as a traceback.
"""
from __future__ import annotations

import html
import re
import traceback
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
from ipyevents import Event

from ..errors import MamError
from ..io.images import load_image
from ..inference.refinement import RefinementConfig
from . import render
from .session import MattingSession
from .sources import background_images, image_from_bytes, json_from_upload, sample_images, uploaded_files

#: moves shorter than this (display pixels) between press and release count as a click
DRAG_THRESHOLD = 4

_CSS = """
<style>
.mam-app { font-family: var(--jp-ui-font-family, system-ui, sans-serif); color: var(--jp-ui-font-color1, #222);
  max-width: 1140px; padding: 4px 2px 8px 2px; }
.mam-app .mam-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin: 0 0 2px 2px; }
.mam-app .mam-title { font-size: 17px; font-weight: 650; letter-spacing: .01em; }
.mam-app .mam-subtitle { font-size: 12px; color: var(--jp-ui-font-color2, #666); }
.mam-app .mam-warning { font-size: 12px; color: #7a4b00; background: #fff4d6; border: 1px solid #f3d48b;
  border-radius: 8px; padding: 5px 10px; margin: 2px 0 4px 0; }
.mam-app .mam-toolbar { align-items: center; gap: 6px; flex-wrap: wrap; margin: 4px 0 6px 0; }
.mam-app .mam-toolbar .widget-toggle-buttons .widget-toggle-button { width: auto; padding: 0 12px; }
.mam-app .mam-sep { width: 1px; height: 24px; background: var(--jp-border-color2, #ddd); margin: 0 4px; }
.mam-app .mam-panels { gap: 10px; flex-wrap: wrap; align-items: flex-start; }
.mam-app .mam-panel { flex: 1 1 380px; max-width: 552px; background: var(--jp-layout-color1, #fff);
  border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 10px; padding: 8px 10px 10px 10px;
  box-shadow: 0 1px 3px rgba(0,0,0,.06); }
.mam-app .mam-panel-head { display: flex; justify-content: space-between; align-items: center; min-height: 30px;
  margin-bottom: 4px; }
.mam-app .mam-panel-title { font-size: 11px; font-weight: 650; letter-spacing: .06em; text-transform: uppercase;
  color: var(--jp-ui-font-color2, #666); }
.mam-app .mam-hint { font-size: 11px; color: var(--jp-ui-font-color2, #777); }
.mam-app .mam-hint kbd { font-family: inherit; font-size: 10px; border: 1px solid var(--jp-border-color1, #ccc);
  border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; background: var(--jp-layout-color2, #f5f5f5); }
.mam-app img.mam-image, .mam-app img.mam-matte { width: 100%; height: auto; max-width: 100%; display: block;
  border-radius: 6px; background: #1e1e1e; margin: 0; }
.mam-app img.mam-image { cursor: crosshair; user-select: none; -webkit-user-drag: none; }
.mam-app.mam-busy img.mam-image { cursor: progress; }
.mam-app .mam-view .widget-toggle-button { width: auto; padding: 0 10px; font-size: 12px; }
.mam-app .mam-pill { font-size: 11px; border-radius: 999px; padding: 1px 9px; background: var(--jp-layout-color2, #eee);
  color: var(--jp-ui-font-color2, #555); white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  max-width: 640px; }
.mam-app .mam-pill-warn { background: #fff0c2; color: #7a4b00; }
.mam-app .widget-toggle-button.mod-active { background: var(--jp-brand-color1, #1976d2); color: #fff; }
.mam-app .mam-mode button:nth-of-type(1).mod-active { background: #2fa84f; }
.mam-app .mam-mode button:nth-of-type(2).mod-active { background: #e0443a; }
.mam-app .mam-statusbar { margin: 8px 2px 2px 2px; font-size: 12px; }
.mam-app .mam-chips { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.mam-app .mam-details { margin: 5px 2px 0 4px; font-size: 11.5px; color: var(--jp-ui-font-color2, #666); }
.mam-app .mam-details b { color: var(--jp-ui-font-color1, #333); }
.mam-app .mam-action { color: var(--jp-ui-font-color1, #333); }
.mam-app .mam-chip { background: var(--jp-layout-color2, #f1f3f4); border-radius: 999px; padding: 2px 10px;
  white-space: nowrap; }
.mam-app .mam-chip b { font-weight: 650; }
.mam-app .mam-chip.mam-obj { color: #fff; }
.mam-app .mam-msg { font-size: 12.5px; border-radius: 8px; padding: 6px 12px; margin: 6px 2px 0 2px; }
.mam-app .mam-msg.error { background: #fdecea; color: #8c1d18; border: 1px solid #f5c2bd; }
.mam-app .mam-msg.ok { background: #e8f5e9; color: #1b5e20; border: 1px solid #b9e0bd; }
.mam-app .mam-msg.info { background: var(--jp-layout-color2, #f1f3f4); color: var(--jp-ui-font-color1, #333); }
.mam-app .mam-busy-indicator { font-size: 12px; color: var(--jp-brand-color1, #1976d2); min-height: 18px; }
.mam-app .mam-spinner { display: inline-block; width: 11px; height: 11px; margin-right: 6px; vertical-align: -1px;
  border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%;
  animation: mam-spin .8s linear infinite; }
@keyframes mam-spin { to { transform: rotate(360deg); } }
.mam-app .mam-tabs { margin-top: 10px; }
.mam-app .mam-tabs .widget-tab-contents, .mam-app .mam-tabs .lm-TabPanel-stackedPanel { padding: 10px 12px; }
.mam-app .mam-row { align-items: center; gap: 8px; flex-wrap: wrap; margin: 2px 0; }
.mam-app .mam-note { font-size: 11.5px; color: var(--jp-ui-font-color2, #777); }
</style>
"""

_VIEWS = (("Alpha matte", "alpha"), ("Cut-out", "cutout"), ("SAM mask", "mask"))


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


class MattingWidget(w.VBox):
    """The interactive matting app (an ``ipywidgets.VBox``; display it as the last expression of a cell).

    Args:
        predictor: a :class:`~mam_lib.inference.predictor.MattingPredictor`; None uses
            :func:`~mam_lib.inference.predictor.default_predictor`.
        image: the first image (path, PIL image or array), or None to choose one in the widget.
        refinement: initial refinement settings (guidance, band widths).
        display_size: longest side, in pixels, of the pictures sent to the browser (the mattes and
            exports keep the full resolution).
        background: initial cut-out backdrop: ``"checkerboard"``, an RGB colour or an image/path.
        export_dir: default folder of the "Export" button.
        session: an existing :class:`MattingSession` to show (then ``predictor`` and ``refinement``
            are ignored).
        image_name: the name shown and used for exported files (default: the file name).
        real_weights: whether the predictor has trained weights (a warning is shown otherwise);
            None: as :func:`~mam_lib.inference.predictor.default_predictor` said, else guessed from the
            predictor's description ("random").
    """

    def __init__(self, predictor=None, image=None, *, refinement: RefinementConfig | None = None,
                 display_size: int = 520, background="checkerboard", export_dir: str = "outputs/widget",
                 session: MattingSession | None = None, image_name: str | None = None,
                 real_weights: bool | None = None) -> None:
        self.session = session or MattingSession(predictor, refinement)
        self.display_size = int(display_size)
        self.last_error: str | None = None  # traceback of the last unexpected error (not shown in the page)
        self.message = ""
        self._scale = 1.0
        self._image_display: np.ndarray | None = None
        self._drag: dict | None = None
        self._syncing = False
        self._bg_custom: np.ndarray | None = None
        self._build(background, export_dir, real_weights)
        super().__init__(children=self._children)
        self.add_class("mam-app")
        self.session.add_listener(self._on_session)
        if image is not None:
            self.load_image(image, name=image_name)
        elif self.session.has_image:
            self._on_session("image", None)
            self._refresh()
        else:
            self._refresh()
            self._show("info", "Choose an image in the <b>Image</b> tab below, or call <code>load_image(...)</code>.")

    # --- construction ---------------------------------------------------------------------------

    def _build(self, background, export_dir: str, real_weights: bool | None) -> None:
        s = self.session
        desc = str(getattr(s.predictor, "description", type(s.predictor).__name__))
        real = real_weights if real_weights is not None else s.uses_real_weights
        if real is None:  # the library's descriptions say "random" for random weights
            real = "random" not in desc.lower()
        device = _esc(getattr(s.predictor, "device", "cpu"))
        model = ("<span class='mam-pill mam-pill-warn' title='{0}'>random weights</span>".format(_esc(desc)) if not real
                 else f"<span class='mam-pill' title='{_esc(desc)}'>{_esc(desc[:90])}</span>")
        self.style_html = w.HTML(_CSS)
        self.header = w.HTML(f"<div class='mam-head'><span class='mam-title'>Matting Anything</span>{model}"
                             f"<span class='mam-pill'>{device}</span></div>")
        self.header.add_class("mam-header")
        warn = ""
        if not real:
            warn = ("<div class='mam-warning'>No published checkpoints were found, so SAM and M2M run with random "
                    "weights: every step works, but the masks and mattes are meaningless. "
                    "<code>mam download --list</code> shows the checkpoint files to put in the cache folder "
                    "(README, <i>Weights</i>).</div>")
        self.warning = w.HTML(warn)
        self.busy = w.HTML("")
        self.busy.add_class("mam-busy-indicator")

        # toolbar
        self.mode = w.ToggleButtons(options=[("Foreground", 1), ("Background", 0)], value=1,
                                    tooltips=["Click adds a foreground point", "Click adds a background point "
                                              "(Shift- or Alt-click does so in either mode)"],
                                    style={"button_width": "auto"})
        self.mode.add_class("mam-mode")
        self.undo_button = w.Button(description="Undo", icon="undo", tooltip="Undo the last prompt or object change",
                                    layout=w.Layout(width="auto"))
        self.undo_button.add_class("mam-undo")
        self.reset_button = w.Button(description="Reset", icon="refresh", tooltip="Remove all prompts and objects "
                                     "(the image stays encoded; Undo brings them back)", layout=w.Layout(width="auto"))
        self.reset_button.add_class("mam-reset")
        self.objects = w.Dropdown(options=[], description="Object", layout=w.Layout(width="210px"),
                                  style={"description_width": "48px"})
        self.objects.add_class("mam-objects")
        self.add_object_button = w.Button(description="New object", icon="plus", layout=w.Layout(width="auto"),
                                          tooltip="Add another object with its own prompts and matte")
        self.add_object_button.add_class("mam-add-object")
        self.show_masks = w.Checkbox(value=True, description="Mask overlay", indent=False,
                                     layout=w.Layout(width="auto"))
        self.show_masks.add_class("mam-show-masks")
        sep = lambda: w.HTML("<div class='mam-sep'></div>")  # noqa: E731 - a tiny factory of separators
        self.toolbar = w.HBox([self.mode, sep(), self.undo_button, self.reset_button, sep(), self.objects,
                               self.add_object_button, sep(), self.show_masks])
        self.toolbar.add_class("mam-toolbar")

        # the two pictures
        self.canvas = w.Image(format="png")
        self.canvas.add_class("mam-image")
        self.matte = w.Image(format="png")
        self.matte.add_class("mam-matte")
        self.view = w.ToggleButtons(options=list(_VIEWS), value="alpha", style={"button_width": "auto"})
        self.view.add_class("mam-view")
        left_head = w.HTML("<div class='mam-panel-head'><span class='mam-panel-title'>Prompts</span>"
                           "<span class='mam-hint'>click <b>+</b> · <kbd>Shift</kbd>/<kbd>Alt</kbd>-click <b>−</b>"
                           " · drag a box</span></div>")
        right_head = w.HBox([w.HTML("<div class='mam-panel-head'><span class='mam-panel-title'>Result</span></div>"),
                             self.view], layout=w.Layout(justify_content="space-between", align_items="center"))
        self.left = w.VBox([left_head, self.canvas])
        self.right = w.VBox([right_head, self.matte])
        for panel in (self.left, self.right):
            panel.add_class("mam-panel")
        self.panels = w.HBox([self.left, self.right])
        self.panels.add_class("mam-panels")
        self.status = w.HTML("")
        self.status.add_class("mam-status")
        self.message_html = w.HTML("")
        self.message_html.add_class("mam-message")

        # tab: image
        samples = sample_images()
        self.samples = w.Dropdown(options=list(samples.items()), description="Sample",
                                  layout=w.Layout(width="260px"), style={"description_width": "56px"})
        self.samples.add_class("mam-samples")
        self.load_sample_button = w.Button(description="Load sample", layout=w.Layout(width="auto"))
        self.load_sample_button.add_class("mam-load-sample")
        self.path = w.Text(placeholder="path/to/image.jpg", description="Path", layout=w.Layout(width="360px"),
                           style={"description_width": "56px"})
        self.path.add_class("mam-path")
        self.load_path_button = w.Button(description="Load file", layout=w.Layout(width="auto"))
        self.load_path_button.add_class("mam-load-path")
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload image",
                                   layout=w.Layout(width="auto"))
        self.upload.add_class("mam-upload")
        tab_image = w.VBox([
            self._row(self.samples, self.load_sample_button),
            self._row(self.path, self.load_path_button),
            self._row(self.upload, w.HTML("<span class='mam-note'>PNG, JPEG, WebP, BMP or TIFF. The image encoder "
                                          "runs once per image; every click after that reuses its output.</span>")),
        ])

        # tab: refinement
        r = self.session.refinement
        self.guidance = w.ToggleButtons(options=[("α guidance", "alpha"), ("mask guidance", "mask")],
                                        value=r.guidance, style={"button_width": "auto"},
                                        tooltips=["Start from alpha_os8 clipped to the mask's box",
                                                  "Start from SAM's mask with a ring filled from alpha_os8"])
        self.guidance.add_class("mam-guidance")
        slider = dict(continuous_update=False, style={"description_width": "110px"}, layout=w.Layout(width="360px"))
        self.width_os4 = w.IntSlider(value=r.width_os4, min=0, max=80, step=2, description="os4 band width",
                                     **slider)
        self.width_os1 = w.IntSlider(value=r.width_os1, min=0, max=60, step=2, description="os1 band width",
                                     **slider)
        self.width_os8 = w.IntSlider(value=r.width_os8, min=0, max=60, step=2, description="mask ring width",
                                     **slider)
        self.two_sided = w.Checkbox(value=r.two_sided, description="two-sided bands", indent=False,
                                    layout=w.Layout(width="auto"))
        for name, ctl in (("os4", self.width_os4), ("os1", self.width_os1), ("os8", self.width_os8)):
            ctl.add_class(f"mam-width-{name}")
        self.two_sided.add_class("mam-two-sided")
        tab_refine = w.VBox([
            self._row(self.guidance, self.two_sided),
            self._row(self.width_os4, self.width_os1),
            self._row(self.width_os8, w.HTML("<span class='mam-note'>The ring is used by mask guidance only. "
                                             "Changing these re-runs only the refinement: no SAM, no M2M."
                                             "</span>")),
        ])

        # tab: objects
        self.merge_a = w.Dropdown(options=[], description="Merge", layout=w.Layout(width="220px"),
                                  style={"description_width": "48px"})
        self.merge_b = w.Dropdown(options=[], description="with", layout=w.Layout(width="200px"),
                                  style={"description_width": "34px"})
        self.merge_button = w.Button(description="Merge into one matte", icon="object-group",
                                     layout=w.Layout(width="auto"))
        self.merge_button.add_class("mam-merge")
        self.clear_object_button = w.Button(description="Clear prompts", icon="eraser", layout=w.Layout(width="auto"))
        self.clear_object_button.add_class("mam-clear-object")
        self.remove_object_button = w.Button(description="Remove object", icon="trash", layout=w.Layout(width="auto"))
        self.remove_object_button.add_class("mam-remove-object")
        tab_objects = w.VBox([
            self._row(self.merge_a, self.merge_b, self.merge_button),
            w.HTML("<span class='mam-note'>A merge is a new object with α = 1 − (1 − α₁)(1 − α₂), kept up to date "
                   "when either object changes (e.g. a person and the glass they hold).</span>"),
            self._row(self.clear_object_button, self.remove_object_button),
        ])

        # tab: cut-out & export
        self.background = w.ToggleButtons(options=[("Checkerboard", "checkerboard"), ("Colour", "colour"),
                                                   ("Image", "image")], value="checkerboard",
                                          style={"button_width": "auto"})
        self.background.add_class("mam-background")
        self.bg_color = w.ColorPicker(value="#00b140", concise=True, layout=w.Layout(width="auto"))
        self.bg_color.add_class("mam-bg-color")
        bgs = background_images()
        self.bg_image = w.Dropdown(options=list(bgs.items()), layout=w.Layout(width="220px"))
        self.bg_image.add_class("mam-bg-image")
        self.bg_upload = w.FileUpload(accept="image/*", multiple=False, description="Upload background",
                                      layout=w.Layout(width="auto"))
        self.bg_upload.add_class("mam-bg-upload")
        self.export_dir = w.Text(value=str(export_dir), description="Folder", layout=w.Layout(width="300px"),
                                 style={"description_width": "48px"})
        self.export_dir.add_class("mam-export-dir")
        self.export_stem = w.Text(value="", placeholder="<image>_<object>", description="Name",
                                  layout=w.Layout(width="240px"), style={"description_width": "44px"})
        self.export_stem.add_class("mam-export-stem")
        self.export_button = w.Button(description="Export PNGs + prompts", icon="download", button_style="primary",
                                      layout=w.Layout(width="auto"))
        self.export_button.add_class("mam-export")
        self.save_prompts_button = w.Button(description="Save prompts JSON", icon="save", layout=w.Layout(width="auto"))
        self.save_prompts_button.add_class("mam-save-prompts")
        self.load_prompts_upload = w.FileUpload(accept=".json,application/json", multiple=False,
                                                description="Load prompts JSON", layout=w.Layout(width="auto"))
        self.load_prompts_upload.add_class("mam-load-prompts")
        tab_export = w.VBox([
            self._row(self.background, self.bg_color, self.bg_image, self.bg_upload),
            self._row(self.export_dir, self.export_stem, self.export_button),
            self._row(self.save_prompts_button, self.load_prompts_upload,
                      w.HTML("<span class='mam-note'>Writes &lt;name&gt;_alpha.png, _rgba.png, _composite.png and "
                             "_prompts.json (the composite uses the backdrop chosen here).</span>")),
        ])

        self.tabs = w.Tab(children=[tab_image, tab_refine, tab_objects, tab_export])
        for i, title in enumerate(("Image", "Refinement", "Objects", "Cut-out & export")):
            self.tabs.set_title(i, title)
        self.tabs.add_class("mam-tabs")
        self._children = [self.style_html, self.header, self.warning, self.toolbar, self.panels, self.busy,
                          self.status, self.message_html, self.tabs]
        if isinstance(background, str) and background == "checkerboard":
            pass
        elif isinstance(background, (tuple, list)) and len(background) == 3:
            self.background.value = "colour"
            self.bg_color.value = "#%02x%02x%02x" % tuple(int(c) for c in background)
        else:
            try:
                self._bg_custom = load_image(background)
                self.background.value = "image"
            except MamError as err:
                self._show("error", _esc(err))

        # events
        self._mouse = Event(source=self.canvas, watched_events=["mousedown", "mouseup", "mouseleave"],
                            prevent_default_action=True)
        self._mouse.on_dom_event(self.handle_event)
        self._move = Event(source=self.canvas, watched_events=["mousemove"], wait=40, throttle_or_debounce="throttle")
        self._move.on_dom_event(self.handle_event)
        self.undo_button.on_click(self._guarded(lambda _: self.session.undo()))
        self.reset_button.on_click(self._guarded(lambda _: self._reset()))
        self.add_object_button.on_click(self._guarded(lambda _: self.session.add_object()))
        self.objects.observe(self._guarded(self._on_object_choice), names="value")
        self.show_masks.observe(lambda _: self._refresh(), names="value")
        self.view.observe(lambda _: self._refresh(), names="value")
        self.load_sample_button.on_click(self._guarded(lambda _: self._load_sample()))
        self.load_path_button.on_click(self._guarded(lambda _: self._load_path()))
        self.upload.observe(self._guarded(self._on_upload), names="value")
        self.guidance.observe(self._guarded(lambda ch: self._set_refinement(guidance=ch["new"])), names="value")
        self.width_os4.observe(self._guarded(lambda ch: self._set_refinement(width_os4=ch["new"])), names="value")
        self.width_os1.observe(self._guarded(lambda ch: self._set_refinement(width_os1=ch["new"])), names="value")
        self.width_os8.observe(self._guarded(lambda ch: self._set_refinement(width_os8=ch["new"])), names="value")
        self.two_sided.observe(self._guarded(lambda ch: self._set_refinement(two_sided=ch["new"])), names="value")
        self.merge_button.on_click(self._guarded(lambda _: self._merge()))
        self.clear_object_button.on_click(self._guarded(lambda _: self.session.clear_object()))
        self.remove_object_button.on_click(self._guarded(lambda _: self.session.remove_object()))
        for ctl in (self.background, self.bg_color, self.bg_image):
            ctl.observe(self._guarded(lambda _: self._refresh()), names="value")
        self.background.observe(lambda _: self._show_background_controls(), names="value")
        self._show_background_controls()
        self.bg_upload.observe(self._guarded(self._on_bg_upload), names="value")
        self.export_button.on_click(self._guarded(lambda _: self._export()))
        self.save_prompts_button.on_click(self._guarded(lambda _: self._save_prompts()))
        self.load_prompts_upload.observe(self._guarded(self._on_prompts_upload), names="value")

    def _show_background_controls(self) -> None:
        choice = self.background.value
        self.bg_color.layout.display = "" if choice == "colour" else "none"
        for ctl in (self.bg_image, self.bg_upload):
            ctl.layout.display = "" if choice == "image" else "none"

    @staticmethod
    def _row(*children) -> w.HBox:
        box = w.HBox(list(children))
        box.add_class("mam-row")
        return box

    # --- messages and errors --------------------------------------------------------------------

    def _show(self, kind: str, html_text: str) -> None:
        """Show a message: ``kind`` is ``"error"``, ``"ok"`` or ``"info"``; ``html_text`` is trusted HTML."""
        self.message = html.unescape(_strip_tags(html_text))
        self.message_html.value = f"<div class='mam-msg {kind}'>{html_text}</div>" if html_text else ""

    def clear_message(self) -> None:
        self._show("info", "")

    def _guarded(self, fn):
        """Wrap a UI callback: input errors become a message, unexpected ones a short message too
        (the traceback is kept in ``widget.last_error``), so nothing is printed in the output area."""
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except MamError as err:
                self._drag = None
                self._show("error", _esc(err))
            except Exception as err:  # noqa: BLE001 - a widget callback must never dump a traceback
                self._drag = None
                self.last_error = traceback.format_exc()
                self._show("error", f"Unexpected error ({_esc(type(err).__name__)}): {_esc(err)}. "
                                    "The details are in <code>widget.last_error</code>.")
            finally:
                if self.busy.value:
                    self.busy.value = ""
                    self.remove_class("mam-busy")
        return run

    # --- session events -------------------------------------------------------------------------

    def _on_session(self, kind: str, detail: str | None) -> None:
        if kind == "busy":
            self.busy.value = f"<span class='mam-spinner'></span>{_esc(detail)}…"
            self.add_class("mam-busy")
        elif kind == "idle":
            self.busy.value = ""
            self.remove_class("mam-busy")
        elif kind == "image":
            image = self.session.image
            self._scale = render.display_scale(image.shape[:2], self.display_size)
            self._image_display = np.ascontiguousarray(render.to_display(image, self._scale))
            self._drag = None
            self.export_stem.value = ""
        elif kind == "state":
            self.clear_message()  # a message describes the action before this one
            self._refresh()

    # --- public actions (what the buttons do, callable from code) -------------------------------

    def load_image(self, image, name: str | None = None) -> bool:
        """Load and encode an image (path, PIL image or array). Returns False and shows a message
        if it cannot be read."""
        return bool(self._guarded(self._load)(image, name))

    def load_prompts(self, source) -> bool:
        """Load prompts (a dict, JSON text or a JSON file); False with a message on a problem."""
        def run():
            self.session.load_prompts(source)
            self._show("ok", f"Loaded the prompts of {len(self.session.objects)} object(s).")
            return True
        return bool(self._guarded(run)())

    def export(self, folder: str | None = None, stem: str | None = None) -> dict[str, Path]:
        """Export the current object as the Export button does (raises on a problem, unlike the button)."""
        return self.session.export(folder or self.export_dir.value, stem or self.export_stem.value or None,
                                   background=self.background_for_export())

    # --- handlers -------------------------------------------------------------------------------

    def _load(self, image, name=None) -> bool:
        encode_ms = self.session.set_image(image, name=name)
        h, w_ = self.session.size
        self._show("ok", f"Loaded <b>{_esc(self.session.image_name)}</b> ({w_}×{h}); image encoder ran once in "
                         f"{encode_ms / 1000:.2f} s. Click on an object to start.")
        return True

    def _load_sample(self) -> None:
        if self.samples.value is None:
            self._show("error", "There are no sample images in data_samples/.")
            return
        self._load(self.samples.value, name=self.samples.label)

    def _load_path(self) -> None:
        text = self.path.value.strip()
        if not text:
            self._show("error", "Type the path of an image file first.")
            return
        self._load(Path(text).expanduser())

    def _on_upload(self, change) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return
        name, content = files[0]
        try:
            self._load(image_from_bytes(content, name), name=name)
        finally:
            self._reset_upload(self.upload)

    def _on_bg_upload(self, change) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return
        name, content = files[0]
        try:
            self._bg_custom = image_from_bytes(content, name)
            self.background.value = "image"
            self._refresh()
            self._show("ok", f"Background: {_esc(name)}")
        finally:
            self._reset_upload(self.bg_upload)

    def _on_prompts_upload(self, change) -> None:
        if not uploaded_files(change["new"]):
            return
        try:
            name, content = json_from_upload(change["new"])
            self.session.load_prompts(content)
            self._show("ok", f"Loaded prompts from {_esc(name)}.")
        finally:
            self._reset_upload(self.load_prompts_upload)

    def _reset_upload(self, upload: w.FileUpload) -> None:
        self._syncing = True
        try:
            upload.value = ()
        finally:
            self._syncing = False

    def _reset(self) -> None:
        self.session.reset()
        self.clear_message()

    def _on_object_choice(self, change) -> None:
        if self._syncing or change["new"] is None:
            return
        self.session.select(change["new"])

    def _set_refinement(self, **changes) -> None:
        if self._syncing:
            return
        self.session.set_refinement(**changes)

    def _merge(self) -> None:
        a, b = self.merge_a.value, self.merge_b.value
        if a is None or b is None:
            self._show("error", "Add a second object first (New object), then merge.")
            return
        name = self.session.merge(a, b)
        self._show("ok", f"Created <b>{_esc(name)}</b>: α = 1 − (1 − α₁)(1 − α₂).")

    def _export(self) -> None:
        paths = self.export()
        listing = "".join(f"<li><code>{_esc(p)}</code></li>" for p in paths.values())
        self._show("ok", f"Exported <b>{_esc(self.session.current.name)}</b>:<ul style='margin:4px 0 0 0'>"
                         f"{listing}</ul>")

    def _save_prompts(self) -> None:
        stem = self.export_stem.value.strip() or Path(self.session.image_name or "image").stem
        path = self.session.save_prompts(Path(self.export_dir.value) / f"{stem}_prompts.json")
        self._show("ok", f"Saved the prompts of {len(self.session.objects)} object(s) to <code>{_esc(path)}</code>.")

    # --- mouse ----------------------------------------------------------------------------------

    def _display_xy(self, event: dict) -> tuple[float, float]:
        """The event's position in the displayed picture's pixels.

        ipyevents scales ``dataX``/``dataY`` by the ``<img>``'s ``naturalWidth``, which reads 0 while
        a new picture is being decoded — and every preview redraw during a drag replaces it — so
        they can come as (0, 0) mid-drag. The position within the element's box (``relativeX`` over
        ``boundingRectWidth``; the picture has no border or padding) does not depend on that."""
        width, height = event.get("boundingRectWidth") or 0, event.get("boundingRectHeight") or 0
        if width > 0 and height > 0 and "relativeX" in event and self._image_display is not None:
            h, w_ = self._image_display.shape[:2]
            return float(event["relativeX"]) * w_ / width, float(event["relativeY"]) * h / height
        return float(event["dataX"]), float(event["dataY"])

    def _follow(self, event: dict) -> bool:
        """Move the drag's end to ``event``; True when that is at least ``DRAG_THRESHOLD`` displayed
        pixels from its start (the drag then counts as moved)."""
        x, y = self._display_xy(event)
        self._drag["last"] = (x / self._scale, y / self._scale)
        x0, y0 = self._drag["start_px"]
        far = max(abs(x - x0), abs(y - y0)) >= DRAG_THRESHOLD
        self._drag["moved"] |= far
        return far

    def handle_event(self, event: dict) -> None:
        """Handle one ipyevents mouse event (``mousedown``/``mousemove``/``mouseup``/``mouseleave``
        with ``dataX``/``dataY`` in the displayed picture's pixels and the modifier keys). Problems
        are shown as a message, as for every other control."""
        self._guarded(self._handle_event)(event)

    def _handle_event(self, event: dict) -> None:
        if not self.session.has_image:
            if event.get("type") == "mousedown":
                self._show("error", "Load an image first (Image tab).")
            return
        kind = event.get("type")
        if kind == "mousedown":
            if event.get("button", 0) != 0:
                return
            background = bool(event.get("shiftKey") or event.get("altKey")) or self.mode.value == 0
            x, y = self._display_xy(event)
            start = (x / self._scale, y / self._scale)
            self._drag = {"start": start, "start_px": (x, y), "last": start, "label": 0 if background else 1,
                          "moved": False}
            return
        if self._drag is None:
            return
        if kind == "mousemove":
            if event.get("buttons", 1) == 0:  # released outside the picture
                self._finish_drag()
                return
            if self._follow(event):
                self._render_left(preview_box=(*self._drag["start"], *self._drag["last"]))
        elif kind == "mouseup":
            self._follow(event)
            self._finish_drag()
        elif kind == "mouseleave":
            if self._drag["moved"]:
                self._finish_drag()
            else:
                self._drag = None

    def _finish_drag(self) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        self.clear_message()
        if drag["moved"]:
            (x0, y0), (x1, y1) = drag["start"], drag["last"]
            try:
                self.session.set_box((x0, y0, x1, y1))
            finally:
                self._refresh()  # remove the preview box even when the box is refused
        else:
            h, w_ = self.session.size
            # a click on the picture's last row/column reports the far edge: keep it inside the image
            x = min(max(drag["start"][0], 0.0), w_ - 1.0)
            y = min(max(drag["start"][1], 0.0), h - 1.0)
            self.session.add_point(x, y, drag["label"])

    # --- drawing --------------------------------------------------------------------------------

    def background_spec(self):
        """The cut-out backdrop as :func:`render.background_array` takes it."""
        choice = self.background.value
        if choice == "colour":
            return render.parse_color(self.bg_color.value)
        if choice == "image":
            if self._bg_custom is not None:
                return self._bg_custom
            if self.bg_image.value is not None:
                return self.bg_image.value
        return "checkerboard"

    def background_for_export(self):
        spec = self.background_spec()
        if isinstance(spec, str) and spec == "checkerboard":
            return render.background_array("checkerboard", self.session.size, square=16)
        return spec

    def _render_left(self, preview_box=None) -> None:
        s = self.session
        masks = [s.mask(i) if s.has_matte(i) else None for i in range(len(s.objects))]
        view = render.prompt_view(self._image_display, self._scale, [o.prompts for o in s.objects],
                                  s.objects.index(s.current), masks, self.show_masks.value, preview_box)
        self.canvas.value = render.png_bytes(view)

    def _render_right(self) -> None:
        s = self.session
        if not s.has_matte():
            view = render.placeholder_view(self._image_display)
        elif self.view.value == "alpha":
            view = render.alpha_view(s.alpha(), self._scale)
        elif self.view.value == "mask":
            idx = s.objects.index(s.current)
            view = render.mask_view(self._image_display, s.mask(), self._scale, render.object_color(idx))
        else:
            view = render.cutout_view(self._image_display, s.alpha(), self._scale, self.background_spec())
        self.matte.value = render.png_bytes(view)

    def _refresh(self) -> None:
        s = self.session
        self._syncing = True
        try:
            names = s.object_names
            if list(self.objects.options) != names:
                self.objects.options = names
            if list(self.merge_a.options) != names:
                self.merge_a.options = names
                self.merge_b.options = names
                if len(names) > 1:  # default pair: the two newest plain objects
                    plain = [o.name for o in s.objects if not o.prompts.is_merge] or names
                    pair = plain[-2:] if len(plain) > 1 else names[:2]
                    self.merge_a.value, self.merge_b.value = pair[0], pair[1]
            if s.has_image:
                self.objects.value = s.current.name
            r = s.refinement
            self.guidance.value = r.guidance
            self.width_os4.value, self.width_os1.value, self.width_os8.value = r.width_os4, r.width_os1, r.width_os8
            self.two_sided.value = r.two_sided
        finally:
            self._syncing = False
        self.undo_button.disabled = not s.can_undo
        if not s.has_image:
            size = (3 * self.display_size // 4, self.display_size)
            self.canvas.value = render.png_bytes(render.blank_view(size, "load an image: Image tab below"))
            self.matte.value = render.png_bytes(render.blank_view(size))
            self.status.value = ("<div class='mam-statusbar' data-objects='0'><div class='mam-details'>no image loaded"
                                 "</div></div>")
            return
        self._render_left()
        self._render_right()
        self.status.value = self._status_html()

    def _status_html(self) -> str:
        s = self.session
        sm = s.summary()
        idx = s.objects.index(s.current)
        color = "#%02x%02x%02x" % render.object_color(idx)
        h, w_ = s.size
        chips = [
            f"<span class='mam-chip mam-obj' style='background:{color}'>{_esc(sm.name)}</span>",
            f"<span class='mam-chip'>{_esc(sm.prompt)}</span>",
            f"<span class='mam-chip'>α coverage <b>{100 * sm.coverage:.1f}%</b></span>",
        ]
        if sm.iou is not None:
            chips.append(f"<span class='mam-chip'>SAM IoU <b>{sm.iou:.2f}</b></span>")
        details = [f"<span class='mam-action'>{_esc(sm.last_action)}</span>"]
        if sm.latency is not None:
            lat = sm.latency
            if lat.cached:
                details.append("prompt → α: cached result")
            else:
                details.append(f"prompt → α <b>{_esc(_secs(lat.total))}</b> (SAM decoder {_esc(_secs(lat.sam))}, "
                               f"M2M {_esc(_secs(lat.m2m))}, refinement {_esc(_secs(lat.refine))})")
        if s.encode_ms is not None:
            details.append(f"image encoder {s.encode_ms / 1000:.2f} s, once for this {w_}×{h} image")
        data = (f"data-object='{_esc(sm.name)}' data-points='{sm.n_points}' data-foreground='{sm.n_foreground}' "
                f"data-background='{sm.n_background}' data-box='{int(sm.has_box)}' "
                f"data-coverage='{sm.coverage:.6f}' data-objects='{sm.n_objects}' "
                f"data-encodes='{s.encode_count}' data-guidance='{_esc(s.refinement.guidance)}'")
        return (f"<div class='mam-statusbar' {data}><div class='mam-chips'>{''.join(chips)}</div>"
                f"<div class='mam-details'>{' · '.join(details)}</div></div>")


def _secs(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)

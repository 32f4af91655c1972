"""The widget's controls: every button, slider, picture and tab, laid out, with its CSS class.

:class:`Controls` only builds and arranges them; :class:`~mam_lib.widget.app.MattingWidget` connects
them to the session.
"""
from __future__ import annotations

import ipywidgets as w

from ..inference.refinement import RefinementConfig
from .sources import background_images, sample_images
from .style import CSS, esc

#: the right panel's views: (button label, value)
VIEWS = (("Alpha matte", "alpha"), ("Cut-out", "cutout"), ("SAM mask", "mask"))
#: what a press on the picture does: (button label, value); the brush values are the stroke modes
TOOLS = (("Click / box", "prompt"), ("Brush: foreground", "fg"), ("Brush: background", "bg"),
         ("Brush: unknown", "unknown"))


class AppButton(w.Button):
    """A button of the app. The app hears its clicks in the browser as page events, in order with the
    picture's events (:mod:`mam_lib.widget.ordering`). The button's own click message may be handled on
    another kernel thread, out of that order, so it is ignored. ``click()`` from Python still runs the
    handlers at once. Shown on its own, outside the app, the button does nothing."""

    def _handle_button_msg(self, _, content, buffers) -> None:  # ipywidgets' hook for the frontend's messages
        return None

    @property
    def action_class(self) -> str:
        """The CSS class that names this button (``mam-undo``, ``mam-reset``, …)."""
        return next(c for c in self._dom_classes if c.startswith("mam-"))


class Controls:
    """The widgets of the app, each an attribute named as :class:`~mam_lib.widget.app.MattingWidget`
    exposes it (``canvas``, ``matte``, ``mode``, ``status``, ``export_button``, …).

    Args:
        refinement: the settings the refinement controls start at.
        export_dir: the folder the export controls start at.
        model_description: the predictor's description, shown in the header.
        device: the predictor's device, shown in the header.
        real_weights: False shows "random weights" and a warning above the toolbar.
    """

    def __init__(self, refinement: RefinementConfig, export_dir: str, model_description: str, device: str,
                 real_weights: bool) -> None:
        self._head(model_description, device, real_weights)
        self._toolbar()
        self._tools()
        self._panels()
        self.status = w.HTML("")
        self.status.add_class("mam-status")
        self.message_html = w.HTML("")
        self.message_html.add_class("mam-message")
        tabs = [self._image_tab(), self._refinement_tab(refinement), self._objects_tab(), self._export_tab(export_dir)]
        self.tabs = w.Tab(children=tabs)
        for i, title in enumerate(("Image", "Refinement", "Objects", "Cut-out & export")):
            self.tabs.set_title(i, title)
        self.tabs.add_class("mam-tabs")

    def buttons(self) -> dict[str, AppButton]:
        """Every button of the app by its CSS class."""
        return {b.action_class: b for b in vars(self).values() if isinstance(b, AppButton)}

    def children(self) -> list[w.Widget]:
        """The app's rows, top to bottom."""
        return [self.style_html, self.header, self.warning, self.toolbar, self.tools_bar, self.panels, self.busy,
                self.status, self.message_html, self.tabs]

    def _head(self, model_description: str, device: str, real_weights: bool) -> None:
        """The style sheet, the title with the model and device, the random-weights warning, the busy line."""
        self.style_html = w.HTML(CSS)
        self.header = w.HTML(_header_html(model_description, device, real_weights))
        self.header.add_class("mam-header")
        self.warning = w.HTML(path_html(None, real_weights))
        self.busy = w.HTML("")
        self.busy.add_class("mam-busy-indicator")

    def show_path(self, banner: str | None, real_weights: bool) -> None:
        """Say above the toolbar which path the current image's mattes come from (a predictor's
        ``banner``, e.g. :attr:`mam_lib.inference.stand_in.TeachingPredictor.banner`)."""
        self.warning.value = path_html(banner, real_weights)

    def _toolbar(self) -> None:
        """Point mode, Undo, Reset, the object choice, New object, the mask overlay switch."""
        self.mode = w.ToggleButtons(options=[("Foreground", 1), ("Background", 0)], value=1,
                                    tooltips=["Click adds a foreground point", "Click adds a background point "
                                              "(Shift- or Alt-click does so in either mode)"],
                                    style={"button_width": "auto"})
        self.mode.add_class("mam-mode")
        self.undo_button = AppButton(description="Undo", icon="undo", tooltip="Undo the last prompt or object change",
                                     layout=w.Layout(width="auto"))
        self.undo_button.add_class("mam-undo")
        self.reset_button = AppButton(description="Reset", icon="refresh", tooltip="Remove all prompts and objects "
                                      "(the image stays encoded; Undo brings them back)", layout=w.Layout(width="auto"))
        self.reset_button.add_class("mam-reset")
        self.objects = w.Dropdown(options=[], description="Object", layout=w.Layout(width="210px"),
                                  style={"description_width": "48px"})
        self.objects.add_class("mam-objects")
        self.add_object_button = AppButton(description="New object", icon="plus", layout=w.Layout(width="auto"),
                                           tooltip="Add another object with its own prompts and matte")
        self.add_object_button.add_class("mam-add-object")
        self.show_masks = w.Checkbox(value=True, description="Mask overlay", indent=False,
                                     layout=w.Layout(width="auto"))
        self.show_masks.add_class("mam-show-masks")
        sep = lambda: w.HTML("<div class='mam-sep'></div>")  # noqa: E731 - a tiny factory of separators
        self.toolbar = w.HBox([self.mode, sep(), self.undo_button, self.reset_button, sep(), self.objects,
                               self.add_object_button, sep(), self.show_masks])
        self.toolbar.add_class("mam-toolbar")

    def _tools(self) -> None:
        """The brush (mode and size) and the text prompt (phrase, Find, box threshold)."""
        self.tool = w.ToggleButtons(options=list(TOOLS), value="prompt", style={"button_width": "auto"},
                                    tooltips=["Click adds a point, drag draws a box",
                                              "Paint what is surely the object (alpha 1 there)",
                                              "Paint what is surely not the object (alpha 0 there)",
                                              "Paint soft parts (hair, fur, glass): the finest decoder output decides"])
        self.tool.add_class("mam-tool")
        self.brush_size = w.IntSlider(value=12, min=1, max=80, description="Brush", continuous_update=False,
                                      readout=True, layout=w.Layout(width="220px"), style={"description_width": "44px"})
        self.brush_size.add_class("mam-brush-size")
        self.text_prompt = w.Text(placeholder="find by text, e.g. the cat", layout=w.Layout(width="220px"))
        self.text_prompt.add_class("mam-text")
        self.find_button = AppButton(description="Find", icon="search", layout=w.Layout(width="auto"),
                                     tooltip="Find every object the text names (Grounding DINO, the 'text' extra); "
                                             "each box found becomes a new object")
        self.find_button.add_class("mam-find")
        self.box_threshold = w.FloatSlider(value=0.35, min=0.0, max=0.95, step=0.05, description="min score",
                                           continuous_update=False, readout_format=".2f",
                                           layout=w.Layout(width="220px"), style={"description_width": "64px"})
        self.box_threshold.add_class("mam-box-threshold")
        sep = w.HTML("<div class='mam-sep'></div>")
        self.tools_bar = w.HBox([self.tool, self.brush_size, sep, self.text_prompt, self.find_button,
                                 self.box_threshold])
        self.tools_bar.add_class("mam-toolbar")

    def _panels(self) -> None:
        """The prompts picture (it takes the mouse) and the result picture with its view buttons."""
        self.canvas = w.Image(format="png")
        self.canvas.add_class("mam-image")
        self.matte = w.Image(format="png")
        self.matte.add_class("mam-matte")
        self.view = w.ToggleButtons(options=list(VIEWS), value="alpha", style={"button_width": "auto"})
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

    def _image_tab(self) -> w.VBox:
        """A sample, a file path or an upload."""
        samples = sample_images()
        self.samples = w.Dropdown(options=list(samples.items()), description="Sample",
                                  layout=w.Layout(width="260px"), style={"description_width": "56px"})
        self.samples.add_class("mam-samples")
        self.load_sample_button = AppButton(description="Load sample", layout=w.Layout(width="auto"))
        self.load_sample_button.add_class("mam-load-sample")
        self.path = w.Text(placeholder="path/to/image.jpg", description="Path", layout=w.Layout(width="360px"),
                           style={"description_width": "56px"})
        self.path.add_class("mam-path")
        self.load_path_button = AppButton(description="Load file", layout=w.Layout(width="auto"))
        self.load_path_button.add_class("mam-load-path")
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload image",
                                   layout=w.Layout(width="auto"))
        self.upload.add_class("mam-upload")
        self.mask_upload = w.FileUpload(accept="image/*", multiple=False, description="Use my mask",
                                        layout=w.Layout(width="auto"))
        self.mask_upload.add_class("mam-mask-upload")
        return w.VBox([
            _row(self.samples, self.load_sample_button),
            _row(self.path, self.load_path_button),
            _row(self.upload, w.HTML("<span class='mam-note'>PNG, JPEG, WebP, BMP or TIFF. The image encoder "
                                     "runs once per image; every click after that reuses its output.</span>")),
            _row(self.mask_upload, w.HTML("<span class='mam-note'>A mask from another tool, the image's size, white "
                                          "= object: it replaces SAM's mask for the current object (M2M and the "
                                          "refinement run on it; the brush still corrects it).</span>")),
        ])

    def _refinement_tab(self, refinement: RefinementConfig) -> w.VBox:
        """Guidance and band widths."""
        r = refinement
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
        return w.VBox([
            _row(self.guidance, self.two_sided),
            _row(self.width_os4, self.width_os1),
            _row(self.width_os8, w.HTML("<span class='mam-note'>The ring is used by mask guidance only. "
                                        "Changing these re-runs only the refinement: no SAM, no M2M."
                                        "</span>")),
        ])

    def _objects_tab(self) -> w.VBox:
        """Merge two objects, clear or remove the current one."""
        self.merge_a = w.Dropdown(options=[], description="Merge", layout=w.Layout(width="220px"),
                                  style={"description_width": "48px"})
        self.merge_b = w.Dropdown(options=[], description="with", layout=w.Layout(width="200px"),
                                  style={"description_width": "34px"})
        self.merge_button = AppButton(description="Merge into one matte", icon="object-group",
                                      layout=w.Layout(width="auto"))
        self.merge_button.add_class("mam-merge")
        self.clear_object_button = AppButton(description="Clear prompts", icon="eraser",
                                             layout=w.Layout(width="auto"))
        self.clear_object_button.add_class("mam-clear-object")
        self.remove_object_button = AppButton(description="Remove object", icon="trash", layout=w.Layout(width="auto"))
        self.remove_object_button.add_class("mam-remove-object")
        return w.VBox([
            _row(self.merge_a, self.merge_b, self.merge_button),
            w.HTML("<span class='mam-note'>A merge is a new object with α = 1 − (1 − α₁)(1 − α₂), kept up to date "
                   "when either object changes (e.g. a person and the glass they hold).</span>"),
            _row(self.clear_object_button, self.remove_object_button),
        ])

    def _export_tab(self, export_dir: str) -> w.VBox:
        """The cut-out's backdrop, the export folder and name, prompts JSON in and out."""
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
        self.export_button = AppButton(description="Export PNGs + prompts", icon="download", button_style="primary",
                                       layout=w.Layout(width="auto"))
        self.export_button.add_class("mam-export")
        self.save_prompts_button = AppButton(description="Save prompts JSON", icon="save",
                                             layout=w.Layout(width="auto"))
        self.save_prompts_button.add_class("mam-save-prompts")
        self.load_prompts_upload = w.FileUpload(accept=".json,application/json", multiple=False,
                                                description="Load prompts JSON", layout=w.Layout(width="auto"))
        self.load_prompts_upload.add_class("mam-load-prompts")
        return w.VBox([
            _row(self.background, self.bg_color, self.bg_image, self.bg_upload),
            _row(self.export_dir, self.export_stem, self.export_button),
            _row(self.save_prompts_button, self.load_prompts_upload,
                 w.HTML("<span class='mam-note'>Writes &lt;name&gt;_alpha.png, _rgba.png, _composite.png and "
                        "_prompts.json (the composite uses the backdrop chosen here).</span>")),
        ])


def path_html(banner: str | None, real_weights: bool) -> str:
    """The line above the toolbar: the predictor's ``banner`` when it has one, else the random-weights
    warning (nothing with real weights)."""
    if banner:
        kind = "mam-note" if real_weights else "mam-warning"
        return f"<div class='{kind} mam-path'>{esc(banner)}</div>"
    if real_weights:
        return ""
    return ("<div class='mam-warning'>No published checkpoints were found, so SAM and M2M run with random "
            "weights: every step works, but the masks and mattes are meaningless. "
            "<code>mam download --list</code> shows the checkpoint files to put in the cache folder "
            "(README, <i>Weights</i>).</div>")


def _header_html(description: str, device: str, real_weights: bool) -> str:
    model = ("<span class='mam-pill mam-pill-warn' title='{0}'>random weights</span>".format(esc(description))
             if not real_weights
             else f"<span class='mam-pill' title='{esc(description)}'>{esc(description[:90])}</span>")
    return (f"<div class='mam-head'><span class='mam-title'>Matting Anything</span>{model}"
            f"<span class='mam-pill'>{esc(device)}</span></div>")


def _row(*children) -> w.HBox:
    box = w.HBox(list(children))
    box.add_class("mam-row")
    return box

"""``MattingWidget``: click on an image in JupyterLab, get an alpha matte and a cut-out.

The view is built from standard ipywidgets; mouse input comes from ``ipyevents`` on an
``ipywidgets.Image``, which reports the position in the picture's own pixels (``dataX``/``dataY``),
whatever size the browser draws it at. All state lives in a
:class:`~mam_lib.widget.session.MattingSession` (``widget.session``); the view listens to it, so
code that calls the session (``widget.session.add_point(...)``) updates the widget too.

Mouse: click = foreground point; Shift- or Alt-click (or the "Background" mode) = background
point; drag = box (box and points combine). With a brush tool chosen, a drag paints a stroke
(foreground, background or unknown; :meth:`MattingSession.add_stroke`) of the brush's size in
screen pixels. The text box finds objects by a phrase (:meth:`MattingSession.find_text`, on a
worker thread of its own): each box found becomes a new object. "Use my mask" (Image tab) makes an
uploaded mask the current object's prompt. Every widget carries a stable CSS class
(``mam-image``, ``mam-matte``, ``mam-status``, …) so pages and tests can find it.

Errors caused by input (a prompt outside the image, an empty box, an unreadable image or prompts
file) are shown as a message in the widget, never as a traceback.

Input order: the kernel may handle different widgets' messages on different threads (its main
thread and subshell threads, see :mod:`mam_lib.widget.ordering`), so the order in which messages
reach the kernel is not the order of the user's actions. The picture's mouse events and the
buttons' clicks therefore come as ipyevents events, and an :class:`~mam_lib.widget.ordering.InputOrder`
hands them to the widget in the browser's order: Undo right after three quick clicks takes back
the third click, however busy the kernel is. The buttons' own click messages are ignored
(:class:`~mam_lib.widget.controls.AppButton`). ``button.click()`` from Python acts at once.

Threads: whichever kernel thread brings an event makes its change at once. A click's point or
box is in the session, and drawn on the left picture, before anything is computed. The busy line
and the status line then say that the matte is being computed. The computations run on one
worker thread (:class:`~mam_lib.widget.worker.ComputeWorker` running
:meth:`MattingSession.compute_pending`), which reads the state each time it starts one: clicks made
meanwhile are merged into the next computation, and a result for a prompt that has changed since is
never shown. Every redraw reads the session under its lock, so after Undo, Reset or New object —
pressed during a computation or not — history, state and pictures agree. :meth:`MattingWidget.wait`
blocks until the worker is done (scripts and tests).
"""
from __future__ import annotations

import html
import threading
import time
import traceback
from pathlib import Path

import ipywidgets as w
import numpy as np
from ipyevents import Event

from ..errors import MamError
from ..io.images import load_image
from ..inference.refinement import RefinementConfig
from . import render
from .controls import Controls
from .ordering import InputOrder
from .pointer import Box, Click, Paint, PaintPreview, Pointer, Preview
from .prompts import Stroke, make_stroke
from .session import MattingSession, computing_message
from .sources import image_from_bytes, json_from_upload, uploaded_files
from .status import NO_IMAGE_STATUS, status_html
from .style import esc, strip_tags
from .worker import ComputeWorker


class MattingWidget(w.VBox):
    """The interactive matting app (an ``ipywidgets.VBox``; display it as the last expression of a cell).

    Args:
        predictor: a :class:`~mam_lib.inference.predictor.MattingPredictor`; None uses
            :func:`~mam_lib.inference.stand_in.teaching_predictor` (the published weights when cached;
            otherwise random weights, and on the shipped demo sample the stand-in path of its known
            alpha). A predictor with a ``banner`` (e.g. that one) has it shown above the toolbar.
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
        if session is None and predictor is None:  # the shipped demo sample gets the stand-in path offline
            from ..inference.stand_in import teaching_predictor

            predictor = teaching_predictor()
        self.session = session or MattingSession(predictor, refinement)
        self.display_size = int(display_size)
        self.last_error: str | None = None  # traceback of the last unexpected error (not shown in the page)
        self.message = ""
        self._scale = 1.0
        self._image_display: np.ndarray | None = None
        self._pointer: Pointer | None = None  # set with each image
        self._preview_box: tuple[float, float, float, float] | None = None  # the box being dragged
        self._preview_stroke: Stroke | None = None  # the stroke being painted
        self._last_result_view: np.ndarray | None = None  # the right picture's last matte view
        self._busy_detail: str | None = None  # what the predictor runs now, as the session said
        self._local = threading.local()  # per thread: whether _refresh is setting the controls
        self._bg_custom: np.ndarray | None = None
        self._worker = ComputeWorker(self.session.compute_pending, self._on_compute_error, name="mam-widget-compute")
        self._find_lock = threading.Lock()
        self._find_request: tuple[str, float] | None = None  # the latest Find: (text, box threshold)
        self._finder = ComputeWorker(self._find_latest, self._on_compute_error, name="mam-widget-text")
        controls = self._build(export_dir, real_weights)
        self._buttons = controls.buttons()
        self._order = InputOrder(self.handle_event, self._on_button, picture_class="mam-image",
                                 click_classes=self._buttons)
        self._set_background(background)
        self._connect()
        super().__init__(children=controls.children())
        self.add_class("mam-app")
        # the page stream: button clicks and the pointer's moves, in one order (ordering.py)
        self._page = Event(source=self, watched_events=["click", "mousemove"])
        self._page.on_dom_event(self._order.page_event)
        self.session.add_listener(self._on_session)
        if image is not None:
            self.load_image(image, name=image_name)
        elif self.session.has_image:
            self._on_session("image", None)
            self._refresh()
            if self.session.pending:  # changes made with wait=False before this view existed
                self._worker.request()
        else:
            self._refresh()
            self._show("info", "Choose an image in the <b>Image</b> tab below, or call <code>load_image(...)</code>.")

    # --- construction ---------------------------------------------------------------------------

    def _build(self, export_dir: str, real_weights: bool | None) -> Controls:
        """Build the controls and make each an attribute of the widget (``self.canvas``, ``self.mode``, …)."""
        s = self.session
        desc = str(getattr(s.predictor, "description", type(s.predictor).__name__))
        real = real_weights if real_weights is not None else s.uses_real_weights
        if real is None:
            real = getattr(s.predictor, "real_weights", None)
        if real is None:  # the library's descriptions say "random" for random weights
            real = "random" not in desc.lower()
        controls = Controls(s.refinement, export_dir, desc, str(getattr(s.predictor, "device", "cpu")), real)
        self._real_weights = real
        self._controls = controls
        for name, control in vars(controls).items():
            setattr(self, name, control)
        return controls

    def _show_path(self) -> None:
        """Update the line above the toolbar to the predictor's ``banner`` (which path the current
        image's mattes come from), for predictors that have one."""
        banner = getattr(self.session.predictor, "banner", None)
        if isinstance(banner, str):
            self._controls.show_path(banner, self._real_weights)

    def _set_background(self, background) -> None:
        """Start the cut-out backdrop controls at ``background`` (see the class's arguments)."""
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
                self._show("error", esc(err))

    def _connect(self) -> None:
        """Connect the mouse events and the controls to their handlers."""
        # the picture's press, release and edge crossings, in order with the page's events (ordering.py);
        # the default action and the page's handlers are kept out (JupyterLab's cell selection, image drag)
        self._mouse = Event(source=self.canvas, watched_events=["mousedown", "mouseup", "mouseenter", "mouseleave"],
                            prevent_default_action=True)
        self._mouse.on_dom_event(self._order.picture_event)
        self._move = Event(source=self.canvas, watched_events=["mousemove"], wait=40, throttle_or_debounce="throttle")
        self._move.on_dom_event(self._order.move_event)
        self.undo_button.on_click(self._guarded(lambda _: self.session.undo(wait=False)))
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
        self.find_button.on_click(self._guarded(lambda _: self.find(self.text_prompt.value)))
        self.mask_upload.observe(self._guarded(self._on_mask_upload), names="value")
        self.save_prompts_button.on_click(self._guarded(lambda _: self._save_prompts()))
        self.load_prompts_upload.observe(self._guarded(self._on_prompts_upload), names="value")

    def _show_background_controls(self) -> None:
        choice = self.background.value
        self.bg_color.layout.display = "" if choice == "colour" else "none"
        for ctl in (self.bg_image, self.bg_upload):
            ctl.layout.display = "" if choice == "image" else "none"

    # --- messages and errors --------------------------------------------------------------------

    def _show(self, kind: str, html_text: str) -> None:
        """Show a message: ``kind`` is ``"error"``, ``"ok"`` or ``"info"``; ``html_text`` is trusted HTML."""
        with self.session.lock:
            self.message = html.unescape(strip_tags(html_text))
            self.message_html.value = f"<div class='mam-msg {kind}'>{html_text}</div>" if html_text else ""

    def clear_message(self) -> None:
        self._show("info", "")

    def _guarded(self, fn):
        """Wrap a UI callback: input errors become a message, unexpected ones a short message too
        (the traceback is kept in ``widget.last_error``), so nothing is printed in the output area."""
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - a widget callback must never dump a traceback
                self._cancel_drag()
                self._report(err)
        return run

    def _report(self, err: BaseException) -> None:
        """Show ``err`` as a message: its text for input errors (:class:`MamError`), else a short
        note, keeping the traceback in ``widget.last_error``."""
        if isinstance(err, MamError):
            self._show("error", esc(err))
            return
        self.last_error = "".join(traceback.format_exception(err))
        self._show("error", f"Unexpected error ({esc(type(err).__name__)}): {esc(err)}. "
                            "The details are in <code>widget.last_error</code>.")

    def _on_compute_error(self, err: BaseException) -> None:
        """A computation on the worker thread failed: say so; the object stays without a matte."""
        with self.session.lock:
            self._report(err)
            self._refresh()

    def _cancel_drag(self) -> None:
        self._preview_box = None
        self._preview_stroke = None
        if self._pointer is not None:
            self._pointer.cancel()

    @property
    def _syncing(self) -> bool:
        """True while this thread's :meth:`_refresh` sets the controls (their callbacks then do nothing)."""
        return getattr(self._local, "syncing", False)

    @_syncing.setter
    def _syncing(self, value: bool) -> None:
        self._local.syncing = value

    # --- session events -------------------------------------------------------------------------

    def _on_session(self, kind: str, detail: str | None) -> None:
        """Follow the session (on the thread that changed it; see the module's docstring)."""
        if kind in ("busy", "idle"):
            with self.session.lock:
                self._busy_detail = detail if kind == "busy" else None
                self._show_busy()
        elif kind == "image":
            image = self.session.image
            self._scale = render.display_scale(image.shape[:2], self.display_size)
            self._image_display = np.ascontiguousarray(render.to_display(image, self._scale))
            self._pointer = Pointer(self._scale, self._image_display.shape[:2], image.shape[:2])
            self._preview_box = None
            self._last_result_view = None
            self.export_stem.value = ""
            self._show_path()
        elif kind == "state":
            self.clear_message()  # a message describes the action before this one
            self._refresh()
            if self.session.pending:
                self._worker.request()
        elif kind == "result":
            self._refresh()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker thread has computed every matte asked for (for scripts and tests;
        the widget itself never waits). False if ``timeout`` seconds passed first."""
        start = time.monotonic()
        if not self._finder.wait(timeout):  # a Find adds objects, whose mattes the other worker computes
            return False
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
        return self._worker.wait(left)

    def close(self) -> None:
        """Close the widget: stop following the session and stop the worker thread."""
        self.session.remove_listener(self._on_session)
        self._worker.close()
        self._finder.close()
        for events in (self._page, self._mouse, self._move):
            events.close()
        super().close()

    # --- public actions (what the buttons do, callable from code) -------------------------------

    def load_image(self, image, name: str | None = None) -> bool:
        """Load and encode an image (path, PIL image or array). Returns False and shows a message
        if it cannot be read."""
        return bool(self._guarded(self._load)(image, name))

    def load_prompts(self, source) -> bool:
        """Load prompts (a dict, JSON text or a JSON file); False with a message on a problem. The
        mattes not in the cache are computed on the worker thread, as after a click."""
        def run():
            self.session.load_prompts(source, wait=False)
            self._show("ok", f"Loaded the prompts of {len(self.session.objects)} object(s).")
            return True
        return bool(self._guarded(run)())

    def find(self, text: str, box_threshold: float | None = None) -> None:
        """Find the objects ``text`` names, as the Find button does: the detector runs on a worker
        thread (:meth:`wait` waits for it); each box found becomes a new object whose matte follows.
        ``box_threshold``: the lowest score kept (default: the slider's)."""
        phrase = str(text or "").strip()
        if not phrase:
            self._show("error", "Type what to find in the text box first, e.g. <i>the cat</i>.")
            return
        if not self.session.has_image:
            self._show("error", "Load an image first (Image tab).")
            return
        threshold = float(self.box_threshold.value if box_threshold is None else box_threshold)
        with self._find_lock:
            self._find_request = (phrase, threshold)
        self._show("info", f"Finding <b>{esc(phrase)}</b>…")
        self._finder.request()

    def _find_latest(self) -> None:
        """The worker's job: run the latest Find (earlier ones not yet started are dropped)."""
        with self._find_lock:
            request, self._find_request = self._find_request, None
        if request is None:
            return
        phrase, threshold = request
        names = self.session.find_text(phrase, box_threshold=threshold, wait=False)
        if names:
            listing = ", ".join(f"<b>{esc(n)}</b>" for n in names)
            self._show("ok", f"Found {len(names)} object{'s' if len(names) != 1 else ''} for "
                             f"<i>{esc(phrase)}</i>: {listing}.")
        else:
            self._show("info", f"Nothing found for <i>{esc(phrase)}</i> with a score above {threshold:.2f}: "
                               "lower <b>min score</b> or rephrase.")

    def export(self, folder: str | None = None, stem: str | None = None) -> dict[str, Path]:
        """Export the current object as the Export button does (raises on a problem, unlike the button).
        A matte still being computed is waited for."""
        return self.session.export(folder or self.export_dir.value, stem or self.export_stem.value or None,
                                   background=self.background_for_export())

    # --- handlers -------------------------------------------------------------------------------

    def _load(self, image, name=None) -> bool:
        encode_ms = self.session.set_image(image, name=name)
        h, w_ = self.session.size
        self._show("ok", f"Loaded <b>{esc(self.session.image_name)}</b> ({w_}×{h}); image encoder ran once in "
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
            self._show("ok", f"Background: {esc(name)}")
        finally:
            self._reset_upload(self.bg_upload)

    def _on_mask_upload(self, change) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return
        name, content = files[0]
        try:
            if not self.session.has_image:
                self._show("error", "Load an image first, then its mask.")
                return
            picture = image_from_bytes(content, name)
            self.session.set_mask(picture.max(axis=2) >= 128, wait=False)  # white (or any bright colour) = object
            self._show("ok", f"Matting <b>{esc(self.session.current.name)}</b> from your mask {esc(name)}.")
        finally:
            self._reset_upload(self.mask_upload)

    def _on_prompts_upload(self, change) -> None:
        if not uploaded_files(change["new"]):
            return
        try:
            name, content = json_from_upload(change["new"])
            self.session.load_prompts(content, wait=False)
            self._show("ok", f"Loaded prompts from {esc(name)}.")
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
        self.session.set_refinement(wait=False, **changes)

    def _merge(self) -> None:
        a, b = self.merge_a.value, self.merge_b.value
        if a is None or b is None:
            self._show("error", "Add a second object first (New object), then merge.")
            return
        name = self.session.merge(a, b)
        self._show("ok", f"Created <b>{esc(name)}</b>: α = 1 − (1 − α₁)(1 − α₂).")

    def _export(self) -> None:
        paths = self.export()
        listing = "".join(f"<li><code>{esc(p)}</code></li>" for p in paths.values())
        self._show("ok", f"Exported <b>{esc(self.session.current.name)}</b>:<ul style='margin:4px 0 0 0'>"
                         f"{listing}</ul>")

    def _save_prompts(self) -> None:
        stem = self.export_stem.value.strip() or Path(self.session.image_name or "image").stem
        path = self.session.save_prompts(Path(self.export_dir.value) / f"{stem}_prompts.json")
        self._show("ok", f"Saved the prompts of {len(self.session.objects)} object(s) to <code>{esc(path)}</code>.")

    # --- mouse ----------------------------------------------------------------------------------

    def handle_event(self, event: dict) -> None:
        """Handle one mouse event on the picture (``mousedown``/``mousemove``/``mouseup``/``mouseleave``
        with ``dataX``/``dataY`` in the displayed picture's pixels and the modifier keys), at once.
        The browser's events come here through the widget's :class:`InputOrder`. Problems are shown
        as a message, as for every other control."""
        self._guarded(self._handle_event)(event)

    def _on_button(self, css_class: str) -> None:
        """A button was clicked in the browser (its turn in the input order has come)."""
        button = self._buttons.get(css_class)
        if button is not None:
            button.click()

    def _handle_event(self, event: dict) -> None:
        if not self.session.has_image:
            if event.get("type") == "mousedown":
                self._show("error", "Load an image first (Image tab).")
            return
        tool = self.tool.value
        gesture = self._pointer.handle(event, background=self.mode.value == 0, brush=tool != "prompt")
        if isinstance(gesture, (PaintPreview, Paint)):
            radius = max(0.5, self.brush_size.value / self._scale)  # the slider is in screen pixels
            if isinstance(gesture, PaintPreview):
                self._preview_stroke = make_stroke(tool, gesture.points, radius)
                with self.session.lock:
                    self._render_left()
                return
            self._preview_stroke = None
            self.clear_message()
            try:
                self.session.add_stroke(tool, gesture.points, radius, wait=False)
            finally:
                self._refresh()
        elif isinstance(gesture, Preview):
            self._preview_box = gesture.box
            with self.session.lock:
                self._render_left()
        elif isinstance(gesture, Box):
            self._preview_box = None
            self.clear_message()
            try:
                self.session.set_box(gesture.box, wait=False)  # drawn at once; the matte follows
            finally:
                self._refresh()  # remove the preview box even when the box is refused
        elif isinstance(gesture, Click):
            self.clear_message()
            self.session.add_point(gesture.x, gesture.y, gesture.label, wait=False)

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

    def _render_left(self) -> None:
        """The prompts picture: every object's mask, the current object's prompts (drawn as soon as
        they are in the session, before their matte exists) and the box being dragged."""
        s = self.session
        masks = [s.mask(i) if s.has_matte(i) else None for i in range(len(s.objects))]
        view = render.prompt_view(self._image_display, self._scale, [o.prompts for o in s.objects],
                                  s.current_index, masks, self.show_masks.value, self._preview_box,
                                  self._preview_stroke)
        self.canvas.value = render.png_bytes(view)

    def _render_right(self) -> None:
        """The result picture. While the current matte is computed it shows the last matte dimmed,
        captioned "computing the matte…", and carries the CSS class ``mam-pending``."""
        s = self.session
        pending = s.is_pending()
        if pending:
            base = self._last_result_view if self._last_result_view is not None else self._image_display
            view = render.placeholder_view(base, "computing the matte…")
        elif not s.has_matte():
            if s.failure() is not None:
                view = render.placeholder_view(self._image_display, "the matte could not be computed")
            else:
                view = render.placeholder_view(self._image_display)
            self._last_result_view = None
        else:
            if self.view.value == "alpha":
                view = render.alpha_view(s.alpha(), self._scale)
            elif self.view.value == "mask":
                view = render.mask_view(self._image_display, s.mask(), self._scale,
                                        render.object_color(s.current_index))
            else:
                view = render.cutout_view(self._image_display, s.alpha(), self._scale, self.background_spec())
            self._last_result_view = view
        with self.matte.hold_sync():  # picture and class reach the browser in one message
            self.matte.value = render.png_bytes(view)
            if pending:
                self.matte.add_class("mam-pending")
            else:
                self.matte.remove_class("mam-pending")

    def _show_busy(self) -> None:
        """The busy line: what the predictor runs now, else which mattes are still to be computed."""
        s = self.session
        with s.lock:
            text = self._busy_detail
            if text is None and s.has_image and s.pending:
                text = computing_message(s.current.prompts if s.is_pending() else s.get(s.pending[0]).prompts)
            self.busy.value = f"<span class='mam-spinner'></span>{esc(text)}…" if text else ""
            if text:
                self.add_class("mam-busy")
            else:
                self.remove_class("mam-busy")

    def _refresh(self) -> None:
        """Redraw everything from the session, reading it under its lock."""
        with self.session.lock:
            self._redraw()

    def _redraw(self) -> None:
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
        self._show_busy()
        if not s.has_image:
            size = (3 * self.display_size // 4, self.display_size)
            self.canvas.value = render.png_bytes(render.blank_view(size, "load an image: Image tab below"))
            self.matte.value = render.png_bytes(render.blank_view(size))
            self.status.value = NO_IMAGE_STATUS
            return
        self._render_left()
        self._render_right()
        self.status.value = status_html(s)

"""Interactive prompting in JupyterLab: click on an image, get an alpha matte and a cut-out.

* :class:`MattingWidget` — the ipywidgets app (``mam_lib.widget.app``);
* :class:`MattingSession` — its state without any user interface: image, objects, prompts,
  undo, merge, export, prompts as JSON; changes are serialised under one lock, computations run
  apart from them (``mam_lib.widget.session``);
* :mod:`mam_lib.widget.worker` — the one background thread on which the widget computes mattes;
* :mod:`mam_lib.widget.prompts` — one object's prompt, the JSON format, and the mapping of a
  prompt to SAM's 1024 frame and prompt encoder;
* :mod:`mam_lib.widget.render` — the pictures the widget shows, as arrays;
* :mod:`mam_lib.widget.sources` — the sample images and browser uploads it loads;
* :mod:`mam_lib.widget.pointer` — mouse events turned into clicks, boxes and drag previews;
* :mod:`mam_lib.widget.status` — the status line's HTML;
* :mod:`mam_lib.widget.style` — the style sheet and HTML escaping;
* :mod:`mam_lib.widget.controls` — the app's widgets and their layout (imports ipywidgets, like ``app``).

>>> from mam_lib.widget import MattingWidget
>>> MattingWidget(image="data_samples/demo/image.png")      # in a notebook cell
"""
from .prompts import (ObjectPrompts, SamPromptInputs, encode_prompt, format_prompt_rows, image_in_sam_frame,
                      sam_prompt_inputs)
from .session import MattingObject, MattingSession, PromptLatency, SessionSummary, merge_alpha

__all__ = [
    "MattingWidget", "MattingSession", "MattingObject", "ObjectPrompts", "PromptLatency", "SessionSummary",
    "SamPromptInputs", "encode_prompt", "format_prompt_rows", "image_in_sam_frame", "merge_alpha",
    "sam_prompt_inputs",
]


def __getattr__(name: str):
    # the view imports ipywidgets/ipyevents; load it only when asked for
    if name == "MattingWidget":
        from .app import MattingWidget

        return MattingWidget
    raise AttributeError(name)

"""Mouse events into clicks, boxes and previews, without widgets: ``mam_lib.widget.pointer``."""
from __future__ import annotations

from mam_lib.widget.pointer import DRAG_THRESHOLD, Box, Click, Pointer, Preview


def _event(kind: str, x: float, y: float, **extra) -> dict:
    return {"type": kind, "dataX": x, "dataY": y, "button": 0, "buttons": 0 if kind == "mouseup" else 1, **extra}


def test_short_moves_are_clicks_and_long_ones_boxes():
    pointer = Pointer(0.5, (120, 160), (240, 320))
    assert pointer.handle(_event("mousedown", 10, 10), background=True) is None
    assert pointer.handle(_event("mousemove", 10 + DRAG_THRESHOLD - 1, 10)) is None
    assert pointer.handle(_event("mouseup", 11, 11)) == Click(20.0, 20.0, 0)
    pointer.handle(_event("mousedown", 10, 10))
    assert pointer.handle(_event("mousemove", 30, 20)) == Preview((20.0, 20.0, 60.0, 40.0))
    assert pointer.handle(_event("mouseup", 40, 30)) == Box((20.0, 20.0, 80.0, 60.0))
    assert pointer.handle(_event("mouseup", 40, 30)) is None  # nothing pressed any more


def test_edges_modifiers_other_buttons_and_leaving():
    pointer = Pointer(1.0, (120, 160), (120, 160))
    pointer.handle(_event("mousedown", 160, 120, altKey=True))
    assert pointer.handle(_event("mouseup", 160, 120)) == Click(159.0, 119.0, 0)  # the far edge stays inside
    assert pointer.handle(_event("mousedown", 5, 5, button=2)) is None
    assert pointer.handle(_event("mouseup", 5, 5)) is None
    pointer.handle(_event("mousedown", 5, 5))
    assert pointer.handle(_event("mouseleave", 6, 6)) is None  # a click that left the picture is dropped
    pointer.handle(_event("mousedown", 5, 5))
    assert pointer.handle(_event("mousemove", 50, 40, buttons=0)) == Click(5.0, 5.0, 1)  # released outside
    pointer.handle(_event("mousedown", 5, 5))
    pointer.cancel()
    assert pointer.handle(_event("mouseup", 50, 40)) is None

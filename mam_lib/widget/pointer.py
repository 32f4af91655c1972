"""Mouse events on the shown picture, as ipyevents sends them, turned into clicks, boxes, strokes and previews.

A :class:`Pointer` follows one press-move-release on one displayed picture; it knows nothing of
widgets or sessions, so it can be driven with plain dicts.

Whether a press is a click or a box depends only on where it began and where it ended (the release,
or the pointer leaving the picture). The moves in between only draw the box being dragged, so the
outcome is the same whichever of the throttled moves reach the kernel before the release. With
the brush, a press-move-release is a stroke through every position that reached the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

#: a release nearer than this (display pixels, either axis) to the press counts as a click
DRAG_THRESHOLD = 4


@dataclass(frozen=True)
class Click:
    """A point prompt at ``(x, y)`` in image pixels (inside the image); ``label`` 1 = foreground, 0 = background."""

    x: float
    y: float
    label: int


@dataclass(frozen=True)
class Box:
    """A finished drag: ``(x0, y0, x1, y1)`` in image pixels, corners as pressed and released."""

    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Preview:
    """A drag in progress: the box to draw so far, as :class:`Box`."""

    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Paint:
    """A finished brush stroke: ``((x, y), ...)`` image pixels from the press to the release."""

    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PaintPreview:
    """A brush stroke in progress, as :class:`Paint`."""

    points: tuple[tuple[float, float], ...]


@dataclass
class _Drag:
    start: tuple[float, float]  # image pixels
    start_px: tuple[float, float]  # displayed picture's pixels
    last: tuple[float, float]  # image pixels
    label: int
    moved: bool = False  # the latest position followed is DRAG_THRESHOLD or more from the start
    previewing: bool = False  # a box has been drawn for this press (moves near the start redraw it)
    path: list[tuple[float, float]] | None = None  # the brush's positions (image pixels); None: not painting


class Pointer:
    """Mouse input on one displayed picture.

    Args:
        scale: displayed pixels per image pixel.
        shown_size: ``(H, W)`` of the displayed picture.
        image_size: ``(H, W)`` of the image, to keep clicks inside it.
    """

    def __init__(self, scale: float, shown_size: tuple[int, int], image_size: tuple[int, int]) -> None:
        self.scale = scale
        self.shown_size = shown_size
        self.image_size = image_size
        self._drag: _Drag | None = None

    def cancel(self) -> None:
        """Forget the press being followed."""
        self._drag = None

    def display_xy(self, event: dict) -> tuple[float, float]:
        """The event's position in the displayed picture's pixels.

        ipyevents scales ``dataX``/``dataY`` by the ``<img>``'s ``naturalWidth``, which reads 0 while
        a new picture is being decoded — and every preview redraw during a drag replaces it — so
        they can come as (0, 0) mid-drag. The position within the element's box (``relativeX`` over
        ``boundingRectWidth``; the picture has no border or padding) does not depend on that."""
        width, height = event.get("boundingRectWidth") or 0, event.get("boundingRectHeight") or 0
        if width > 0 and height > 0 and "relativeX" in event:
            h, w_ = self.shown_size
            return float(event["relativeX"]) * w_ / width, float(event["relativeY"]) * h / height
        return float(event["dataX"]), float(event["dataY"])

    def handle(self, event: dict, background: bool = False, brush: bool = False
               ) -> Click | Box | Preview | Paint | PaintPreview | None:
        """Follow one ``mousedown``/``mousemove``/``mouseup``/``mouseleave`` event; what it completes
        (a click, a box or, with ``brush``, a stroke) or what to preview, else None. A press is a
        background point when ``background`` is set or Shift or Alt is held."""
        kind = event.get("type")
        if kind == "mousedown":
            if event.get("button", 0) != 0:
                return None
            background = bool(event.get("shiftKey") or event.get("altKey")) or background
            x, y = self.display_xy(event)
            start = (x / self.scale, y / self.scale)
            self._drag = _Drag(start=start, start_px=(x, y), last=start, label=0 if background else 1,
                               path=[start] if brush else None)
            return PaintPreview((start,)) if brush else None
        if self._drag is None:
            return None
        if self._drag.path is not None:
            return self._paint(kind, event)
        if kind == "mousemove":
            if event.get("buttons", 1) == 0:  # released outside the picture
                return self._finish()
            if self._follow(event):
                return Preview((*self._drag.start, *self._drag.last))
        elif kind == "mouseup":
            self._follow(event)
            return self._finish()
        elif kind == "mouseleave":
            if "relativeX" in event or "dataX" in event:
                self._follow(event)
            if self._drag.moved:
                return self._finish()
            self._drag = None
        return None

    def _paint(self, kind: str, event: dict) -> Paint | PaintPreview | None:
        """Follow the brush: every position is part of the stroke; the release (or leaving the
        picture, or a move with no button held) ends it."""
        path = self._drag.path
        ended = kind in ("mouseup", "mouseleave") or (kind == "mousemove" and event.get("buttons", 1) == 0)
        if kind in ("mousemove", "mouseup", "mouseleave") and ("relativeX" in event or "dataX" in event):
            x, y = self.display_xy(event)
            point = (x / self.scale, y / self.scale)
            if point != path[-1]:
                path.append(point)
        if ended:
            self._drag = None
            return Paint(tuple(path))
        return PaintPreview(tuple(path)) if kind == "mousemove" else None

    def _follow(self, event: dict) -> bool:
        """Move the drag's end to ``event``; True when a box is to be drawn: the end is at least
        ``DRAG_THRESHOLD`` displayed pixels from the start, now or earlier in this press."""
        x, y = self.display_xy(event)
        self._drag.last = (x / self.scale, y / self.scale)
        x0, y0 = self._drag.start_px
        self._drag.moved = max(abs(x - x0), abs(y - y0)) >= DRAG_THRESHOLD
        self._drag.previewing |= self._drag.moved
        return self._drag.previewing

    def _finish(self) -> Click | Box:
        drag, self._drag = self._drag, None
        if drag.moved:
            return Box((*drag.start, *drag.last))
        h, w_ = self.image_size
        # a click on the picture's last row/column reports the far edge: keep it inside the image
        x = min(max(drag.start[0], 0.0), w_ - 1.0)
        y = min(max(drag.start[1], 0.0), h - 1.0)
        return Click(x, y, drag.label)

"""Pictures the widget shows: the image with prompts and masks, the alpha matte, the cut-out.

Everything is drawn at *display* resolution (the image scaled so its longest side fits the
view), with OpenCV's anti-aliased primitives, and sent to the browser as PNG bytes. Views are
plain ``(h,w,3)`` uint8 RGB arrays so they can be tested and saved without a browser.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ..inference.guides import BG, FG, UNKNOWN
from ..io.cutout import checkerboard, foreground_colors
from ..io.images import load_image
from .prompts import Stroke, scribble_map

#: One colour per object (RGB), used for its mask tint, outline and box; cycles after six objects.
OBJECT_COLORS: tuple[tuple[int, int, int], ...] = (
    (10, 132, 255),   # blue
    (255, 159, 10),   # orange
    (191, 90, 242),   # purple
    (48, 209, 88),    # green
    (255, 55, 95),    # pink
    (100, 210, 255),  # cyan
)
FOREGROUND_COLOR = (52, 199, 89)  # point markers, label 1
BACKGROUND_COLOR = (255, 69, 58)  # point markers, label 0
BACKGROUNDS = ("checkerboard", "colour", "image")
#: Brush stroke colours by mode (RGB): foreground, background, unknown.
STROKE_COLORS = {FG: FOREGROUND_COLOR, BG: BACKGROUND_COLOR, UNKNOWN: (255, 214, 10)}


def object_color(index: int) -> tuple[int, int, int]:
    return OBJECT_COLORS[index % len(OBJECT_COLORS)]


def display_scale(size: tuple[int, int], max_side: int) -> float:
    """Factor from image pixels to display pixels: ``min(1, max_side / max(H, W))``."""
    return min(1.0, float(max_side) / float(max(size)))


def to_display(array: np.ndarray, scale: float, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    """Resize an image-sized array (``(H,W)`` or ``(H,W,C)``) by ``scale``; unchanged when ``scale == 1``."""
    if scale == 1.0:
        return array
    h, w = array.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if array.dtype == bool:
        return cv2.resize(array.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return cv2.resize(array, size, interpolation=interpolation)


def _marker_radius(shape: tuple[int, ...]) -> int:
    return max(6, round(max(shape[:2]) / 70))


def tint_mask(view: np.ndarray, mask: np.ndarray, color: Sequence[int], opacity: float = 0.38,
              outline: int = 2) -> np.ndarray:
    """Tint ``mask`` (``(h,w)`` bool, display size) in ``color`` over ``view`` and draw its outline."""
    out = view.copy()
    m = np.asarray(mask, bool)
    if m.any():
        c = np.asarray(color, np.float32)
        out[m] = ((1.0 - opacity) * out[m].astype(np.float32) + opacity * c).astype(np.uint8)
        if outline > 0:
            contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, tuple(int(v) for v in color), outline, cv2.LINE_AA)
    return out


def outline_mask(view: np.ndarray, mask: np.ndarray, color: Sequence[int], thickness: int = 1) -> np.ndarray:
    """Only the outline of ``mask`` (for objects that are not current)."""
    m = np.asarray(mask, bool)
    if not m.any():
        return view
    out = view.copy()
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, tuple(int(v) for v in color), thickness, cv2.LINE_AA)
    return out


def draw_box(view: np.ndarray, box: Sequence[float], scale: float, color: Sequence[int],
             thickness: int = 2, dim_outside: float = 0.0) -> np.ndarray:
    """Draw a box given in image pixels (``x0,y0,x1,y1``) on a display-size view.

    ``dim_outside`` > 0 darkens the view outside the box by that fraction (used while dragging).
    """
    out = view.copy()
    x0, y0, x1, y1 = (float(v) * scale for v in box)
    p0 = (int(round(x0)), int(round(y0)))
    p1 = (int(round(x1)) - 1, int(round(y1)) - 1)
    if dim_outside > 0:
        keep = np.zeros(out.shape[:2], bool)
        keep[max(p0[1], 0):max(p1[1] + 1, 0), max(p0[0], 0):max(p1[0] + 1, 0)] = True
        out[~keep] = (out[~keep].astype(np.float32) * (1.0 - dim_outside)).astype(np.uint8)
    col = tuple(int(v) for v in color)
    cv2.rectangle(out, p0, p1, (255, 255, 255), thickness + 2, cv2.LINE_AA)
    cv2.rectangle(out, p0, p1, col, thickness, cv2.LINE_AA)
    # corner handles make the box readable on busy images
    r = max(3, thickness + 2)
    for cx, cy in (p0, p1, (p0[0], p1[1]), (p1[0], p0[1])):
        cv2.rectangle(out, (cx - r, cy - r), (cx + r, cy + r), (255, 255, 255), -1, cv2.LINE_AA)
        cv2.rectangle(out, (cx - r, cy - r), (cx + r, cy + r), col, 1, cv2.LINE_AA)
    return out


def draw_points(view: np.ndarray, points: Sequence[Sequence[float]], labels: Sequence[int], scale: float,
                radius: int | None = None) -> np.ndarray:
    """Draw point prompts (image pixels) as round markers: green with "+" for foreground, red with
    "−" for background, each ringed in white and a thin dark line so it stays visible on any colour."""
    out = view.copy()
    r = radius or _marker_radius(view.shape)
    for (x, y), lab in zip(points, labels):
        c = (int(round(x * scale)), int(round(y * scale)))
        fill = FOREGROUND_COLOR if lab == 1 else BACKGROUND_COLOR
        cv2.circle(out, c, r + 2, (30, 30, 30), -1, cv2.LINE_AA)
        cv2.circle(out, c, r + 1, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(out, c, r - 1, fill, -1, cv2.LINE_AA)
        arm = max(2, r // 2)
        t = max(1, r // 4)
        cv2.line(out, (c[0] - arm, c[1]), (c[0] + arm, c[1]), (255, 255, 255), t, cv2.LINE_AA)
        if lab == 1:
            cv2.line(out, (c[0], c[1] - arm), (c[0], c[1] + arm), (255, 255, 255), t, cv2.LINE_AA)
    return out


def draw_strokes(view: np.ndarray, strokes: Sequence[Stroke], scale: float, opacity: float = 0.5) -> np.ndarray:
    """Brush strokes (image pixels) painted over a display-size view in their modes' colours
    (:data:`STROKE_COLORS`), half transparent, a later stroke over an earlier one."""
    if not strokes:
        return view
    shown = [Stroke(s.mode, max(0.5, s.radius * scale), tuple((x * scale, y * scale) for x, y in s.points))
             for s in strokes]
    marks = scribble_map(shown, view.shape[:2])
    out = view.copy()
    for mode, color in STROKE_COLORS.items():
        m = marks == mode
        if m.any():
            out[m] = ((1.0 - opacity) * out[m].astype(np.float32) + opacity * np.float32(color)).astype(np.uint8)
    return out


def prompt_view(image_display: np.ndarray, scale: float, objects: Sequence, current: int,
                masks: Sequence[np.ndarray | None] = (), show_masks: bool = True,
                preview_box: Sequence[float] | None = None, preview_stroke: Stroke | None = None) -> np.ndarray:
    """The interactive picture: the image, SAM's masks, and the current object's prompts.

    Args:
        image_display: ``(h,w,3)`` uint8, the image already scaled by ``scale``.
        objects: :class:`~mam_lib.widget.prompts.ObjectPrompts` of every object.
        current: index of the current object (its mask is tinted, its box and points drawn;
            the other objects' masks are outlined in their colours).
        masks: per object, SAM's mask at image size (``(H,W)`` bool) or None.
        preview_box: a box being dragged (image pixels), drawn with the outside dimmed.
        preview_stroke: a brush stroke being painted (image pixels), drawn over the current object's strokes.
    """
    out = image_display
    if show_masks:
        for i, m in enumerate(masks):
            if m is not None and i != current:
                out = outline_mask(out, to_display(m, scale), object_color(i), 1)
        if current < len(masks) and masks[current] is not None:
            out = tint_mask(out, to_display(masks[current], scale), object_color(current))
    if 0 <= current < len(objects):
        p = objects[current]
        strokes = tuple(p.strokes) + ((preview_stroke,) if preview_stroke is not None else ())
        out = draw_strokes(out, strokes, scale)
        if p.box is not None and preview_box is None:
            out = draw_box(out, p.box, scale, object_color(current))
        if p.points:
            out = draw_points(out, p.points, p.labels, scale)
    if preview_box is not None:
        out = draw_box(out, preview_box, scale, object_color(current), dim_outside=0.35)
    return out if out is not image_display else image_display.copy()


def alpha_view(alpha: np.ndarray, scale: float) -> np.ndarray:
    """The matte as a grey picture, ``(h,w,3)`` uint8 (white = foreground)."""
    a = to_display(np.asarray(alpha, np.float32), scale, cv2.INTER_AREA)
    g = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def background_array(background, size: tuple[int, int], square: int = 12) -> np.ndarray:
    """A ``(h,w,3)`` uint8 backdrop for the cut-out: ``"checkerboard"``, an RGB colour, an image
    array or a path (resized to fill ``size = (h, w)``)."""
    h, w = size
    if isinstance(background, str) and background == "checkerboard":
        return checkerboard((h, w), square=square)
    if isinstance(background, (tuple, list)) and len(background) == 3 and all(np.isscalar(c) for c in background):
        return np.broadcast_to(np.asarray(background, np.uint8), (h, w, 3)).copy()
    bg = load_image(background)
    if bg.shape[:2] != (h, w):
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA if bg.shape[0] > h else cv2.INTER_LINEAR)
    return bg


def cutout_view(image_display: np.ndarray, alpha: np.ndarray, scale: float, background="checkerboard",
                estimate_fg: bool = True) -> np.ndarray:
    """The cut-out ``αF + (1−α)B`` at display size on a checkerboard, a colour or an image.

    ``F`` is the foreground colour estimated at display size (:mod:`mam_lib.io.foreground`, as the
    exported files use at full size; a preview costs a fraction of it), or the image's colours
    with ``estimate_fg=False``."""
    a = to_display(np.asarray(alpha, np.float32), scale, cv2.INTER_AREA)
    bg = background_array(background, image_display.shape[:2])
    fg = foreground_colors(image_display, a, estimate_fg) * np.float32(255)
    a = a[..., None]
    out = a * fg + (1.0 - a) * bg.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mask_view(image_display: np.ndarray, mask: np.ndarray, scale: float, color=OBJECT_COLORS[0]) -> np.ndarray:
    """SAM's binary mask tinted over the image."""
    return tint_mask(image_display, to_display(np.asarray(mask, bool), scale), color, opacity=0.5)


def caption(view: np.ndarray, text: str, color=(235, 235, 235)) -> np.ndarray:
    """Write one line of ``text`` centred on ``view`` (OpenCV's Hershey font, anti-aliased)."""
    out = view.copy()
    h, w = out.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.4, min(0.8, w / 700))
    thickness = 1 if scale < 0.6 else 2
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    if tw > w - 16:
        scale *= (w - 16) / tw
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    org = ((w - tw) // 2, (h + th) // 2)
    cv2.putText(out, text, org, font, scale, tuple(int(c) for c in color), thickness, cv2.LINE_AA)
    return out


def placeholder_view(image_display: np.ndarray, text: str = "click on an object or drag a box") -> np.ndarray:
    """What the result panel shows before the first prompt: the image, dimmed, with a hint."""
    return caption((image_display.astype(np.float32) * 0.3 + 18).astype(np.uint8), text)


def blank_view(size: tuple[int, int], text: str = "") -> np.ndarray:
    """A dark ``size = (h, w)`` picture with an optional centred line of text (no image loaded)."""
    view = np.full((*size, 3), 38, np.uint8)
    return caption(view, text, (170, 170, 170)) if text else view


def png_bytes(view: np.ndarray) -> bytes:
    """Encode an ``(h,w,3)`` uint8 RGB view as PNG (fast settings: the browser decodes it at once)."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(view), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - OpenCV fails only for impossible shapes
        raise ValueError(f"could not encode a view of shape {view.shape} as PNG")
    return buf.tobytes()


def parse_color(text: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` (as ipywidgets' ColorPicker gives) or a CSS colour name it knows → RGB."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(text)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))

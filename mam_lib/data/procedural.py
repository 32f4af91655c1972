"""Procedural foregrounds (RGB + alpha) and backgrounds, so matting data exists offline.

Matting is hard where the alpha is fractional: hair and fur strands thinner than a pixel, soft or
motion-blurred edges, semi-transparent material (glass, veils), holes through an object and
several objects in one picture. :func:`make_foreground` draws such objects; :func:`make_background`
draws gradients, noise textures, clutter and out-of-focus highlights to composite them on.

Everything is seeded: the same ``seed`` and ``size`` always give the same arrays.

Thin structures are drawn with anti-aliased OpenCV primitives on a canvas ``supersample`` times
larger than the output and reduced with area interpolation, so a strand one canvas pixel wide ends
up a fraction of an output pixel wide, with a fractional alpha, as in real hair mattes. OpenCV has
no generator of strands, blobs or value noise, so those small geometric helpers are written here;
all of them are vectorised numpy or OpenCV calls (no per-pixel Python).

``mam synth --samples data_samples`` regenerates the shipped ``data_samples/`` folder from these
generators (:func:`mam_lib.data.synthesis.write_data_samples`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Foreground kinds understood by :func:`make_foreground`.
FOREGROUND_KINDS: tuple[str, ...] = ("hair", "fur", "soft", "glass", "holes", "multi")

_SHIFT = 4  # fractional bits of OpenCV drawing coordinates (1/16 pixel precision)
_ONE = 1 << _SHIFT


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def value_noise(
    rng: np.random.Generator, size: tuple[int, int], scale: float, octaves: int = 4
) -> np.ndarray:
    """Smooth fractal value noise.

    Args:
        rng: random generator.
        size: output ``(H, W)``.
        scale: size in pixels of the coarsest features.
        octaves: number of octaves, each twice as fine and half as strong as the previous one.

    Returns:
        ``(H, W) float32 in [0, 1]``.

    Random grids are enlarged with bicubic interpolation (``cv2.resize``); OpenCV has no noise
    generator, hence this helper.
    """
    h, w = size
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cell = max(scale / (2**o), 2.0)
        gh, gw = max(int(np.ceil(h / cell)) + 1, 2), max(int(np.ceil(w / cell)) + 1, 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _hsv_color(h: float, s: float, v: float) -> np.ndarray:
    """One RGB colour (3,) float32 in [0,1] from hue in degrees, saturation and value in [0,1]."""
    hsv = np.array([[[h % 360.0, s, v]]], np.float32)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]


def _color_field(
    rng: np.random.Generator,
    size: tuple[int, int],
    base: np.ndarray,
    variation: float = 0.35,
    scale: float | None = None,
) -> np.ndarray:
    """A textured colour around ``base``: ``(H, W, 3) float32 in [0, 1]``."""
    h, w = size
    scale = scale or max(h, w) / 6
    shade = value_noise(rng, size, scale, octaves=3)
    tint = value_noise(rng, size, scale * 1.5, octaves=2)
    gy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    gx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * np.pi)
    grad = np.float32(np.cos(a)) * gx + np.float32(np.sin(a)) * gy
    light = 1.0 + variation * (shade - 0.5) * 2.0 + 0.15 * grad
    other = rng.random(3).astype(np.float32)
    field = base[None, None, :] * light[..., None]
    field += (0.25 * variation) * (tint[..., None] - 0.5) * (other - 0.5)[None, None, :]
    return np.clip(field, 0.0, 1.0).astype(np.float32)


def _hair_color(rng: np.random.Generator) -> np.ndarray:
    """A natural hair or fur colour (black, brown, blond, red, grey, white), RGB float32."""
    palette = [
        (25, 0.3, 0.08),
        (25, 0.55, 0.25),
        (30, 0.6, 0.45),
        (40, 0.45, 0.75),
        (15, 0.75, 0.5),
        (0, 0.0, 0.6),
        (35, 0.1, 0.92),
    ]
    h, s, v = palette[int(rng.integers(len(palette)))]
    return _hsv_color(h + rng.uniform(-8, 8), np.clip(s + rng.uniform(-0.1, 0.1), 0, 1),
                      np.clip(v * rng.uniform(0.8, 1.2), 0.03, 1))


def _any_color(rng: np.random.Generator) -> np.ndarray:
    return _hsv_color(rng.uniform(0, 360), rng.uniform(0.1, 0.9), rng.uniform(0.25, 0.95))


def _blob(
    rng: np.random.Generator,
    center: tuple[float, float],
    radii: tuple[float, float],
    roughness: float = 0.25,
    n: int = 360,
    rotation: float | None = None,
) -> np.ndarray:
    """Closed outline of a random smooth blob, ``(n, 2) float32`` of ``x, y`` points."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False, dtype=np.float32)
    r = np.ones_like(t)
    for k in range(2, 7):
        r += rng.uniform(0, roughness / k) * np.sin(k * t + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    r = np.clip(r, 0.35, None)
    rot = rng.uniform(0, 2 * np.pi) if rotation is None else rotation
    x = radii[0] * r * np.cos(t)
    y = radii[1] * r * np.sin(t)
    c, s = np.cos(rot), np.sin(rot)
    pts = np.stack([center[0] + c * x - s * y, center[1] + s * x + c * y], axis=1)
    return pts.astype(np.float32)


@dataclass
class _Canvas:
    """Output size and supersampling factor shared by the drawing helpers."""

    h: int
    w: int
    ss: int

    def new(self) -> np.ndarray:
        """A blank supersampled uint8 canvas."""
        return np.zeros((self.h * self.ss, self.w * self.ss), np.uint8)

    def fixed(self, pts: np.ndarray) -> np.ndarray:
        """Output-frame float points to supersampled fixed-point int32 for OpenCV drawing."""
        return np.round(pts * (self.ss * _ONE)).astype(np.int32)

    def reduce(self, canvas: np.ndarray) -> np.ndarray:
        """Supersampled uint8 canvas to output-size alpha, ``(H, W) float32 in [0, 1]``."""
        small = cv2.resize(canvas, (self.w, self.h), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32) * np.float32(1.0 / 255.0)

    def fill(self, canvas: np.ndarray, outline: np.ndarray, value: int = 255) -> np.ndarray:
        cv2.fillPoly(canvas, [self.fixed(outline)], int(value), cv2.LINE_AA, _SHIFT)
        return canvas

    @property
    def size(self) -> tuple[int, int]:
        return (self.h, self.w)


def _strands(
    rng: np.random.Generator,
    starts: np.ndarray,
    angles: np.ndarray,
    lengths: np.ndarray,
    curl: float,
    gravity: float,
    n_seg: int = 14,
) -> np.ndarray:
    """Polylines of curved strands, ``(N, n_seg + 1, 2) float32`` in output pixels.

    Each strand starts at ``starts[i]`` heading along ``angles[i]``; its heading random-walks by
    ``curl`` radians per segment around a constant bend, and bends downwards by ``gravity``.
    """
    n = len(starts)
    bend = rng.normal(0, curl, (n, 1)).astype(np.float32)
    wander = rng.normal(0, curl * 0.7, (n, n_seg)).astype(np.float32)
    theta = angles[:, None].astype(np.float32) + np.cumsum(bend + wander, axis=1)
    dx, dy = np.cos(theta), np.sin(theta)
    k = (np.arange(1, n_seg + 1, dtype=np.float32) / n_seg)[None, :]
    dy = dy + gravity * k
    norm = np.sqrt(dx * dx + dy * dy) + 1e-6
    step = (lengths / n_seg).astype(np.float32)[:, None]
    steps = np.stack([dx / norm * step, dy / norm * step], axis=2)
    pts = np.concatenate([starts[:, None, :], starts[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    return pts.astype(np.float32)


def _draw_strands(
    canvas: _Canvas, target: np.ndarray, pts: np.ndarray, rng: np.random.Generator,
    thick_prob: float = 0.25, lo: int = 120, hi: int = 255, groups: int = 6,
    shade: np.ndarray | None = None,
) -> None:
    """Draw strands anti-aliased on ``target`` (supersampled), in a few opacity groups.

    When ``shade`` (a supersampled canvas) is given, each group is also drawn there with a
    random brightness, which later modulates the strand colour.
    """
    fixed = canvas.fixed(pts)
    order = rng.permutation(len(fixed))
    for g in range(groups):
        idx = order[g::groups]
        if len(idx) == 0:
            continue
        value = int(rng.integers(lo, hi + 1))
        thick = rng.random(len(idx)) < thick_prob
        for mask, t in ((~thick, 1), (thick, 2)):
            sel = fixed[idx[mask]]
            if len(sel):
                cv2.polylines(target, list(sel), False, value, t, cv2.LINE_AA, _SHIFT)
                if shade is not None:
                    cv2.polylines(shade, list(sel), False, int(rng.integers(40, 256)), t,
                                  cv2.LINE_AA, _SHIFT)


_Layer = tuple[np.ndarray, np.ndarray]  # (alpha (H,W) float32, color (H,W,3) float32)


def _outline_normals(outline: np.ndarray) -> np.ndarray:
    """Outward unit normals ``(n, 2)`` of a closed counter-clockwise-or-not outline."""
    tangent = np.roll(outline, -1, axis=0) - np.roll(outline, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-6
    centroid = outline.mean(axis=0)
    flip = np.sum((outline - centroid) * normal, axis=1) < 0
    normal[flip] *= -1
    return normal


# --------------------------------------------------------------------------------------------
# foreground kinds; each returns layers, bottom first
# --------------------------------------------------------------------------------------------


def _kind_hair(rng, cv: _Canvas, center, radius) -> list[_Layer]:
    hair = _hair_color(rng)
    skin = _hsv_color(rng.uniform(10, 35), rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.95))
    radii = (radius * rng.uniform(0.42, 0.5), radius * rng.uniform(0.5, 0.6))
    tilt = rng.uniform(-0.2, 0.2)
    head = _blob(rng, center, radii, roughness=0.06, rotation=tilt)
    body = cv.fill(cv.new(), head)
    if rng.random() < 0.7:  # neck and shoulders below the head
        neck = _blob(rng, (center[0], center[1] + radii[1] * 1.2), (radii[0] * 0.45, radii[1] * 0.6), 0.03,
                     rotation=0.0)
        cv.fill(body, neck)
        sh = _blob(rng, (center[0], center[1] + radii[1] * 2.3), (radius * 1.2, radius * 0.55), 0.06,
                   rotation=rng.uniform(-0.1, 0.1))
        cv.fill(body, sh)
    layers: list[_Layer] = [(cv.reduce(body), _color_field(rng, cv.size, skin, 0.2))]

    strands, shade = cv.new(), cv.new()
    # a solid hair cap over the top of the head so the roots are covered
    cap = _blob(rng, (center[0], center[1] - radii[1] * 0.3), (radii[0] * 1.08, radii[1] * 0.85), 0.06,
                rotation=tilt)
    cv.fill(strands, cap, 255)
    cv.fill(shade, cap, 150)
    # the hair mass: strands rooted on the upper part of the head, starting outwards and falling
    n = int(rng.integers(900, 1600))
    t = rng.uniform(np.pi * 1.0, np.pi * 2.0, n).astype(np.float32)
    rr = rng.uniform(0.2, 1.0, n).astype(np.float32)
    roots = np.stack([center[0] + radii[0] * rr * np.cos(t), center[1] + radii[1] * rr * np.sin(t) * 0.9], 1)
    # start sideways (outward, flattened vertically) so the strands drape over the head
    side = np.where(np.cos(t) + rng.normal(0, 0.15, n) >= 0, 1.0, -1.0).astype(np.float32)
    dx = np.cos(t) + 0.35 * side
    dy = 0.35 * np.sin(t)
    angles = np.arctan2(dy, dx).astype(np.float32) + rng.normal(0, 0.2, n).astype(np.float32)
    lengths = radius * rng.uniform(0.4, 1.4, n).astype(np.float32)
    curl = rng.uniform(0.02, 0.1)
    pts = _strands(rng, roots.astype(np.float32), angles, lengths, curl, rng.uniform(1.2, 3.0), n_seg=24)
    _draw_strands(cv, strands, pts, rng, thick_prob=0.5, lo=150, shade=shade, groups=10)
    # flyaways: few, long, very thin, faint strands sticking out of the silhouette
    m = int(rng.integers(40, 140))
    t2 = rng.uniform(np.pi * 0.9, np.pi * 2.1, m).astype(np.float32)
    roots2 = np.stack([center[0] + radii[0] * np.cos(t2), center[1] + radii[1] * np.sin(t2)], 1)
    pts2 = _strands(rng, roots2.astype(np.float32), t2 + rng.normal(0, 0.4, m).astype(np.float32),
                    radius * rng.uniform(0.3, 0.8, m).astype(np.float32), 0.08, rng.uniform(-0.3, 0.5),
                    n_seg=24)
    _draw_strands(cv, strands, pts2, rng, thick_prob=0.0, lo=80, hi=220, shade=shade)
    alpha = cv.reduce(strands)
    light = cv.reduce(shade) / np.maximum(alpha, 1e-3)
    color = _color_field(rng, cv.size, hair, 0.15, scale=radius / 2) * (0.55 + 0.7 * np.clip(light, 0, 1))[..., None]
    layers.append((alpha, np.clip(color, 0, 1).astype(np.float32)))
    return layers


def _kind_fur(rng, cv: _Canvas, center, radius) -> list[_Layer]:
    fur = _hair_color(rng) if rng.random() < 0.7 else _any_color(rng)
    radii = (radius * rng.uniform(0.55, 0.85), radius * rng.uniform(0.45, 0.75))
    outline = _blob(rng, center, radii, roughness=0.35, n=720)
    normals = _outline_normals(outline)
    body = cv.fill(cv.new(), outline)
    n = int(rng.integers(2500, 6000))
    idx = rng.integers(0, len(outline), n)
    inset = rng.uniform(0.0, 0.08, n).astype(np.float32)[:, None] * radius
    roots = outline[idx] - normals[idx] * inset
    flow = rng.uniform(0, 2 * np.pi)
    base_angle = np.arctan2(normals[idx, 1], normals[idx, 0]).astype(np.float32)
    angles = base_angle + 0.5 * np.sin(base_angle - flow).astype(np.float32) + rng.normal(0, 0.25, n).astype(np.float32)
    lengths = radius * rng.uniform(0.04, 0.16, n).astype(np.float32)
    pts = _strands(rng, roots.astype(np.float32), angles, lengths, rng.uniform(0.05, 0.2), 0.1, n_seg=6)
    _draw_strands(cv, body, pts, rng, thick_prob=0.35, lo=120)
    return [(cv.reduce(body), _color_field(rng, cv.size, fur, 0.5, scale=radius / 4))]


def _kind_soft(rng, cv: _Canvas, center, radius) -> list[_Layer]:
    color = _any_color(rng)
    outline = _blob(rng, center, (radius * rng.uniform(0.5, 0.9), radius * rng.uniform(0.4, 0.8)), 0.3)
    alpha = cv.reduce(cv.fill(cv.new(), outline))
    col = _color_field(rng, cv.size, color, 0.4)
    premult = col * alpha[..., None]
    if rng.random() < 0.5:  # defocus: Gaussian blur
        sigma = float(rng.uniform(1.5, 0.04 * radius + 2))
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
        premult = cv2.GaussianBlur(premult, (0, 0), sigma)
    else:  # motion blur: a line kernel at a random angle
        length = int(rng.integers(7, max(9, int(0.25 * radius))))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        kernel /= kernel.sum()
        alpha = cv2.filter2D(alpha, -1, kernel)
        premult = cv2.filter2D(premult, -1, kernel)
    color_out = premult / np.maximum(alpha, 1e-3)[..., None]
    color_out = np.where(alpha[..., None] > 1e-3, color_out, col)
    return [(np.clip(alpha, 0, 1), np.clip(color_out, 0, 1).astype(np.float32))]


def _kind_glass(rng, cv: _Canvas, center, radius) -> list[_Layer]:
    if rng.random() < 0.5:
        # a glass object: faint interior, stronger rim, bright highlights
        outline = _blob(rng, center, (radius * rng.uniform(0.35, 0.6), radius * rng.uniform(0.6, 0.9)), 0.15)
        solid = cv.reduce(cv.fill(cv.new(), outline))
        inside = (solid > 0.5).astype(np.uint8)
        dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
        rim_w = max(radius * rng.uniform(0.03, 0.08), 1.5)
        a0 = rng.uniform(0.08, 0.35)
        tex = value_noise(rng, cv.size, radius * 0.6, octaves=2)
        alpha = a0 + 0.1 * (tex - 0.5) + (0.9 - a0) * np.exp(-dist / rim_w)
        alpha = np.clip(alpha, 0, 1) * solid
        tint = _hsv_color(rng.uniform(0, 360), rng.uniform(0.05, 0.5), rng.uniform(0.5, 1.0))
        col = _color_field(rng, cv.size, tint, 0.25)
        layers: list[_Layer] = [(alpha.astype(np.float32), col)]
        # specular highlights: a few bright soft streaks
        hl = cv.new()
        for _ in range(int(rng.integers(1, 4))):
            at = (center[0] + rng.uniform(-0.2, 0.2) * radius, center[1] + rng.uniform(-0.4, 0.2) * radius)
            streak = _blob(rng, at,
                           (radius * rng.uniform(0.02, 0.06), radius * rng.uniform(0.15, 0.35)), 0.1)
            cv.fill(hl, streak, int(rng.integers(150, 255)))
        hla = cv2.GaussianBlur(cv.reduce(hl), (0, 0), max(radius * 0.01, 0.7)) * solid
        layers.append((hla, np.ones(cv.size + (3,), np.float32) * _hsv_color(0, 0, rng.uniform(0.9, 1.0))))
        return layers
    # a veil: a semi-transparent folded sheet with a soft fringe
    outline = _blob(rng, center, (radius * rng.uniform(0.6, 1.0), radius * rng.uniform(0.6, 1.0)), 0.35)
    solid = cv.reduce(cv.fill(cv.new(), outline))
    h, w = cv.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    warp = value_noise(rng, cv.size, radius * 0.5, octaves=2) * rng.uniform(5, 20)
    phase = (math.cos(a) * xx + math.sin(a) * yy) * (2 * math.pi / rng.uniform(0.1, 0.3) / radius) + warp
    folds = 0.5 + 0.5 * np.sin(phase)
    alpha = (rng.uniform(0.15, 0.35) + rng.uniform(0.2, 0.45) * folds) * solid
    alpha = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), max(radius * 0.01, 0.8))
    col = _color_field(rng, cv.size, _any_color(rng) if rng.random() < 0.5 else _hsv_color(0, 0, 0.95), 0.2)
    return [(np.clip(alpha, 0, 1).astype(np.float32), col)]


def _kind_holes(rng, cv: _Canvas, center, radius) -> list[_Layer]:
    color = _any_color(rng)
    outline = _blob(rng, center, (radius * rng.uniform(0.6, 0.9), radius * rng.uniform(0.6, 0.9)), 0.25)
    canvas = cv.fill(cv.new(), outline)
    style = rng.random()
    if style < 0.4:
        # a net: only a lattice of thin bars inside the outline survives
        net = cv.new()
        spacing = radius * rng.uniform(0.06, 0.15)
        width = max(1, int(round(rng.uniform(0.5, 3.0) * cv.ss)))
        ang = rng.uniform(0, np.pi)
        span = 3 * radius
        offs = np.arange(-span, span, spacing, dtype=np.float32)
        for a in (ang, ang + rng.uniform(np.pi / 4, np.pi / 2)):
            d = np.array([np.cos(a), np.sin(a)], np.float32)
            nrm = np.array([-d[1], d[0]], np.float32)
            p0 = np.asarray(center, np.float32) + offs[:, None] * nrm - span * d
            p1 = np.asarray(center, np.float32) + offs[:, None] * nrm + span * d
            lines = cv.fixed(np.stack([p0, p1], axis=1))
            cv2.polylines(net, list(lines), False, 255, width, cv2.LINE_AA, _SHIFT)
        frame = cv.new()
        cv2.polylines(frame, [cv.fixed(outline)], True, 255, max(2, 3 * cv.ss), cv2.LINE_AA, _SHIFT)
        canvas = cv2.max(cv2.min(canvas, net), frame)
    else:
        # a solid shape with cut-out holes of several sizes
        holes = cv.new()
        for _ in range(int(rng.integers(2, 9))):
            c = np.asarray(center) + rng.uniform(-0.5, 0.5, 2) * radius
            r = radius * rng.uniform(0.04, 0.2)
            cv.fill(holes, _blob(rng, tuple(c), (r, r * rng.uniform(0.5, 1.5)), 0.3))
        canvas = cv2.subtract(canvas, holes)
    return [(cv.reduce(canvas), _color_field(rng, cv.size, color, 0.4))]


_SINGLE_KINDS = {
    "hair": _kind_hair,
    "fur": _kind_fur,
    "soft": _kind_soft,
    "glass": _kind_glass,
    "holes": _kind_holes,
}


def _over(layers: list[_Layer], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Stack layers with the over operator; returns (premultiplied colour, alpha)."""
    premult = np.zeros(size + (3,), np.float32)
    alpha = np.zeros(size, np.float32)
    for a, c in layers:
        premult = c * a[..., None] + premult * (1.0 - a)[..., None]
        alpha = a + alpha * (1.0 - a)
    return premult, alpha


def make_foreground(
    seed: int,
    size: tuple[int, int] = (512, 512),
    kind: str | None = None,
    supersample: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a foreground object and its ground-truth alpha.

    Args:
        seed: random seed; the same ``(seed, size, kind, supersample)`` gives the same output.
        size: output ``(H, W)`` in pixels.
        kind: one of :data:`FOREGROUND_KINDS` — ``"hair"`` (head with long strands and
            flyaways), ``"fur"`` (blob covered in short strands), ``"soft"`` (defocus or motion
            blur), ``"glass"`` (transparent object with a rim and highlights, or a veil),
            ``"holes"`` (net or shape with cut-outs), ``"multi"`` (2-4 objects of the other
            kinds). ``None`` picks one from the seed.
        supersample: drawing resolution factor; strands are 1-2 canvas pixels wide, i.e.
            ``1/supersample`` to ``2/supersample`` output pixels.

    Returns:
        ``fg``: ``(H, W, 3) uint8`` RGB colour of the foreground, defined everywhere (where alpha
        is 0 it continues the object's colour smoothly); ``alpha``: ``(H, W) float32 in [0, 1]``.
    """
    h, w = int(size[0]), int(size[1])
    if h < 8 or w < 8:
        raise ValueError(f"size must be at least 8x8 pixels, got {size}")
    rng = np.random.default_rng([int(seed), 0x46_47])
    if kind is None:
        kind = FOREGROUND_KINDS[int(rng.integers(len(FOREGROUND_KINDS)))]
    if kind not in FOREGROUND_KINDS:
        raise ValueError(f"unknown foreground kind {kind!r}; choose one of {FOREGROUND_KINDS}")
    cv = _Canvas(h, w, int(supersample))
    side = min(h, w)
    if kind == "multi":
        layers: list[_Layer] = []
        count = int(rng.integers(2, 5))
        for i in range(count):
            sub = FOREGROUND_KINDS[int(rng.integers(len(_SINGLE_KINDS)))]
            center = (w * rng.uniform(0.2, 0.8), h * rng.uniform(0.2, 0.8))
            radius = side * rng.uniform(0.15, 0.28)
            layers += _SINGLE_KINDS[sub](rng, cv, center, radius)
    else:
        center = (w * rng.uniform(0.42, 0.58), h * rng.uniform(0.4, 0.55))
        radius = side * rng.uniform(0.33, 0.42) * (0.75 if kind == "hair" else 1.0)
        layers = _SINGLE_KINDS[kind](rng, cv, center, radius)
    premult, alpha = _over(layers, (h, w))
    base = layers[0][1]
    eps = np.float32(2e-3)
    fg = (premult + eps * base) / (alpha + eps)[..., None]
    fg_u8 = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return fg_u8, np.clip(alpha, 0.0, 1.0).astype(np.float32)


def make_background(seed: int, size: tuple[int, int] = (512, 512)) -> np.ndarray:
    """Draw a background: gradient, noise texture, clutter shapes and out-of-focus highlights.

    Args:
        seed: random seed; the same ``(seed, size)`` gives the same output.
        size: output ``(H, W)``.

    Returns:
        ``(H, W, 3) uint8`` RGB.
    """
    h, w = int(size[0]), int(size[1])
    rng = np.random.default_rng([int(seed), 0x42_47])
    c0, c1 = _any_color(rng), _any_color(rng)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * np.pi)
    t = np.clip(0.5 + (math.cos(a) * (xx - 0.5) + math.sin(a) * (yy - 0.5)), 0, 1)
    img = c0[None, None, :] * (1 - t)[..., None] + c1[None, None, :] * t[..., None]
    side = max(h, w)
    tex = value_noise(rng, (h, w), side * rng.uniform(0.02, 0.3), octaves=int(rng.integers(2, 6)))
    c2 = _any_color(rng)
    strength = rng.uniform(0.1, 0.6)
    img = img * (1 - strength * tex[..., None]) + c2[None, None, :] * (strength * tex[..., None])
    style = rng.random()
    if style < 0.65:
        # clutter: rectangles, ellipses and lines, drawn at output size then maybe defocused
        canvas = np.ascontiguousarray((img * 255).astype(np.uint8))
        for _ in range(int(rng.integers(8, 40))):
            col = tuple(int(v) for v in (_any_color(rng) * 255))
            shape = rng.integers(3)
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            if shape == 0:
                x1, y1 = x0 + int(rng.integers(5, side // 3)), y0 + int(rng.integers(5, side // 3))
                cv2.rectangle(canvas, (x0, y0), (x1, y1), col, -1, cv2.LINE_AA)
            elif shape == 1:
                ax = (int(rng.integers(3, side // 6)), int(rng.integers(3, side // 6)))
                cv2.ellipse(canvas, (x0, y0), ax, float(rng.uniform(0, 180)), 0, 360, col, -1, cv2.LINE_AA)
            else:
                x1, y1 = int(rng.integers(0, w)), int(rng.integers(0, h))
                cv2.line(canvas, (x0, y0), (x1, y1), col, int(rng.integers(1, 6)), cv2.LINE_AA)
        img = canvas.astype(np.float32) / 255.0
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(1, side / 100 + 1.5)))
    if rng.random() < 0.35:
        # bokeh: soft bright discs
        glow = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(5, 25))):
            r = int(rng.integers(max(2, side // 80), max(3, side // 15)))
            cv2.circle(glow, (int(rng.integers(0, w)), int(rng.integers(0, h))), r,
                       float(rng.uniform(0.2, 0.7)), -1, cv2.LINE_AA)
        glow = cv2.GaussianBlur(glow, (0, 0), max(side / 300, 1.0))
        tint = _hsv_color(rng.uniform(0, 360), rng.uniform(0, 0.4), 1.0)
        img = img + glow[..., None] * tint[None, None, :]
    if rng.random() < 0.5:  # sensor-like grain
        img = img + rng.normal(0, rng.uniform(0.002, 0.012), (h, w, 1)).astype(np.float32)
    img = np.clip(img, 0, 1)
    return (img * 255 + 0.5).astype(np.uint8)

"""Changes of appearance that keep the geometry: HSV colour jitter and photographic texture of
the foreground, and camera/compression degradations of the final image.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .arrays import RngLike, as_rng, to_float_image, to_uint8_image


@dataclass
class JitterConfig:
    """Random HSV colour jitter (applied to the foreground of composites)."""

    prob: float = 1.0  # probability of jittering at all
    hue: float = 20.0  # hue shift in degrees, drawn in [-hue, hue]
    saturation: float = 0.25  # saturation multiplied by 1 + U(-s, s)
    value: float = 0.25  # brightness multiplied by 1 + U(-v, v)


def hsv_jitter(image: np.ndarray, rng: RngLike = None, config: JitterConfig | None = None) -> np.ndarray:
    """Random hue shift and saturation/brightness scaling.

    Args:
        image: ``(H, W, 3)`` RGB, uint8 or float32 in [0, 1].

    Returns:
        ``(H, W, 3) float32 in [0, 1]``.
    """
    rng = as_rng(rng)
    cfg = config or JitterConfig()
    img = to_float_image(image)
    if rng.random() >= cfg.prob:
        return img.copy()
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)  # float32: H in [0, 360), S and V in [0, 1]
    dh = float(rng.uniform(-cfg.hue, cfg.hue))
    ds = float(1.0 + rng.uniform(-cfg.saturation, cfg.saturation))
    dv = float(1.0 + rng.uniform(-cfg.value, cfg.value))
    # per-channel scalars in single OpenCV passes; HSV2RGB wraps hues outside [0, 360)
    cv2.add(hsv, (dh, 0.0, 0.0, 0.0), dst=hsv)
    cv2.multiply(hsv, (1.0, ds, dv, 1.0), dst=hsv)
    cv2.min(hsv, (1e9, 1.0, 1.0, 1.0), dst=hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def texture_foreground(fg: np.ndarray, texture: np.ndarray, rng: RngLike = None,
                       strength: tuple[float, float] = (0.5, 1.0)) -> np.ndarray:
    """Paint a photograph's texture onto a foreground colour: ``(1 - k) fg + k texture``, ``k`` drawn
    in ``strength``, the texture's brightness moved to the foreground's mean so the object keeps
    its overall tone.

    Procedural foregrounds are smooth colour fields; objects in photographs are textured (cloth,
    skin, leaves, print), and their edges are then not the only structure a decoder sees.

    Args:
        fg, texture: ``(H, W, 3) float32 in [0, 1]`` of the same size.

    Returns: ``(H, W, 3) float32 in [0, 1]``.
    """
    g = as_rng(rng)
    k = np.float32(g.uniform(*strength))
    shift = fg.mean(axis=(0, 1), keepdims=True) - texture.mean(axis=(0, 1), keepdims=True)
    return np.clip((1.0 - k) * fg + k * (texture + shift), 0.0, 1.0).astype(np.float32)


@dataclass
class DegradationConfig:
    """Optional real-world degradations of the final image (off by default)."""

    prob: float = 0.0  # probability that a sample is degraded at all
    jpeg_prob: float = 0.5  # given degradation: probability of JPEG re-compression
    jpeg_quality: tuple[int, int] = (30, 95)  # JPEG quality range
    blur_prob: float = 0.3  # probability of a Gaussian blur
    blur_sigma: tuple[float, float] = (0.3, 1.5)  # blur sigma range in pixels
    noise_prob: float = 0.4  # probability of additive Gaussian noise
    noise_std: tuple[float, float] = (0.005, 0.04)  # noise std range (image in [0, 1])
    contrast_prob: float = 0.4  # probability of a contrast/brightness change
    contrast: tuple[float, float] = (0.7, 1.3)  # contrast factor range (about mid-grey)


def degrade(image: np.ndarray, rng: RngLike = None, config: DegradationConfig | None = None) -> np.ndarray:
    """Camera and compression artefacts: contrast, blur, noise, JPEG (each with a probability).

    ``config.prob`` gates the whole function; pass ``DegradationConfig(prob=1.0)`` to always
    degrade. The result no longer satisfies ``image = alpha*fg + (1-alpha)*bg``.

    Args:
        image: ``(H, W, 3)`` RGB, uint8 or float32 in [0, 1].

    Returns:
        ``(H, W, 3) float32 in [0, 1]``.
    """
    rng = as_rng(rng)
    cfg = config or DegradationConfig()
    img = to_float_image(image).copy()
    if rng.random() >= cfg.prob:
        return img
    if rng.random() < cfg.contrast_prob:
        c = np.float32(rng.uniform(*cfg.contrast))
        b = np.float32(rng.uniform(-0.05, 0.05))
        img = np.clip((img - 0.5) * c + 0.5 + b, 0.0, 1.0)
    if rng.random() < cfg.blur_prob:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(*cfg.blur_sigma)))
    if rng.random() < cfg.noise_prob:
        noise = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(*cfg.noise_std))
        img = np.clip(img + noise, 0.0, 1.0)
    if rng.random() < cfg.jpeg_prob:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(to_uint8_image(img), cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = to_float_image(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return img.astype(np.float32, copy=False)

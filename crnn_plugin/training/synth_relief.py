"""3D-looking text at the output resolution: drop shadows, extrusion and emboss / deboss.

Each function takes the background-so-far ``img`` (h, w, 3) in [0, 1] and a text mask (h, w)
in [0, 1], and returns a new image; the face of the text keeps enough contrast to be read.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageFilter

from .synth_colour import lum, random_color

__all__ = ["drop_shadow", "emboss", "extrude", "shift"]


def shift(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``a`` moved by (dx, dy) pixels, zeros coming in."""
    out = np.zeros_like(a)
    h, w = a.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return out


def _blur(a: np.ndarray, radius: float) -> np.ndarray:
    if radius < 0.3:
        return a
    im = Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255.0


def drop_shadow(
    r: random.Random,
    img: np.ndarray,
    mask: np.ndarray,
    fg: np.ndarray,
    *,
    offset: tuple[int, int],
    blur: tuple[float, float],
    opacity: tuple[float, float],
) -> np.ndarray:
    """A shadow of the text, ``offset`` pixels away at most, behind where the face will go."""
    dx, dy = r.randint(-offset[1], offset[1]), r.randint(offset[0], offset[1])
    if r.random() < 0.3:
        dy = -dy
    if dx == 0 and dy == 0:
        dx = 1
    s = _blur(shift(mask, dx, dy), r.uniform(*blur))[..., None] * r.uniform(*opacity)
    ground = img.reshape(-1, 3).mean(0)
    if lum(fg) >= 0.45:  # light text: a dark shadow
        color = fg * 0.2 if lum(ground) > 0.35 else random_color(r) * 0.25
    else:  # dark text: a shadow half-way to the ground, so that the letters stay apart
        color = ground * 0.6 + fg * 0.4
    return img * (1 - s) + color * s


def extrude(r: random.Random, img: np.ndarray, mask: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Side walls of the letters: the mask stacked 2-5 px deep, shading away from the face."""
    depth = r.randint(2, 5)
    dx, dy = r.choice([(1, 1), (1, 1), (-1, 1), (0, 1), (1, 0), (1, -1), (-1, -1)])
    lf = lum(fg)
    side = fg * r.uniform(0.15, 0.45) if lf > 0.45 else fg + (1 - fg) * r.uniform(0.5, 0.8)
    if abs(lum(side) - lf) < 0.25:
        side = np.zeros(3, np.float32) if lf > 0.5 else np.ones(3, np.float32)
    for k in range(depth, 0, -1):  # far layers first
        a = shift(mask, k * dx, k * dy)[..., None]
        col = side * (1 - 0.3 * k / depth)
        img = img * (1 - a) + col * a
    return img


def emboss(r: random.Random, img: np.ndarray, mask: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Raised (or stamped) text: a half-tone face lit on one side and shaded on the other."""
    t = r.uniform(0.65, 0.9)  # the face keeps most of the text contrast
    a = mask[..., None]
    img = img * (1 - a * t) + fg * (a * t)
    relief = _blur(mask, r.uniform(0.0, 0.8))
    step = r.choice([1, 1, 2])
    edge = relief - shift(relief, step, step)  # > 0 on the top-left rims, < 0 below-right
    if r.random() < 0.35:
        edge = -edge  # stamped into the surface
    light = np.clip(edge, 0, 1)[..., None] * r.uniform(0.5, 0.9)
    dark = np.clip(-edge, 0, 1)[..., None] * r.uniform(0.5, 0.9)
    img = img + (1 - img) * light
    return img * (1 - dark)

"""Colours of the synthetic generator: random tones, luminance and contrasting text / background pairs."""

from __future__ import annotations

import colorsys
import random

import numpy as np

__all__ = ["BLACK", "WHITE", "contrasting", "lum", "random_color", "text_and_background"]

WHITE = np.array([1.0, 1.0, 1.0], np.float32)
BLACK = np.array([0.0, 0.0, 0.0], np.float32)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def lum(c: np.ndarray) -> float:
    """Luma of an RGB colour in [0, 1]."""
    return float(c @ _LUMA)


def luma_map(img: np.ndarray) -> np.ndarray:
    """Luma of every pixel of an (h, w, 3) image."""
    return img @ _LUMA


def random_color(r: random.Random) -> np.ndarray:
    """Random RGB colour, biased towards neutral and strongly dark / light tones."""
    hue = r.random()
    sat = r.random() ** 1.5 if r.random() < 0.6 else r.random() * 0.15
    u = r.random()
    val = r.random() if u < 0.6 else (r.uniform(0.0, 0.25) if u < 0.8 else r.uniform(0.85, 1.0))
    return np.array(colorsys.hsv_to_rgb(hue, sat, val), np.float32)


def text_and_background(
    r: random.Random, *, light_text: bool, min_contrast: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (foreground, background, luminance difference) with enough contrast."""
    for _ in range(24):
        a, b = random_color(r), random_color(r)
        la, lb = lum(a), lum(b)
        fg, bg = (a, b) if (la > lb) == light_text else (b, a)
        diff = abs(la - lb)
        if diff >= min_contrast:
            return fg, bg, diff
    return (WHITE, BLACK, 1.0) if light_text else (BLACK, WHITE, 1.0)


def contrasting(r: random.Random, ref: float, min_diff: float) -> np.ndarray:
    """A random colour whose luma differs from ``ref`` by at least ``min_diff`` (else black / white)."""
    for _ in range(24):
        c = random_color(r)
        if abs(lum(c) - ref) >= min_diff:
            return c
    return BLACK if ref > 0.5 else WHITE

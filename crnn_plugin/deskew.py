"""Vertical shear of a crop: the deskewed views of slanted text (see :mod:`crnn_plugin.views`).

An axis-aligned box around a word seen from the side (a shop sign above the street) or written
at a slant holds the word along a diagonal. Shifting each pixel column up or down in proportion
to its distance from the centre levels the baseline while vertical strokes stay vertical (the way
perspective moves them); the band the word then occupies is kept.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHEAR_SLOPE", "MIN_BAND", "shear_band", "slant_slope"]

#: Slope (pixels of baseline fall per pixel of width, ~19 degrees) of the deskewed view; its sign
#: is the one of the two that :func:`slant_slope` finds more level.
SHEAR_SLOPE = 0.35
#: The kept band is never lower than this share of the crop's height.
MIN_BAND = 0.35


def shear_band(image: np.ndarray, slope: float) -> np.ndarray:
    """``image`` ``(H, W)`` or ``(H, W, C)`` with column ``x`` read ``slope * (x - centre)``
    rows lower (a baseline falling by ``slope`` per column becomes level), cut to the centred
    band of height ``max(H - W * |slope|, MIN_BAND * H)`` the text then occupies. Bilinear,
    edges replicated; same dtype."""
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ValueError(f"shear_band: expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    h, w = image.shape[:2]
    band = max(h - w * abs(slope), MIN_BAND * h, 1.0)
    top = (h - band) / 2
    rows = np.arange(max(1, round(band)), dtype=np.float64)[:, None] + top
    y = rows + slope * (np.arange(w, dtype=np.float64)[None, :] - (w - 1) / 2)  # (band, W)
    y = np.clip(y, 0, h - 1)
    y0 = np.floor(y).astype(np.intp)
    y1 = np.minimum(y0 + 1, h - 1)
    frac = y - y0
    cols = np.broadcast_to(np.arange(w), y0.shape)
    src = image.astype(np.float32)
    if image.ndim == 3:
        frac = frac[..., None]
    out = src[y0, cols] * (1 - frac) + src[y1, cols] * frac
    if np.issubdtype(image.dtype, np.integer):
        out = np.rint(out)
    return out.astype(image.dtype)


def slant_slope(gray: np.ndarray, slope: float = SHEAR_SLOPE) -> float:
    """``slope`` or ``-slope``: the shear under which the rows of ``gray`` ``(H, W)`` (a crop at
    about the model's height) differ most in vertical contrast, i.e. the text's horizontal
    edges line up in a few rows (the top and bottom of a level word)."""

    def row_contrast_spread(s: float) -> float:
        band = shear_band(gray.astype(np.float32), s)
        rows = np.abs(np.diff(band, axis=0)).sum(axis=1)
        return float(np.var(rows / (rows.sum() + 1e-6)))

    return slope if row_contrast_spread(slope) > row_contrast_spread(-slope) else -slope

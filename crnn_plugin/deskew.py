"""Vertical shear of a crop: the deskewed views of slanted text (see :mod:`crnn_plugin.views`).

An axis-aligned box around a word seen from the side (a shop sign above the street) or written
at a slant holds the word along a diagonal. Shifting each pixel column up or down in proportion
to its distance from the centre levels the baseline while vertical strokes stay vertical (the way
perspective moves them); the band the word then occupies is kept.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DESKEW_RATIO", "SHEAR_SLOPES", "MIN_BAND", "shear_band", "slant_slope"]

#: Only crops narrower than this many times their height get a deskewed view: a word of 3:1 or
#: more turned 15 degrees or further has an axis-aligned box narrower than about 2:1.
DESKEW_RATIO = 2.0

#: Slopes (pixels of baseline fall per pixel of width: ~11, 19 and 27 degrees) the deskewed view
#: may use, each both ways; :func:`slant_slope` picks the one that levels the text best.
SHEAR_SLOPES = (0.2, 0.35, 0.5)
#: The kept band is never lower than this share of the crop's height.
MIN_BAND = 0.35


def shear_band(image: np.ndarray, slope: float) -> np.ndarray:
    """``image`` ``(H, W)`` or ``(H, W, C)`` with column ``x`` read ``slope * (x - centre)``
    rows lower (a baseline falling by ``slope`` per column becomes level), cut to the centred
    band of height ``max(H - W * |slope|, MIN_BAND * H)`` the text then occupies. Bilinear
    between rows, edges replicated; same dtype."""
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ValueError(f"shear_band: expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    h, w = image.shape[:2]
    band = max(round(max(h - w * abs(slope), MIN_BAND * h)), 1)
    shift = slope * (np.arange(w) - (w - 1) / 2) + (h - band) / 2
    y = np.clip(np.arange(band)[:, None] + shift[None, :], 0, h - 1)  # (band, W) source rows
    y0 = y.astype(np.intp)
    y1 = np.minimum(y0 + 1, h - 1)
    frac = (y - y0).astype(np.float32)
    if image.ndim == 3:
        frac = frac[..., None]
    cols = np.arange(w)
    top, bottom = image[y0, cols].astype(np.float32), image[y1, cols].astype(np.float32)
    out = top + (bottom - top) * frac
    if np.issubdtype(image.dtype, np.integer):
        out = np.rint(out)
    return out.astype(image.dtype)


def slant_slope(gray: np.ndarray, slopes: tuple[float, ...] = SHEAR_SLOPES) -> float:
    """The slope among ``slopes`` and their negatives under whose shear the rows of ``gray``
    ``(H, W)`` (a crop at about the model's height) differ most in vertical contrast: the
    text's horizontal edges (the top and bottom of a level word) line up in a few rows."""
    edges = np.abs(np.diff(gray.astype(np.float32), axis=0))  # (H - 1, W)
    h, w = edges.shape
    cols = np.arange(w)

    def row_contrast_spread(s: float) -> float:
        # each pixel's row once the shear levels the text, over the whole sheared height
        rows = np.rint(np.arange(h)[:, None] - s * (cols[None, :] - (w - 1) / 2)).astype(np.intp)
        rows -= rows.min()
        profile = np.bincount(rows.ravel(), weights=edges.ravel())
        return float(np.var(profile / (profile.sum() + 1e-6)))

    return max((sign * s for s in slopes for sign in (1, -1)), key=row_contrast_spread)

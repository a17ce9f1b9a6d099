"""Cut text-line crops into words (for line-level detectors such as PP-OCR's).

CRNN reads words (its vocabulary has no space); docTR's and CRAFT's detectors already return
words. This is a plain projection-profile heuristic: it cuts at column gaps that are much wider
than the gaps between letters.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def word_spans(line: Image.Image) -> list[tuple[int, int]]:
    """``(x_start, x_end)`` column spans of the words of a horizontal line crop."""
    gray = np.asarray(line.convert("L"), dtype=np.float64)
    ink = gray < gray.mean() - 0.5 * gray.std()
    if ink.mean() > 0.5:  # light text on a dark background
        ink = gray > gray.mean() + 0.5 * gray.std()
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size == 0:
        return [(0, line.width)]
    gaps = np.diff(cols) - 1  # blank columns between consecutive inked columns
    letter_gap = np.median(gaps[gaps > 0]) if (gaps > 0).any() else 0.0
    cut = gaps > max(0.12 * line.height, 2.5 * letter_gap)
    starts = np.concatenate([[cols[0]], cols[1:][cut]])
    ends = np.concatenate([cols[:-1][cut], [cols[-1]]])
    pad = max(2, line.height // 6)
    return [(max(0, int(a) - pad), min(line.width, int(b) + 1 + pad)) for a, b in zip(starts, ends)]


def split_words(line: Image.Image) -> list[Image.Image]:
    """The word crops of a horizontal line crop."""
    return [line.crop((a, 0, b, line.height)) for a, b in word_spans(line)]

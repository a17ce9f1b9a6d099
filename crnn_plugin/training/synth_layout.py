"""Straight text layout: glyph masks on a padded canvas, letter spacing, neighbouring text, bends.

Every layout returns :class:`TextMasks`, the ink of the text at render resolution and the box
the geometry step maps and crops; :mod:`.synth_arc` returns the same for curved text.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import FontInfo
from .synth_config import SynthConfig

__all__ = ["Gaps", "TextMasks", "reference_height", "render_straight"]

#: Distance from the text box to neighbouring text (above, below, left, right), in text
#: heights; ``None`` where there is none. The crop then shows only a sliver of it.
Gaps = tuple[float | None, float | None, float | None, float | None]
NO_GAPS: Gaps = (None, None, None, None)


@dataclass
class TextMasks:
    """Ink of the text at render resolution, and where it is.

    ``fill`` holds the glyphs, ``outline`` the glyphs drawn with a stroke (``None`` without
    one); both are "L" images of the same size. ``box`` is the text box ``(x0, y0, x1, y1)``
    on that canvas, ``box_h`` the text height margins are measured in, ``glyphs`` the
    characters drawn as glyphs in reading order (a space is an advance, not a glyph) and
    ``gaps`` the distance to neighbouring text (see :data:`Gaps`).
    """

    fill: Image.Image
    outline: Image.Image | None
    box: tuple[float, float, float, float]
    box_h: float
    glyphs: str
    gaps: Gaps = NO_GAPS


def reference_height(font: ImageFont.FreeTypeFont, finfo: FontInfo) -> tuple[float, float]:
    """(cap top, descender bottom) relative to the baseline: the font's text height band."""
    ascent, descent = font.getmetrics()
    cap_top = font.getbbox("H", anchor="ls")[1] if "H" in finfo.charset else -ascent * 0.7
    desc = font.getbbox("g", anchor="ls")[3] if "g" in finfo.charset else descent * 0.8
    return float(cap_top), float(desc)


def render_straight(
    r: random.Random,
    font: ImageFont.FreeTypeFont,
    finfo: FontInfo,
    text: str,
    stroke: int,
    cfg: SynthConfig,
    neighbour_word: Callable[[random.Random], str],
) -> TextMasks:
    """Text on a baseline, with optional letter spacing, neighbouring text and a gentle bend."""
    size = font.size
    spaced = len(text) > 1 and r.random() < cfg.p_char_spacing
    xs: list[float] = []
    if spaced:
        gap = size * r.uniform(*cfg.char_spacing)
        x = 0.0
        for ch in text:
            xs.append(x)
            # a word gap must stay wider than the letter gaps it sits between
            x += (font.getlength(ch) + gap) * (2.0 if ch == " " else 1.0)
        pieces = list(zip(text, xs, strict=True))
    elif " " in text and r.random() < cfg.p_word_spacing:
        pieces = _word_pieces(text, font, r.uniform(*cfg.word_spacing))
    else:
        pieces = [(text, 0.0)]
    boxes = [font.getbbox(piece, anchor="ls", stroke_width=stroke) for piece, _ in pieces]
    ix0 = min(b[0] + xo for b, (_, xo) in zip(boxes, pieces, strict=True))
    ix1 = max(b[2] + xo for b, (_, xo) in zip(boxes, pieces, strict=True))
    iy0 = min(b[1] for b in boxes)
    iy1 = max(b[3] for b in boxes)
    cap_top, desc = reference_height(font, finfo)
    ref_top = min(iy0, cap_top - stroke)
    ref_bot = max(iy1, (desc if r.random() < 0.5 else 0) + stroke)
    box_h = ref_bot - ref_top
    amp = box_h * r.uniform(0.1, 0.3) if r.random() < cfg.p_curve else 0.0

    pad = int(0.8 * box_h) + stroke + 4
    pad_y = pad + int(math.ceil(amp))
    canvas_w = int(math.ceil(ix1 - ix0)) + 2 * pad
    canvas_h = int(math.ceil(box_h)) + 2 * pad_y
    ox, oy = pad - ix0, pad_y - ref_top  # canvas position of the baseline origin

    fill = Image.new("L", (canvas_w, canvas_h), 0)
    outline = Image.new("L", (canvas_w, canvas_h), 0) if stroke else None
    draws = [(ImageDraw.Draw(fill), 0)]
    if outline is not None:
        draws.append((ImageDraw.Draw(outline), stroke))
    for d, sw in draws:
        for piece, xo in pieces:
            d.text((ox + xo, oy), piece, font=font, fill=255, anchor="ls", stroke_width=sw, stroke_fill=255)

    box = (ox + ix0 - 1, oy + ref_top, ox + ix1 + 1, oy + ref_bot)
    above = below = left = right = None
    if r.random() < cfg.p_neighbors:
        above, below = _draw_lines_around(r, font, finfo, draws, box, canvas_w, neighbour_word)
    if not spaced and r.random() < cfg.p_side_neighbors:
        left, right = _draw_words_beside(r, font, finfo, draws, box, oy, neighbour_word)
    gaps: Gaps = (above, below, left, right)
    if amp:  # neighbours bend with the text: their gaps stay as drawn
        fill, outline, dmin, dmax = _bend(r, fill, outline, amp)
        box = (box[0], box[1] + dmin, box[2], box[3] + dmax)
    return TextMasks(fill, outline, box, box_h, text.replace(" ", ""), gaps)


def _word_pieces(text: str, font: ImageFont.FreeTypeFont, factor: float) -> list[tuple[str, float]]:
    """The words of a line with their x offsets, each word gap ``factor`` times the font's space."""
    space = max(font.getlength(" "), 0.15 * font.size) * factor
    pieces: list[tuple[str, float]] = []
    x = 0.0
    for word in text.split(" "):
        pieces.append((word, x))
        x += font.getlength(word) + space
    return pieces


def _neighbour_text(r: random.Random, finfo: FontInfo, n: int, make: Callable[[random.Random], str]) -> str:
    words = ["".join(c for c in make(r) if c in finfo.charset) for _ in range(n)]
    return " ".join(w for w in words if w) or "text"


def _draw_lines_around(
    r: random.Random,
    font: ImageFont.FreeTypeFont,
    finfo: FontInfo,
    draws: list[tuple[ImageDraw.ImageDraw, int]],
    box: tuple[float, float, float, float],
    cw: int,
    neighbour_word: Callable[[random.Random], str],
) -> tuple[float | None, float | None]:
    """Draw other words on lines above / below; return their gaps (in text heights)."""
    top, bot = box[1], box[3]
    box_h = bot - top
    sides = r.choice([(True, False), (False, True), (True, True)])
    gaps: list[float | None] = [None, None]
    for above, on in zip((True, False), sides, strict=True):
        if not on:
            continue
        line = _neighbour_text(r, finfo, 6, neighbour_word)
        g = box_h * r.uniform(0.05, 0.3)
        gaps[0 if above else 1] = g / box_h
        # baseline of the line above / cap top of the line below roughly g from the box
        y = top - g if above else bot + g + box_h * 0.75
        x = r.uniform(-0.5, 0.3) * cw
        for d, stroke in draws:
            d.text((x, y), line, font=font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
    return gaps[0], gaps[1]


def _draw_words_beside(
    r: random.Random,
    font: ImageFont.FreeTypeFont,
    finfo: FontInfo,
    draws: list[tuple[ImageDraw.ImageDraw, int]],
    box: tuple[float, float, float, float],
    baseline: float,
    neighbour_word: Callable[[random.Random], str],
) -> tuple[float | None, float | None]:
    """Draw the previous / next word of the line a word space away; return the gaps (text heights)."""
    box_h = box[3] - box[1]
    space = font.getlength(" ") if " " in finfo.charset else font.size * 0.3
    sides = r.choice([(True, False), (False, True), (True, True)])
    gaps: list[float | None] = [None, None]
    for left, on in zip((True, False), sides, strict=True):
        if not on:
            continue
        word = _neighbour_text(r, finfo, 2, neighbour_word)
        stroke = max(sw for _, sw in draws)
        ink = font.getbbox(word, anchor="ls", stroke_width=stroke)
        g = space * r.uniform(0.9, 1.6)
        x = box[0] - g - ink[2] if left else box[2] + g - ink[0]
        gaps[0 if left else 1] = g / box_h
        for d, sw in draws:
            d.text((x, baseline), word, font=font, fill=255, anchor="ls", stroke_width=sw, stroke_fill=255)
    return gaps[0], gaps[1]


def _bend(
    r: random.Random, fill: Image.Image, outline: Image.Image | None, amp: float
) -> tuple[Image.Image, Image.Image | None, float, float]:
    """Shift columns vertically (arc or sine baseline). Returns images and the dy range."""
    w, h = fill.size
    x = np.arange(w, dtype=np.float32)
    if r.random() < 0.6:
        t = (x - w / 2) / (w / 2)
        dy = amp * (t * t) * (1 if r.random() < 0.5 else -1)
    else:
        lam = r.uniform(0.6, 1.5) * w
        dy = amp * np.sin(2 * math.pi * x / lam + r.uniform(0, 6.3))
    shift = np.round(dy).astype(np.intp)
    rows = np.arange(h, dtype=np.intp)[:, None] - shift[None, :]
    valid = (rows >= 0) & (rows < h)
    rows = np.clip(rows, 0, h - 1)
    cols = np.arange(w, dtype=np.intp)[None, :]

    def apply(im: Image.Image) -> Image.Image:
        a = np.asarray(im)
        return Image.fromarray(np.where(valid, a[rows, cols], 0).astype(np.uint8), "L")

    out = apply(outline) if outline is not None else None
    return apply(fill), out, float(shift.min()), float(shift.max())

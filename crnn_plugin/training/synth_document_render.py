"""Ink of a document crop at print resolution: the text, form rules and neighbouring lines.

:func:`render_ink` lays a label out in a document face, draws it a few times larger than the
scan it will become (``scale`` print pixels per scan pixel), adds underlines, box and table
rules and the lines above / below, skews the page slightly and cuts the detector's box.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from .fonts import FontInfo

__all__ = ["Ink", "InkOptions", "render_ink"]

Box = tuple[float, float, float, float]


@dataclass
class InkOptions:
    """Layout knobs of :func:`render_ink` (probabilities are per sample)."""

    # height of the label's ink (a detector's tight word box) in scan px: lo, hi, mode; labels
    # with lower-case letters start 1.5 px higher
    text_height: tuple[float, float, float] = (6.0, 16.0, 11.0)
    print_height: tuple[float, float] = (26.0, 36.0)  # the same height in print px
    margin_x: tuple[float, float] = (0.0, 0.35)  # in text heights, skewed to small values
    margin_y: tuple[float, float] = (-0.02, 0.22)
    p_tight: float = 0.5  # box tight to the ink, else to the line (cap top .. descender)
    p_wide_gaps: float = 0.2  # lines: some word gaps 1.5-5 spaces wide (receipt columns)
    word_space: tuple[float, float] = (0.65, 1.15)  # lines: the space scaled per line (tight / loose setting)
    p_underline: float = 0.12
    p_hrule: float = 0.10  # table / box rules above or below, touching the glyphs
    p_vrule: float = 0.05  # cell borders left / right of the text
    p_neighbors: float = 0.2  # partial ink of the lines above / below
    p_skew: float = 0.4
    max_skew_deg: float = 2.0
    max_aspect: float = 25.0  # crop width / height; lines losing tokens until they fit
    typewriter_jitter: float = 0.035  # per-character offsets, in font sizes
    smallcaps_ratio: tuple[float, float] = (0.7, 0.8)


@dataclass
class Ink:
    """A rendered crop before scanning: ``mask`` is ink coverage (L, 255 = full ink)."""

    mask: Image.Image
    scale: float  # print pixels per scan pixel
    glyphs: list[Box]  # print-pixel boxes of the label's glyphs inside ``mask``
    chars: str  # the character of each glyph box
    label: str
    face: str


@functools.lru_cache(maxsize=512)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@functools.lru_cache(maxsize=1024)
def _metrics(path: str) -> tuple[float, float]:
    """(cap top, descender bottom) of a font, in font sizes, relative to the baseline."""
    font = _load_font(path, 100)
    top = font.getbbox("H", anchor="ls")[1]
    bottom = max(font.getbbox("g", anchor="ls")[3], font.getbbox("p", anchor="ls")[3])
    if bottom - top < 40:  # odd metrics: fall back on ascent / descent
        ascent, descent = font.getmetrics()
        top, bottom = -ascent * 0.75, descent
    return top / 100.0, bottom / 100.0


@functools.lru_cache(maxsize=65536)
def _char_span(path: str, ch: str) -> tuple[float, float]:
    """(top, bottom) of one character's ink, in font sizes, relative to the baseline."""
    box = _load_font(path, 100).getbbox(ch, anchor="ls")
    return box[1] / 100.0, box[3] / 100.0


@functools.lru_cache(maxsize=65536)
def _glyph(path: str, size: int, ch: str) -> tuple[float, Box]:
    """Advance and ink box (baseline anchor) of one character of a font."""
    font = _load_font(path, size)
    return font.getlength(ch), font.getbbox(ch, anchor="ls")


@dataclass
class _Glyphs:
    """Placed text: draw calls ``(x, y, text, font, fill)`` and ink boxes of non-space chars."""

    calls: list[tuple[float, float, str, ImageFont.FreeTypeFont, int]]
    boxes: list[Box]
    chars: list[str]
    extent: Box  # the ink of everything drawn


def _layout(
    r: random.Random, tokens: Sequence[str], font: ImageFont.FreeTypeFont, face: str, opt: InkOptions
) -> _Glyphs:
    """Place ``tokens`` on a baseline at y = 0 from x = 0."""
    size = font.size
    per_char = face in ("typewriter", "smallcaps")
    small = None
    if face == "smallcaps":
        small = _load_font(str(font.path), max(4, round(size * r.uniform(*opt.smallcaps_ratio))))
    space = max(font.getlength(" "), 0.22 * size)
    if len(tokens) > 1 and face != "typewriter":  # typewriters keep their fixed pitch
        space *= r.uniform(*opt.word_space)
    wide = len(tokens) > 1 and r.random() < opt.p_wide_gaps
    jitter = opt.typewriter_jitter * size if face == "typewriter" else 0.0
    path = str(font.path)
    calls: list[tuple[float, float, str, ImageFont.FreeTypeFont, int]] = []
    boxes: list[Box] = []
    chars: list[str] = []
    extent: list[Box] = []
    x = 0.0
    for t_i, tok in enumerate(tokens):
        if t_i:
            x += space * (r.uniform(1.5, 5.0) if wide and r.random() < 0.4 else 1.0)
        if not per_char:
            calls.append((x, 0.0, tok, font, 255))
            tb = font.getbbox(tok, anchor="ls")
            extent.append((x + tb[0], tb[1], x + tb[2], tb[3]))
            metrics = [_glyph(path, size, ch) for ch in tok]
            true_len = font.getlength(tok)
            stretch = true_len / max(sum(m[0] for m in metrics), 1e-6)  # kerning, spread evenly
            cx = x
            for ch, (adv, b) in zip(tok, metrics, strict=True):
                if b[2] > b[0]:
                    boxes.append((cx + b[0], b[1], cx + b[2], b[3]))
                    chars.append(ch)
                cx += adv * stretch
            x += true_len
            continue
        for ch in tok:
            f = font
            if small is not None and ch.islower():
                f, ch = small, ch.upper()
            dx, dy = r.uniform(-jitter, jitter), r.uniform(-jitter, jitter)
            fill = 255 if not jitter else r.randint(150, 255)
            calls.append((x + dx, dy, ch, f, fill))
            adv, b = _glyph(path, f.size, ch)
            if b[2] > b[0]:
                boxes.append((x + dx + b[0], dy + b[1], x + dx + b[2], dy + b[3]))
                chars.append(ch)
            x += adv
    if not boxes:  # no inked glyph (cannot happen for vocab labels): guard the whole text
        boxes, chars = [(0.0, -0.7 * size, max(x, 1.0), 0.0)], [" "]
    everything = boxes + extent
    union = (
        min(b[0] for b in everything),
        min(b[1] for b in everything),
        max(b[2] for b in everything),
        max(b[3] for b in everything),
    )
    return _Glyphs(calls, boxes, chars, union)


def render_ink(
    r: random.Random,
    text: str,
    finfo: FontInfo,
    face: str,
    opt: InkOptions,
    neighbors: Callable[[random.Random], str] | None = None,
) -> Ink:
    """Draw ``text`` (tokens joined by single spaces) in print resolution and cut its crop.

    ``neighbors`` draws the text of a line above or below, called only if the sample gets
    neighbouring lines. Lines too wide for ``opt.max_aspect`` lose tokens from the end; the
    returned ``label`` is the text actually drawn (upper case for small caps).
    """
    path = str(finfo.path)
    lo, hi, mode = opt.text_height
    if any(c.islower() for c in text) and face != "smallcaps":
        lo = min(lo + 1.5, mode)  # lower case needs a few more pixels to stay legible
    text_h = r.triangular(lo, hi, mode)
    scale = r.uniform(*opt.print_height) / text_h
    top, bottom = _metrics(path)
    spans = [_char_span(path, c.upper() if face == "smallcaps" else c) for c in set(text) - {" "}]
    ink_h = max((b for _, b in spans), default=bottom) - min((t for t, _ in spans), default=top)
    size = max(6, round(text_h * scale / max(ink_h, 0.45 * (bottom - top))))
    font = _load_font(path, size)
    line_top, line_bot = top * size, bottom * size

    tokens = text.split(" ")
    glyphs = _layout(r, tokens, font, face, opt)
    while len(tokens) > 1:
        x0, y0, x1, y1 = glyphs.extent
        if (x1 - x0) <= (y1 - y0) * opt.max_aspect * 0.85:
            break
        tokens = tokens[:-1]
        glyphs = _layout(r, tokens, font, face, opt)
    label = " ".join(tokens)
    if face == "smallcaps":
        label = label.upper()

    ix0, iy0, ix1, iy1 = glyphs.extent
    if r.random() >= opt.p_tight:
        iy0, iy1 = min(iy0, line_top), max(iy1, line_bot)
    h = iy1 - iy0

    # canvas: the text box plus room for margins, rules, neighbours and the skew
    angle = 0.0
    if r.random() < opt.p_skew:
        limit = min(opt.max_skew_deg, math.degrees(math.atan(0.6 * h / max(ix1 - ix0, 1.0))))
        angle = r.uniform(-limit, limit)
    pad_x, pad_y = 1.2 * h + 4, 1.6 * size + 4
    ox, oy = pad_x - ix0, pad_y - iy0  # canvas position of the baseline origin
    cw, ch = math.ceil(ix1 - ix0 + 2 * pad_x), math.ceil(h + 2 * pad_y)
    canvas = Image.new("L", (cw, ch), 0)
    draw = ImageDraw.Draw(canvas)
    for x, y, s, f, fill in glyphs.calls:
        draw.text((ox + x, oy + y), s, font=f, fill=fill, anchor="ls")
    box = [ox + ix0, oy + iy0, ox + ix1, oy + iy1]

    mx0, mx1 = (h * _skewed(r, opt.margin_x) for _ in range(2))
    my0, my1 = (h * r.uniform(*opt.margin_y) for _ in range(2))
    stroke = max(1, round(scale * r.uniform(0.6, 1.4)))
    if r.random() < opt.p_underline:  # form field line under the text, touching descenders
        y = round(oy + size * r.uniform(0.03, 0.22))
        x0 = box[0] - h * r.uniform(0.0, 2.0)
        draw.rectangle((x0, y, box[2] + h * r.uniform(0.0, 2.0), y + stroke - 1), fill=255)
        if r.random() < 0.6:
            my1 = max(my1, y + stroke - box[3] + scale * r.uniform(0.5, 2.0))
    if r.random() < opt.p_hrule:  # table rules just above / below, touching or crossing
        for above in (True, False):
            if r.random() < 0.6:
                y = round(
                    box[1] - h * r.uniform(-0.05, 0.15) if above else box[3] + h * r.uniform(-0.08, 0.12)
                )
                draw.rectangle((0, y, cw, y + stroke - 1), fill=255)
    if r.random() < opt.p_vrule:  # cell borders left / right, clear of the glyphs
        for left in (True, False):
            if r.random() < 0.6:
                gap = h * r.uniform(0.5, 1.0)
                x = round(box[0] - gap - stroke if left else box[2] + gap)
                draw.rectangle((x, 0, x + stroke - 1, ch), fill=255)
                if left:
                    mx0 = gap + stroke + scale * r.uniform(0.5, 2.5)
                else:
                    mx1 = gap + stroke + scale * r.uniform(0.5, 2.5)
    if neighbors is not None and r.random() < opt.p_neighbors:
        _draw_neighbors(r, draw, font, finfo, neighbors, (ox, oy), box)
        my0 = max(my0, h * r.uniform(0.05, 0.3))
        my1 = max(my1, h * r.uniform(0.05, 0.3))

    crop = (box[0] - mx0, box[1] - my0, box[2] + mx1, box[3] + my1)
    mask, glyph_boxes = _cut(
        canvas, crop, angle, [(ox + b[0], oy + b[1], ox + b[2], oy + b[3]) for b in glyphs.boxes]
    )
    return Ink(mask, scale, glyph_boxes, "".join(glyphs.chars), label, face)


def _skewed(r: random.Random, span: tuple[float, float]) -> float:
    """A value of ``span`` biased towards its low end."""
    return span[0] + (span[1] - span[0]) * r.random() ** 2


def _draw_neighbors(
    r: random.Random,
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    finfo: FontInfo,
    text: Callable[[random.Random], str],
    origin: tuple[float, float],
    box: Sequence[float],
) -> None:
    """Lines of other text one leading above and / or below the label's baseline."""
    size = font.size
    sides = r.choice([(True, False), (False, True), (True, True)])
    for sign, on in zip((-1, 1), sides, strict=True):
        if not on:
            continue
        line = "".join(c for c in text(r) if c in finfo.charset or c == " ")
        y = origin[1] + sign * size * r.uniform(1.15, 1.45)
        x = box[0] + (box[2] - box[0]) * r.uniform(-0.5, 0.3)
        draw.text((x, y), line, font=font, fill=255, anchor="ls")


def _cut(canvas: Image.Image, crop: Box, angle: float, boxes: Sequence[Box]) -> tuple[Image.Image, list[Box]]:
    """Skew the page by ``angle`` degrees about the crop's centre and cut the detector's box.

    The box grows to the axis-aligned bounds of the skewed text, like a detector's box.
    Returns the crop and the glyph ``boxes`` in its coordinates.
    """
    cx, cy = (crop[0] + crop[2]) / 2, (crop[1] + crop[3]) / 2
    if not angle:
        x0, y0 = math.floor(crop[0]), math.floor(crop[1])
        size = (max(1, math.ceil(crop[2]) - x0), max(1, math.ceil(crop[3]) - y0))
        out = canvas.crop((x0, y0, x0 + size[0], y0 + size[1]))
        return out, [(b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0) for b in boxes]
    t = math.radians(angle)
    cos_t, sin_t = math.cos(t), math.sin(t)
    hw, hh = (crop[2] - crop[0]) / 2, (crop[3] - crop[1]) / 2
    nw, nh = abs(hw * cos_t) + abs(hh * sin_t), abs(hw * sin_t) + abs(hh * cos_t)
    size = (max(1, math.ceil(2 * nw)), max(1, math.ceil(2 * nh)))
    # output (u, v) -> canvas: rotate back by -angle about the centre
    a, b = cos_t, sin_t
    c = cx - a * nw - b * nh
    d, e = -sin_t, cos_t
    f = cy - d * nw - e * nh
    out = canvas.transform(size, Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR)

    def fwd(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - cx, y - cy
        return nw + dx * cos_t - dy * sin_t, nh + dx * sin_t + dy * cos_t

    moved = []
    for bx0, by0, bx1, by1 in boxes:
        pts = [fwd(bx0, by0), fwd(bx1, by0), fwd(bx1, by1), fwd(bx0, by1)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        moved.append((min(xs), min(ys), max(xs), max(ys)))
    return out, moved

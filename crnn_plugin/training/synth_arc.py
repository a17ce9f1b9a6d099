"""True curved text: each glyph placed on a circle and turned with it (badges, logos, seals).

Convex text runs over the top of the circle with the glyph tops outward; concave text runs
under the bottom, read left to right, with the tops toward the centre. Glyphs are spaced along
the circle that keeps them from crowding: the baseline circle for convex text, the cap-top
circle for concave text. A space is an advance; every other character of the label is drawn
as exactly one glyph, which :func:`arc_layout` reports.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import FontInfo
from .synth_config import SynthConfig
from .synth_layout import TextMasks, reference_height

__all__ = ["PlacedGlyph", "arc_layout", "draw_arc", "render_arc"]

# The arc's rise (sagitta) is kept under this many text heights, so that a long curved line
# still shows legible glyphs once the crop is scaled to 32 pixels high; and a glyph turns at
# most this much more than its neighbour (short words do not wrap around a tiny circle).
_MAX_RISE = 1.6
_MAX_STEP = 0.35  # radians per glyph


@dataclass(frozen=True)
class PlacedGlyph:
    """One glyph on the circle: its baseline centre ``(x, y)`` and clockwise turn in radians."""

    char: str
    x: float
    y: float
    angle: float


def arc_layout(
    font: ImageFont.FreeTypeFont, text: str, *, arc: float, concave: bool, cap_height: float
) -> list[PlacedGlyph]:
    """Glyphs of ``text`` (spaces skipped) spread over ``arc`` radians of a circle centred at 0."""
    advances = [font.getlength(ch) for ch in text]
    length = sum(advances)
    radius = length / max(arc, 1e-6)  # of the circle the glyphs are spaced on
    placed: list[PlacedGlyph] = []
    s = -length / 2
    for ch, adv in zip(text, advances, strict=True):
        phi = (s + adv / 2) / radius
        s += adv
        if ch == " ":
            continue
        if concave:  # baseline below the cap-top circle; reading direction turned by -phi
            rb = radius + cap_height
            placed.append(PlacedGlyph(ch, rb * math.sin(phi), rb * math.cos(phi), -phi))
        else:
            placed.append(PlacedGlyph(ch, radius * math.sin(phi), -radius * math.cos(phi), phi))
    return placed


def max_arc(length: float, text_h: float, max_rise: float = _MAX_RISE) -> float:
    """Largest arc (radians, <= pi) whose rise over the chord stays within ``max_rise`` heights."""
    lo, hi = 0.0, math.pi
    for _ in range(30):
        mid = (lo + hi) / 2
        rise = length / mid * (1 - math.cos(mid / 2))
        lo, hi = (mid, hi) if rise <= max_rise * text_h else (lo, mid)
    return lo


def render_arc(
    r: random.Random,
    font: ImageFont.FreeTypeFont,
    finfo: FontInfo,
    text: str,
    stroke: int,
    cfg: SynthConfig,
) -> TextMasks:
    """Curved text with a random arc (``cfg.arc_degrees``) and side (``cfg.p_arc_concave``)."""
    lo, hi = (math.radians(d) for d in cfg.arc_degrees)
    arc = lo + (hi - lo) * r.random() ** 1.5
    cap_top, _ = reference_height(font, finfo)
    n_glyphs = len(text.replace(" ", ""))
    arc = min(arc, max_arc(font.getlength(text), -cap_top), _MAX_STEP * n_glyphs)
    return draw_arc(font, finfo, text, arc=arc, concave=r.random() < cfg.p_arc_concave, stroke=stroke)


def draw_arc(
    font: ImageFont.FreeTypeFont,
    finfo: FontInfo,
    text: str,
    *,
    arc: float,
    concave: bool,
    stroke: int = 0,
) -> TextMasks:
    """Masks of ``text`` curved over ``arc`` radians; ``glyphs`` lists what was drawn."""
    cap_top, desc = reference_height(font, finfo)
    box_h = desc - cap_top + 2 * stroke
    placed = arc_layout(font, text, arc=arc, concave=concave, cap_height=-cap_top)
    tiles = [_glyph_tile(font, g, stroke) for g in placed]
    pad = int(0.8 * box_h) + stroke + 4
    x0 = min(g.x - t[0].width / 2 for g, t in zip(placed, tiles, strict=True))
    y0 = min(g.y - t[0].height / 2 for g, t in zip(placed, tiles, strict=True))
    x1 = max(g.x + t[0].width / 2 for g, t in zip(placed, tiles, strict=True))
    y1 = max(g.y + t[0].height / 2 for g, t in zip(placed, tiles, strict=True))
    ox, oy = pad - math.floor(x0), pad - math.floor(y0)
    w, h = int(math.ceil(x1 - x0)) + 2 * pad + 1, int(math.ceil(y1 - y0)) + 2 * pad + 1
    fill = np.zeros((h, w), np.uint8)
    outline = np.zeros((h, w), np.uint8) if stroke else None
    for g, (t_fill, t_out) in zip(placed, tiles, strict=True):
        left = int(round(g.x + ox)) - t_fill.width // 2
        top = int(round(g.y + oy)) - t_fill.height // 2
        _paste_max(fill, np.asarray(t_fill), left, top)
        if outline is not None and t_out is not None:
            _paste_max(outline, np.asarray(t_out), left, top)
    fill_im = Image.fromarray(fill, "L")
    out_im = Image.fromarray(outline, "L") if outline is not None else None
    ink = (out_im or fill_im).getbbox() or (pad, pad, w - pad, h - pad)
    box = (float(ink[0]) - 1, float(ink[1]), float(ink[2]) + 1, float(ink[3]))
    return TextMasks(fill_im, out_im, box, float(box_h), "".join(g.char for g in placed))


def _glyph_tile(
    font: ImageFont.FreeTypeFont, g: PlacedGlyph, stroke: int
) -> tuple[Image.Image, Image.Image | None]:
    """Square tiles of the glyph (and its outline) turned about their centre, the glyph's anchor."""
    adv = font.getlength(g.char)
    bx0, by0, bx1, by1 = font.getbbox(g.char, anchor="ls", stroke_width=stroke)
    corners = [(bx0 - adv / 2, by0), (bx1 - adv / 2, by0), (bx0 - adv / 2, by1), (bx1 - adv / 2, by1)]
    half = int(math.ceil(max(math.hypot(x, y) for x, y in corners))) + 2
    c = half
    deg = -math.degrees(g.angle)  # PIL turns counter-clockwise

    def tile(sw: int) -> Image.Image:
        im = Image.new("L", (2 * half + 1, 2 * half + 1), 0)
        ImageDraw.Draw(im).text(
            (c - adv / 2, c), g.char, font=font, fill=255, anchor="ls", stroke_width=sw, stroke_fill=255
        )
        return im.rotate(deg, resample=Image.Resampling.BICUBIC, center=(c, c)) if deg else im

    return tile(0), (tile(stroke) if stroke else None)


def _paste_max(canvas: np.ndarray, tile: np.ndarray, left: int, top: int) -> None:
    """``canvas = max(canvas, tile)`` where the tile lies (it always lies inside here)."""
    th, tw = tile.shape
    region = canvas[top : top + th, left : left + tw]
    np.maximum(region, tile[: region.shape[0], : region.shape[1]], out=region)

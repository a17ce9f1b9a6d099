"""How printed ink becomes a scanned or photographed crop of height 32.

:func:`scan_ink` takes the print-resolution ink of :func:`render_ink` through toner effects
(bleeding, light print, broken strokes), the scanner's sampling (varied filters, fax
resolution, optics blur), paper and ink grey levels, 1-bit thresholding, speckle, sensor
noise and JPEG, then up-samples the crop to the model's height. A glyph guard (:func:`_kept`)
undoes a toner effect, an aliased sampling or the thresholding that would change what a
reader sees: a lost dot of a colon, a cut through an ``I``, a filled counter.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .synth_document_render import Box, Ink

__all__ = ["ScanOptions", "scan_ink"]

_FRAGILE = frozenset("Il1ijft")
_DOWN = (Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.HAMMING, Image.Resampling.LANCZOS)
_UP = (
    Image.Resampling.BILINEAR,
    Image.Resampling.BICUBIC,
    Image.Resampling.LANCZOS,
    Image.Resampling.NEAREST,
)


@dataclass
class ScanOptions:
    """Knobs of :func:`scan_ink` (probabilities are per sample; levels are 0 black .. 1 white)."""

    height: int = 32
    max_aspect: float = 25.0
    p_bleed: float = 0.2  # toner spreads: strokes thicker
    p_light: float = 0.15  # light print: strokes thinner
    p_broken: float = 0.2  # toner dropouts: holes in strokes
    p_fax: float = 0.05  # half vertical resolution (fax "standard" mode)
    p_nearest: float = 0.06  # aliased sampling instead of an area filter
    p_blur: float = 0.25  # optics blur at scan resolution
    paper: tuple[float, float] = (0.82, 1.0)
    ink: tuple[float, float] = (0.0, 0.3)
    min_contrast: float = 0.4
    p_shaded: float = 0.07  # grey form cells / receipt paper
    p_uneven: float = 0.35  # smooth illumination / paper changes
    p_binarize: float = 0.3  # 1-bit scans
    p_speckle: float = 0.15
    p_noise: float = 0.5
    noise_std: tuple[float, float] = (1.0, 7.0)  # 0..255 units
    p_jpeg: float = 0.4
    jpeg_quality: tuple[int, int] = (35, 92)
    p_tint: float = 0.2  # yellowish / bluish paper, coloured ink
    # final resize to the model's height: bilinear (as at inference), bicubic, lanczos, nearest
    up_weights: tuple[float, float, float, float] = (0.7, 0.15, 0.08, 0.07)


def scan_ink(r: random.Random, rng: np.random.Generator, ink: Ink, opt: ScanOptions) -> Image.Image:
    """RGB crop of height ``opt.height`` showing ``ink`` as a scanner / camera would."""
    s = ink.scale
    w_s = max(1, round(ink.mask.width / s))
    h_s = max(1, round(ink.mask.height / s))
    stroke = _stroke_width(ink.mask) / s  # in scan pixels: thin strokes break under harsh effects
    text_h = (max(b[3] for b in ink.glyphs) - min(b[1] for b in ink.glyphs)) / s
    tiny = text_h < 8.5  # tiny text: no optics blur, mild JPEG
    harsh = stroke >= 1.2 and r.random() < opt.p_nearest  # aliased sampling
    fax = stroke >= 1.2 and h_s >= 20 and r.random() < opt.p_fax
    down = Image.Resampling.NEAREST if harsh else r.choice(_DOWN)

    def sample(mask: Image.Image, plain: bool = False) -> np.ndarray:
        if plain:
            small = mask.resize((w_s, h_s), Image.Resampling.BOX)
        elif fax:
            small = mask.resize((w_s, max(1, h_s // 2)), down).resize((w_s, h_s), Image.Resampling.NEAREST)
        else:
            small = mask.resize((w_s, h_s), down)
        return _strengthen(np.asarray(small, np.float32) / 255.0)

    boxes = [(b[0] / s, b[1] / s, b[2] / s, b[3] / s) for b in ink.glyphs]
    # punctuation and single strokes (a cut turns I into !) keep (almost) all their ink, no holes
    strict = [not c.isalnum() or c in _FRAGILE for c in ink.chars]
    reference = sample(ink.mask, plain=True)
    ref = _cells(reference, boxes)
    clean = sample(ink.mask)
    if (harsh or fax) and not _kept(clean, boxes, ref, strict, gain=1.3):
        clean = reference  # aliasing or fax lines broke a glyph: an area filter instead
    cov = clean
    printed = _print_effects(r, rng, ink, stroke, boxes, strict, opt)
    if printed is not None:
        cov = sample(printed)
        if not _kept(cov, boxes, ref, strict, gain=1.35):
            cov = clean  # the toner effect erased or filled a glyph: print it cleanly
    if not tiny and r.random() < opt.p_blur:
        radius = r.uniform(0.25, min(0.6, 0.2 + 0.3 * stroke))
        im = Image.fromarray((cov * 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(radius))
        cov = np.asarray(im, np.float32) / 255.0

    paper, ink_level = _levels(r, opt)
    page = _paper(r, rng, h_s, w_s, paper, opt)
    img = page - (page - ink_level) * cov
    if r.random() < opt.p_binarize:
        full = _cells(np.maximum(reference, reference >= 0.5), boxes)
        for level, noise in (
            (r.uniform(0.2, 0.6) if stroke >= 1.2 else r.uniform(0.1, 0.4), 0.06),
            (0.45, 0.0),
        ):
            dark = _binarize(rng, cov, level, r.uniform(0.0, noise))
            if _kept(dark.astype(np.float32), boxes, ref, strict, gain=1.3, full=full):
                black, white = r.uniform(0.0, 0.12), r.uniform(0.95, 1.0)
                img = np.where(dark, black, white).astype(np.float32)
                break
    if r.random() < opt.p_speckle:
        img = _speckle(r, rng, img, boxes, strict)
    if r.random() < opt.p_noise:
        img = img + rng.standard_normal(img.shape, np.float32) * (r.uniform(*opt.noise_std) / 255.0)
    out = _to_rgb(r, np.clip(img, 0.0, 1.0), opt)
    if r.random() < opt.p_jpeg:
        lo, hi = opt.jpeg_quality
        out = _jpeg(out, r.randint(max(lo, 70) if tiny else lo, hi))
    return _upsample(r, out, opt)


def _print_effects(
    r: random.Random,
    rng: np.random.Generator,
    ink: Ink,
    stroke: float,
    boxes: Sequence[Box],
    strict: Sequence[bool],
    opt: ScanOptions,
) -> Image.Image | None:
    """Toner bleeding / light print / dropouts on the print-resolution ink (None: no effect).

    Bold faces and thick strokes do not bleed; thin strokes (in scan pixels) are not thinned or
    broken; dropouts spare ``strict`` glyphs (punctuation and single strokes).
    """
    mask, scale = ink.mask, ink.scale
    u = r.random()
    out = None
    bleed = u < opt.p_bleed and ink.face != "bold" and stroke < 1.6
    light = opt.p_bleed <= u < opt.p_bleed + opt.p_light and stroke >= 1.3
    if bleed or light:
        radius = max(1, round(scale * r.uniform(0.15, 0.3)))
        blurred = mask.filter(ImageFilter.BoxBlur(radius))
        t = r.randint(70, 110) if bleed else r.randint(150, 190)
        out = blurred.point([255 if v >= t else 0 for v in range(256)])
    if stroke >= 1.0 and r.random() < opt.p_broken:
        base = np.asarray(out if out is not None else mask)
        h, w = base.shape
        cells = (
            max(2, round(w / scale * r.uniform(1.2, 2.0))),
            max(2, round(h / scale * r.uniform(1.2, 2.0))),
        )
        noise = (rng.random((cells[1], cells[0]), np.float32) * 255).astype(np.uint8)
        field = np.asarray(Image.fromarray(noise, "L").resize((w, h), Image.Resampling.BILINEAR))
        holes = field < round(255 * r.uniform(0.04, 0.12))
        for (x0, y0, x1, y1), keep in zip(boxes, strict, strict=True):
            if keep:
                xa, ya = max(0, int((x0 - 0.5) * scale)), max(0, int((y0 - 0.5) * scale))
                holes[ya : int((y1 + 1) * scale) + 1, xa : int((x1 + 1) * scale) + 1] = False
        out = Image.fromarray(np.where(holes, 0, base).astype(np.uint8), "L")
    return out


def _stroke_width(mask: Image.Image) -> float:
    """Mean stroke width of the ink in pixels: twice its area over its outline length."""
    m = np.asarray(mask) > 127
    edges = int((m[:, 1:] != m[:, :-1]).sum()) + int((m[1:] != m[:-1]).sum())
    return 2.0 * float(m.sum()) / max(edges, 1)


def _strengthen(cov: np.ndarray) -> np.ndarray:
    """Restore full-strength strokes that sampling greyed (hairlines, tiny text)."""
    ink = cov[cov > 0.05]
    if ink.size == 0:
        return cov
    k = int(0.95 * (ink.size - 1))
    peak = float(np.partition(ink, k)[k])
    if peak >= 0.65:
        return cov
    return np.minimum(cov * min(0.75 / max(peak, 1e-3), 2.0), 1.0)


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random field in [-1, 1] with about ``cells`` bumps across the height."""
    gh, gw = max(2, cells), max(2, round(cells * w / max(h, 1)))
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    f = np.asarray(Image.fromarray(g, "F").resize((w, h), Image.Resampling.BICUBIC))
    m = float(np.abs(f).max())
    return f / m if m > 0 else f


def _cells(cov: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
    """Ink in a 3 x 2 grid (thirds of the height, halves of the width) of each glyph box.

    Boxes are in scan pixels and grown by half a pixel; returns an ``(n, 3, 2)`` array.
    """
    if not boxes:
        return np.zeros((0, 3, 2))
    h, w = cov.shape
    integral = np.zeros((h + 1, w + 1), np.float64)
    integral[1:, 1:] = cov.cumsum(0).cumsum(1)
    b = np.asarray(boxes, np.float64)
    xa, xb = np.clip(np.floor(b[:, 0] - 0.5), 0, w), np.clip(np.ceil(b[:, 2] + 0.5), 0, w)
    ya, yb = np.clip(np.floor(b[:, 1] - 0.5), 0, h), np.clip(np.ceil(b[:, 3] + 0.5), 0, h)
    xs = np.stack([xa, np.round((xa + xb) / 2), xb], 1).astype(np.intp)
    ys = np.stack([ya, np.round(ya + (yb - ya) / 3), np.round(ya + 2 * (yb - ya) / 3), yb], 1).astype(np.intp)
    y0, y1 = ys[:, :-1, None], ys[:, 1:, None]
    x0, x1 = xs[:, None, :-1], xs[:, None, 1:]
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def _kept(
    cov: np.ndarray,
    boxes: Sequence[Box],
    ref: np.ndarray,
    strict: Sequence[bool],
    *,
    gain: float,
    full: np.ndarray | None = None,
) -> bool:
    """True when every glyph keeps its shape, judged on the cells of :func:`_cells`.

    Each inked cell keeps 45 % of its clean ink ``ref`` (65 % for ``strict`` glyphs); no glyph or
    cell grows past ``gain`` times its ink in ``full`` (default ``ref``; a binarised
    reference for 1-bit scans) plus half a mean cell (a quarter if strict). This
    catches a lost dot of ``:`` or ``i``, the bar of an ``F``, the bowl of a ``U``, and the
    two dots of a ``:`` or the counter of an ``e`` filled in.
    """
    if not boxes:
        return True
    full = ref if full is None else full
    now = _cells(cov, boxes)
    total = ref.sum((1, 2))
    if np.any(now.sum((1, 2)) > gain * full.sum((1, 2)) + 0.5):
        return False
    hard = np.asarray(strict)[:, None, None]
    inked = (ref > 0.08 * total[:, None, None]) & (ref > 0.3)
    if np.any(inked & (now < np.where(hard, 0.65, 0.45) * ref)):
        return False
    slack = np.where(hard, 0.25, 0.5) * total[:, None, None] / 6.0 + 0.3
    return not np.any(now > gain * full + slack)


def _levels(r: random.Random, opt: ScanOptions) -> tuple[float, float]:
    """Paper and ink grey levels with at least ``opt.min_contrast`` between them."""
    if r.random() < opt.p_shaded:
        paper = r.uniform(0.68, 0.85)
    else:
        lo, hi = opt.paper
        paper = hi - (hi - lo) * r.random() ** 2
    ink = r.uniform(*opt.ink)
    return paper, min(ink, paper - opt.min_contrast)


def _paper(
    r: random.Random, rng: np.random.Generator, h: int, w: int, level: float, opt: ScanOptions
) -> np.ndarray:
    """Paper of grey ``level``: flat, or with smooth illumination changes and fibre grain."""
    page = np.full((h, w), level, np.float32)
    if r.random() < opt.p_uneven:
        page += _smooth_field(rng, h, w, r.randint(1, 3)) * r.uniform(0.02, 0.08)
        if r.random() < 0.4:
            page += rng.standard_normal((h, w), np.float32) * r.uniform(0.005, 0.02)
    return np.minimum(page, 1.0)


def _binarize(rng: np.random.Generator, cov: np.ndarray, level: float, noise: float) -> np.ndarray:
    """1-bit scan (adaptive to the paper): True where the ink coverage passes ``level``.

    The noise makes edges ragged; a dark pixel it creates with no dark neighbour is dropped
    (it would read as a period).
    """
    noisy = cov + rng.standard_normal(cov.shape, np.float32) * noise if noise else cov
    dark = noisy > level
    if not noise:
        return dark
    pad = np.pad(dark, 1)
    h, w = dark.shape
    neighbours = sum(pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    stray = dark & (cov <= level) & (neighbours <= 1)
    return dark & ~stray


def _speckle(
    r: random.Random, rng: np.random.Generator, img: np.ndarray, boxes: Sequence[Box], strict: Sequence[bool]
) -> np.ndarray:
    """Toner / fax specks: white holes in letters, dark dots above and below the text.

    Dark dots stay out of the rows of the text, where they would read as a period, a colon's
    dot or an apostrophe.
    """
    h, w = img.shape
    out = img.copy()
    dark = float(img.min())
    light = float(np.percentile(img, 90))
    holes = (rng.random((h, w)) < r.uniform(0.01, 0.04)) & (img < (dark + light) / 2)
    for (x0, y0, x1, y1), keep in zip(boxes, strict, strict=True):
        if keep:
            holes[max(0, int(y0 - 1)) : int(y1 + 2), max(0, int(x0 - 1)) : int(x1 + 2)] = False
    out[holes] = light
    free = np.ones((h, w), bool)
    if boxes:
        top, bottom = min(b[1] for b in boxes), max(b[3] for b in boxes)
        free[max(0, int(top - 2.5)) : max(0, int(bottom + 3.5))] = False
    dots = free & (rng.random((h, w)) < r.uniform(0.002, 0.008))
    out[dots] = dark + r.uniform(0.0, 0.2)
    return out


def _to_rgb(r: random.Random, grey: np.ndarray, opt: ScanOptions) -> Image.Image:
    """Grey scan to RGB; sometimes yellowish / bluish paper or dark blue ink."""
    if r.random() >= opt.p_tint:
        g = (grey * 255 + 0.5).astype(np.uint8)
        return Image.fromarray(g, "L").convert("RGB")
    paper_tint = np.array([1.0, r.uniform(0.94, 1.0), r.uniform(0.82, 1.0)], np.float32)
    if r.random() < 0.3:
        paper_tint = paper_tint[::-1].copy()
    ink_tint = np.array([r.uniform(0.0, 0.25), r.uniform(0.0, 0.25), r.uniform(0.0, 0.5)], np.float32)
    g = grey[..., None]
    rgb = g * paper_tint + (1.0 - g) * ink_tint
    return Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _upsample(r: random.Random, img: Image.Image, opt: ScanOptions) -> Image.Image:
    """Bring the crop to ``opt.height`` keeping its aspect ratio (width capped)."""
    u = r.random() * sum(opt.up_weights)
    method = _UP[-1]
    for m, wgt in zip(_UP, opt.up_weights, strict=True):
        u -= wgt
        if u < 0:
            method = m
            break
    hgt = opt.height
    width = round(img.width * hgt / img.height)
    width = int(min(max(width, hgt // 2), hgt * opt.max_aspect))
    return img.resize((width, hgt), method)

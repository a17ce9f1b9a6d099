"""Procedural backgrounds: flat, gradient, noise, smooth noise, stripes, paper grain, clutter."""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .synth_colour import lum
from .synth_config import SynthConfig
from .synth_sampling import choice_weighted, cumulative

__all__ = ["ProceduralBackgrounds", "smooth_field"]


class ProceduralBackgrounds:
    """Backgrounds varying around a base colour by at most a given slack, kinds drawn by weight."""

    def __init__(self, cfg: SynthConfig) -> None:
        self._cum = cumulative(
            [
                cfg.bg_flat,
                cfg.bg_gradient,
                cfg.bg_noise,
                cfg.bg_smooth_noise,
                cfg.bg_stripes,
                cfg.bg_grain,
                cfg.bg_clutter,
            ]
        )

    def __call__(
        self, r: random.Random, rng: np.random.Generator, h: int, w: int, base: np.ndarray, slack: float
    ) -> np.ndarray:
        """Background image (h, w, 3) float32 in [0, 1] varying around ``base``."""
        kind = choice_weighted(r, self._cum)
        amp = slack * r.uniform(0.3, 1.0)
        tint = np.array([1 + r.uniform(-0.4, 0.4) for _ in range(3)], np.float32)
        tint /= max(lum(tint), 1e-3)
        base = base.astype(np.float32)
        if kind == 0:  # flat
            return np.broadcast_to(base, (h, w, 3)).astype(np.float32)
        if kind == 6:  # image-like clutter: blurred shapes / lines
            return _clutter(r, h, w, base, amp)
        if kind == 1:  # linear gradient
            t = math.radians(r.uniform(0, 360))
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            f = xx * math.cos(t) + yy * math.sin(t)
            f -= f.min()
            f = f / max(float(f.max()), 1e-6) * 2 - 1
        elif kind == 2:  # pixel noise (plus a little smooth noise)
            f = rng.uniform(-1, 1, (h, w)).astype(np.float32) * 0.6
            f += smooth_field(rng, h, w, r.randint(2, 8)) * 0.4
            amp *= 0.6
        elif kind == 3:  # Perlin-like smooth noise, 1-2 octaves
            f = smooth_field(rng, h, w, r.randint(2, 6))
            if r.random() < 0.5:
                f = f * 0.65 + smooth_field(rng, h, w, r.randint(6, 16)) * 0.35
        elif kind == 4:  # stripes
            t = math.radians(r.uniform(0, 180))
            lam = r.uniform(3, 24)
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            f = np.sin(
                (xx * math.cos(t) + yy * math.sin(t)) * (2 * math.pi / lam) + r.uniform(0, 6.3)
            ).astype(np.float32)
            if r.random() < 0.4:
                f = np.sign(f)
            amp *= 0.5
        else:  # paper-like grain
            f = smooth_field(rng, h, w, r.randint(2, 5)) * 0.5
            f += rng.standard_normal((h, w)).astype(np.float32) * 0.2
            f[rng.random((h, w)) > 0.985] -= 0.8
            f = np.clip(f, -1, 1)
        return np.clip(base + f[..., None] * (amp * tint), 0, 1)


def smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smoothed random field in about [-1, 1] with ~``cells`` features across the height."""
    gh = max(2, cells)
    gw = max(2, round(cells * w / max(h, 1)))
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    f = np.asarray(Image.fromarray(g, "F").resize((w, h), Image.Resampling.BICUBIC))
    m = float(np.abs(f).max())
    return f / m if m > 0 else f


def _clutter(r: random.Random, h: int, w: int, base: np.ndarray, amp: float) -> np.ndarray:
    """Image-like background: random blurred shapes and lines around ``base``."""
    img = Image.new("RGB", (w, h), tuple(int(v * 255) for v in base))
    d = ImageDraw.Draw(img)
    for _ in range(r.randint(3, 10) + w // 40):
        col = np.clip(base + np.array([r.uniform(-amp, amp) for _ in range(3)]), 0, 1)
        colt = tuple(int(v * 255) for v in col)
        x0, y0 = r.uniform(-w * 0.2, w), r.uniform(-h * 0.5, h)
        x1, y1 = x0 + r.uniform(2, w * 0.6 + 4), y0 + r.uniform(2, h * 1.5)
        kind = r.randrange(4)
        if kind == 0:
            d.ellipse((x0, y0, x1, y1), fill=colt)
        elif kind == 1:
            d.rectangle((x0, y0, x1, y1), fill=colt)
        elif kind == 2:
            d.line((x0, y0, x1, y1), fill=colt, width=r.randint(1, 4))
        else:
            pts = [(r.uniform(-5, w + 5), r.uniform(-5, h + 5)) for _ in range(3)]
            d.polygon(pts, fill=colt)
    img = img.filter(ImageFilter.GaussianBlur(r.uniform(0.5, 2.0)))
    return np.asarray(img, np.float32) / 255.0

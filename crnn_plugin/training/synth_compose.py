"""Compositing: text masks at the output resolution painted over a procedural or photo background.

The text colour always differs from the background by at least ``min_contrast`` in luma; a
photo patch is darkened or lightened and flattened until it does.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image

from .synth_background import ProceduralBackgrounds, smooth_field
from .synth_colour import BLACK, WHITE, lum, luma_map, random_color, text_and_background
from .synth_config import SynthConfig
from .synth_photos import PhotoTextures
from .synth_relief import drop_shadow, emboss, extrude
from .synth_sampling import choice_weighted, cumulative

__all__ = ["Compositor", "restore_strokes"]


def restore_strokes(a_fill: np.ndarray, a_out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Hairline fonts lose intensity when downscaled: bring their strokes back to full strength."""
    ink = (a_fill if a_out is None else a_out).ravel()
    ink = ink[ink > 0.1]
    peak = float(np.percentile(ink, 90)) if ink.size else 1.0
    if peak >= 0.85:
        return a_fill, a_out
    gain = 1.0 / max(peak, 0.2)
    return np.minimum(a_fill * gain, 1.0), (np.minimum(a_out * gain, 1.0) if a_out is not None else None)


class Compositor:
    """Paints text masks (h, w) in [0, 1] over a background; returns the RGB image."""

    def __init__(self, cfg: SynthConfig, photos: PhotoTextures) -> None:
        self.cfg = cfg
        self.photos = photos
        self.backgrounds = ProceduralBackgrounds(cfg)
        self._effect_cum = cumulative([cfg.w_emboss, cfg.w_extrude, cfg.w_drop_shadow])

    def __call__(
        self,
        r: random.Random,
        rng: np.random.Generator,
        a_fill: np.ndarray,
        a_out: np.ndarray | None,
        hollow: bool,
    ) -> Image.Image:
        cfg = self.cfg
        h, w = a_fill.shape
        fg, img, diff = self._ground(r, rng, h, w)

        alpha = 1.0
        if r.random() < cfg.p_alpha:
            alpha = max(r.uniform(0.55, 0.95), min(1.0, cfg.min_contrast / diff + 0.1))
        text_mask = a_out if a_out is not None else a_fill
        effect = choice_weighted(r, self._effect_cum) if r.random() < cfg.p_3d else -1

        if effect == 2:
            img = drop_shadow(r, img, text_mask, fg, offset=(2, 4), blur=(0.3, 1.5), opacity=(0.6, 0.95))
        elif r.random() < cfg.p_shadow:
            img = drop_shadow(r, img, text_mask, fg, offset=(0, 3), blur=(0.0, 1.5), opacity=(0.4, 0.9))
        if effect == 1:
            img = extrude(r, img, text_mask, fg)

        if a_out is not None and hollow:
            # outline only: the ring around the glyphs, in the text colour
            m = np.clip(a_out - a_fill, 0.0, 1.0)[..., None] * alpha
            img = img * (1 - m) + fg * m
        elif a_out is not None:
            stroke_color = random_color(r)
            for _ in range(10):
                if abs(lum(stroke_color) - lum(fg)) >= 0.3:
                    break
                stroke_color = random_color(r)
            else:
                stroke_color = BLACK if lum(fg) > 0.5 else WHITE
            m = a_out[..., None] * alpha
            img = img * (1 - m) + stroke_color * m

        if effect == 0 and not hollow:
            img = emboss(r, img, a_fill, fg)
        elif not hollow:
            img = self._fill(r, img, a_fill, fg, alpha)

        if r.random() < cfg.p_lighting:
            field = smooth_field(rng, h, w, r.randint(1, 3))
            img = img * (1 - r.uniform(0.1, 0.35) * (field[..., None] + 1) / 2)
        return Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")

    def _ground(
        self, r: random.Random, rng: np.random.Generator, h: int, w: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(text colour, background image, their luma difference)."""
        cfg = self.cfg
        if r.random() < cfg.p_photo:
            patch = self.photos.patch(r, h, w)
            if patch is not None:
                return self._photo_ground(r, patch)
        fg, bg, diff = text_and_background(
            r, light_text=r.random() < cfg.p_light_on_dark, min_contrast=cfg.min_contrast
        )
        slack = max(0.05, diff - 0.8 * cfg.min_contrast)  # background may vary this much
        return fg, self.backgrounds(r, rng, h, w, bg, slack), diff

    def _photo_ground(self, r: random.Random, patch: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Text colour for a photo patch; the patch is shifted and flattened to keep the contrast."""
        cfg = self.cfg
        m = float(luma_map(patch).mean())
        light = r.random() < (0.8 if m < 0.5 else 0.2)
        fg = random_color(r)
        for _ in range(24):
            if (lum(fg) >= 0.7) if light else (lum(fg) <= 0.3):
                break
            fg = random_color(r)
        else:
            fg = WHITE if light else BLACK
        lf, need = lum(fg), cfg.min_contrast + r.uniform(0.05, 0.3)
        if light and m > lf - need:  # darken the photo under light text
            target = max(lf - need, 0.02)
            patch = patch * (target / max(m, 1e-3))
        elif not light and m < lf + need:  # lighten it under dark text
            target = min(lf + need, 0.98)
            patch = 1 - (1 - patch) * ((1 - target) / max(1 - m, 1e-3))
        mean = patch.reshape(-1, 3).mean(0)
        m = lum(mean)
        toward = (luma_map(patch) - m) * (1.0 if lf > m else -1.0)  # pixels drifting to the text colour
        allowed = abs(lf - m) - 0.8 * cfg.min_contrast
        p98 = float(np.percentile(toward, 98))
        if p98 > allowed:
            patch = mean + (patch - mean) * (max(allowed, 0.0) / p98)
        return fg, np.clip(patch, 0, 1).astype(np.float32), abs(lf - m)

    def _fill(
        self, r: random.Random, img: np.ndarray, a_fill: np.ndarray, fg: np.ndarray, alpha: float
    ) -> np.ndarray:
        """The text face: flat or gradient colour, painted or multiplied into the background."""
        cfg = self.cfg
        h, w = a_fill.shape
        ground = lum(img.reshape(-1, 3).mean(0))
        fgc: np.ndarray = fg
        if r.random() < cfg.p_fill_gradient:
            fg2 = np.clip(fg + np.array([r.uniform(-0.25, 0.25) for _ in range(3)]), 0, 1)
            if abs(lum(fg2) - ground) >= cfg.min_contrast * 0.8:
                t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
                if r.random() < 0.5:
                    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
                fgc = fg * (1 - t) + fg2 * t
        m = a_fill[..., None] * alpha
        if r.random() < cfg.p_multiply and lum(fg) < ground:
            return img * (1 - m) + (img * fgc) * m
        return img * (1 - m) + fgc * m

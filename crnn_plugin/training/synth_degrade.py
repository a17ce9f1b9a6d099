"""Camera and compression degradations applied at the output resolution."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageFilter

from .synth_config import SynthConfig

__all__ = ["degrade"]


def degrade(r: random.Random, rng: np.random.Generator, cfg: SynthConfig, im: Image.Image) -> Image.Image:
    """Blur, motion blur, low resolution, sensor noise and JPEG artefacts, each by its probability."""
    if r.random() < cfg.p_blur:
        im = im.filter(ImageFilter.GaussianBlur(r.uniform(*cfg.blur_radius)))
    if r.random() < cfg.p_motion_blur:
        n = r.choice([3, 5])
        k = [0.0] * (n * n)
        kind = r.randrange(3)
        for i in range(n):
            j = {0: (n // 2) * n + i, 1: i * n + i, 2: i * n + (n - 1 - i)}[kind]
            k[j] = 1.0
        im = im.filter(ImageFilter.Kernel((n, n), k, scale=n))
    if r.random() < cfg.p_lowres:
        s = r.uniform(*cfg.lowres_scale)
        small = (max(1, round(im.width * s)), max(1, round(im.height * s)))
        down = r.choice([Image.Resampling.BILINEAR, Image.Resampling.BOX])
        up = r.choice([Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.NEAREST])
        im = im.resize(small, down).resize(im.size, up)
    if r.random() < cfg.p_noise:
        arr = np.asarray(im, np.float32)
        std = r.uniform(*cfg.noise_std)
        ch = 1 if r.random() < 0.5 else 3
        arr = arr + rng.standard_normal((im.height, im.width, ch), np.float32) * std
        im = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")
    if r.random() < cfg.p_jpeg:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=r.randint(*cfg.jpeg_quality))
        buf.seek(0)
        im = Image.open(buf).convert("RGB")
    return im

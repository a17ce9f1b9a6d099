"""Cheap augmentations for real crops and the two input layouts the model must read well."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from ..regions import perspective_coeffs

__all__ = ["augment_real", "layout_variable", "layout_doctr", "shrink_to_height"]


def augment_real(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Photometric and small geometric jitter for real training crops (RGB in, RGB out)."""
    w, h = img.size
    if rng.random() < 0.5 and w > 4 and h > 4:  # crop jitter: loosen or tighten the box a little
        dx0, dx1 = (rng.uniform(-0.04, 0.04, 2) * w).astype(int)
        dy0, dy1 = (rng.uniform(-0.08, 0.12, 2) * h).astype(int)
        img = img.crop((dx0, dy0, w - dx1, h - dy1))
    if rng.random() < 0.3:
        w, h = img.size
        d = 0.08
        rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
        coeffs = perspective_coeffs(rect, rect + (rng.uniform(-d, d, 8) * np.array([w, h] * 4)).reshape(4, 2))
        img = img.transform(
            (w, h),
            Image.Transform.PERSPECTIVE,
            coeffs,
            Image.Resampling.BILINEAR,
            fillcolor=tuple(int(v) for v in np.asarray(img).reshape(-1, 3).mean(0)),
        )
    if rng.random() < 0.2:
        img = img.rotate(
            float(rng.uniform(-4, 4)),
            Image.Resampling.BILINEAR,
            expand=False,
            fillcolor=tuple(int(v) for v in np.asarray(img).reshape(-1, 3).mean(0)),
        )
    if rng.random() < 0.5:
        arr = np.asarray(img).astype(np.float64)
        arr = arr * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)
        if rng.random() < 0.3:
            arr = arr * rng.uniform(0.8, 1.2, 3)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.1:
        img = ImageOps.grayscale(img).convert("RGB")
    if rng.random() < 0.05:
        img = ImageOps.invert(img)
    if rng.random() < 0.2:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    if rng.random() < 0.2:
        small = (
            max(8, int(img.width * rng.uniform(0.4, 0.8))),
            max(8, int(img.height * rng.uniform(0.4, 0.8))),
        )
        img = img.resize(small, Image.Resampling.BILINEAR).resize(img.size, Image.Resampling.BILINEAR)
    if rng.random() < 0.2:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(20, 80)))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img


def shrink_to_height(img: Image.Image, rng: np.random.Generator, lo: int, hi: int) -> Image.Image:
    """Resample a crop down to a height in ``[lo, hi]`` px, as a low-resolution scan would hold it.

    Only shrinks (a crop already that small is returned as is); the filter varies (box, bilinear,
    nearest: averaging scanners vs. decimating fax-like ones), and sometimes the small image is
    thresholded like a 1-bit scan.
    """
    w, h = img.size
    target = int(rng.integers(lo, hi + 1))
    if h <= target:
        return img
    new_w = max(1, int(round(w * target / h)))
    resample = [Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.NEAREST][
        int(rng.integers(3))
    ]
    small = img.resize((new_w, target), resample)
    if rng.random() < 0.15:
        grey = np.asarray(small.convert("L"), dtype=np.float64)
        cut = (grey.min() + grey.max()) / 2 + rng.uniform(-20, 20)
        small = Image.fromarray(np.where(grey > cut, 255, 0).astype(np.uint8)).convert("RGB")
    return small


def layout_variable(
    img: Image.Image,
    rng: np.random.Generator | None,
    *,
    height: int = 32,
    min_width: int = 8,
    max_width: int = 400,
    width_jitter: float = 0.0,
    scale: float = 1.0,
) -> Image.Image:
    """Our own layout: height 32, aspect ratio kept (times ``scale``, optionally jittered), width clamped."""
    w, h = img.size
    if rng is not None and width_jitter > 0:
        scale *= float(np.exp(rng.uniform(-width_jitter, width_jitter)))
    new_w = int(round(w * height / h * scale))
    new_w = max(min_width, min(max_width, new_w))
    return img.resize((new_w, height), Image.Resampling.BILINEAR)


def layout_doctr(img: Image.Image, *, height: int = 32, width: int = 128) -> Image.Image:
    """docTR's recognition pre-processing: fit into ``height x width`` keeping the aspect ratio,
    black padding on the right (or at the bottom for crops wider than 4:1)."""
    w, h = img.size
    if w / h > width / height:
        new_w, new_h = width, max(1, int(round(h * width / w)))
    else:
        new_w, new_h = max(1, int(round(w * height / h))), height
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(img.resize((new_w, new_h), Image.Resampling.BILINEAR), (0, 0))
    return canvas

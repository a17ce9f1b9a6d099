"""Render ``examples/page.jpg``: a shop-sign/receipt-like page with straight and tilted words.

Our own rendering (free Debian fonts), so the repo ships no third-party image.

    python examples/make_page.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
LINES = [
    ("CORNER BAKERY", "DejaVuSans-Bold.ttf", 64, 0),
    ("Fresh bread daily", "LiberationSerif-Italic.ttf", 44, 0),
    ("Croissant 2.50", "DejaVuSans.ttf", 40, 0),
    ("Baguette 3.20", "DejaVuSans.ttf", 40, 0),
    ("Coffee 1.80", "DejaVuSans.ttf", 40, 0),
    ("OPEN", "LiberationSans-Bold.ttf", 72, 12),
    ("Thank you", "LiberationSerif-Regular.ttf", 48, -6),
]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    hits = sorted(Path("/usr/share/fonts").rglob(name))
    if not hits:
        raise FileNotFoundError(f"{name}: run scripts/install_training_deps.sh")
    return ImageFont.truetype(str(hits[0]), size)


def main() -> None:
    page = Image.new("RGB", (900, 1000), (245, 240, 228))
    y = 50
    for text, fname, size, angle in LINES:
        f = font(fname, size)
        left, t, r, b = f.getbbox(text)
        layer = Image.new("RGBA", (int(r - left) + 20, int(b - t) + 20), (0, 0, 0, 0))
        colour = (170, 30, 30, 255) if text == "OPEN" else (25, 25, 35, 255)
        ImageDraw.Draw(layer).text((10 - left, 10 - t), text, font=f, fill=colour)
        if angle:
            layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        x = 60 if angle == 0 else 420
        page.paste(layer, (x, y), layer)
        y += layer.height + 45
    arr = np.asarray(page).astype(np.float64)
    arr *= np.linspace(1.0, 0.85, arr.shape[0])[:, None, None]  # uneven light, like a photo
    arr += np.random.default_rng(0).normal(0, 4, arr.shape)
    page = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    page.save(HERE / "page.jpg", quality=88)
    print("wrote", HERE / "page.jpg")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()

"""Render the example word crops in ``examples/crops/`` (run once; the PNGs are committed).

The crops are our own renderings (no third-party images): words set in free fonts from Debian's
font packages (see scripts/install_training_deps.sh), with colours, a slight tilt, blur and JPEG
noise, like crops cut out of photos by a text detector. ``labels.tsv`` holds the ground truth.

    python examples/make_crops.py
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent / "crops"
FONT_DIRS = [Path("/usr/share/fonts")]
# (word, font file name, text colour, background colour, tilt degrees, blur radius)
SPECS = [
    ("Welcome", "DejaVuSans-Bold.ttf", (20, 20, 20), (235, 235, 230), 0.0, 0.0),
    ("OPEN", "LiberationSans-Bold.ttf", (250, 250, 250), (180, 30, 40), 2.0, 0.6),
    ("Coffee", "LiberationSerif-Italic.ttf", (60, 35, 20), (240, 225, 200), -3.0, 0.4),
    ("EXIT", "DejaVuSansCondensed-Bold.ttf", (255, 255, 255), (20, 120, 60), 0.0, 0.8),
    ("parking", "DejaVuSerif.ttf", (30, 30, 120), (250, 250, 250), 1.5, 0.0),
    ("2024", "LiberationMono-Bold.ttf", (10, 10, 10), (250, 200, 40), -1.0, 0.5),
    ("$12.99", "DejaVuSans.ttf", (200, 20, 20), (255, 255, 255), 0.0, 0.3),
    ("Station", "LiberationSans-Regular.ttf", (240, 240, 240), (30, 60, 140), 2.5, 0.7),
    ("hello", "DejaVuSans-Oblique.ttf", (0, 0, 0), (200, 210, 220), 0.0, 1.0),
    ("Market", "LiberationSerif-Bold.ttf", (90, 20, 20), (230, 220, 170), -2.0, 0.5),
]


def find_font(name: str) -> Path:
    for d in FONT_DIRS:
        hits = sorted(d.rglob(name))
        if hits:
            return hits[0]
    raise FileNotFoundError(f"font {name} not found; run scripts/install_training_deps.sh")


def render(
    word: str, font_path: Path, fg: tuple[int, ...], bg: tuple[int, ...], tilt: float, blur: float, seed: int
) -> Image.Image:
    rng = np.random.default_rng(seed)
    font = ImageFont.truetype(str(font_path), 64)
    left, t, r, b = font.getbbox(word)
    pad_x, pad_y = 14, 10
    img = Image.new("RGB", (int(r - left) + 2 * pad_x, int(b - t) + 2 * pad_y), bg)
    ImageDraw.Draw(img).text((pad_x - left, pad_y - t), word, font=font, fill=fg)
    if tilt:
        img = img.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=bg)
    arr = np.asarray(img).astype(np.float64)
    shade = np.linspace(1.0, rng.uniform(0.75, 0.95), arr.shape[1])[None, :, None]  # uneven light
    arr = np.clip(arr * shade + rng.normal(0, 6, arr.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    img = img.resize((max(1, img.width * 40 // img.height), 40), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rows = []
    for i, (word, font, fg, bg, tilt, blur) in enumerate(SPECS):
        name = f"crop_{i:02d}.png"
        render(word, find_font(font), fg, bg, tilt, blur, seed=i).save(OUT / name)
        rows.append(f"{name}\t{word}")
    (OUT / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} crops to {OUT}")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()

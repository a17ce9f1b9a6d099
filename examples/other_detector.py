"""Any detector + crnn_plugin: RapidOCR's PP-OCR text detector (offline, inside its wheel) finds
the text on a page, crnn_plugin reads it.

    pip install rapidocr onnxruntime
    python examples/other_detector.py [examples/page.jpg]

PP-OCR's detector returns *lines*; the default model has a space class, so each rectified line
is read whole (words come back separated by single spaces). Word-level detectors (docTR's,
CRAFT's) work the same way: pass their boxes to
``crnn_plugin.recognize_regions(rec, image, boxes=... | polygons=...)``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from crnn_plugin import Recognizer
from crnn_plugin.regions import order_quad, rectify_quad


def detect_lines(image: np.ndarray) -> list[list[list[float]]]:
    """Quadrilaterals ``[[x, y] * 4]`` of the text lines found by RapidOCR's detector."""
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    result = engine(image, use_det=True, use_cls=False, use_rec=False)
    boxes = getattr(result, "boxes", None)  # a detection-only call returns TextDetOutput
    return [] if boxes is None else np.asarray(boxes).tolist()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("image", nargs="?", default=Path(__file__).resolve().parent / "page.jpg", type=Path)
    path = parser.parse_args(argv).image
    if importlib.util.find_spec("rapidocr") is None:
        parser.error("this example needs RapidOCR's detector: pip install rapidocr onnxruntime")
    page = Image.open(path).convert("RGB")
    recognizer = Recognizer.from_pretrained()  # shipped default weights (words and lines), offline
    quads = sorted(detect_lines(np.asarray(page)), key=lambda q: (q[0][1], q[0][0]))
    lines = recognizer([rectify_quad(page, order_quad(q)) for q in quads])
    for quad, line in zip(quads, lines):
        x, y = quad[0]
        print(f"({x:6.1f}, {y:6.1f})  {line.text!r:28} confidence {line.confidence:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

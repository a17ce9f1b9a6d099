"""Document OCR in docTR with crnn_plugin as the recognizer.

    pip install "crnn-plugin[doctr]" rapidocr onnxruntime
    python examples/doctr_document.py [examples/page.jpg]

docTR's own detection weights download at run time. When they cannot be downloaded (offline, as
on our CI machines) this example says so and uses RapidOCR's PP-OCR detector, which ships inside
its wheel, wrapped as a docTR detection model; everything else is docTR's ``OCRPredictor``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from doctr.io import DocumentFile
from doctr.models import detection, ocr_predictor
from torch import nn

import crnn_plugin  # noqa: F401  (registers reco_arch="crnn_plugin" with docTR)


class RapidOCRDetector(detection.DBNet):  # type: ignore[misc]
    """RapidOCR's text detector behind docTR's detection-model interface (relative boxes)."""

    def __init__(self, pages: list[np.ndarray]) -> None:
        nn.Module.__init__(self)
        from rapidocr import RapidOCR

        self._anchor = nn.Parameter(torch.zeros(1))
        self.engine = RapidOCR(params={"Global.log_level": "error"})
        self.pages = pages  # docTR hands the model resized tensors; detect on the originals
        self.cfg = {"mean": (0.5, 0.5, 0.5), "std": (1.0, 1.0, 1.0), "input_shape": (3, 1024, 1024)}
        self.assume_straight_pages = True
        self.postprocessor = SimpleNamespace(assume_straight_pages=True, bin_thresh=0.3)  # type: ignore[assignment]
        self._next = 0

    def forward(self, x: torch.Tensor, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        preds = []
        for _ in range(x.shape[0]):
            page = self.pages[self._next]
            self._next += 1
            h, w = page.shape[:2]
            res = self.engine(page, use_det=True, use_cls=False, use_rec=False)
            lines = []
            det = getattr(res, "boxes", None)  # a detection-only call returns TextDetOutput
            # PP-OCR finds text lines; the default model has a space class and reads them whole
            for q in [] if det is None else np.asarray(det, dtype=np.float32):
                x0, y0, x1, y1 = q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()
                lines.append([x0 / w, y0 / h, (x1 + 1) / w, (y1 + 1) / h, 1.0])
            boxes = np.asarray(lines, dtype=np.float32).reshape(-1, 5).clip(0, 1)
            preds.append({"words": boxes})
        return {"preds": preds}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("image", nargs="?", default=Path(__file__).resolve().parent / "page.jpg", type=Path)
    path = parser.parse_args(argv).image
    if not path.is_file():
        parser.error(f"{path}: no such file")
    pages = DocumentFile.from_images(str(path))
    try:
        predictor = ocr_predictor(det_arch="fast_base", reco_arch="crnn_plugin", pretrained=True)
        print("using docTR's fast_base detector")
    except Exception as e:  # noqa: BLE001 - any download failure
        print(
            f"docTR's detection weights could not be downloaded ({type(e).__name__}: {e}).\n"
            "Falling back to RapidOCR's offline PP-OCR detector inside docTR's OCRPredictor."
        )
        if importlib.util.find_spec("rapidocr") is None:
            parser.error("the offline fallback needs RapidOCR's detector: pip install rapidocr onnxruntime")
        # preserve_aspect_ratio=False: the stand-in detector reports boxes relative to the page
        predictor = ocr_predictor(
            det_arch=RapidOCRDetector(pages),
            reco_arch="crnn_plugin",
            pretrained=True,
            preserve_aspect_ratio=False,
        )
    doc = predictor(pages)
    print(doc.render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""docTR integration with the real docTR: registration, predictors, whitelist, KIE, ONNX export.

docTR's own detection weights download at run time, which cannot happen here, so the page tests
use ``KnownBoxesDetector``: a docTR ``DBNet`` subclass (to pass docTR's checks) that returns the
boxes where the test drew the words. Everything after detection is docTR's real pipeline.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from _helpers import render_word
from PIL import Image, ImageDraw, ImageFont

pytest.importorskip("doctr")

from doctr.models import detection, kie_predictor, ocr_predictor, recognition_predictor  # noqa: E402
from doctr.models.utils import add_whitelist, export_model_to_onnx  # noqa: E402
from torch import nn  # noqa: E402

import crnn_plugin  # noqa: E402
from crnn_plugin import CRNN, Recognizer  # noqa: E402
from crnn_plugin.doctr_plugin import DoctrCRNN, register_doctr  # noqa: E402
from crnn_plugin.hub import DEFAULT_MODEL, shipped_models  # noqa: E402

PAGE = 1024
WORDS = [
    ("Hello", 100, 120),
    ("world", 420, 120),
    ("Receipt", 100, 400),
    ("TOTAL", 100, 700),
    ("42", 600, 700),
]


def needs_weights() -> None:
    if DEFAULT_MODEL not in shipped_models():
        pytest.skip("no shipped weights in this checkout")


class KnownBoxesDetector(detection.DBNet):  # type: ignore[misc]
    """Stand-in for a docTR detector: returns fixed relative boxes ``(N, 5)`` for every page."""

    def __init__(self, boxes: np.ndarray) -> None:
        nn.Module.__init__(self)
        self._anchor = nn.Parameter(torch.zeros(1))
        self.boxes = boxes
        self.cfg = {"mean": (0.5, 0.5, 0.5), "std": (1.0, 1.0, 1.0), "input_shape": (3, PAGE, PAGE)}
        self.assume_straight_pages = True
        self.postprocessor = SimpleNamespace(assume_straight_pages=True, bin_thresh=0.3)  # type: ignore[assignment]

    def forward(self, x: torch.Tensor, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return {"preds": [{"words": self.boxes.copy()} for _ in range(x.shape[0])]}


def render_page() -> tuple[np.ndarray, np.ndarray]:
    page = Image.new("RGB", (PAGE, PAGE), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=48)
    boxes = []
    for word, x, y in WORDS:
        left, top, right, bottom = draw.textbbox((x, y), word, font=font)
        draw.text((x, y), word, fill="black", font=font)
        boxes.append([(left - 6) / PAGE, (top - 6) / PAGE, (right + 6) / PAGE, (bottom + 6) / PAGE, 0.99])
    return np.asarray(page), np.asarray(boxes, dtype=np.float32)


def test_registration_is_idempotent_and_lazy() -> None:
    from doctr.models.recognition import zoo

    register_doctr()
    register_doctr()
    assert zoo.ARCHS.count("crnn_plugin") == 1
    code = "import sys, crnn_plugin; assert 'doctr' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    # importing docTR after crnn_plugin registers without an explicit call
    code = (
        "import crnn_plugin; from doctr.models.recognition import zoo; "
        "assert 'crnn_plugin' in zoo.ARCHS; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_model_contract(tiny_model: CRNN) -> None:
    m = DoctrCRNN(tiny_model).eval()
    x = torch.rand(3, 3, 32, 128)
    out = m(x, return_model_output=True, return_preds=True)
    assert out["out_map"].shape == (3, 33, len(tiny_model.vocab) + 1)
    assert all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and 0 <= p[1] <= 1
        for p in out["preds"]
    )
    assert all(set(p[0]) <= set(m.vocab) for p in out["preds"])
    loss = m(x, target=["ab", "c", "Zz"])["loss"]
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert m.cfg["input_shape"] == (3, 32, 128) and m.cfg["vocab"] == tiny_model.vocab
    assert m.exportable is False and callable(m.postprocessor)


def test_instance_path_and_whitelist(tiny_model: CRNN) -> None:
    predictor = recognition_predictor(tiny_model)  # our CRNN, adapted by the registration
    crops = [np.asarray(render_word(w)) for w in ("abc", "123")]
    assert len(predictor(crops)) == 2
    with add_whitelist(predictor, "0123456789"):
        preds = predictor(crops)
    assert all(set(t) <= set("0123456789") for t, _ in preds)
    # a Recognizer is taken for its model, too
    by_rec = recognition_predictor(Recognizer(tiny_model, device="cpu"))
    assert [t for t, _ in by_rec(crops)] == [t for t, _ in predictor(crops)]


def test_onnx_export_matches_pytorch(tiny_model: CRNN, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    m = DoctrCRNN(tiny_model, exportable=True).eval()
    x = torch.rand(2, 3, 32, 128)
    path = export_model_to_onnx(m, str(tmp_path / "crnn"), dummy_input=x)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (onnx_logits,) = sess.run(None, {"input": x.numpy()})
    with torch.inference_mode():
        torch_logits = m(x)["logits"].numpy()
    np.testing.assert_allclose(onnx_logits, torch_logits, rtol=1e-4, atol=1e-4)


def test_recognition_predictor_by_name() -> None:
    needs_weights()
    predictor = recognition_predictor("crnn_plugin", pretrained=True)
    preds = predictor([np.asarray(render_word("hello", size=40)), np.asarray(render_word("2024", size=40))])
    assert [p[0] for p in preds] == ["hello", "2024"]
    untrained = recognition_predictor("crnn_plugin", pretrained=False)
    trained_w = predictor.model.crnn.classifier.weight  # type: ignore[union-attr]
    assert not torch.equal(untrained.model.crnn.classifier.weight, trained_w)  # type: ignore[union-attr,arg-type]


def test_ocr_predictor_end_to_end_on_a_rendered_page() -> None:
    needs_weights()
    page, boxes = render_page()
    predictor = ocr_predictor(det_arch=KnownBoxesDetector(boxes), reco_arch="crnn_plugin", pretrained=True)
    doc = predictor([page]).export()
    words = [w for b in doc["pages"][0]["blocks"] for line in b["lines"] for w in line["words"]]
    assert sorted(w["value"] for w in words) == sorted(w for w, _, _ in WORDS)
    assert all(0 <= w["confidence"] <= 1 for w in words)
    kie = kie_predictor(det_arch=KnownBoxesDetector(boxes), reco_arch="crnn_plugin", pretrained=True)
    preds = kie([page]).export()["pages"][0]["predictions"]
    assert sorted(w["value"] for v in preds.values() for w in v) == sorted(w for w, _, _ in WORDS)


def test_from_pretrained_model_in_ocr_predictor(tmp_path: Path) -> None:
    needs_weights()
    model = crnn_plugin.from_pretrained()
    crnn_plugin.save_pretrained(model, tmp_path / "saved")
    reloaded = crnn_plugin.from_pretrained(tmp_path / "saved")
    page, boxes = render_page()
    predictor = ocr_predictor(det_arch=KnownBoxesDetector(boxes), reco_arch=reloaded, pretrained=True)
    words = [
        w["value"]
        for b in predictor([page]).export()["pages"][0]["blocks"]
        for line in b["lines"]
        for w in line["words"]
    ]
    assert "Receipt" in words

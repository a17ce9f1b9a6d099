"""The benchmark worker's model tasks: forward-only throughput, FLOPs, GEMM ceiling, memory.

torch and crnn_plugin are imported inside the functions (this module runs in the peers' venv too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_common import paused_training, read_labels, rss_kib, summarize
from peer_loaders import _doctr_model

logger = logging.getLogger("benchmarks.peers")


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
